"""Access control of the S3 front: declarations (``declare``: what each
operation needs, on its route row) and the one decision (``decide``)."""
from cloudserver.s3.access.decide import Decision, authorize, gate
from cloudserver.s3.access.declare import COPY_SOURCE, LIST_BUCKET, Access

__all__ = ["COPY_SOURCE", "LIST_BUCKET", "Access", "Decision", "authorize", "gate"]
