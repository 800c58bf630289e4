"""The Store contract, run against every backend through the ``store`` fixture (protocol only)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baas_auth.errors import StoreError
from baas_auth.stores import Store, TokenLookup
from tests.threads import run_threads


def _put_token(
    store: Store,
    token_id: str,
    principal: str = "user:1",
    *,
    created_ms: int = 1_000,
    expires_at_ms: int | None = 10_000,
) -> None:
    record = f"record of {token_id}".encode()
    store.put_token(token_id, principal, record, created_ms=created_ms, expires_at_ms=expires_at_ms)


def test_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)


# Directory records


def test_get_absent_is_none(store: Store) -> None:
    assert store.get("nothing") is None


def test_put_then_get_and_replace(store: Store) -> None:
    store.put("k", b"one")
    assert store.get("k") == b"one"
    store.put("k", b"two")
    assert store.get("k") == b"two"


@pytest.mark.parametrize("value", [b"", b"\x00\xff\x00", bytes(range(256)) * 64])
def test_values_are_opaque_bytes(store: Store, value: bytes) -> None:
    store.put("k", value)
    got = store.get("k")
    assert type(got) is bytes
    assert got == value


def test_create_writes_only_when_absent(store: Store) -> None:
    assert store.create("k", b"first") is True
    assert store.create("k", b"second") is False
    assert store.get("k") == b"first"


def test_delete(store: Store) -> None:
    store.put("k", b"v")
    assert store.delete("k") is True
    assert store.get("k") is None
    assert store.delete("k") is False
    assert store.create("k", b"again") is True


def test_create_is_atomic_across_threads(store: Store) -> None:
    winners: list[int] = []

    def work(i: int) -> None:
        if store.create("race", str(i).encode()):
            winners.append(i)

    run_threads(8, work)
    assert len(winners) == 1
    assert store.get("race") == str(winners[0]).encode()


# Generation


def test_generation_grows_on_each_directory_write(store: Store) -> None:
    seen = [store.generation()]
    writes: list[Callable[[], object]] = [
        lambda: store.put("a", b"1"),
        lambda: store.put("a", b"1"),  # the same value again is still a write
        lambda: store.create("b", b"2"),
        lambda: store.delete("a"),
    ]
    for write in writes:
        write()
        seen.append(store.generation())
    assert seen == sorted(set(seen)), seen


def test_generation_unchanged_by_reads_and_no_op_writes(store: Store) -> None:
    store.put("a", b"1")
    before = store.generation()
    store.get("a")
    store.get_many(["a", "b"])
    store.scan("")
    assert store.create("a", b"other") is False
    assert store.delete("missing") is False
    assert store.generation() == before


def test_generation_unchanged_by_token_writes(store: Store) -> None:
    store.put("a", b"1")
    before = store.generation()
    _put_token(store, "t1", expires_at_ms=1)
    _put_token(store, "t2")
    store.touch_token("t2", 2_000)
    store.delete_token("t2")
    store.delete_principal_tokens("user:1")
    store.purge_expired(10**12)
    assert store.generation() == before


def test_generation_loses_no_increment_under_threads(store: Store) -> None:
    before = store.generation()

    def work(i: int) -> None:
        for n in range(20):
            store.put(f"k{i}/{n}", b"v")

    run_threads(6, work)
    assert store.generation() >= before + 6 * 20


# scan


def test_scan_returns_sorted_matches(store: Store) -> None:
    for key in ["b/2", "a/1", "b/10", "b/1", "c", "b"]:
        store.put(key, key.encode())
    assert store.scan("b/") == [("b/1", b"b/1"), ("b/10", b"b/10"), ("b/2", b"b/2")]
    assert [key for key, _ in store.scan("")] == ["a/1", "b", "b/1", "b/10", "b/2", "c"]
    assert store.scan("zzz") == []


LITERAL_KEYS = [
    "a%b", "a%", "a_b", "axb", "aXb", "a\\b", "a*b", "a[b]", "a", "ab", "b",
    "ü/x", "ü/", "üx", "u/x", "😀/1", "😀", "a😀", "a\uffff", "a\uffffz",
    "a\U0010ffff", "a\U0010ffff\U0010ffff", "\U0010ffff", "a\x00b", "a b", "A%b",
]  # fmt: skip


@pytest.mark.parametrize(
    "prefix",
    ["a%", "a_", "a\\", "a*", "a[", "a", "ü/", "ü", "😀", "a\uffff", "a\U0010ffff", "\U0010ffff",
     "a\x00", "%", "_", "", "A"],
)  # fmt: skip
def test_scan_prefix_is_literal(store: Store, prefix: str) -> None:
    for key in LITERAL_KEYS:
        store.put(key, key.encode())
    expected = sorted((key, key.encode()) for key in LITERAL_KEYS if key.startswith(prefix))
    assert store.scan(prefix) == expected


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=st.lists(st.text(max_size=6), max_size=8), prefix=st.text(max_size=3))
def test_scan_matches_startswith(store: Store, keys: list[str], prefix: str) -> None:
    # Examples share one store: each works under its own namespace, which the scan includes.
    namespace = f"ns{next(_namespaces)}/"
    for key in keys:
        store.put(namespace + key, key.encode())
    found = store.scan(namespace + prefix)
    expected = sorted({(namespace + k, k.encode()) for k in keys if k.startswith(prefix)})
    assert found == expected


_namespaces = itertools.count()


# get_many


def test_get_many_keeps_order_and_gaps(store: Store) -> None:
    store.put("a", b"A")
    store.put("c", b"C")
    assert store.get_many(["c", "b", "a", "c"]) == [b"C", None, b"A", b"C"]
    assert store.get_many([]) == []
    assert store.get_many(("a",)) == [b"A"]


def test_get_many_with_many_keys(store: Store) -> None:
    for n in range(0, 1500, 2):
        store.put(f"k{n}", str(n).encode())
    keys = [f"k{n}" for n in range(1499, -1, -1)]
    expected = [str(n).encode() if n % 2 == 0 else None for n in range(1499, -1, -1)]
    assert store.get_many(keys) == expected


# Tokens


def test_put_and_get_token(store: Store) -> None:
    store.put("dir", b"x")
    _put_token(store, "t1")
    lookup = store.get_token("t1")
    assert lookup == TokenLookup(b"record of t1", store.generation())
    assert type(lookup.record) is bytes


def test_get_absent_token_still_reports_generation(store: Store) -> None:
    store.put("dir", b"x")
    store.put("dir", b"y")
    assert store.get_token("missing") == TokenLookup(None, store.generation())


def test_get_token_sees_a_new_generation(store: Store) -> None:
    _put_token(store, "t1")
    first = store.get_token("t1").generation
    store.put("dir", b"x")
    assert store.get_token("t1").generation > first


def test_put_token_replaces_and_moves_index(store: Store) -> None:
    _put_token(store, "t1", "user:old")
    store.put_token("t1", "user:new", b"new", created_ms=5_000, expires_at_ms=None)
    assert store.get_token("t1").record == b"new"
    assert store.delete_principal_tokens("user:old") == 0
    assert store.delete_principal_tokens("user:new") == 1


def test_touch_returns_longest_gap(store: Store) -> None:
    _put_token(store, "t1", created_ms=1_000)
    assert store.touch_token("t1", 1_500) == 500  # the first use is measured from creation
    assert store.touch_token("t1", 1_600) == 500  # a gap of 100 keeps the longest
    assert store.touch_token("t1", 2_400) == 800
    assert store.touch_token("t1", 2_400) == 800  # two uses in one millisecond
    assert store.touch_token("t1", 2_450) == 800


def test_touch_immediately_after_creation_is_zero(store: Store) -> None:
    _put_token(store, "t1", created_ms=7_000)
    assert store.touch_token("t1", 7_000) == 0


def test_touch_never_decreases(store: Store) -> None:
    _put_token(store, "t1", created_ms=1_000)
    gaps = [store.touch_token("t1", now) for now in [1_010, 1_900, 1_950, 1_940, 3_000, 3_001]]
    assert gaps == [10, 890, 890, 890, 1_060, 1_060]


def test_touch_absent_token_is_none(store: Store) -> None:
    assert store.touch_token("missing", 1_000) is None


def test_put_token_again_resets_use(store: Store) -> None:
    _put_token(store, "t1", created_ms=0)
    assert store.touch_token("t1", 5_000) == 5_000
    _put_token(store, "t1", created_ms=6_000)
    assert store.touch_token("t1", 6_100) == 100


def test_touch_never_decreases_under_threads(store: Store) -> None:
    _put_token(store, "t1", created_ms=0)
    seen: list[list[int | None]] = [[] for _ in range(6)]
    run_threads(6, lambda i: seen[i].extend(store.touch_token("t1", 100 * n) for n in range(20)))
    for gaps in seen:
        assert None not in gaps
        assert gaps == sorted(gaps, key=lambda gap: gap or 0)


def test_delete_token(store: Store) -> None:
    _put_token(store, "t1")
    _put_token(store, "t2")
    assert store.delete_token("t1") is True
    assert store.get_token("t1").record is None
    assert store.touch_token("t1", 2_000) is None
    assert store.delete_token("t1") is False
    assert store.get_token("t2").record == b"record of t2"
    assert store.delete_principal_tokens("user:1") == 1  # the index forgot t1


def test_delete_principal_tokens(store: Store) -> None:
    for token_id in ["a1", "a2", "a3"]:
        _put_token(store, token_id, "user:a")
    _put_token(store, "b1", "user:b")
    assert store.delete_principal_tokens("user:a") == 3
    assert [store.get_token(t).record for t in ["a1", "a2", "a3"]] == [None, None, None]
    assert store.get_token("b1").record == b"record of b1"
    assert store.delete_principal_tokens("user:a") == 0
    assert store.delete_principal_tokens("user:nobody") == 0


def test_purge_expired_only_removes_expired(store: Store) -> None:
    _put_token(store, "early", "user:a", expires_at_ms=100)
    _put_token(store, "late", "user:a", expires_at_ms=200)
    _put_token(store, "never", "user:a", expires_at_ms=None)
    assert store.purge_expired(150) == 1
    assert store.get_token("early").record is None
    assert store.purge_expired(200) == 0  # expiring at this very instant: not yet passed
    assert store.purge_expired(201) == 1
    assert store.purge_expired(10**15) == 0
    assert store.get_token("never").record == b"record of never"
    assert store.delete_principal_tokens("user:a") == 1  # the index forgot the purged ones


def test_purge_expired_on_empty_store(store: Store) -> None:
    assert store.purge_expired(10**15) == 0


# close


def test_close_is_idempotent_and_then_fails_closed(store: Store) -> None:
    store.put("k", b"v")
    store.close()
    store.close()
    with pytest.raises(StoreError):
        store.get("k")
    with pytest.raises(StoreError):
        store.get_token("t")


# transact: several directory writes, all or none


def test_transact_applies_creates_puts_and_deletes_together(store: Store) -> None:
    store.put("keep", b"kept")
    store.put("old", b"1")
    store.put("gone/1", b"x")
    store.put("gone/2", b"y")
    assert store.transact(
        create={"new/1": b"a", "new/2": b"b"},
        put={"old": b"2", "fresh": b"3"},
        delete=["gone/1", "gone/2"],
    )
    assert store.scan("") == [
        ("fresh", b"3"),
        ("keep", b"kept"),
        ("new/1", b"a"),
        ("new/2", b"b"),
        ("old", b"2"),
    ]


@pytest.mark.parametrize("taken", ["claim/a", "claim/m", "claim/z"])
def test_transact_conflicting_create_writes_nothing(store: Store, taken: str) -> None:
    # The existing key comes first, in the middle, or last of the creates: nothing is written.
    store.put(taken, b"owner")
    store.put("replace/me", b"before")
    store.put("delete/me", b"still here")
    before, generation = store.scan(""), store.generation()
    created = {key: b"new" for key in ["claim/a", "claim/m", "claim/z"]}
    assert (
        store.transact(
            create=created, put={"replace/me": b"after", "put/new": b"n"}, delete=["delete/me"]
        )
        is False
    )
    assert store.scan("") == before
    assert store.generation() == generation
    assert store.get_token("t").generation == generation


def test_transact_create_conflicts_with_an_empty_record(store: Store) -> None:
    store.put("empty", b"")  # present, though its value is empty
    assert store.transact(create={"empty": b"x", "other": b"y"}) is False
    assert store.get_many(["empty", "other"]) == [b"", None]


def test_transact_conflict_then_retry_without_it(store: Store) -> None:
    store.put("taken", b"owner")
    assert not store.transact(create={"taken": b"x", "mine": b"y"})
    assert store.transact(create={"mine": b"y"})
    assert store.get_many(["taken", "mine"]) == [b"owner", b"y"]


@pytest.mark.parametrize(
    "transact",
    [
        lambda s: s.transact(create={"c1": b"1", "c2": b"2", "c3": b"3"}),
        lambda s: s.transact(put={"p1": b"1", "p2": b"2", "present": b"again"}),
        lambda s: s.transact(delete=["present", "other"]),
        lambda s: s.transact(create={"c1": b"1"}, put={"p1": b"1"}, delete=["present", "other"]),
    ],
    ids=["creates", "puts", "deletes", "all"],
)
def test_transact_moves_the_generation(store: Store, transact: Callable[[Store], bool]) -> None:
    store.put("present", b"v")
    store.put("other", b"w")
    before = store.generation()
    assert transact(store) is True
    assert store.generation() > before
    assert store.get_token("t").generation == store.generation() > before


def test_transact_deleting_absent_keys_is_fine(store: Store) -> None:
    store.put("stay", b"v")
    before = store.generation()
    assert store.transact(put={"a": b"1"}, delete=["missing/1", "missing/2"]) is True
    assert store.scan("") == [("a", b"1"), ("stay", b"v")]
    assert store.generation() > before
    # Only absent keys to delete: still a success that changes no record, nor the generation
    # (as a delete of a missing key leaves it alone).
    assert store.transact(delete=["missing/1", "missing/1"]) is True
    assert store.scan("") == [("a", b"1"), ("stay", b"v")]
    assert store.generation() > before


def test_transact_with_nothing_to_do_succeeds(store: Store) -> None:
    store.put("stay", b"v")
    before = store.generation()
    assert store.transact() is True
    assert store.transact(create={}, put={}, delete=[]) is True
    assert store.scan("") == [("stay", b"v")]
    assert store.generation() == before


@pytest.mark.parametrize("value", [b"", b"\x00\xff\x00", bytes(range(256)) * 64])
def test_transact_values_are_opaque_bytes(store: Store, value: bytes) -> None:
    assert store.transact(create={"c": value}, put={"p": value})
    for got in store.get_many(["c", "p"]):
        assert type(got) is bytes
        assert got == value
    assert store.scan("") == [("c", value), ("p", value)]


def test_transact_with_many_keys(store: Store) -> None:
    created = {f"c{n:04}": str(n).encode() for n in range(1500)}
    assert store.transact(create=created, put={"p": b"x"})
    assert store.scan("c") == sorted(created.items())
    before = store.generation()
    # A conflict among many creates, found at the very end, still writes nothing.
    conflicting = {f"d{n:04}": b"new" for n in range(1500)} | {"c1499": b"again"}
    assert store.transact(create=conflicting, delete=list(created)) is False
    assert store.scan("d") == []
    assert store.scan("c") == sorted(created.items())
    assert store.generation() == before
    assert store.transact(delete=list(created))
    assert store.scan("") == [("p", b"x")]


def test_transact_is_atomic_across_threads(store: Store) -> None:
    before = store.generation()
    winners: list[int] = []

    def work(i: int) -> None:
        if store.transact(create={"claim:x": str(i).encode(), f"rec:{i}": b"record"}):
            winners.append(i)

    run_threads(8, work)
    assert len(winners) == 1
    assert store.get("claim:x") == str(winners[0]).encode()
    assert store.scan("rec:") == [(f"rec:{winners[0]}", b"record")]
    assert store.generation() > before


def test_transact_loses_no_write_under_threads(store: Store) -> None:
    # Disjoint transacts from many threads: every one succeeds and each bumps the generation.
    before = store.generation()

    def work(i: int) -> None:
        for n in range(10):
            assert store.transact(create={f"c{i}/{n}": b"c"}, put={f"p{i}": str(n).encode()})

    run_threads(6, work)
    assert len(store.scan("c")) == 6 * 10
    assert store.get_many([f"p{i}" for i in range(6)]) == [b"9"] * 6
    assert store.generation() >= before + 6 * 10  # at least one step per write


def test_transact_on_a_closed_store_fails_closed(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError):
        store.transact(put={"k": b"v"})
    with pytest.raises(StoreError):
        store.transact(create={"k": b"v"})
    with pytest.raises(StoreError):
        store.transact(delete=["k"])


# Transient records: compare-and-swap, outside the directory


def test_get_absent_transient_is_none(store: Store) -> None:
    assert store.get_transient("nothing") is None


def test_swap_transient_from_none_creates(store: Store) -> None:
    assert store.swap_transient("n", None, b"one", expires_at_ms=10_000) is True
    got = store.get_transient("n")
    assert type(got) is bytes
    assert got == b"one"
    assert store.swap_transient("n", None, b"again", expires_at_ms=10_000) is False
    assert store.get_transient("n") == b"one"


def test_swap_transient_replaces_when_expected(store: Store) -> None:
    assert store.swap_transient("n", None, b"one", expires_at_ms=10_000)
    assert store.swap_transient("n", b"one", b"two", expires_at_ms=10_000) is True
    assert store.get_transient("n") == b"two"


def test_swap_transient_with_wrong_expected_changes_nothing(store: Store) -> None:
    assert store.swap_transient("n", None, b"one", expires_at_ms=10_000)
    assert store.swap_transient("n", b"other", b"two", expires_at_ms=10_000) is False
    assert store.swap_transient("n", b"one!", None, expires_at_ms=10_000) is False
    assert store.swap_transient("n", b"", b"two", expires_at_ms=10_000) is False
    assert store.get_transient("n") == b"one"
    # Expecting a record where there is none changes nothing either.
    assert store.swap_transient("absent", b"one", b"two", expires_at_ms=10_000) is False
    assert store.get_transient("absent") is None


def test_swap_transient_to_none_deletes(store: Store) -> None:
    assert store.swap_transient("n", None, b"one", expires_at_ms=10_000)
    assert store.swap_transient("n", b"one", None, expires_at_ms=10_000) is True
    assert store.get_transient("n") is None
    assert store.swap_transient("n", b"one", None, expires_at_ms=10_000) is False
    assert store.swap_transient("n", None, b"back", expires_at_ms=10_000) is True
    assert store.get_transient("n") == b"back"


@pytest.mark.parametrize("value", [b"", b"\x00\xff\x00", bytes(range(256)) * 64])
def test_transient_values_are_opaque_bytes(store: Store, value: bytes) -> None:
    assert store.swap_transient("n", None, value, expires_at_ms=10_000)
    got = store.get_transient("n")
    assert type(got) is bytes
    assert got == value
    if value == b"":
        # An empty record is present: it is not the absence that None expects.
        assert store.swap_transient("n", None, b"x", expires_at_ms=10_000) is False
    assert store.swap_transient("n", value, b"next", expires_at_ms=10_000) is True
    assert store.get_transient("n") == b"next"


def test_transient_records_are_apart_from_the_directory(store: Store) -> None:
    store.put("k", b"directory")
    assert store.get_transient("k") is None
    assert store.swap_transient("k", None, b"transient", expires_at_ms=10_000)
    assert store.get("k") == b"directory"
    assert store.scan("") == [("k", b"directory")]
    assert store.delete("k")
    assert store.get_transient("k") == b"transient"
    assert store.transact(create={"k": b"again"})  # the transient record is no conflict


def test_transient_writes_never_move_the_generation(store: Store) -> None:
    store.put("dir", b"x")
    before = store.generation()
    assert store.swap_transient("n", None, b"1", expires_at_ms=100)
    assert store.swap_transient("n", b"1", b"2", expires_at_ms=100)
    assert not store.swap_transient("n", b"1", b"3", expires_at_ms=100)
    store.get_transient("n")
    assert store.swap_transient("n", b"2", None, expires_at_ms=100)
    assert store.swap_transient("m", None, b"1", expires_at_ms=100)
    store.purge_expired(10**12)
    assert store.generation() == before
    assert store.get_token("t").generation == before


def test_purge_expired_collects_transient_records(store: Store) -> None:
    for key, ends in [("early", 100), ("edge", 200), ("late", 300)]:
        assert store.swap_transient(key, None, key.encode(), expires_at_ms=ends)
    _put_token(store, "token", expires_at_ms=10**9)
    assert store.purge_expired(200) == 0  # the count is of tokens only
    assert store.get_transient("early") is None
    assert store.get_transient("edge") == b"edge"  # expiring at this very instant: kept
    assert store.get_transient("late") == b"late"
    assert store.purge_expired(201) == 0
    assert store.get_transient("edge") is None
    assert store.get_transient("late") == b"late"
    assert store.get_token("token").record == b"record of token"
    # A purged record is absent: swapping from None creates it anew.
    assert store.swap_transient("early", None, b"anew", expires_at_ms=10**9)


def test_purge_expired_counts_tokens_beside_transient_records(store: Store) -> None:
    _put_token(store, "t1", expires_at_ms=100)
    assert store.swap_transient("n", None, b"v", expires_at_ms=100)
    assert store.purge_expired(101) == 1
    assert store.get_transient("n") is None


def test_swap_transient_moves_the_expiry(store: Store) -> None:
    assert store.swap_transient("n", None, b"1", expires_at_ms=100)
    assert store.swap_transient("n", b"1", b"2", expires_at_ms=1_000)
    store.purge_expired(500)
    assert store.get_transient("n") == b"2"
    # A failed swap leaves the expiry as it was.
    assert not store.swap_transient("n", b"1", b"3", expires_at_ms=10**9)
    store.purge_expired(1_001)
    assert store.get_transient("n") is None


def test_swap_transient_increments_lose_nothing_under_threads(store: Store) -> None:
    threads, rounds = 8, 15

    def work(i: int) -> None:
        for _ in range(rounds):
            while True:
                raw = store.get_transient("counter")
                count = 0 if raw is None else int(raw)
                if store.swap_transient(
                    "counter", raw, str(count + 1).encode(), expires_at_ms=10**9
                ):
                    break

    run_threads(threads, work)
    assert store.get_transient("counter") == str(threads * rounds).encode()


def test_transient_on_a_closed_store_fails_closed(store: Store) -> None:
    assert store.swap_transient("n", None, b"v", expires_at_ms=10_000)
    store.close()
    with pytest.raises(StoreError):
        store.get_transient("n")
    with pytest.raises(StoreError):
        store.swap_transient("n", b"v", b"w", expires_at_ms=10_000)
    with pytest.raises(StoreError):
        store.swap_transient("m", None, b"w", expires_at_ms=10_000)


def test_async_store_protocol_mirrors_the_sync_one() -> None:
    """Every Store method exists on AsyncStore as a coroutine with the same parameters."""
    import inspect

    from baas_auth.stores import AsyncStore

    def methods(protocol: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in vars(protocol).items()
            if callable(member) and not name.startswith("_")
        }

    sync, asynchronous = methods(Store), methods(AsyncStore)
    assert sync.keys() == asynchronous.keys()
    for name, signature in sync.items():
        assert inspect.iscoroutinefunction(vars(AsyncStore)[name]), name
        assert list(signature.parameters) == list(asynchronous[name].parameters), name
        assert signature.return_annotation == asynchronous[name].return_annotation, name


def test_revoke_all_of_more_tokens_than_one_batch(store: Store) -> None:
    """Redis revokes in batches of 500 (a script holds the whole server while it runs): more
    tokens than one batch are all revoked, and counted once."""
    for index in range(1_201):
        _put_token(store, f"many{index}", "user:many")
    _put_token(store, "other", "user:other")
    assert store.delete_principal_tokens("user:many") == 1_201
    assert store.get_token("many0").record is None
    assert store.get_token("many1200").record is None
    assert store.get_token("other").record is not None
    assert store.delete_principal_tokens("user:many") == 0
