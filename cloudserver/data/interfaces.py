"""The seam between the S3 front and whatever stores object bytes.

Every data store (memory, file, later the :9991 REST client and remote
locations) provides IDataStore.  Object metadata keeps a list of
``DataLocation`` dicts, so an object may be made of several stored pieces
(multipart parts) that GET chains together.
"""
from zope.interface import Attribute, Interface


class IDataWriter(Interface):
    """One object's bytes on their way into the store.

    The caller writes chunks in order.  ``write`` returns None when the
    writer can take more at once, or a Deferred that fires when it is
    ready for more (backpressure: the caller pauses its producer until
    then).  ``finish`` makes the bytes durable (fsync for the file store)
    and fires with the store key; ``abort`` removes whatever was written.

    A failed write fails the next Deferred the caller gets (a backpressure
    wait, a later ``write`` or ``finish``) and the bytes are removed; a
    writer leaves no data behind unless ``finish`` fired.  Pending waits
    fail with CancelledError when the writer is aborted.
    """

    size = Attribute("number of bytes written so far")

    def write(data):
        """Queue bytes; return None or a Deferred to wait on before writing more.

        Raises CancelledError after ``abort`` and RuntimeError after ``finish``.
        """

    def finish(before_commit=None):
        """Flush and make durable; Deferred firing with the key (str).

        ``before_commit``, when given, is called once on the reactor thread
        when every byte written has been processed (digests handed over by
        ``digest_with`` are complete) and before ``finish`` fires: before
        the data is complete where the store can hold it back (a remote
        PUT's held-back last chunk, the :9991 PUT's end, a memory or inline
        blob), after the final fdatasync for the file store.  It is the one
        point where an upload's digests are verified, whatever the writer:
        when it raises, the writer removes what it wrote and ``finish``
        fails with that error.
        """

    def abort():
        """Drop everything written; Deferred firing with None.  Safe to call twice.

        Also valid after ``finish`` fired (the blob is deleted: the clean-up
        path when the metadata write fails), and during ``finish`` (which
        then fails with CancelledError).
        """


class IDigestingWriter(IDataWriter):
    """A writer that runs the body's digests (and transforms) in its own
    I/O thread, off the reactor.

    The file store's writer hashes each piece in its I/O thread right
    before writing it (hashlib and the CRCs release the GIL), so a large
    upload's MD5 runs beside the reactor.  Writers without this interface
    get their digests and transforms run by the caller, on the reactor
    (cloudserver.s3.ops.upload_chain decides which, in one place).
    """

    def digest_with(update, transforms=()):
        """Call ``update(piece)`` on every byte written, in order, one call
        at a time, possibly in another thread; before the first ``write``.

        ``transforms``: stages ``bytes -> bytes`` run in order on every
        piece after ``update`` saw it, in the writer's thread, one call at a
        time and in body order; the store keeps what the last one returns.
        A transform returns new bytes and never changes its input (the
        digests may be reading that piece in another thread) and keeps the
        length (as AES-CTR does), so sizes and ranges stay those of the
        plaintext.

        Every byte has been fed when ``before_commit`` is called (and when
        ``finish`` fired); after a failure or ``abort`` the digests are
        incomplete and must not be used.
        """


class IDataStore(Interface):
    """A store of immutable blobs addressed by opaque string keys."""

    def create_writer():
        """Return a new IDataWriter."""

    def producer(key, offset, length):
        """Return an IBodyProducer streaming ``length`` bytes from ``offset``.

        ``startProducing(consumer)`` returns a Deferred that fires when all
        bytes were written to the consumer; pause/resume/stopProducing
        follow the consumer's backpressure, and after ``stopProducing`` the
        Deferred never fires (IBodyProducer's rule).

        Local stores (memory, file) raise KeyError from this call for a
        missing key, so the S3 layer can answer before sending headers, and
        ValueError for a range outside the blob.  Stores that cannot know
        up front (remote ones) fail the startProducing Deferred with
        KeyError instead; callers handle both.
        """

    def delete(key):
        """Remove a blob; Deferred firing with None (missing keys are ignored)."""

    def close():
        """Release resources (thread pools, files); Deferred or None."""
