"""Hole 10 of the first release: a store record that does not decode (behaviour §6.3, §7).

The first release read records with ``json.loads`` and ``Record(**data)``: invalid JSON, a list,
invalid UTF-8 or a missing field raised out of the middleware (a 500, or a crashed ASGI task),
and a field of the wrong type was taken as it came (``"disabled": "yes"`` is truthy, a rule list
given as a string was iterated character by character). Now every record that does not decode
to its type, a stored rule that no longer parses and a corrupted key are ``StoreError``: 503
``service_unavailable`` with ``Retry-After``, never 500 and never "allow".

Records are overwritten in the real store under the ``ProbeStore`` (``world.store.inner``); a
``put`` bumps the store's generation, so the realm drops its cached directory at the next request.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from baas_auth import MemoryStore, Realm, SQLiteStore
from baas_auth.errors import StoreError
from baas_auth.stores._memory_tokens import _HEADER, _NEVER, TokenTable
from tests.adapters.conftest import PASSWORD, Caller, World, assert_error, basic, bearer
from tests.conftest import FAST_HASHER

pytestmark = pytest.mark.parametrize("store_kind", ["memory", "sqlite"])


def _inner(world: World) -> Any:
    """The real store under the ProbeStore: writes here bypass the realm."""
    return world.store.inner


# -- the requests -------------------------------------------------------------------------------


@dataclass
class Tokens:
    """Credentials issued before the store is corrupted (issuing reads the records)."""

    alice: str
    ann: str
    shop_client: str


Send = Callable[[Caller, World, Tokens], httpx.Response]

REQUESTS: dict[str, Send] = {
    "alice-token": lambda c, w, t: c.get("/acme/shop/books", headers=bearer(t.alice)),
    "ann-token": lambda c, w, t: c.get("/management/orgs/acme", headers=bearer(t.ann)),
    "shop-client-basic": lambda c, w, t: c.get(
        "/acme/shop/books", headers={"Authorization": basic(w.shop_creds)}
    ),
    "shop-client-token": lambda c, w, t: c.get("/acme/shop/books", headers=bearer(t.shop_client)),
    "guest": lambda c, w, t: c.post("/acme/shop/users", json={"username": "new"}),
    "password-grant": lambda c, w, t: c.post(
        "/acme/shop/token",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD},
    ),
    "client-grant": lambda c, w, t: c.post(
        "/acme/shop/token",
        data={
            "grant_type": "client_credentials",
            "client_id": w.shop_creds.client_id,
            "client_secret": w.shop_creds.client_secret,
        },
    ),
    "admin-grant": lambda c, w, t: c.post(
        "/management/token",
        data={"grant_type": "password", "username": "ann", "password": PASSWORD},
    ),
}


def _issue(world: World) -> Tokens:
    return Tokens(
        alice=world.token("alice"),
        ann=world.token("ann"),
        shop_client=world.client_token(world.shop_creds),
    )


def _assert_503(response: httpx.Response, caller: Caller, world: World) -> None:
    assert_error(response, 503, "service_unavailable", [], clock=world.clock)
    assert response.headers["retry-after"].isdigit()
    assert "access_token" not in response.json()
    assert not caller.called


def _sanity(caller: Caller, world: World, tokens: Tokens, request: str) -> None:
    """Every request is answered 200 on the intact store (so a 503 below is the corruption's)."""
    response = REQUESTS[request](caller, world, tokens)
    assert response.status_code == 200, (request, response.text)
    caller.calls.clear()


# -- directory records --------------------------------------------------------------------------


def _edit(**changes: Any) -> Callable[[bytes], bytes]:
    """A mutation of the record's JSON: set fields (a value of ``...`` deletes the field)."""

    def mutate(raw: bytes) -> bytes:
        data = json.loads(raw)
        for name, value in changes.items():
            if value is ...:
                del data[name]
            else:
                data[name] = value
        return json.dumps(data).encode()

    return mutate


GENERIC: dict[str, Callable[[bytes], bytes]] = {
    "not-json": lambda raw: b"{not json",
    "truncated": lambda raw: raw[: len(raw) // 2],
    "json-list": lambda raw: b"[]",
    "json-string": lambda raw: b'"alice"',
    "json-null": lambda raw: b"null",
    "not-utf8": lambda raw: b"\xff\xfe" + raw,
    "deeply-nested": lambda raw: b"[" * 100_000 + b"]" * 100_000,
}


@dataclass(frozen=True)
class Record:
    key: Callable[[World], str]
    reads: tuple[str, ...]
    """The requests that read this record (each must be 503 once it is corrupted)."""
    specific: dict[str, Callable[[bytes], bytes]]


def _admin_key(world: World) -> str:
    return f"admin:{world.realm.get_admin('ann').uuid}"


RECORDS: dict[str, Record] = {
    "user": Record(
        lambda w: f"user:acme/shop:{w.uuids['alice']}",
        ("alice-token", "password-grant"),
        {
            "disabled-yes": _edit(disabled="yes"),
            "disabled-false-string": _edit(disabled="false"),
            "activated-1": _edit(activated=1),
            "rules-string": _edit(rules="get:/x"),
            "rules-of-numbers": _edit(rules=[1, 2]),
            "roles-object": _edit(roles={"admin": True}),
            "uuid-missing": _edit(uuid=...),
            "password-hash-number": _edit(password_hash=12),
            "rule-no-longer-parses": _edit(rules=["frob:/x"]),
        },
    ),
    "default-role": Record(
        lambda w: "role:acme/shop:default",
        ("alice-token", "guest"),
        {
            "rules-string": _edit(rules="get:/x"),
            "rules-null": _edit(rules=None),
            "inactivity-string": _edit(inactivity_ms="10"),
            "name-missing": _edit(name=...),
            "rule-no-longer-parses": _edit(rules=["get:/{x"]),
        },
    ),
    "guest-role": Record(
        lambda w: "role:acme/shop:guest",
        ("guest", "alice-token"),
        {
            "rules-string": _edit(rules="post:/users"),
            "rule-no-longer-parses": _edit(rules=["post:/users", "get:x"]),
        },
    ),
    "app": Record(
        lambda w: "app:acme/shop",
        ("guest", "alice-token", "shop-client-basic", "password-grant", "client-grant"),
        {
            "ttl-string": _edit(access_token_ttl_ms="1h"),
            "ttl-bool": _edit(access_token_ttl_ms=True),
            "org-missing": _edit(org=...),
        },
    ),
    "client": Record(
        lambda w: f"client:{w.shop_creds.client_id}",
        ("shop-client-basic", "shop-client-token", "client-grant"),
        {
            "secret-hash-missing": _edit(secret_hash=...),
            "app-number": _edit(app=5),
            "org-null": _edit(org=None),
        },
    ),
    "admin": Record(
        _admin_key,
        ("ann-token", "admin-grant"),
        {
            # "acme" as a string: a substring test would let "a", "ac", "me" in.
            "orgs-string": _edit(orgs="acme"),
            "disabled-string": _edit(disabled="no"),
            "uuid-missing": _edit(uuid=...),
        },
    ),
}

# A record that still decodes but holds a rule that no longer parses fails where the rule is
# compiled, not where the record is merely read (see the test after the next).
RULE_NOT_COMPILED = {
    ("user", "password-grant"),  # issuing a token compiles no rules
    ("default-role", "guest"),  # a guest's rules are the guest role's alone
    ("guest-role", "alice-token"),  # a user's rules never include the guest role's
}

DIRECTORY_CASES = [
    pytest.param(record, mutation, request, id=f"{record}-{mutation}-{request}")
    for record, spec in RECORDS.items()
    for mutation in [*GENERIC, *spec.specific]
    for request in spec.reads
    if mutation != "rule-no-longer-parses" or (record, request) not in RULE_NOT_COMPILED
]


@pytest.mark.parametrize(("record", "mutation", "request_name"), DIRECTORY_CASES)
def test_a_corrupted_directory_record_is_503(
    caller: Caller, world: World, record: str, mutation: str, request_name: str
) -> None:
    spec = RECORDS[record]
    tokens = _issue(world)
    _sanity(caller, world, tokens, request_name)
    key = spec.key(world)
    raw = _inner(world).get(key)
    assert raw is not None, key
    mutate = {**GENERIC, **spec.specific}[mutation]
    _inner(world).put(key, mutate(raw))  # bumps the generation: the cache is dropped
    _assert_503(REQUESTS[request_name](caller, world, tokens), caller, world)
    # Still refused on the next request (the failure is not cached as an answer), and repaired
    # once the record is.
    _assert_503(REQUESTS[request_name](caller, world, tokens), caller, world)
    _inner(world).put(key, raw)
    assert REQUESTS[request_name](caller, world, tokens).status_code == 200


def test_a_users_rule_that_no_longer_parses_fails_when_the_token_is_used(
    caller: Caller, world: World
) -> None:
    key = f"user:acme/shop:{world.uuids['alice']}"
    raw = _inner(world).get(key)
    assert raw is not None
    _inner(world).put(key, _edit(rules=["frob:/x"])(raw))
    grant = REQUESTS["password-grant"](caller, world, Tokens(alice="", ann="", shop_client=""))
    assert grant.status_code == 200, grant.text
    tokens = Tokens(alice=grant.json()["access_token"], ann="", shop_client="")
    _assert_503(REQUESTS["alice-token"](caller, world, tokens), caller, world)


def test_a_record_corrupted_before_the_first_request_is_503(caller: Caller, world: World) -> None:
    """No bump after the corruption: the record is written before anything was cached."""
    key = f"user:acme/shop:{world.uuids['alice']}"
    tokens = _issue(world)
    _inner(world).put(key, b"\x80")
    _assert_503(REQUESTS["alice-token"](caller, world, tokens), caller, world)


def test_a_corrupted_claim_is_503(caller: Caller, world: World) -> None:
    """The index entry that maps a username to its uuid, not UTF-8."""
    _inner(world).put("userid:acme/shop:alice", b"\xff\xfe")
    response = REQUESTS["password-grant"](caller, world, Tokens(alice="", ann="", shop_client=""))
    _assert_503(response, caller, world)


# -- token records ------------------------------------------------------------------------------


def _set_token_records(world: World, tmp_path: Path, mutate: Callable[[bytes], bytes]) -> int:
    """Overwrite every stored token record (kept outside the directory: no generation bump)."""
    inner = _inner(world)
    if isinstance(inner, MemoryStore):
        return _set_memory_token_records(inner._tokens, mutate)
    with sqlite3.connect(tmp_path / "auth.db") as conn:
        found = conn.execute("SELECT token_id, record FROM tokens").fetchall()
        for token_id, record in found:
            conn.execute(
                "UPDATE tokens SET record = ? WHERE token_id = ?", (mutate(bytes(record)), token_id)
            )
    conn.close()
    return len(found)


def _set_memory_token_records(table: TokenTable, mutate: Callable[[bytes], bytes]) -> int:
    """Rewrite the memory store's records in its token table (stored compactly, each as its
    difference from its owner's first record): read each back whole, put it again changed."""
    keys = list(table._entries)
    for key in keys:
        token_id = key.hex() if isinstance(key, bytes) else key
        number, created, expires, _, _ = _HEADER.unpack_from(table._entries[key])
        owner = table._by_number[number].key
        record = table.get(token_id)
        assert record is not None
        table.put(token_id, owner, mutate(record), created, None if expires == _NEVER else expires)
    return len(keys)


TOKEN_MUTATIONS: dict[str, Callable[[bytes], bytes]] = {
    **{name: GENERIC[name] for name in ("not-json", "json-list", "not-utf8", "truncated")},
    "kind-unknown": _edit(kind="root"),
    "kind-number": _edit(kind=1),
    "subject-missing": _edit(subject=...),
    "created-string": _edit(created_ms="now"),
    "expires-string": _edit(expires_at_ms="never"),
    "org-list": _edit(org=["acme"]),
}


@pytest.mark.parametrize("mutation", list(TOKEN_MUTATIONS))
@pytest.mark.parametrize("request_name", ["alice-token", "ann-token", "shop-client-token"])
def test_a_corrupted_token_record_is_503(
    caller: Caller, world: World, tmp_path: Path, mutation: str, request_name: str
) -> None:
    tokens = _issue(world)  # not yet used: no decoded record is cached
    assert _set_token_records(world, tmp_path, TOKEN_MUTATIONS[mutation]) >= 3
    _assert_503(REQUESTS[request_name](caller, world, tokens), caller, world)


def test_a_token_record_corrupted_after_use_is_503_at_the_next_generation(
    caller: Caller, world: World, tmp_path: Path
) -> None:
    """A decoded token record is remembered for one store generation (records never change);
    once anything in the directory changes, the corrupted record is read again: 503."""
    tokens = _issue(world)
    assert REQUESTS["alice-token"](caller, world, tokens).status_code == 200
    caller.calls.clear()
    _set_token_records(world, tmp_path, GENERIC["not-json"])
    _inner(world).put("unrelated", b"x")
    _assert_503(REQUESTS["alice-token"](caller, world, tokens), caller, world)


# -- the realm's keys ---------------------------------------------------------------------------


SIGNING_KEYS = "meta:signing_keys"
SECRET_KEY = "meta:client_secret_key"


def _keys_entries(raw: bytes) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(raw)
    return entries


SIGNING_KEY_MUTATIONS: dict[str, Callable[[bytes], bytes]] = {
    "not-json": GENERIC["not-json"],
    "not-utf8": GENERIC["not-utf8"],
    "json-object": lambda raw: b'{"kid": "k", "secret": "c2VjcmV0"}',
    "json-null": lambda raw: b"null",
    "list-of-strings": lambda raw: b'["k1"]',
    "secret-not-base64": lambda raw: json.dumps(
        [{**e, "secret": "!!not base64!!"} for e in _keys_entries(raw)]
    ).encode(),
    "secret-too-short": lambda raw: json.dumps(
        [{**e, "secret": base64.b64encode(b"short").decode()} for e in _keys_entries(raw)]
    ).encode(),
    "kid-missing": lambda raw: json.dumps(
        [{"secret": e["secret"]} for e in _keys_entries(raw)]
    ).encode(),
    "kid-number": lambda raw: json.dumps([{**e, "kid": 7} for e in _keys_entries(raw)]).encode(),
}


@pytest.mark.parametrize("mutation", list(SIGNING_KEY_MUTATIONS))
@pytest.mark.parametrize("request_name", list(REQUESTS))
def test_corrupted_signing_keys_are_503(
    caller: Caller, world: World, mutation: str, request_name: str
) -> None:
    """Every request, a token request included: a token must not be issued under a key that
    the store no longer holds (no other process could verify it)."""
    tokens = _issue(world)
    _sanity(caller, world, tokens, request_name)
    raw = _inner(world).get(SIGNING_KEYS)
    assert raw is not None
    before = _token_count(world)
    _inner(world).put(SIGNING_KEYS, SIGNING_KEY_MUTATIONS[mutation](raw))
    _assert_503(REQUESTS[request_name](caller, world, tokens), caller, world)
    assert _token_count(world) == before


def test_a_token_grant_signs_with_the_key_another_process_made_current(
    caller: Caller, world: World, store_kind: str, tmp_path: Path
) -> None:
    """Another process (here a second Realm on the same store) rotates the signing key and
    retires the old one. The next admin password grant here must sign with the new key: a token
    under the retired key would be refused at its first use (and by every other process)."""
    old_kid = world.realm.keys.current.kid
    store: Any = _inner(world) if store_kind == "memory" else SQLiteStore(tmp_path / "auth.db")
    other = Realm(store, clock=world.clock, password_hasher=FAST_HASHER)
    new_kid = other.rotate_signing_key()
    other.retire_signing_key(old_kid)
    grant = REQUESTS["admin-grant"](caller, world, Tokens(alice="", ann="", shop_client=""))
    assert grant.status_code == 200, grant.text
    token = grant.json()["access_token"]
    assert world.realm.keys.current.kid == new_kid
    response = caller.get("/management/orgs/acme", headers=bearer(token))
    assert response.status_code == 200, response.text


def _token_count(world: World) -> int:
    inner = _inner(world)
    if isinstance(inner, MemoryStore):
        return len(inner._tokens)
    return int(inner._execute("SELECT count(*) FROM tokens").fetchone()[0])


SECRET_KEY_VALUES = {
    "not-base64": b"!!! not base64 !!!",
    "bad-padding": b"abcde",
    "too-short": base64.b64encode(b"short"),
    "empty": b"",
    "not-utf8": b"\xff\xfe",
}


@pytest.mark.parametrize("value", list(SECRET_KEY_VALUES))
def test_a_corrupted_client_secret_key_fails_every_operation_of_the_next_realm(
    world: World, store_kind: str, tmp_path: Path, value: str
) -> None:
    """The client-secret hashing key is read when a Realm starts: a process started on a store
    whose key is corrupted refuses every operation (StoreError, a 503 over HTTP) instead of
    hashing secrets under a key that matches none of the stored hashes, or under the empty key
    that a lenient base64 decoder makes of garbage. Construction itself succeeds (a store that
    fails at start-up must not keep a worker from booting), and so does nothing else."""
    _inner(world).put(SECRET_KEY, SECRET_KEY_VALUES[value])
    store: Any = _inner(world) if store_kind == "memory" else SQLiteStore(tmp_path / "auth.db")
    realm = Realm(store, clock=world.clock, password_hasher=FAST_HASHER)
    assert realm.keys is None
    for operation in (
        lambda: realm.get_org("acme"),
        lambda: realm.create_credentials("acme"),
        lambda: realm.authenticate_client(world.org_creds.client_id, "x"),
    ):
        with pytest.raises(StoreError, match="client-secret"):
            operation()


@pytest.mark.parametrize("value", ["not-base64", "too-short"])
def test_a_running_realm_keeps_its_client_secret_key(
    caller: Caller, world: World, value: str
) -> None:
    """A running realm holds the key it read at construction (the key never changes), so a
    corruption after start neither lets a wrong secret in nor locks the right one out; the next
    process to start refuses to (above)."""
    _inner(world).put(SECRET_KEY, SECRET_KEY_VALUES[value])
    wrong = (world.shop_creds.client_id, "YXA6" + "x" * 27)
    response = caller.get("/acme/shop/books", headers={"Authorization": basic(wrong)})
    assert_error(
        response,
        401,
        "auth_invalid_credentials",
        ['Bearer realm="acme/shop", error="invalid_token"', 'Basic realm="acme/shop"'],
        clock=world.clock,
    )
    assert not caller.called
    response = caller.get("/acme/shop/books", headers={"Authorization": basic(world.shop_creds)})
    assert response.status_code == 200
