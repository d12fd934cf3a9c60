"""What S3 requests and records mean, without HTTP or storage: CORS rules,
tags, version ids shown to clients, conditional requests, checksums, and
which data location stores an object.  Lifecycle, lock and encryption
models join them."""
