"""Periodic loops on absolute deadlines (no drift: the n-th tick is due at start + n·period)."""

from __future__ import annotations

import threading
import time


class Rate:
    """Sleeps until the next deadline.

    A late loop catches up (runs without sleeping) unless it fell more than ``max_behind`` periods behind, in which
    case the schedule restarts from now.
    """

    def __init__(self, period: float, max_behind: int = 5) -> None:
        """First deadline one period from now."""
        self.period = period
        self.max_behind = max_behind
        self.deadline = time.monotonic() + period

    def sleep(self, wake: threading.Event | None = None) -> None:
        """Wait for the current deadline (or until ``wake`` is set), then schedule the next one."""
        delay = self.deadline - time.monotonic()
        if delay > 0:
            if wake is None:
                time.sleep(delay)
            else:
                wake.wait(delay)
        self.deadline += self.period
        if time.monotonic() - self.deadline > self.max_behind * self.period:
            self.deadline = time.monotonic() + self.period
