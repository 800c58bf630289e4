"""The ``TokenTransfer`` contract (listing every token record whole, and writing it back), run
against every backend through the ``store`` fixture: what a copy, a backup and a restore of a
realm rely on to carry its tokens byte for byte."""

from __future__ import annotations

import pytest

from baas_auth.errors import StoreError
from baas_auth.stores import Store
from baas_auth.stores.protocols import ChangeStamped, TokenEntry, TokenTransfer

RECORD = bytes(range(256)) + b"\x00tail"


def _transfer(store: Store) -> TokenTransfer:
    assert isinstance(store, TokenTransfer)
    return store


def test_every_store_lists_and_loads_tokens(store: Store) -> None:
    assert _transfer(store).scan_tokens() == []


def test_scan_lists_each_token_whole_sorted_by_id(store: Store) -> None:
    store.put_token("b" * 64, "user:1", RECORD, created_ms=1_000, expires_at_ms=90_000)
    store.put_token("a" * 64, "user:2", b"second", created_ms=2_000, expires_at_ms=None)
    store.put_token("other id", "user:1", b"third", created_ms=3_000, expires_at_ms=5_000)
    assert store.touch_token("b" * 64, 4_000) == 3_000
    assert store.touch_token("b" * 64, 5_000) == 3_000
    assert _transfer(store).scan_tokens() == [
        TokenEntry("a" * 64, "user:2", b"second", 2_000, None, 2_000, 0),
        TokenEntry("b" * 64, "user:1", RECORD, 1_000, 90_000, 5_000, 3_000),
        TokenEntry("other id", "user:1", b"third", 3_000, 5_000, 3_000, 0),
    ]
    record = _transfer(store).scan_tokens()[1].record
    assert type(record) is bytes


def test_loaded_tokens_are_as_listed_indexed_and_collected(store: Store) -> None:
    entries = [
        TokenEntry("c" * 64, "user:1", RECORD, 1_000, 90_000, 7_000, 2_500),
        TokenEntry("d", "user:1", b"never expires", 1_000, None, 1_000, 0),
        TokenEntry("e", "user:2", b"expired", 1_000, 2_000, 1_000, 0),
    ]
    _transfer(store).load_tokens(entries)
    assert _transfer(store).scan_tokens() == entries
    assert store.get_token("c" * 64).record == RECORD
    assert store.touch_token("c" * 64, 10_000) == 3_000  # from the last use loaded
    assert store.purge_expired(3_000) == 1  # the expired one, by its expiry
    assert store.delete_principal_tokens("user:1") == 2  # indexed under their principal
    assert _transfer(store).scan_tokens() == []


def test_loading_replaces_a_token_and_moves_its_index(store: Store) -> None:
    store.put_token("t", "user:old", b"old", created_ms=1_000, expires_at_ms=50_000)
    _transfer(store).load_tokens([TokenEntry("t", "user:new", b"new", 2_000, None, 2_000, 0)])
    assert store.delete_principal_tokens("user:old") == 0
    assert store.get_token("t").record == b"new"
    assert store.purge_expired(60_000) == 0  # no longer indexed under the old expiry
    assert store.delete_principal_tokens("user:new") == 1


def test_loading_many_tokens_in_batches(store: Store) -> None:
    entries = [
        TokenEntry(f"{index:064x}", f"user:{index % 7}", f"r{index}".encode(), 1, 10**13, 1, 0)
        for index in range(1_001)
    ]
    _transfer(store).load_tokens(entries)
    assert _transfer(store).scan_tokens() == entries


def test_loading_tokens_moves_the_change_stamp_not_the_generation(store: Store) -> None:
    generation = store.generation()
    stamp = store.change_stamp() if isinstance(store, ChangeStamped) else None
    _transfer(store).load_tokens([TokenEntry("t", "user:1", b"r", 1, None, 1, 0)])
    assert store.generation() == generation
    if stamp is not None and isinstance(store, ChangeStamped):
        assert store.change_stamp() != stamp


def test_a_closed_store_fails_closed(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError):
        _transfer(store).scan_tokens()
    with pytest.raises(StoreError):
        _transfer(store).load_tokens([TokenEntry("t", "user:1", b"r", 1, None, 1, 0)])


def test_redis_lists_only_its_own_prefix_even_with_glob_characters(
    open_redis: object, redis_server: object
) -> None:
    """SCAN's pattern escapes the prefix: ``{a*}[x]:`` never lists ``{a-b}x:``'s tokens."""
    from collections.abc import Callable

    from tests.redis_server import RedisServer

    assert isinstance(redis_server, RedisServer)
    opened: Callable[..., Store] = open_redis  # type: ignore[assignment]
    mine = opened(redis_server.url, prefix="{a*}[x]:")
    other = opened(redis_server.url, prefix="{a-b}x:")
    other.put_token("theirs", "user:1", b"r", created_ms=1, expires_at_ms=None)
    mine.put_token("mine", "user:1", b"r", created_ms=1, expires_at_ms=None)
    assert [entry.token_id for entry in _transfer(mine).scan_tokens()] == ["mine"]
    mine.delete_token("mine")
    other.delete_token("theirs")
