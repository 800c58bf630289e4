"""The memory store's compact token table gives back exactly what it was given.

Records are kept as their difference from their owner's first record, and the realm's ids as
the bytes they spell: whatever the records and ids, ``get_token`` returns the very bytes stored,
two different ids never share a record, and an owner's template goes with its last token.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from baas_auth.stores import MemoryStore
from baas_auth.stores._memory_tokens import TokenTable

REALM_ID = "ab" * 32


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=20))
def test_every_record_of_one_owner_comes_back_exactly(records: list[bytes]) -> None:
    store = MemoryStore()
    for index, record in enumerate(records):
        store.put_token(f"{index:064x}", "user:a", record, created_ms=index, expires_at_ms=None)
    for index, record in enumerate(records):
        assert store.get_token(f"{index:064x}").record == record


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_a_replaced_record_comes_back_as_replaced(first: bytes, second: bytes) -> None:
    store = MemoryStore()
    store.put_token(REALM_ID, "user:a", first, created_ms=1, expires_at_ms=None)
    store.put_token(REALM_ID, "user:b", second, created_ms=2, expires_at_ms=None)
    assert store.get_token(REALM_ID).record == second
    assert store.delete_principal_tokens("user:a") == 0
    assert store.delete_principal_tokens("user:b") == 1


def test_ids_that_spell_the_same_bytes_stay_apart() -> None:
    store = MemoryStore()
    spaced = "ab " * 21 + "a"  # 64 characters that fromhex reads as 21 bytes
    digits = "12" * 32  # no letter: not lower case, kept as written
    ids = [REALM_ID, REALM_ID.upper(), REALM_ID[:-1], "t1", spaced, digits, "é" * 64]
    for index, token_id in enumerate(ids):
        store.put_token(token_id, "user:a", f"r{index}".encode(), created_ms=1, expires_at_ms=None)
    records = [store.get_token(token_id).record for token_id in ids]
    assert records == [f"r{index}".encode() for index in range(len(ids))]


def test_an_owner_is_forgotten_with_its_last_token() -> None:
    table = TokenTable()
    table.put(REALM_ID, "user:a", b"template", 1, None)
    table.put("t2", "user:a", b"templatf", 1, 10)
    assert table.delete(REALM_ID)
    assert table.get("t2") == b"templatf"
    assert table.purge(11) == 1
    assert not table._owners
    assert not table._by_number
    table.put("t3", "user:a", b"new template", 1, None)
    assert table.get("t3") == b"new template"


def test_uses_are_measured_from_creation_then_from_the_last_use() -> None:
    table = TokenTable()
    table.put(REALM_ID, "user:a", b"r", 1_000, None)
    assert table.touch(REALM_ID, 1_500) == 500
    assert table.touch(REALM_ID, 1_600) == 500
    assert table.touch(REALM_ID, 2_600) == 1_000
    assert table.delete(REALM_ID)
    assert table.touch(REALM_ID, 3_000) is None
    assert not table._uses
