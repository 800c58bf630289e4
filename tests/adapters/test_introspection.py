"""RFC 7662 introspection and RFC 7009 revocation (behaviour §9) on both adapters, in
multi-tenant and single-app mode, on memory and SQLite (and the AsyncRealm on Redis): who may ask,
``{"active": false}`` and nothing else for every inactive case, revocation left alone elsewhere."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.adapters.conftest import (
    PASSWORD,
    Caller,
    MakeCaller,
    World,
    assert_error,
    basic,
    bearer,
)

INACTIVE = {"active": False}
SHOP = "/acme/shop"


def _form(caller: Caller, url: str, data: dict[str, str], **kwargs: object) -> httpx.Response:
    return caller.post(url, data=data, **kwargs)


def _shop_basic(world: World) -> dict[str, str]:
    return {"Authorization": basic(world.shop_creds)}


def assert_inactive(response: httpx.Response, token: str = "") -> None:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == INACTIVE
    if token:
        assert token not in response.text


# -- the inactive cases ---------------------------------------------------------------------


def _expired(world: World) -> str:
    token = world.token("alice", ttl_ms=1_000)
    world.clock.advance_ms(2_000)
    return token


def _revoked(world: World) -> str:
    token = world.token("alice")
    world.realm.revoke_token(token)
    return token


def _disabled(world: World) -> str:
    token = world.token("bob")
    world.realm.update_user("acme", "shop", "bob", disabled=True)
    return token


def _deleted(world: World) -> str:
    token = world.token("bob")
    world.realm.delete_user("acme", "shop", "bob")
    return token


def _mac_wrong(world: World) -> str:
    token = world.token("alice")
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


INACTIVE_CASES: dict[str, Callable[[World], str]] = {
    "malformed": lambda world: "not-a-token",
    "mac-wrong": _mac_wrong,
    "expired": _expired,
    "revoked": _revoked,
    "disabled-user": _disabled,
    "deleted-user": _deleted,
    "another-app": lambda world: world.token("victor"),
    "another-org-client": lambda world: world.client_token(world.globex_creds),
    "admin-token-at-an-app": lambda world: world.token("ann"),
    "org-client-token-at-an-app": lambda world: world.client_token(world.org_creds),
}


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("case", sorted(INACTIVE_CASES))
def test_every_inactive_token_is_active_false_and_nothing_else(
    caller: Caller, world: World, case: str
) -> None:
    token = INACTIVE_CASES[case](world)
    response = _form(caller, f"{SHOP}/introspect", {"token": token}, headers=_shop_basic(world))
    assert_inactive(response, token)
    assert not caller.called
    assert world.realm.introspect(token, org="acme", app="shop") == INACTIVE


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_active_user_token_answer(caller: Caller, world: World) -> None:
    token = world.token("alice")
    response = _form(caller, f"{SHOP}/introspect", {"token": token}, headers=_shop_basic(world))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    now_s = world.clock.ms // 1000
    assert response.json() == {
        "active": True,
        "token_type": "Bearer",
        "sub": world.uuids["alice"],
        "username": "alice",
        "exp": now_s + 604_800,
        "iat": now_s,
        "iss": "acme/shop",
        "baas_auth": {"kind": "app_user"},
    }
    assert token not in response.text


def test_client_secret_post_and_client_token_and_org_client(caller: Caller, world: World) -> None:
    token = world.token("alice")
    creds = world.shop_creds
    posted = {"token": token, "client_id": creds.client_id, "client_secret": creds.client_secret}
    assert _form(caller, f"{SHOP}/introspect", posted).json()["active"] is True
    client_token = world.client_token(creds)
    by_token = _form(caller, f"{SHOP}/introspect", {"token": token}, headers=bearer(client_token))
    assert by_token.json()["active"] is True
    by_org = {"Authorization": basic(world.org_creds)}
    assert (
        _form(caller, f"{SHOP}/introspect", {"token": token}, headers=by_org).json()["active"]
        is True
    )
    own = _form(caller, f"{SHOP}/introspect", {"token": client_token}, headers=by_org).json()
    assert own["client_id"] == creds.client_id
    assert own["baas_auth"] == {"kind": "app_client"}


def test_management_introspection_is_for_the_calling_org(caller: Caller, world: World) -> None:
    acme = {"Authorization": basic(world.org_creds)}
    ann = world.token("ann")
    answer = _form(caller, "/management/introspect", {"token": ann}, headers=acme).json()
    assert (answer["active"], answer["username"], answer["iss"]) == (True, "ann", "acme")
    gus = world.token("gus")
    assert_inactive(_form(caller, "/management/introspect", {"token": gus}, headers=acme), gus)
    alice = world.token("alice")
    assert_inactive(_form(caller, "/management/introspect", {"token": alice}, headers=acme))
    shop_client = {"Authorization": basic(world.shop_creds)}
    refused = _form(caller, "/management/introspect", {"token": ann}, headers=shop_client)
    assert refused.status_code == 401


@pytest.mark.parametrize(
    "who",
    ["none", "token-owner", "another-app-client", "another-org-client", "admin", "wrong-secret"],
)
def test_nobody_but_the_apps_or_orgs_clients_may_introspect(
    caller: Caller, world: World, who: str
) -> None:
    token = world.token("alice")
    headers = {
        "none": {},
        "token-owner": bearer(token),
        "another-app-client": {"Authorization": basic(world.vault_creds)},
        "another-org-client": {"Authorization": basic(world.globex_creds)},
        "admin": bearer(world.token("ann")),
        "wrong-secret": {"Authorization": basic((world.shop_creds.client_id, "nope" * 8))},
    }[who]
    response = _form(caller, f"{SHOP}/introspect", {"token": token}, headers=headers)
    assert response.status_code == 401, response.text
    assert "active" not in response.json()
    assert token not in response.text
    assert not caller.called


def test_introspection_takes_post_only_and_no_token_in_the_uri(
    caller: Caller, world: World
) -> None:
    token = world.token("alice")
    got = caller.get(f"{SHOP}/introspect", headers=_shop_basic(world))
    assert got.status_code == 405
    assert got.headers["allow"] == "POST"
    in_query = caller.post(f"{SHOP}/introspect?token={token}", headers=_shop_basic(world))
    assert in_query.status_code == 400
    missing = _form(caller, f"{SHOP}/introspect", {}, headers=_shop_basic(world))
    assert missing.status_code == 400


def test_store_down_is_503_never_inactive(caller: Caller, world: World) -> None:
    token = world.token("alice")
    headers = _shop_basic(world)
    world.store.down = True
    response = _form(caller, f"{SHOP}/introspect", {"token": token}, headers=headers)
    assert_error(response, 503, "service_unavailable", None, clock=world.clock)


def test_single_app_introspection_and_revocation(single: Caller, world: World) -> None:
    token = world.token("alice")
    headers = _shop_basic(world)
    assert _form(single, "/introspect", {"token": token}, headers=headers).json()["active"]
    victor = world.token("victor")
    assert_inactive(_form(single, "/introspect", {"token": victor}, headers=headers), victor)
    revoked = _form(single, "/revoke", {"token": token}, headers=headers)
    assert (revoked.status_code, revoked.content) == (200, b"")
    assert_inactive(_form(single, "/introspect", {"token": token}, headers=headers))


# -- RFC 7009 revocation --------------------------------------------------------------------


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_revocation_by_client_and_by_holder(caller: Caller, world: World) -> None:
    token = world.token("alice")
    response = _form(caller, f"{SHOP}/revoke", {"token": token}, headers=_shop_basic(world))
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["cache-control"] == "no-store"
    assert caller.get(f"{SHOP}/books", headers=bearer(token)).status_code == 401
    own = world.token("bob")
    by_holder = _form(caller, f"{SHOP}/revoke", {"token": own}, headers=bearer(own))
    assert (by_holder.status_code, by_holder.content) == (200, b"")
    assert caller.get(f"{SHOP}/books", headers=bearer(own)).status_code == 401


def test_revocation_answers_200_and_leaves_other_tenants_alone(
    caller: Caller, world: World
) -> None:
    headers = _shop_basic(world)
    victor, gus = world.token("victor"), world.token("gus")
    for token in ("not-a-token", victor, gus, world.client_token(world.globex_creds)):
        response = _form(caller, f"{SHOP}/revoke", {"token": token}, headers=headers)
        assert (response.status_code, response.content) == (200, b"")
    assert world.realm.token_info(victor).principal.username == "victor"
    assert world.realm.token_info(gus).principal.username == "gus"
    acme = {"Authorization": basic(world.org_creds)}
    assert _form(caller, "/management/revoke", {"token": gus}, headers=acme).status_code == 200
    assert world.realm.token_info(gus).principal.username == "gus"
    ann = world.token("ann")
    assert _form(caller, "/management/revoke", {"token": ann}, headers=acme).status_code == 200
    assert world.realm.introspect(ann) == INACTIVE


def test_revocation_refuses_strangers(caller: Caller, world: World) -> None:
    token = world.token("alice")
    other = world.token("bob")  # a user's token is no client's: it may revoke only itself
    for headers in ({}, bearer(other), {"Authorization": basic(world.vault_creds)}):
        response = _form(caller, f"{SHOP}/revoke", {"token": token}, headers=headers)
        assert response.status_code == 401, response.text
    assert world.realm.token_info(token).principal.username == "alice"


def test_async_realm_on_redis(make_async: MakeCaller, async_world: World) -> None:
    caller = make_async()
    token = async_world.token("alice")
    headers = _shop_basic(async_world)
    assert _form(caller, f"{SHOP}/introspect", {"token": token}, headers=headers).json()["active"]
    assert _form(caller, f"{SHOP}/revoke", {"token": token}, headers=headers).status_code == 200
    assert_inactive(_form(caller, f"{SHOP}/introspect", {"token": token}, headers=headers))
    assert async_world.realm.introspect(token, org="acme", app="shop") == INACTIVE
    assert PASSWORD  # the world's users sign in with it


# -- refresh tokens over HTTP ---------------------------------------------------------------


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_refresh_grant_rotation_and_replay(caller: Caller, world: World) -> None:
    world.realm.set_refresh_token_ttl("acme", "shop", 86_400_000)
    alice = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    first = _form(caller, f"{SHOP}/token", alice).json()
    r1 = first["refresh_token"]
    assert caller.get(f"{SHOP}/books", headers=bearer(r1)).status_code == 401  # not a Bearer
    claims = _form(caller, f"{SHOP}/introspect", {"token": r1}, headers=_shop_basic(world)).json()
    assert (claims["active"], claims["token_type"]) == (True, "refresh_token")
    asked = {"grant_type": "refresh_token", "refresh_token": r1}
    second = _form(caller, f"{SHOP}/token", asked)
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["refresh_token"] != r1
    assert caller.get(f"{SHOP}/books", headers=bearer(body["access_token"])).status_code == 200
    replay = _form(caller, f"{SHOP}/token", asked)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert caller.get(f"{SHOP}/books", headers=bearer(body["access_token"])).status_code == 401
    as_refresh = {"grant_type": "refresh_token", "refresh_token": first["access_token"]}
    assert _form(caller, f"{SHOP}/token", as_refresh).status_code == 400
    other = _form(
        caller, f"{SHOP}/token", asked, headers={"Authorization": basic(world.vault_creds)}
    )
    assert (other.status_code, other.json()["error"]) == (401, "invalid_client")


def test_revoking_a_refresh_token_ends_its_family(caller: Caller, world: World) -> None:
    world.realm.set_refresh_token_ttl("acme", "shop", 86_400_000)
    grant = world.realm.password_token("acme", "shop", "alice", PASSWORD)
    assert grant.refresh_token is not None
    headers = _shop_basic(world)
    done = _form(caller, f"{SHOP}/revoke", {"token": grant.refresh_token}, headers=headers)
    assert (done.status_code, done.content) == (200, b"")
    assert caller.get(f"{SHOP}/books", headers=bearer(grant.access_token)).status_code == 401
    asked = {"grant_type": "refresh_token", "refresh_token": grant.refresh_token}
    assert _form(caller, f"{SHOP}/token", asked).status_code == 400


def test_strict_token_endpoint_refuses_a_refresh_token_in_the_uri(
    make: MakeCaller, world: World
) -> None:
    world.realm.set_refresh_token_ttl("acme", "shop", 86_400_000)
    grant = world.realm.password_token("acme", "shop", "alice", PASSWORD)
    url = f"{SHOP}/token?refresh_token={grant.refresh_token}"
    response = make(strict=True).post(url, data={"grant_type": "refresh_token"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert str(grant.refresh_token) not in response.text


def test_refresh_grant_on_the_async_realm(make_async: MakeCaller, async_world: World) -> None:
    caller = make_async()
    async_world.realm.set_refresh_token_ttl("acme", "shop", 86_400_000)
    alice = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    r1 = _form(caller, f"{SHOP}/token", alice).json()["refresh_token"]
    asked = {"grant_type": "refresh_token", "refresh_token": r1}
    body = _form(caller, f"{SHOP}/token", asked).json()
    assert caller.get(f"{SHOP}/books", headers=bearer(body["access_token"])).status_code == 200
    assert _form(caller, f"{SHOP}/token", asked).status_code == 400  # the replay
    assert caller.get(f"{SHOP}/books", headers=bearer(body["access_token"])).status_code == 401


# -- admin users' refresh tokens over HTTP ----------------------------------------------------


def _admin_refresh_round(caller: Caller, world: World) -> None:
    """The password grant of /management/token answers a refresh token once the realm has
    them on for admins; it rotates there, is introspected by the org's clients, a replay ends
    the family, and an app user's refresh token is not taken there (nor an admin's at an app)."""
    assert "refresh_token" not in _form(caller, "/management/token", _ANN).json()
    world.realm.set_admin_refresh_token_ttl(86_400_000)
    r1 = _form(caller, "/management/token", _ANN).json()["refresh_token"]
    assert caller.get("/management/me", headers=bearer(r1)).status_code == 401  # not a Bearer
    org = {"Authorization": basic(world.org_creds)}
    claims = _form(caller, "/management/introspect", {"token": r1}, headers=org).json()
    assert (claims["active"], claims["token_type"], claims["iss"]) == (
        True,
        "refresh_token",
        "acme",
    )
    globex = {"Authorization": basic(world.globex_creds)}
    assert_inactive(_form(caller, "/management/introspect", {"token": r1}, headers=globex))
    asked = {"grant_type": "refresh_token", "refresh_token": r1}
    assert _form(caller, f"{SHOP}/token", asked).status_code == 400  # not an app's
    second = _form(caller, "/management/token", asked)
    assert second.status_code == 200, second.text
    access = second.json()["access_token"]
    assert second.json()["refresh_token"] != r1
    me = caller.get("/management/me", headers=bearer(access)).json()
    assert me["user"]["username"] == "ann"
    assert set(second.json()["user"]["organizations"]) == {"acme"}
    replay = _form(caller, "/management/token", asked)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert caller.get("/management/me", headers=bearer(access)).status_code == 401
    world.realm.set_refresh_token_ttl("acme", "shop", 86_400_000)
    alice = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    user_r1 = _form(caller, f"{SHOP}/token", alice).json()["refresh_token"]
    as_admin = {"grant_type": "refresh_token", "refresh_token": user_r1}
    assert _form(caller, "/management/token", as_admin).status_code == 400


_ANN = {"grant_type": "password", "username": "ann", "password": PASSWORD}


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_admin_refresh_tokens(caller: Caller, world: World) -> None:
    _admin_refresh_round(caller, world)


def test_admin_refresh_tokens_on_the_async_realm(
    make_async: MakeCaller, async_world: World
) -> None:
    _admin_refresh_round(make_async(), async_world)


def test_revoking_an_admin_refresh_token_ends_its_family(caller: Caller, world: World) -> None:
    world.realm.set_admin_refresh_token_ttl(86_400_000)
    grant = world.realm.admin_token("ann", PASSWORD)
    assert grant.refresh_token is not None
    org = {"Authorization": basic(world.org_creds)}
    done = _form(caller, "/management/revoke", {"token": grant.refresh_token}, headers=org)
    assert (done.status_code, done.content) == (200, b"")
    assert caller.get("/management/me", headers=bearer(grant.access_token)).status_code == 401
    asked = {"grant_type": "refresh_token", "refresh_token": grant.refresh_token}
    assert _form(caller, "/management/token", asked).status_code == 400
