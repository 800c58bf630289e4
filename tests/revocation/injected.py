"""Known-bad code, put back on purpose, for showing that the checker finds it.

Each replaces a whole piece of the store with an earlier version (never relies on the current
code being wrong), so the tests that inject them keep meaning the same once the code is fixed:

* ``RacySQLiteStore``: ``change_stamp`` that publishes the new WAL-index header before it
  advances its epoch. A second thread reading between the two steps finds the header it has
  "already seen" and answers the old epoch, under which a revoked token's admission was
  remembered. ``Gap`` holds the first thread between the two steps until another thread has
  read the stamp (bounded by a deadline), so the race happens on every change, not once in
  hundreds.
* ``counter_only_bump``: the Redis Lua scripts with a change stamp that is a plain counter
  (started from the server's time only when missing). Restored from an older snapshot, the
  counter goes back, and later writes bring it to values a process remembered decisions under.
* ``family_end_keeps_tokens``: ending a refresh family that marks it ended and revokes none of
  its tokens. Every process reads the same store, so only the model of ``world`` sees it.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from baas_auth import SQLiteStore
from baas_auth.core import records as rec
from baas_auth.realm import refresh_families, refresh_flows
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.token_commands import get_transient, swap_transient
from baas_auth.stores import _redis_layout
from baas_auth.stores._sqlite_wal_index import WalIndexHeader

__all__ = [
    "COUNTER_ONLY_BUMP",
    "Gap",
    "RacySQLiteStore",
    "counter_only_bump",
    "family_end_keeps_tokens",
    "injection",
]

GAP_DEADLINE_S = 0.25
"""How long a thread between the two steps waits for another thread to read the stamp (a
deadline, not a delay: the wait ends as soon as one has)."""


class Gap:
    """Holds the thread that found a new header between publishing it and advancing the epoch,
    until another thread has read the stamp meanwhile (or ``deadline_s`` has passed)."""

    def __init__(self, deadline_s: float = GAP_DEADLINE_S) -> None:
        self.deadline_s = deadline_s
        self._lock = threading.Lock()
        self._holder: threading.Thread | None = None
        self._passed = threading.Event()
        self.widened = 0
        self.crossed = 0

    def hold(self) -> None:
        with self._lock:
            if self._holder is not None:  # one thread in the gap at a time
                return
            self._holder = threading.current_thread()
            self._passed.clear()
            self.widened += 1
        crossed = self._passed.wait(self.deadline_s)
        with self._lock:
            self._holder = None
            self.crossed += crossed

    def read_past(self) -> None:
        """A thread read the stamp: it crossed the gap if another thread is holding it."""
        holder = self._holder
        if holder is not None and holder is not threading.current_thread():
            self._passed.set()


class RacySQLiteStore(SQLiteStore):
    """``SQLiteStore`` whose ``change_stamp`` is the racy version: the header it has seen is
    published before the epoch moves. Self-contained (its own header mapping, last header and
    epochs), so it does not depend on how the real method is written. Where the header cannot
    be read it answers None (nothing is recalled), which only makes it safer."""

    def __init__(self, path: str | Path, gap: Gap) -> None:
        super().__init__(path)
        self.gap = gap
        self._racy_index = WalIndexHeader(str(path))
        self._racy_mapped = False
        self._racy_last: bytes | None = None
        self._racy_epochs = itertools.count(1)
        self._racy_epoch = 0

    def change_stamp(self) -> int | None:
        header = self._racy_header()
        if header is None:
            return None
        if header != self._racy_last:
            self._racy_last = header  # published first: the bug
            self.gap.hold()
            self._racy_epoch = next(self._racy_epochs)
        else:
            self.gap.read_past()
        return self._racy_epoch

    def _racy_header(self) -> bytes | None:
        if not self._racy_mapped:
            self._racy_mapped = True
            self._racy_index.map()  # this store's connections keep the -shm file SQLite's
        return self._racy_index.read()

    def close(self) -> None:
        self._racy_index.close()
        super().close()


COUNTER_ONLY_BUMP = """
local function bump_stamp(key)
  if redis.call('EXISTS', key) == 0 then
    local now = redis.call('TIME')
    redis.call('SET', key, now[1] .. string.format('%06d', tonumber(now[2])))
  end
  redis.call('INCR', key)
end
"""
"""The change stamp's bump as a counter: INCR, from the server's time only when missing."""

_BUMP_FUNCTION = re.compile(r"\nlocal function bump_stamp\(key\)\n.*?\nend\n", re.DOTALL)


def _counter_only(source: str) -> str:
    replaced, count = _BUMP_FUNCTION.subn(lambda _: COUNTER_ONLY_BUMP, source)
    assert count == 1, "a script that calls bump_stamp defines it exactly once"
    return replaced


@contextmanager
def counter_only_bump() -> Iterator[None]:
    """Every Redis script that moves the change stamp, with ``COUNTER_ONLY_BUMP`` instead of
    its own ``bump_stamp`` (the scripts are sent by SHA-1 and loaded when unknown, so the
    server runs these)."""
    originals = {
        name: value
        for name, value in vars(_redis_layout).items()
        if isinstance(value, _redis_layout.Script) and "bump_stamp(" in value.source
    }
    assert originals, "no Redis script moves the change stamp"
    try:
        for name, script in originals.items():
            setattr(_redis_layout, name, _redis_layout.Script.of(_counter_only(script.source)))
        yield
    finally:
        for name, script in originals.items():
            setattr(_redis_layout, name, script)


@contextmanager
def family_end_keeps_tokens() -> Iterator[None]:
    """Ending a refresh family (a replay, a revocation) that only marks its record ended and
    revokes none of the tokens it issued: the family's access tokens stay admitted. The model
    of ``world`` (not the fresh decision, which reads the same store) says they must not be."""

    def marks_only(key: str) -> Flow[None]:
        raw = yield from get_transient(key)
        if raw is None:
            return
        family = rec.decode(refresh_families.FamilyRecord, raw)
        ended = rec.encode(dataclasses.replace(family, ended=True))
        yield from swap_transient(key, raw, ended, expires_at_ms=family.ends_ms)

    modules = (refresh_families, refresh_flows)
    originals = [module.end_family for module in modules]
    try:
        for module in modules:
            module.end_family = marks_only  # type: ignore[assignment]
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.end_family = original  # type: ignore[assignment]


def injection(name: str) -> AbstractContextManager[None]:
    """An injection by name, for the writer process (which is told the names)."""
    if name == "counter-only-bump":
        return counter_only_bump()
    if name == "family-end-keeps-tokens":
        return family_end_keeps_tokens()
    raise ValueError(f"unknown injection {name!r}")
