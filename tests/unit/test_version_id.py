"""Tests for cloudserver.metadata.version_id: format, order, encoding."""
from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import version_id as v

T0 = 1_700_000_000.0  # a wall clock time in seconds (2023-11-14)


def make(rg="RG001", at=T0):
    clock = Clock()
    clock.advance(at)
    return clock, v.VersionIdGenerator(rg, clock.seconds)


class FormatTests(SynchronousTestCase):
    def test_layout(self):
        """(MAX_TS - ts)(MAX_SEQ - seq)rg, fixed width, as Arsenal's VersionID."""
        vid = v.format_version_id(1_234_567_890_123, 5, "PARIS")
        self.assertEqual(vid, "98765432109876" + "999994" + "PARIS  ")
        self.assertEqual(len(vid), v.LENGTH)
        self.assertEqual(v.parse_version_id(vid), (1_234_567_890_123, 5, "PARIS"))

    def test_replication_group_padding(self):
        self.assertEqual(v.pad_replication_group("RG001"), "RG001  ")
        self.assertEqual(v.pad_replication_group("LONGNAME9"), "LONGNAM")
        for bad in ("", "caf\u00e9", "a\x00b", None):
            self.assertRaises(ValueError, v.pad_replication_group, bad)

    def test_is_valid(self):
        self.assertTrue(v.is_valid(v.format_version_id(1, 2, "RG001")))
        for bad in ("", "null", "1" * 26, "x" * 27, "1" * 20 + "RG\x00   ", 27, None):
            self.assertFalse(v.is_valid(bad), bad)
        self.assertRaises(ValueError, v.parse_version_id, "null")

    def test_inf_version_id_sorts_last(self):
        inf = v.inf_version_id("RG001")
        self.assertEqual(inf, "9" * 20 + "RG001  ")
        self.assertLess(v.format_version_id(0, 1, "RG001"), inf)
        self.assertLess(v.format_version_id(1, 0, "RG001"), inf)


class OrderTests(SynchronousTestCase):
    """Byte order of ids is newest first."""

    def test_table(self):
        # (ts, seq) pairs from oldest to newest
        table = [(0, 0), (0, 1), (0, 999_999), (1, 0), (1_600_000_000_000, 7),
                 (1_600_000_000_001, 0), (v.MAX_TS, v.MAX_SEQ)]
        ids = [v.format_version_id(ts, seq, "RG001") for ts, seq in table]
        self.assertEqual(sorted(ids), ids[::-1])
        # ... and as version keys of one object
        keys = [b"foo\x00" + i.encode() for i in ids]
        self.assertEqual(sorted(keys), keys[::-1])

    def test_later_version_sorts_first(self):
        """As the docs' foo/bar example: the version created last comes first."""
        older = v.format_version_id(1_493_836_445_624, 0, "PARIS")
        newer = v.format_version_id(1_493_836_445_626, 0, "PARIS")
        self.assertLess(newer, older)
        self.assertLess(b"foo/bar\x00" + newer.encode(), b"foo/bar\x00" + older.encode())


class GeneratorTests(SynchronousTestCase):
    def test_monotonic_within_a_millisecond(self):
        clock, gen = make()
        clock.advance(0.010)
        ids = [gen.next() for _ in range(1000)]
        self.assertEqual(sorted(ids, reverse=True), ids)
        self.assertEqual(len(set(ids)), 1000)
        ts, seq, rg = v.parse_version_id(ids[-1])
        self.assertEqual((ts, seq, rg), (int(T0 * 1000) + 10, 999, "RG001"))

    def test_new_millisecond_resets_sequence(self):
        clock, gen = make()
        clock.advance(0.005)
        gen.next()
        gen.next()
        clock.advance(0.001)
        self.assertEqual(v.parse_version_id(gen.next())[1], 0)

    def test_never_in_the_creation_millisecond(self):
        """A run's ids are ahead of its start: a restart one ms later still sorts newer."""
        clock, old = make()
        last_of_previous_run = old.next()  # issued in old's creation millisecond
        self.assertEqual(v.parse_version_id(last_of_previous_run)[:2], (int(T0 * 1000) + 1, 0))
        _, new = make(at=T0 + 0.001)
        first = new.next()
        self.assertLess(first, last_of_previous_run)
        self.assertEqual(v.parse_version_id(first)[0], int(T0 * 1000) + 2)

    def test_clock_going_back(self):
        clock, gen = make()
        clock.advance(1)
        a = gen.next()
        clock.advance(-0.5)
        b = gen.next()
        self.assertLess(b, a)
        self.assertEqual(v.parse_version_id(b)[:2], (v.parse_version_id(a)[0], 1))

    def test_sequence_overflow_moves_to_next_millisecond(self):
        clock, gen = make()
        clock.advance(1)
        gen.next()
        gen._seq = v.MAX_SEQ
        ts0 = v.parse_version_id(gen.next())
        self.assertEqual(ts0[1], 0)
        self.assertEqual(ts0[0], int((T0 + 1) * 1000) + 1)

    def test_replication_group(self):
        _, gen = make(rg="PARIS")
        self.assertTrue(gen().endswith("PARIS  "))


class EncodingTests(SynchronousTestCase):
    def test_round_trip(self):
        clock, gen = make()
        for i in range(200):
            clock.advance(0.0007 * i)
            vid = gen.next()
            enc = v.encode(vid)
            self.assertEqual(len(enc), v.ENCODED_LENGTH)
            self.assertTrue(enc.isalnum())
            self.assertEqual(v.decode(enc), vid)
        for vid in (v.inf_version_id("RG001"), v.format_version_id(0, 0, "~~~~~~~"),
                    v.format_version_id(1, 1, " ")):
            self.assertEqual(v.decode(v.encode(vid)), vid)

    def test_arsenal_base62_layout(self):
        """6 + 6 base62 digits for the two halves, the group id's bytes in 20."""
        vid = "98765432109876999994PARIS  "
        enc = v.encode(vid)
        self.assertEqual(enc[:6], v._b62(9876543210, 6))
        self.assertEqual(enc[6:12], v._b62(9876999994, 6))
        self.assertEqual(enc[12:], v._b62(int.from_bytes(b"PARIS  ", "big"), 20))
        self.assertEqual(v._b62(61, 2), "0Z")
        self.assertEqual(v._b62(62, 2), "10")

    def test_hex_form_accepted(self):
        vid = v.format_version_id(1_600_000_000_000, 3, "RG001")
        self.assertEqual(v.decode(vid.encode().hex()), vid)
        self.assertEqual(v.decode(vid.encode().hex().upper()), vid)

    def test_malformed_rejected(self):
        good = v.encode(v.format_version_id(1_600_000_000_000, 3, "RG001"))
        bad = ["", "null", "abc", good[:-1], good + "0", "-" + good[1:],
               "zzzzzz" + good[6:],            # first half >= 10**10
               good[:12] + "0" * 20,           # no replication group
               good[:12] + "Z" * 20,           # not ASCII bytes
               "zz" * 20,                      # hex-length but not hex
               ("x" * 27).encode().hex(),      # hex of a non-id
               "ff" * 27,                      # hex of non-ASCII
               None, 42]
        for s in bad:
            self.assertRaises(v.InvalidVersionId, v.decode, s)
        self.assertTrue(issubclass(v.InvalidVersionId, ValueError))

    def test_upstream_forms_accepted(self):
        """Arsenal's hex ids carry any printable "other information" after the
        27 characters; its newer base62 ids decode to 35 (an instance id and
        a format suffix added).  Both are well-formed, as they are there."""
        vid = v.format_version_id(1_600_000_000_000, 3, "RG001")
        for longer in (vid + "1", vid + " 0.12.345", vid + "~" * 40):
            self.assertEqual(v.decode(longer.encode().hex()), longer)
        tail = vid[20:] + "abcdef" + "|1"
        b62 = v.encode(vid)[:12] + v._b62(int.from_bytes(tail.encode(), "big"), 20)
        self.assertEqual(v.decode(b62), vid[:20] + tail)
        self.assertEqual(len(v.decode(b62)), v.UPSTREAM_LENGTH)

    def test_upstream_lookalikes_rejected(self):
        vid = v.format_version_id(1_600_000_000_000, 3, "RG001")
        bad = [vid[:-1].encode().hex(),               # hex, shorter than an id
               (vid + "\x00").encode().hex(),         # hex, NUL in the information
               (vid + "\x7f").encode().hex(),         # hex, DEL in the information
               ("x" + vid[1:] + "info").encode().hex(),  # not an id's digits
               # base62 decoding to 31 characters: neither 27 nor 35
               v.encode(vid)[:12] + v._b62(int.from_bytes(b"RG001  abcd", "big"), 20)]
        for s in bad:
            self.assertRaises(v.InvalidVersionId, v.decode, s)

    def test_encode_refuses_malformed(self):
        self.assertRaises(ValueError, v.encode, "null")
