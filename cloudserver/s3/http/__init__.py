"""The twisted.web adapter of the S3 front: the one leaf resource and its
request phases (resource), the access log, the internal healthcheck, and
the streaming multipart/form-data parser of browser POST uploads."""
