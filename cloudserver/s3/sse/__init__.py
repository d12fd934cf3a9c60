"""Server-side encryption at the S3 front: what a request asks for
(``request``), the bucket's default (``config``), and how a write or a read
applies it (``apply``) with the KMS (cloudserver.kms) and the cipher
(cloudserver.data.cipher)."""
