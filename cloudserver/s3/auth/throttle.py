# -*- test-case-name: tests.unit.test_auth_throttle -*-
"""Failed signatures per client address, limited (README "Limits"): a token
bucket per address that each ``SignatureDoesNotMatch`` empties by one and
time refills.  While an address's bucket is empty, every signed request
from it is answered ``503 SlowDown`` whether its signature is right or not
(the answer must not tell a guesser which guess was right), so guessing a
secret key — the console's sign-in form or any client — runs at the refill
rate.  Unsigned requests and other addresses are not affected.

Memory is bounded: at most ``MAX_CLIENTS`` addresses are tracked; past
that, the full (refilled) buckets are dropped first, then the oldest.
"""
from __future__ import annotations

from typing import Any

#: addresses tracked at most (each entry a few dozen bytes)
MAX_CLIENTS = 10000


class AuthFailures:
    """``burst`` failures at once, then ``per_minute`` (0 burst: no limit)."""

    def __init__(self, clock: Any, burst: int, per_minute: float):
        self.clock = clock
        self.burst = burst
        self.rate = per_minute / 60.0
        #: address -> (tokens, when they were counted)
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, client: str, now: float) -> float:
        entry = self._buckets.get(client)
        if entry is None:
            return float(self.burst)
        tokens, then = entry
        return min(float(self.burst), tokens + (now - then) * self.rate)

    def blocked(self, client: str) -> bool:
        """Has ``client`` no failure left for now?"""
        if not self.burst or client not in self._buckets:
            return False
        return self._tokens(client, self.clock.seconds()) < 1.0

    def failed(self, client: str) -> None:
        """One more failed signature from ``client``."""
        if not self.burst:
            return
        now = self.clock.seconds()
        tokens = max(0.0, self._tokens(client, now) - 1.0)
        self._buckets.pop(client, None)  # re-inserted last: the newest
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > MAX_CLIENTS:
            self._prune(now)

    def _prune(self, now: float) -> None:
        for client in [c for c in self._buckets if self._tokens(c, now) >= self.burst]:
            del self._buckets[client]
        while len(self._buckets) > MAX_CLIENTS:
            del self._buckets[next(iter(self._buckets))]
