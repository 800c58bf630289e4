"""The Redis store's change stamp as last read, offered for at most ``max_staleness_ms``.

Redis cannot be asked "has anything changed?" without a round trip, and that round trip is what
the adapters' recalled decisions exist to save. So the stamp is not read on its own: it comes
with the reads a full decision makes anyway (a token and the generation), and is offered to the
next requests only while it is younger than the window. An older one is not offered (None), so
the next request is decided in full, which reads it again. The window is opt-in (0: never
offered): behaviour §7 makes revocation immediate by default.

Pure: no I/O, no redis import; the clock is the caller's (tests pass a fake one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from baas_auth.errors import ConfigError

__all__ = ["MAX_STALENESS_MS", "StampWindow", "checked_staleness"]

MAX_STALENESS_MS = 60_000
"""The widest window accepted: a revocation left unseen for more than a minute is not a cache
setting any more but a different security model."""

ReadTicket = tuple[int, int]
"""When a read that brings a stamp was sent (ms on the window's clock), and how many writes
this store had made by then."""


def checked_staleness(value: object) -> int:
    """``max_staleness_ms``, refused (``ConfigError``) unless whole milliseconds in range."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STALENESS_MS:
        raise ConfigError(
            f"max_staleness_ms is whole milliseconds from 0 (revocation seen at once) to"
            f" {MAX_STALENESS_MS}, not {value!r}"
        )
    return value


class StampWindow:
    """The last stamp read and the time its read was sent; offered while younger than
    ``window_ms``. A read sent at time t brings a stamp at least as new as every write
    acknowledged before t, so a stamp offered at time now reflects every write acknowledged
    before now - window_ms: a change made elsewhere is seen within the window (plus the round
    trip of the full decision that reads it)."""

    __slots__ = ("_clock", "_last", "_lock", "_writes", "window_ms")

    def __init__(self, window_ms: int, clock: Callable[[], float]) -> None:
        self.window_ms = window_ms
        self._clock = clock
        self._last: tuple[int, int] | None = None  # (stamp, read sent at ms), swapped whole
        self._writes = 0
        self._lock = threading.Lock()  # observe and forget only: the hot path takes none

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def current(self) -> int | None:
        """The stamp, if read less than ``window_ms`` ago; else None (decide in full)."""
        last = self._last  # one reference: a stamp and its time never mix across threads
        if last is None or self._now_ms() - last[1] > self.window_ms:
            return None
        return last[0]

    def ticket(self) -> ReadTicket | None:
        """Taken before sending a read that brings the stamp (None: the window is off)."""
        return (self._now_ms(), self._writes) if self.window_ms else None

    def observe(self, stamp: int, ticket: ReadTicket | None) -> None:
        """Keep the stamp a read brought, unless this store wrote (or failed) since it was
        sent: its answer may predate that write, which must apply to the very next request.
        No stamp yet (0: never written by this version, or the data is gone) is not kept: a
        value that may come back must not let a decision remembered under it be given again."""
        if ticket is None or not stamp:
            return
        sent_at, writes = ticket
        with self._lock:
            if writes == self._writes:
                self._last = (stamp, sent_at)

    def forget(self) -> None:
        """After a write by this store, or a failure: the next request is decided in full."""
        if not self.window_ms:
            return
        with self._lock:
            self._writes += 1
            self._last = None
