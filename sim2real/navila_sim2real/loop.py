"""Periodic loops on absolute deadlines (no drift: the n-th tick is due at start + n·period), real-time threads."""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger(__name__)

REALTIME_PRIORITY = 50
"""SCHED_FIFO priority of the 500 Hz threads (1..99); they sleep most of the time, so they cannot starve others."""
HELPER_PRIORITY = 40
"""SCHED_FIFO priority of the slower threads that share the interpreter with the 500 Hz ones (policy, height map,
LiDAR). At normal priority, another process can preempt such a thread while it holds the GIL, and the 500 Hz threads
then wait behind it for a whole scheduler slice: on a loaded 2-core machine, low states 20 ms apart."""


def make_thread_realtime(priority: int = REALTIME_PRIORITY) -> bool:
    """Give the calling thread SCHED_FIFO ``priority`` so that it runs as soon as it wakes.

    Needs root or CAP_SYS_NICE (or an rtprio limit); without it the thread keeps its normal priority and this
    returns False (logged once per thread). ``NAVILA_REALTIME=0`` in the environment turns it off.
    """
    if os.environ.get("NAVILA_REALTIME", "1") == "0":
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))  # 0: the calling thread on Linux
        return True
    except (PermissionError, AttributeError, OSError) as error:
        log.info("thread %s keeps normal scheduling (%s)", threading.current_thread().name, error)
        return False


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
        self._advance()

    def sleep_synced(self, event: threading.Event, earliest: float) -> bool:
        """Wait for the deadline or, from ``earliest`` on, for ``event`` (one tick per period either way).

        The schedule stays on its absolute deadlines; within each period the loop runs as soon as ``event`` fires
        (e.g. a state arrives), so it follows that source with little delay while it is alive. Returns whether
        ``event`` woke the loop.
        """
        delay = min(earliest, self.deadline) - time.monotonic()  # a late loop catches up at once
        if delay > 0:
            time.sleep(delay)
        remaining = self.deadline - time.monotonic()
        woke = remaining > 0 and event.wait(remaining)
        event.clear()
        self._advance()
        return woke

    def _advance(self) -> None:
        self.deadline += self.period
        if time.monotonic() - self.deadline > self.max_behind * self.period:
            self.deadline = time.monotonic() + self.period
