"""MemoryStore-only behaviour: the amortised sweep that keeps the transient table bounded."""

from __future__ import annotations

import pytest

from baas_auth.stores import MemoryStore
from baas_auth.stores import memory as memory_module

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@pytest.fixture
def small_sweep(monkeypatch: pytest.MonkeyPatch) -> int:
    """Sweep once the table passes 8 records (read when a store is made, and at each sweep)."""
    monkeypatch.setattr(memory_module, "_TRANSIENT_SWEEP_AT", 8)
    return 8


def _size(store: MemoryStore) -> int:
    return len(store._transient)


def test_default_threshold_and_horizon() -> None:
    assert memory_module._TRANSIENT_SWEEP_AT == 100_000
    assert memory_module._TRANSIENT_SWEEP_HORIZON_MS == DAY_MS


def test_sweep_drops_records_that_ended_a_day_before(small_sweep: int) -> None:
    store = MemoryStore()
    ends = 100 * DAY_MS
    for n in range(small_sweep - 2):
        assert store.swap_transient(f"old/{n}", None, b"v", expires_at_ms=ends - DAY_MS - 1 - n)
    assert store.swap_transient("edge", None, b"v", expires_at_ms=ends - DAY_MS)
    assert store.swap_transient("recent", None, b"v", expires_at_ms=ends - 1_000)
    assert _size(store) == small_sweep  # at the threshold, not past it: no sweep yet
    assert store.swap_transient("new", None, b"v", expires_at_ms=ends)
    assert _size(store) == 3
    assert [store.get_transient(f"old/{n}") for n in range(small_sweep - 2)] == [None] * 6
    for key in ("edge", "recent", "new"):  # ended exactly a day before, or later: kept
        assert store.get_transient(key) == b"v"
    store.close()


def test_live_records_survive_and_the_threshold_doubles(small_sweep: int) -> None:
    store = MemoryStore()
    ends = 100 * DAY_MS
    for n in range(5 * small_sweep):
        assert store.swap_transient(f"live/{n:03}", None, b"v", expires_at_ms=ends + n)
    assert _size(store) == 5 * small_sweep  # nothing was old enough to drop
    assert all(store.get_transient(f"live/{n:03}") == b"v" for n in range(5 * small_sweep))
    # The sweeps found nothing to drop, so the next one waits for twice as many records.
    assert store._sweep_transient_at >= 2 * 4 * small_sweep
    store.close()


def test_sweep_keeps_the_table_bounded(small_sweep: int) -> None:
    # Failed logins under ever new names (an attacker's): one every 10 minutes for 30 days,
    # each kept an hour. Only the last day's records can survive a sweep, and the threshold
    # follows what survives, so the table never holds much more than twice a day's worth.
    store = MemoryStore()
    every_ms = 10 * 60_000
    per_day = DAY_MS // every_ms
    largest = 0
    for n in range(30 * per_day):
        now = n * every_ms
        assert store.swap_transient(f"user/{n}", None, b"1", expires_at_ms=now + HOUR_MS)
        largest = max(largest, _size(store))
    written = 30 * per_day
    assert largest <= 2 * (per_day + 7) + 1 < written // 10
    # Every record still live (it ends in the future) is there.
    last = (written - 1) * every_ms
    for n in range(written):
        if n * every_ms + HOUR_MS >= last:
            assert store.get_transient(f"user/{n}") == b"1"
    store.close()


def test_sweep_runs_on_writes_only(small_sweep: int) -> None:
    store = MemoryStore()
    for n in range(small_sweep):
        assert store.swap_transient(f"old/{n}", None, b"v", expires_at_ms=1)
    # Failed swaps and deletes do not grow the table, and so do not sweep it.
    assert not store.swap_transient("old/0", b"wrong", b"x", expires_at_ms=10 * DAY_MS)
    assert store.swap_transient("old/0", b"v", None, expires_at_ms=10 * DAY_MS)
    assert _size(store) == small_sweep - 1
    assert store.swap_transient("a", None, b"v", expires_at_ms=10 * DAY_MS)
    assert _size(store) == small_sweep  # back at the threshold: still no sweep
    assert store.swap_transient("b", None, b"v", expires_at_ms=10 * DAY_MS)
    assert _size(store) == 2
    store.close()


def test_sweep_leaves_the_directory_and_tokens_alone(small_sweep: int) -> None:
    store = MemoryStore()
    store.put("k", b"v")
    store.put_token("t", "user:1", b"r", created_ms=0, expires_at_ms=1)
    before = store.generation()
    for n in range(small_sweep + 1):
        assert store.swap_transient(f"n{n}", None, b"v", expires_at_ms=1 + n * 10 * DAY_MS)
    assert _size(store) < small_sweep
    assert store.get("k") == b"v"
    assert store.get_token("t").record == b"r"  # only purge_expired collects tokens
    assert store.generation() == before
    store.close()
