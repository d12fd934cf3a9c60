"""Operation handlers, one module per family; HANDLERS maps Operation.name to one.

A handler is ``async def handler(ctx: RequestContext) -> Response``.  An
operation with no handler answers 501 NotImplemented (resource.py).
"""
from cloudserver.s3.ops import (
    bucket, copy, delete, listing, object_read, object_write, service, versioning)

HANDLERS = {}
for _module in (service, bucket, listing, object_read, object_write, delete, copy,
                versioning):
    HANDLERS.update(_module.HANDLERS)
from cloudserver.s3.ops.multipart import HANDLERS as _MULTIPART  # noqa: E402
HANDLERS.update(_MULTIPART)
from cloudserver.s3.ops import acl as _acl, public_access as _pab  # noqa: E402
HANDLERS.update(_acl.HANDLERS, **_pab.HANDLERS)
from cloudserver.s3.ops import cors as _cors  # noqa: E402
HANDLERS.update(_cors.HANDLERS)
from cloudserver.s3.ops import tagging as _tagging  # noqa: E402
HANDLERS.update(_tagging.HANDLERS)
from cloudserver.s3.ops import post_object as _post_object  # noqa: E402
HANDLERS.update(_post_object.HANDLERS)
