# -*- test-case-name: tests.unit.test_data_mixin -*-
"""The step every data writer's ``finish`` takes before its data becomes
durable or visible: the caller's ``before_commit`` (the upload chain's one
verification, IDataWriter.finish).  A raise there aborts the writer, so
nothing of the body is kept, and is what ``finish`` fails with."""
from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer
from twisted.python.failure import Failure


def run_before_commit(before_commit: Callable[[], None] | None,
                      abort: Callable[[], object]) -> defer.Deferred | None:
    """None to go on committing; else the failed Deferred ``finish`` returns
    (``abort`` already called)."""
    if before_commit is None:
        return None
    try:
        before_commit()
    except Exception:  # noqa: BLE001 - becomes finish's failure
        failure = Failure()
        abort()
        return defer.fail(failure)
    return None
