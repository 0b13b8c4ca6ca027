"""A per-address limit on attempts (joining a class), so class codes cannot be guessed."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimit:
    def __init__(self, attempts: int, seconds: float):
        self.attempts, self.seconds = attempts, seconds
        self._seen: dict[str, deque] = {}
        self._lock = threading.Lock()

    def check(self, address: str) -> float:
        """0 if `address` may try now (and count it), else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            times = self._seen.setdefault(address, deque())
            while times and times[0] <= now - self.seconds:
                times.popleft()
            if len(times) >= self.attempts:
                return times[0] + self.seconds - now
            times.append(now)
            if len(self._seen) > 10_000:  # forget addresses that have been quiet
                for a in [a for a, t in self._seen.items() if not t]:
                    del self._seen[a]
            return 0.0
