# -*- test-case-name: tests.unit.test_upload_chain -*-
"""The upload body chain: decoded body -> hashers -> transforms -> writer.

Every body that becomes stored data (PutObject, UploadPart, PostObject, the
copy of CopyObject and UploadPartCopy) goes through one ``UploadChain``, so
the order of the stages and the one point where the digests are checked
are decided here and nowhere else:

- the hashers (``checksums.BodyDigests``: MD5, SHA-256, x-amz-checksum-*)
  see the plaintext, as the client sent it (the decoder, aws-chunked, runs
  before ``write``: ``RequestBody`` applies it);
- the transforms (``bytes -> bytes``, length-preserving: the place of
  server-side encryption) turn what was hashed into what is stored;
- the writer stores it.

Where the stages run is the writer's business: a writer that provides
IDigestingWriter (the file store's) takes the hashers and the transforms
into its I/O thread (``digest_with``), in the jobs it runs anyway, so a
large upload costs no thread hand-off more; for the others (memory, inline,
:9991 client, remote) they run here, on the reactor, before ``write``.
Either way the digests are verified in one place: the ``before_commit`` of
the writer's ``finish``, which every writer calls once every byte is
processed and before the data is complete (IDataWriter.finish).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from twisted.internet import defer

from cloudserver.data.interfaces import IDigestingWriter

#: One transform stage: a piece of plaintext in, the stored bytes out.
Transform = Callable[[object], bytes]


class UploadChain:
    """One body on its way to ``writer`` (None: an empty body, no data).

    ``write(piece)`` returns the writer's backpressure (None or a
    Deferred); ``finish(verify)`` checks and completes; ``abort`` drops
    what was written.  ``digests.size`` counts the bytes seen so far."""

    def __init__(self, digests, writer, transforms: Sequence[Transform] = ()):
        self.digests = digests
        self.writer = writer
        transforms = tuple(transforms)
        if writer is not None and IDigestingWriter.providedBy(writer):
            # From now on ``digests.update`` only counts bytes.
            writer.digest_with(digests.hand_over_hashing(), transforms)
            transforms = ()
        self._transforms = transforms

    def write(self, piece):
        """Hash (or count) ``piece``, transform it, hand it to the writer."""
        self.digests.update(piece)
        writer = self.writer
        if writer is None:
            return None
        for transform in self._transforms:
            piece = transform(piece)
        return writer.write(piece)

    async def finish(self, verify: Callable[[], None] | None = None, *,
                     keep_empty: bool = True) -> str | None:
        """The data key once ``verify`` (which raises on a mismatch) passed
        in the writer's ``before_commit``; None without data.

        ``keep_empty=False`` drops the writer of a body that turned out
        empty (a chunked transfer of nothing): an empty object needs no
        blob, unless its store must hold one (a remote location)."""
        writer = self.writer
        if writer is not None and not keep_empty and self.digests.size == 0:
            self.writer = None
            await writer.abort()
            writer = None
        if writer is None:
            if verify is not None:
                verify()
            return None
        return await writer.finish(before_commit=verify)

    async def abort(self) -> None:
        """Remove whatever was written (also after ``finish``).  Safe twice."""
        if self.writer is not None:
            await defer.maybeDeferred(self.writer.abort)
