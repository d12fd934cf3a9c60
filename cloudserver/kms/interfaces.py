"""The interface of a KMS, as upstream's KMS wrapper has it.

Master keys never leave the KMS; the server asks it for a data key per
object (per multipart part), keeps the wrapped form in the record and asks
the KMS to unwrap it on read.  Every method returns a Deferred (or is an
``async def``): a remote KMS answers over the network, and the local ones
may do file I/O in a thread.
"""
from zope.interface import Attribute, Interface


class IKms(Interface):
    name = Attribute("the backend's name for logs and errors: 'mem', 'file', 'aws'")
    default_key_id = Attribute("the master key id of SSE-S3 objects (AES256) in "
                               "buckets without a key of their own")

    def create_bucket_key(bucket):
        """A new master key for ``bucket`` (bucket-level encryption); fires
        with its key id."""

    def destroy_bucket_key(key_id):
        """Retire a bucket's master key (DeleteBucket); fires with None."""

    def has_key(key_id):
        """Fires with whether ``key_id`` names a usable master key (a key id a
        client names in x-amz-server-side-encryption-aws-kms-key-id)."""

    def generate_data_key(key_id, context):
        """A fresh 32-byte data key: fires with ``(plaintext, wrapped)``.

        ``context`` (a str -> str mapping) is bound to the wrapped key: the
        same context must be given to unwrap it.  Raises NoSuchKmsKey for
        an unknown key id, KmsUnavailable when the KMS cannot answer."""

    def decrypt_data_key(key_id, wrapped, context):
        """Fires with the plaintext data key of ``wrapped``; KmsDecryptFailed
        when it does not open with ``key_id`` and ``context``."""

    def health():
        """Fires with None when the KMS answers, fails with KmsUnavailable."""

    def close():
        """Release what the backend holds; Deferred or None."""
