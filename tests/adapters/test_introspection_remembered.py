"""Introspection remembers a client's authentication and an active token's answer under the
store's change stamp (behaviour §7, §9): the steady state reads no store, and every change
(revocation of the token, of the client, a disabled user, another process's write) is seen by
the very next introspection; the answer ends at the token's ``exp`` under an unchanged stamp."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from baas_auth import Realm
from tests.adapters.conftest import PASSWORD, Caller, MakeCaller, World, basic
from tests.conftest import FAST_HASHER

SHOP = "/acme/shop"
INACTIVE = {"active": False}
STORES = ["memory", "sqlite", "redis"]


def _introspect(
    caller: Caller, world: World, token: str, auth: str | None = None
) -> httpx.Response:
    headers = {"Authorization": auth or basic(world.shop_creds)}
    return caller.post(f"{SHOP}/introspect", data={"token": token}, headers=headers)


def _active(caller: Caller, world: World, token: str) -> None:
    response = _introspect(caller, world, token)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True


def _inactive(caller: Caller, world: World, token: str) -> None:
    response = _introspect(caller, world, token)
    assert response.status_code == 200, response.text
    assert response.json() == INACTIVE


def _remembered(caller: Caller, world: World, token: str) -> None:
    """Asked twice: the second answer comes from memory, with no store read at all."""
    _active(caller, world, token)
    world.store.recording = True
    world.store.threads.clear()
    _active(caller, world, token)
    world.store.recording = False
    assert world.store.threads == []
    figures = caller.app.cache_figures()
    assert (figures.clients, figures.introspected) == (1, 1)


@pytest.mark.parametrize("store_kind", STORES)
def test_the_steady_state_reads_no_store_and_keeps_no_secret(caller: Caller, world: World) -> None:
    token = world.token("alice")
    _remembered(caller, world, token)
    assert not caller.app.caches_hold(world.shop_creds.client_secret)


@pytest.mark.parametrize("store_kind", STORES)
def test_revoking_the_token_is_seen_at_once(caller: Caller, world: World) -> None:
    token = world.token("alice")
    _remembered(caller, world, token)
    world.realm.revoke_token(token)
    _inactive(caller, world, token)


@pytest.mark.parametrize("store_kind", STORES)
def test_disabling_the_user_is_seen_at_once(caller: Caller, world: World) -> None:
    token = world.token("alice")
    _remembered(caller, world, token)
    world.realm.update_user("acme", "shop", "alice", disabled=True)
    _inactive(caller, world, token)


@pytest.mark.parametrize("store_kind", STORES)
def test_a_regenerated_client_secret_is_401_at_once(caller: Caller, world: World) -> None:
    token = world.token("alice")
    _remembered(caller, world, token)
    old = basic(world.shop_creds)
    fresh = world.realm.regenerate_credentials(world.shop_creds.client_id)
    assert _introspect(caller, world, token, old).status_code == 401
    new = basic((world.shop_creds.client_id, fresh.client_secret))
    assert _introspect(caller, world, token, new).json()["active"] is True


@pytest.mark.parametrize("store_kind", STORES)
def test_a_wrong_secret_after_a_right_one_is_401(caller: Caller, world: World) -> None:
    token = world.token("alice")
    _remembered(caller, world, token)
    secret = world.shop_creds.client_secret
    wrong = basic((world.shop_creds.client_id, secret[:-1] + ("y" if secret[-1] == "x" else "x")))
    response = _introspect(caller, world, token, wrong)
    assert response.status_code == 401
    assert "active" not in response.text
    _active(caller, world, token)


@pytest.mark.parametrize("store_kind", STORES)
def test_the_answer_ends_at_exp_under_an_unchanged_stamp(caller: Caller, world: World) -> None:
    token = world.token("alice", ttl_ms=60_000)
    _remembered(caller, world, token)
    world.clock.advance_ms(59_999)
    _active(caller, world, token)
    world.clock.advance_ms(1)
    _inactive(caller, world, token)


@pytest.mark.parametrize("store_kind", STORES)
def test_never_answers_for_another_apps_client(caller: Caller, world: World) -> None:
    token = world.token("alice")
    _remembered(caller, world, token)
    vault = basic(world.vault_creds)
    response = _introspect(caller, world, token, vault)
    assert response.status_code == 401
    # The vault's client at its own app: alice's token is not the vault's.
    response = caller.post(
        "/acme/vault/introspect", data={"token": token}, headers={"Authorization": vault}
    )
    assert response.json() == INACTIVE
    # And the shop's client, remembered for the shop, is a stranger at the vault.
    response = caller.post(
        "/acme/vault/introspect", data={"token": token},
        headers={"Authorization": basic(world.shop_creds)},
    )  # fmt: skip
    assert response.status_code == 401


def _other_realm(world: World, store_kind: str, tmp_path: Path) -> Realm:
    """Another process's realm over the same store: its own connection, its own caches."""
    if store_kind == "sqlite":
        from baas_auth import SQLiteStore

        return Realm(SQLiteStore(tmp_path / "auth.db"), clock=world.clock,
                     password_hasher=FAST_HASHER)  # fmt: skip
    from baas_auth.stores.redis import RedisStore

    inner = world.store.inner
    assert isinstance(inner, RedisStore)
    store = RedisStore(inner._client, prefix=inner._layout.prefix)
    return Realm(store, clock=world.clock, password_hasher=FAST_HASHER)


@pytest.mark.parametrize("store_kind", ["sqlite", "redis"])
@pytest.mark.parametrize("change", ["revoke", "disable", "secret"])
def test_another_process_change_is_seen_at_once(
    caller: Caller, world: World, store_kind: str, tmp_path: Path, change: str
) -> None:
    token = world.token("alice")
    _remembered(caller, world, token)
    other = _other_realm(world, store_kind, tmp_path)
    try:
        if change == "revoke":
            other.revoke_user_tokens("acme", "shop", "alice")
        elif change == "disable":
            other.update_user("acme", "shop", "alice", disabled=True)
        else:
            other.regenerate_credentials(world.shop_creds.client_id)
    finally:
        other.close()
    if change == "secret":
        assert _introspect(caller, world, token).status_code == 401
    else:
        _inactive(caller, world, token)


def test_a_password_grant_after_does_not_disturb(caller: Caller, world: World) -> None:
    """A write elsewhere moves the stamp: the next answer is found afresh, and is the same."""
    token = world.token("alice")
    _remembered(caller, world, token)
    world.realm.password_token("acme", "shop", "bob", PASSWORD)
    _active(caller, world, token)


@pytest.mark.parametrize("store_kind", STORES)
def test_the_same_client_and_token_in_another_request_form_read_no_store(
    caller: Caller, world: World
) -> None:
    """A JSON body in place of the form: another request, the same client and token; the
    client and the answer are recalled (no store read), and a revocation still ends them."""
    token = world.token("alice")
    _remembered(caller, world, token)
    headers = {"Authorization": basic(world.shop_creds)}

    def as_json() -> httpx.Response:
        return caller.post(f"{SHOP}/introspect", json={"token": token}, headers=headers)

    world.store.recording = True
    world.store.threads.clear()
    assert as_json().json()["active"] is True
    world.store.recording = False
    assert world.store.threads == []
    world.realm.revoke_token(token)
    assert as_json().json() == INACTIVE


@pytest.mark.parametrize("store_kind", STORES)
def test_a_remembered_client_asking_of_another_token_reads_only_the_token(
    caller: Caller, world: World
) -> None:
    token, other = world.token("alice"), world.token("bob")
    _remembered(caller, world, token)
    _active(caller, world, other)
    assert caller.app.cache_figures().clients == 1
    world.realm.update_user("acme", "shop", "bob", disabled=True)
    _inactive(caller, world, other)
    _active(caller, world, token)


def test_a_basic_header_or_a_password_in_an_endpoints_query_is_not_kept(
    caller: Caller, world: World
) -> None:
    """The parsed-request table kept endpoint requests whole, Authorization value and query
    included: a client's Basic credentials (base64 of its secret) and a password grant's
    password sent in the query lingered in memory."""
    token = world.token("alice")
    header = basic(world.shop_creds)
    for _ in range(2):
        _active(caller, world, token)
    assert not caller.app.caches_hold(header.split()[1])
    query = f"grant_type=password&username=alice&password={PASSWORD}"
    for _ in range(2):
        assert caller.get(f"{SHOP}/token?{query}").status_code == 200
    assert not caller.app.caches_hold(PASSWORD.split()[1])


@pytest.mark.parametrize("change", ["revoke", "disable", "secret"])
def test_on_the_async_realm_over_async_redis(
    make_async: MakeCaller, async_world: World, change: str
) -> None:
    caller = make_async()
    token = async_world.token("alice")
    for _ in range(2):
        _active(caller, async_world, token)
    figures = caller.app.cache_figures()
    assert (figures.clients, figures.introspected, figures.answered) == (1, 1, 1)
    if change == "revoke":
        async_world.realm.revoke_token(token)
    elif change == "disable":
        async_world.realm.update_user("acme", "shop", "alice", disabled=True)
    else:
        async_world.realm.regenerate_credentials(async_world.shop_creds.client_id)
        assert _introspect(caller, async_world, token).status_code == 401
        return
    _inactive(caller, async_world, token)
