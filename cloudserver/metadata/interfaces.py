"""The seams of the metadata side: an ordered key-value store below, the
metadata service (buckets, objects, listings) above it.

The service API follows Zenko Arsenal's MetadataWrapper (createBucket,
getBucket, putObjectMD, getObjectMD, deleteObjectMD, listObject with a
listing type), so that the :9990 RPC can expose exactly these calls.
Records are plain JSON-able dicts; each stored record carries a format
version (``"mdVersion"``).
"""
from zope.interface import Interface


class IOrderedKV(Interface):
    """An ordered map of bytes keys to bytes values with atomic batches."""

    def get(key):
        """Return the value (bytes) or None.  Synchronous, fast."""

    def iterate(gte=None, gt=None, lt=None, reverse=False):
        """Yield (key, value) pairs in byte order within the bounds.

        Synchronous; callers bound how many they consume.
        """

    def write(puts, deletes=()):
        """Apply puts [(k, v)] and deletes [k] as one atomic batch.

        Deletes are applied before puts; batches in call order (the later
        write to a key wins).  Returns a Deferred that fires once the batch
        is durable (LevelDB: synced).  Concurrent calls are group-committed.
        A write is visible to reads no earlier than it is durable and at
        the latest when its Deferred fires (memory: at once).
        """

    def close():
        """Close the store; Deferred or None."""


class IMetadataService(Interface):
    """Buckets, object metadata and listings.  Every method returns a Deferred.

    Errors are raised as cloudserver.metadata.errors exceptions
    (NoSuchBucket, BucketAlreadyExists, NoSuchKey, BucketNotEmpty, ...),
    never S3 errors: the S3 front translates them.
    """

    def create_bucket(name, attrs):
        """Create bucket ``name`` with attributes dict; BucketAlreadyExists if it exists."""

    def get_bucket(name):
        """Return the bucket attributes dict; NoSuchBucket if absent."""

    def update_bucket(name, attrs):
        """Replace the bucket attributes; NoSuchBucket if absent."""

    def delete_bucket(name):
        """Delete an empty bucket; BucketNotEmpty / NoSuchBucket."""

    def list_buckets():
        """Return [(name, attrs)] sorted by name."""

    def put_object(bucket, key, md, options=None):
        """Store object metadata; options carry the versioning parameters.

        Fires with a dict ({} without versioning; the new version's
        ``versionId`` with it) once durable.
        """

    def get_object(bucket, key, options=None):
        """Return the object metadata dict; NoSuchKey if absent."""

    def delete_object(bucket, key, options=None):
        """Delete object metadata; NoSuchKey if absent."""

    def list_objects(bucket, params):
        """List with params {listingType, prefix, delimiter, marker, maxKeys, ...}.

        Fires with {IsTruncated, NextMarker, NextContinuationToken,
        CommonPrefixes: [str], Contents: [{key, value}]}; see
        cloudserver.metadata.listing.
        """

    def get_usage(bucket=None):
        """Objects, versions and bytes of one bucket or of all (metadata.usage).

        Fires with {"buckets": [{"name", objects, objectBytes, versions, bytes,
        deleteMarkers, uploads, uploadBytes}], "total": {the same summed,
        "buckets"}}; NoSuchBucket for a named bucket that is absent.
        """

    def export_bucket(bucket, cursor=None, limit=500):
        """One page of the bucket's records as typed items (metadata.transfer):
        {"items": [...], "cursor": the next page's, None after the last}."""

    def import_bucket(name, record, replace=False):
        """Create a bucket from an exported bucket record; BucketAlreadyExists
        unless ``replace``."""

    def import_records(bucket, items):
        """Write exported object/inline/upload/part items into ``bucket`` (one
        batch, each checked first); fires with {"imported": n}."""
