"""Operation handlers, one module per family, collected by one loop.

Each module of this package that serves operations has a ``HANDLERS``
table (operation name -> ``async def handler(ctx) -> Response``); ``HANDLERS``
here is their union, so a new family is a new module, not an edit here.
A route whose operation has no handler must be on ``NOT_IMPLEMENTED``: it
answers 501 NotImplemented (resource.py); tests/unit/test_access.py checks
that every route is one or the other.
"""
from __future__ import annotations

import importlib
import pkgutil

#: Operations the routing table knows and this server answers with 501.
NOT_IMPLEMENTED = frozenset({
    "GetBucketAnalyticsConfiguration",
    "GetBucketIntelligentTieringConfiguration",
    "GetBucketInventoryConfiguration",
    "GetBucketMetricsConfiguration",
    "PutBucketAccelerateConfiguration",
    "RestoreObject", "SelectObjectContent",
})


def _collect() -> dict:
    handlers: dict = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, handler in getattr(module, "HANDLERS", {}).items():
            if name in handlers:
                raise RuntimeError(f"operation {name} has two handlers")
            handlers[name] = handler
    return handlers


HANDLERS = _collect()
