# -*- test-case-name: tests.unit.test_metrics -*-
"""The S3 front's KMS, counted: calls and failures by method.

A proxy rather than counters in each KMS (mem, file, aws): every backend
is counted the same way, and none of them knows about metrics.
"""
from __future__ import annotations

import inspect
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred

#: the IKms methods that are counted (start/close/health are not calls of
#: a request)
COUNTED = ("create_bucket_key", "destroy_bucket_key", "has_key", "generate_data_key",
           "decrypt_data_key")


class CountingKms:
    """Forwards everything to ``kms``; the COUNTED calls move ``metrics``'
    cloudserver_kms_calls / cloudserver_kms_failures."""

    def __init__(self, kms: Any, metrics: Any):
        self._kms = kms
        for method in COUNTED:
            target = getattr(kms, method, None)
            if target is not None:
                setattr(self, method, self._counted(method, target,
                                                    metrics.kms_calls.labels(method),
                                                    metrics.kms_failures.labels(method)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kms, name)

    @staticmethod
    def _counted(method: str, target: Any, calls: Any, failures: Any):
        def failed(failure):
            failures.inc()
            return failure

        def call(*args: Any, **kwargs: Any) -> Deferred:
            calls.inc()
            try:
                result = target(*args, **kwargs)
            except Exception:
                failures.inc()
                raise
            if isinstance(result, Deferred):
                return result.addErrback(failed)
            if inspect.isawaitable(result):
                return ensureDeferred(result).addErrback(failed)
            return result

        call.__name__ = method
        return call
