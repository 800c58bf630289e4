"""Stores written by baas-auth 0.1 are upgraded when a Realm opens them (baas_auth/layout.py).

0.1 kept users and admins under their username, with uuid and email aliases in a separate index
that a crafted username could shadow. The upgrade re-keys accounts by uuid, claims their names
in one index, gives a name that several accounts had (or a username shaped like a uuid) to
nobody, and drops rules the stricter grammar refuses; it warns about each.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from baas_auth import MemoryStore, Realm, SQLiteStore
from baas_auth.errors import NotFoundError
from baas_auth.realm.layout import LAYOUT, LayoutUpgradeWarning
from baas_auth.stores import Store
from tests.conftest import FAST_HASHER

ALICE = "0b8e9c52-5d3e-4a51-9a57-0a5fb2a4c001"
MALLORY = "0b8e9c52-5d3e-4a51-9a57-0a5fb2a4c002"
BOB = "0b8e9c52-5d3e-4a51-9a57-0a5fb2a4c003"
ANN = "0b8e9c52-5d3e-4a51-9a57-0a5fb2a4c004"
PASSWORD = "wonderland-password"


def _json(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def _user(uuid: str, username: str, email: str | None, **extra: object) -> bytes:
    return _json(
        uuid=uuid,
        username=username,
        email=email,
        password_hash=FAST_HASHER.hash(PASSWORD),
        activated=True,
        disabled=False,
        rules=[],
        roles=[],
        groups=[],
        **extra,
    )


def write_0_1_store(store: Store) -> None:
    """What 0.1 wrote for: alice; mallory, whose username is alice's uuid (the attack); bob,
    whose username is mallory's email (another collision); admin ann; and a rule with a
    placeholder that 0.1 stored as a literal path."""
    records = {
        "org:acme": _json(uuid="0b8e9c52-0000-4000-8000-000000000001", name="acme"),
        "app:acme/shop": _json(
            uuid="0b8e9c52-0000-4000-8000-000000000002", org="acme", name="shop"
        ),
        "role:acme/shop:default": _json(
            name="default", inactivity_ms=0, rules=["get:/books/**", "get:/books/<id>"]
        ),
        "role:acme/shop:guest": _json(name="guest", inactivity_ms=0, rules=[]),
        "user:acme/shop:alice": _user(ALICE, "alice", "alice@example.com"),
        "useralias:acme/shop:" + ALICE: b"alice",
        "useralias:acme/shop:alice@example.com": b"alice",
        "user:acme/shop:" + ALICE: _user(MALLORY, ALICE, "m@example.com"),
        "useralias:acme/shop:" + MALLORY: ALICE.encode(),
        "useralias:acme/shop:m@example.com": ALICE.encode(),
        "user:acme/shop:m@example.com": _user(BOB, "m@example.com", None),
        "useralias:acme/shop:" + BOB: b"m@example.com",
        "admin:ann": _json(
            uuid=ANN,
            username="ann",
            email="ann@example.com",
            password_hash=FAST_HASHER.hash(PASSWORD),
            orgs=["acme"],
            disabled=False,
        ),
        "adminalias:" + ANN: b"ann",
        "adminalias:ann@example.com": b"ann",
    }
    for key, value in records.items():
        store.put(key, value)


@pytest.fixture(params=["memory", "sqlite"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    store: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "a.db")
    write_0_1_store(store)
    return store


def _open(store: Store) -> tuple[Realm, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        realm = Realm(store, password_hasher=FAST_HASHER)
    return realm, [str(w.message) for w in caught if w.category is LayoutUpgradeWarning]


def test_accounts_are_rekeyed_and_each_name_names_one_account(old_store: Store) -> None:
    realm, warned = _open(old_store)
    assert realm.get_user("acme", "shop", "alice").uuid == ALICE
    assert realm.get_user("acme", "shop", ALICE).username == "alice"  # no longer mallory
    assert realm.get_user("acme", "shop", "alice@example.com").uuid == ALICE
    assert realm.get_user("acme", "shop", MALLORY).username == ALICE  # reachable by uuid
    assert realm.get_user("acme", "shop", BOB).username == "m@example.com"
    # m@example.com was mallory's email and bob's username: it now names nobody
    with pytest.raises(NotFoundError):
        realm.get_user("acme", "shop", "m@example.com")
    assert realm.password_token("acme", "shop", "alice", PASSWORD).principal.uuid == ALICE
    assert realm.password_token("acme", "shop", ALICE, PASSWORD).principal.uuid == ALICE
    assert len(warned) == 2
    assert "m@example.com" in warned[0]
    assert ALICE in warned[0]


def test_admins_are_rekeyed(old_store: Store) -> None:
    realm, _ = _open(old_store)
    for name in ("ann", "ANN", "ann@example.com", ANN):
        assert realm.get_admin(name).uuid == ANN
    assert realm.admin_token("ann", PASSWORD).principal.orgs == frozenset({"acme"})


def test_rules_the_grammar_refuses_are_dropped(old_store: Store) -> None:
    realm, warned = _open(old_store)
    assert realm.get_role("acme", "shop", "default").rules == ("get:/books/**",)
    assert any("get:/books/<id>" in message for message in warned)


def test_no_old_index_is_left_and_the_layout_is_marked(old_store: Store) -> None:
    _open(old_store)
    assert old_store.scan("useralias:") == []
    assert old_store.scan("adminalias:") == []
    assert old_store.get("meta:layout") == LAYOUT
    users = dict(old_store.scan("user:"))
    assert sorted(users) == sorted(f"user:acme/shop:{u}" for u in (ALICE, MALLORY, BOB))


def test_the_upgrade_runs_once(old_store: Store) -> None:
    _open(old_store)
    before = old_store.generation()
    realm, warned = _open(old_store)
    assert warned == []
    assert old_store.generation() == before
    assert realm.get_user("acme", "shop", "alice").uuid == ALICE


def test_a_new_store_is_marked_at_its_first_write_without_warnings() -> None:
    store = MemoryStore()
    realm, warned = _open(store)
    assert warned == []
    assert store.scan("") == []  # opening a store that holds no realm writes nothing
    realm.create_org("acme")
    assert store.get("meta:layout") == LAYOUT


# -- layout 2: claims under lower-cased names, now under folded ones -----------------------------


def write_layout_2_store(store: Store) -> dict[str, str]:
    """What the layout before folding wrote: claims keyed by the lower-cased name. carol's
    email folds to another key; mallory's email is a look-alike of dave's username (the
    collision folding forbids now). Returns the uuids."""
    realm = Realm(store, password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    uuids = {
        "carol": realm.create_user(
            "acme", "shop", "carol", password=PASSWORD, email="Stra\u00dfe@x.io"
        ).uuid,
        "dave": realm.create_user("acme", "shop", "dave@x.io", password=PASSWORD).uuid,
        "mallory": realm.create_user("acme", "shop", "mallory", password=PASSWORD).uuid,
        "ann": realm.create_admin("ann", password=PASSWORD, email="\u212ann@x.io").uuid,
    }
    store.delete("userid:acme/shop:strasse@x.io")
    store.put("userid:acme/shop:stra\u00dfe@x.io", uuids["carol"].encode())
    key = f"user:acme/shop:{uuids['mallory']}"
    mallory = json.loads(store.get(key) or b"")
    store.put(key, json.dumps({**mallory, "email": "dave@x\uff0eio"}).encode())
    store.put("userid:acme/shop:dave@x\uff0eio", uuids["mallory"].encode())
    store.put("meta:layout", b"2")
    return uuids


@pytest.fixture(params=["memory", "sqlite"])
def layout_2_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Store, dict[str, str]]:
    store: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "a.db")
    return store, write_layout_2_store(store)


def test_claims_are_folded_once(layout_2_store: tuple[Store, dict[str, str]]) -> None:
    store, uuids = layout_2_store
    realm, _ = _open(store)
    for spelling in ("Stra\u00dfe@x.io", "strasse@x.io", "STRASSE@X.IO", "carol"):
        assert realm.get_user("acme", "shop", spelling).uuid == uuids["carol"]
    assert store.get("userid:acme/shop:stra\u00dfe@x.io") is None  # the old key is gone
    assert realm.password_token("acme", "shop", "strasse@x.io", PASSWORD).principal.username
    assert realm.get_admin("knn@x.io").uuid == uuids["ann"]  # ASCII already: unchanged
    assert store.get("meta:layout") == LAYOUT


def test_a_look_alike_claim_of_another_account_is_dropped_and_reported(
    layout_2_store: tuple[Store, dict[str, str]],
) -> None:
    store, uuids = layout_2_store
    realm, warned = _open(store)
    for spelling in ("dave@x.io", "dave@x\uff0eio", "DAVE@X\uff0eIO"):
        assert realm.get_user("acme", "shop", spelling).uuid == uuids["dave"]
    assert realm.get_user("acme", "shop", "mallory").uuid == uuids["mallory"]
    assert store.get("userid:acme/shop:dave@x\uff0eio") is None
    assert len(warned) == 1
    assert "dave@x\uff0eio" in warned[0]
    assert _open(store)[1] == []
