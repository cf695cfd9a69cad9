"""Progress that suits where it goes: a live tqdm bar on a terminal, a line now and then in a log file or a pipe.

Every progress bar of the project comes from :func:`progress`. ``NAVILA_PROGRESS`` chooses the form: ``auto``
(default: a bar when stderr is a terminal, else lines), ``bar``, ``log`` or ``off``; ``NAVILA_PROGRESS_INTERVAL``
sets the seconds between two log lines (default 30).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm import tqdm

MODES = ("auto", "bar", "log", "off")
DEFAULT_INTERVAL = 30.0
"""Seconds between two progress lines in a log."""


class LineProgress:
    """tqdm's counting interface, printed as one line at the start, every ``interval`` seconds and at the end."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        total: float | None = None,
        desc: str = "",
        unit: str = "it",
        initial: float = 0,
        interval: float = DEFAULT_INTERVAL,
        file: TextIO | None = None,
    ) -> None:
        """Count ``iterable`` (or calls of :meth:`update` up to ``total``), printing to ``file`` (stderr)."""
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n, self.interval, self.file = initial, interval, file or sys.stderr
        self.postfix = ""
        self._initial = initial
        self._start = time.monotonic()
        self._last_print = -float("inf")
        self._printed_n: float | None = None
        self._closed = False
        self._print()

    def __iter__(self) -> Iterator:
        """Yield the iterable's items, counting each."""
        try:
            for item in self.iterable:
                yield item
                self.update()
        finally:
            self.close()

    def __len__(self) -> int:
        return int(self.total or 0)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        """Count ``n`` more; print a line when ``interval`` seconds passed since the last one."""
        self.n += n
        self._print_if_due()

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        """Show ``key=value`` pairs after the counts; print a line when one is due (progress without a count)."""
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{key}={value}" for key, value in items.items())
        self._print_if_due()

    def _print_if_due(self) -> None:
        if time.monotonic() - self._last_print >= self.interval:
            self._print()

    def close(self) -> None:
        """Print the final count (unless the last line already showed it)."""
        if not self._closed:
            self._closed = True
            if self.n != self._printed_n:
                self._print()

    def line(self) -> str:
        """The progress line: counts, percentage, elapsed and remaining time, rate."""
        elapsed = time.monotonic() - self._start
        rate = (self.n - self._initial) / elapsed if elapsed > 0 else None
        if self.total:
            bar_format = "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%) [{elapsed}<{remaining}, {rate_fmt}]"
        else:
            bar_format = "{desc}: {n_fmt} {unit} [{elapsed}, {rate_fmt}]"
        text = tqdm.format_meter(
            self.n, self.total, elapsed, prefix=self.desc, unit=self.unit, rate=rate, bar_format=bar_format
        )
        return " ".join(f"{text} {self.postfix}".split())

    def _print(self) -> None:
        self.file.write(self.line() + "\n")
        self.file.flush()
        self._last_print, self._printed_n = time.monotonic(), self.n


def progress_mode(stream: TextIO | None = None) -> str:
    """``bar``, ``log`` or ``off``: ``NAVILA_PROGRESS``, where ``auto`` means a bar only on a terminal."""
    mode = os.environ.get("NAVILA_PROGRESS", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(f"NAVILA_PROGRESS={mode!r}: choose one of {', '.join(MODES)}")
    if mode == "auto":
        stream = stream or sys.stderr
        return "bar" if hasattr(stream, "isatty") and stream.isatty() else "log"
    return mode


def progress(
    iterable: Iterable | None = None,
    *,
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    initial: float = 0,
    disable: bool = False,
    leave: bool = True,
) -> tqdm | LineProgress:
    """A progress counter over ``iterable`` or up to ``total`` (tqdm's interface: iterate, ``update``, ``close``).

    Args:
        iterable: What to count; or None and :meth:`update` calls.
        total: Expected count (``len(iterable)`` when it has one).
        desc: Label at the start of the line.
        unit: What is counted.
        initial: Count to start from (e.g. a resumed run).
        disable: No output at all (the caller's own switch; ``NAVILA_PROGRESS=off`` does the same).
        leave: Keep the finished bar on the terminal (bars only).
    """
    mode = "off" if disable else progress_mode()
    if mode == "log":
        interval = float(os.environ.get("NAVILA_PROGRESS_INTERVAL", DEFAULT_INTERVAL))
        return LineProgress(iterable, total, desc, unit, initial, interval)
    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, disable=mode == "off", leave=leave)
