"""A per-address limit on failed attempts (joining with a code that opens no class), so codes
cannot be guessed; a whole room joining through one address (a school's NAT) is never held up."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimit:
    def __init__(self, attempts: int, seconds: float):
        self.attempts, self.seconds = attempts, seconds
        self._seen: dict[str, deque] = {}
        self._lock = threading.Lock()

    def wait(self, address: str) -> float:
        """0 if `address` may try now, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            times = self._seen.get(address)
            while times and times[0] <= now - self.seconds:
                times.popleft()
            return times[0] + self.seconds - now if times and len(times) >= self.attempts else 0.0

    def count(self, address: str) -> None:
        """One failed attempt from `address`."""
        now = time.monotonic()
        with self._lock:
            self._seen.setdefault(address, deque()).append(now)
            if len(self._seen) > 10_000:  # forget addresses that have been quiet
                for a in [a for a, t in self._seen.items() if not t]:
                    del self._seen[a]
