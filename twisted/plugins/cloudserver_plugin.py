"""twistd plugin: `twistd cloudserver`. The logic lives in cloudserver.tap."""
from twisted.application.service import ServiceMaker

cloudserver = ServiceMaker(
    "cloudserver", "cloudserver.tap", "S3-compatible object storage server", "cloudserver"
)
