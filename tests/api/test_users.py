"""Users over HTTP (``management_api=True``): a token minted for a user, password change and
reset, activation and confirmation, on both adapters and every store, table-driven where
callers differ. The realm's ``on_user_token`` hook fills an inbox the tests read tokens from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from baas_auth import Realm, UserToken
from tests.adapters.conftest import (
    PASSWORD,
    AsyncProbeStore,
    Caller,
    LoopCaller,
    ProbeStore,
    assert_error,
    async_realm_of,
    seed,
)
from tests.api.conftest import SETUPS, WHO, Api, assert_api_response
from tests.conftest import FAST_HASHER, FakeClock, fresh_prefix, make_realm_store
from tests.realm_facade import BlockingRealm
from tests.redis_server import RedisServer

NEW_PASSWORD = "a brand new secret"
HOUR_MS = 3_600_000


class Inbox(list[UserToken]):
    """What the realm's hook received, newest last."""

    def last(self, kind: str, username: str) -> str:
        found = [n for n in self if (n.kind, n.username) == (kind, username)]
        assert found, f"no {kind} token for {username}"
        return found[-1].token


@dataclass
class UsersApi(Api):
    inbox: Inbox = field(default_factory=Inbox)

    def answer(self, method: str, url: str, who: str = "guest", **kwargs: Any) -> httpx.Response:
        caller = self.caller()
        response = caller.request(method, url, headers=self.headers(who), **kwargs)
        assert not caller.called, "the wrapped app was called"
        return response

    def works(self, token: str) -> bool:
        """Whether ``token`` still gets a request through (acme/shop lets users read it)."""
        auth = {"Authorization": f"Bearer {token}"}
        return self.caller().get("/acme/shop/books", headers=auth).is_success


@pytest.fixture(params=SETUPS)
def users(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[UsersApi]:
    """The seeded world of the adapter tests on a realm with an ``on_user_token`` hook."""
    inbox = Inbox()
    adapter, store = str(request.param).split("-")
    settings: dict[str, Any] = {
        "clock": clock,
        "password_hasher": FAST_HASHER,
        "on_user_token": inbox.append,
    }
    if adapter == "asgi" and store == "redis":  # an AsyncRealm on AsyncRedisStore
        yield from _redis_users(request, clock, settings, inbox)
        return
    probe = ProbeStore(make_realm_store(store, tmp_path, request))
    realm = Realm(probe, **settings)  # type: ignore[arg-type]
    world = seed(realm, clock, probe)
    yield UsersApi(world, lambda **options: Caller(adapter, realm, **options), inbox)
    realm.close()


def _redis_users(
    request: pytest.FixtureRequest, clock: FakeClock, settings: dict[str, Any], inbox: Inbox
) -> Iterator[UsersApi]:
    from baas_auth import AsyncRealm
    from baas_auth.stores.redis import AsyncRedisStore

    server: RedisServer = request.getfixturevalue("redis_server")
    store = AsyncProbeStore(AsyncRedisStore(server.url, prefix=fresh_prefix()))
    facade = BlockingRealm(lambda: AsyncRealm(store, **settings))
    try:
        world = seed(cast(Realm, facade), clock, store)
        realm, loop = async_realm_of(world)
        yield UsersApi(world, lambda **options: LoopCaller(realm, loop, **options), inbox)
    finally:
        facade.close()


# -- GET /users/{user}/token ----------------------------------------------------------------------

# The app's clients and the org's admins and clients may mint; an app user may not, not even
# for itself (the original's 403); strangers to the app are 401.
MINT = {
    "guest": 401,
    "alice": 403,
    "bob": 403,
    "ann": 200,
    "gus": 401,
    "shop-client": 200,
    "acme-client": 200,
    "vault-client": 401,
    "globex-client": 401,
}


@pytest.mark.parametrize("who", WHO)
def test_who_may_mint_a_token_for_a_user(users: UsersApi, who: str):
    response = users.answer("GET", "/acme/shop/users/alice/token", who)
    assert response.status_code == MINT[who], response.text
    if response.status_code != 200:
        return
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["expires_in"] == 604_800
    assert (body["user"]["username"], body["user"]["uuid"]) == ("alice", users.world.uuids["alice"])
    principal = users.world.realm.authenticate_token(body["access_token"])
    assert (principal.kind, principal.username) == ("app_user", "alice")


def test_a_minted_token_follows_the_apps_ceiling(users: UsersApi):
    url = "/acme/vault/users/victor/token"
    default = users.answer("GET", url, "ann")
    assert default.json()["expires_in"] == 3600
    assert users.answer("GET", url + "?ttl=60000", "ann").json()["expires_in"] == 60
    refused = users.answer("GET", url + f"?ttl={HOUR_MS + 1}", "ann")
    assert_error(refused, 400, "illegal_argument", None, clock=users.world.clock)


@pytest.mark.parametrize("ttl", ["-1", "soon", "1.5"])
def test_a_bad_ttl_is_400(users: UsersApi, ttl: str):
    response = users.answer("GET", f"/acme/shop/users/alice/token?ttl={ttl}", "ann")
    assert_error(response, 400, "illegal_argument", None, clock=users.world.clock)


def test_minting_for_an_unknown_or_disabled_user(users: UsersApi):
    assert users.answer("GET", "/acme/shop/users/nobody/token", "ann").status_code == 404
    users.world.realm.update_user("acme", "shop", "bob", disabled=True)
    response = users.answer("GET", "/acme/shop/users/bob/token", "ann")
    assert_error(response, 400, "invalid_grant", None, clock=users.world.clock)


def test_without_the_option_the_wrapped_app_gets_the_path(users: UsersApi):
    caller = users.build()
    caller.get("/acme/shop/users/alice/token", headers=users.headers("ann"))
    assert caller.last.path == "/acme/shop/users/alice/token"


def test_single_app_mode_serves_the_paths_at_the_root(users: UsersApi):
    caller = users.caller(application="acme/shop")
    minted = caller.get("/users/alice/token", headers=users.headers("shop-client"))
    assert minted.json()["user"]["username"] == "alice"
    body = {"email": "alice@example.com"}
    assert caller.post("/users/resetpw", json=body).status_code == 200
    assert users.inbox.last("reset", "alice")
    assert not caller.called


def test_other_methods_on_the_token_path_are_405(users: UsersApi):
    response = users.answer("POST", "/acme/shop/users/alice/token", "ann")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


# -- PUT /users/{user}/password -------------------------------------------------------------------

# Who may set alice's password: alice with her old one, the app's clients and the org's
# admins and clients without; bob may not (even though the original roles let him PUT /**).
SET_ALICES = {
    "guest": 401,
    "alice": 200,
    "bob": 403,
    "ann": 200,
    "gus": 401,
    "shop-client": 200,
    "acme-client": 200,
    "vault-client": 401,
    "globex-client": 401,
}


@pytest.mark.parametrize("who", WHO)
def test_who_may_set_a_users_password(users: UsersApi, who: str):
    body = {"newpassword": NEW_PASSWORD}
    if who == "alice":
        body["oldpassword"] = PASSWORD
    response = users.answer("PUT", "/acme/shop/users/alice/password", who, json=body)
    assert response.status_code == SET_ALICES[who], response.text
    realm = users.world.realm
    if response.status_code == 200:
        assert_api_response(
            response, action="set user password", path="/users/alice/password",
            clock=users.world.clock,
        )
        assert realm.password_token("acme", "shop", "alice", NEW_PASSWORD).access_token
    else:
        assert realm.password_token("acme", "shop", "alice", PASSWORD).access_token


def test_a_user_changes_its_own_password_and_loses_its_tokens(users: UsersApi):
    token = users.world.token("alice")
    body = {"oldpassword": PASSWORD, "newpassword": NEW_PASSWORD}
    caller = users.caller()
    response = caller.post(
        "/acme/shop/users/me/password", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    assert not users.works(token)


def test_a_user_needs_its_old_password(users: UsersApi):
    url, clock = "/acme/shop/users/alice/password", users.world.clock
    caller, auth = users.caller(), users.headers("alice")  # one grant: a success clears counts
    missing = caller.put(url, json={"newpassword": NEW_PASSWORD}, headers=auth)
    assert_error(missing, 400, "invalid_request", None, clock=clock)
    wrong = {"oldpassword": "not my password", "newpassword": NEW_PASSWORD}
    for _ in range(5):
        refused = caller.put(url, json=wrong, headers=auth)
        assert_error(refused, 400, "invalid_grant", None, clock=clock)
    # Throttled like a password grant: now even the right old password is not checked.
    right = {"oldpassword": PASSWORD, "newpassword": NEW_PASSWORD}
    locked = caller.put(url, json=right, headers=auth)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "1"


def test_passwords_in_the_uri_are_refused_and_never_echoed(users: UsersApi):
    url = "/acme/shop/users/alice/password?newpassword=in-the-url-1&oldpassword=x"
    response = users.answer("PUT", url, "ann", json={})
    assert_error(response, 400, "invalid_request", None, clock=users.world.clock)
    assert "in-the-url-1" not in response.text
    assert users.world.realm.password_token("acme", "shop", "alice", PASSWORD).access_token


def test_a_short_new_password_is_400(users: UsersApi):
    body = {"newpassword": "short"}
    response = users.answer("PUT", "/acme/shop/users/alice/password", "ann", json=body)
    assert_error(response, 400, "illegal_argument", None, clock=users.world.clock)


# /management/users/{admin}/password: the admin itself, with its old password.
ADMIN_PASSWORD = {"guest": 401, "ann": 200, "gus": 403, "acme-client": 403, "alice": 403}


@pytest.mark.parametrize("who", sorted(ADMIN_PASSWORD))
def test_who_may_set_an_admins_password(users: UsersApi, who: str):
    body = {"oldpassword": PASSWORD, "newpassword": NEW_PASSWORD}
    response = users.answer("PUT", "/management/users/ann/password", who, json=body)
    assert response.status_code == ADMIN_PASSWORD[who], response.text


def test_an_admin_changes_its_password_with_the_old_one(users: UsersApi):
    token = users.world.token("ann")
    caller, url = users.caller(), "/management/users/me/password"
    auth = {"Authorization": f"Bearer {token}"}
    without = caller.put(url, json={"newpassword": NEW_PASSWORD}, headers=auth)
    assert without.status_code == 400
    body = {"oldpassword": PASSWORD, "newpassword": NEW_PASSWORD}
    assert caller.put(url, json=body, headers=auth).status_code == 200
    assert users.world.realm.admin_token("ann", NEW_PASSWORD).access_token
    assert users.world.realm.revoke_token(token) is False  # revoked already


# -- reset ----------------------------------------------------------------------------------------


def _same_answer(one: httpx.Response, other: httpx.Response) -> None:
    """The same status and body, but for the path each addressed."""
    assert one.status_code == other.status_code == 200
    assert {**one.json(), "path": "", "uri": ""} == {**other.json(), "path": "", "uri": ""}


def test_starting_a_reset_says_the_same_for_every_account(users: UsersApi):
    known = users.answer("POST", "/acme/shop/users/resetpw", json={"email": "alice@example.com"})
    unknown = users.answer("POST", "/acme/shop/users/resetpw", json={"email": "eve@example.com"})
    _same_answer(known, unknown)
    assert [(n.kind, n.username, n.org, n.app) for n in users.inbox] == [
        ("reset", "alice", "acme", "shop")
    ]
    nobody = users.answer("POST", "/acme/shop/users/nobody/resetpw", json={})
    _same_answer(nobody, users.answer("POST", "/acme/shop/users/alice/resetpw", json={}))
    assert len(users.inbox) == 2


def test_a_reset_token_sets_the_password_once(users: UsersApi):
    session = users.world.token("alice")
    users.answer("POST", "/acme/shop/users/alice/resetpw", data={})
    token = users.inbox.last("reset", "alice")
    url, body = "/acme/shop/users/alice/resetpw", {"token": token, "newpassword": NEW_PASSWORD}
    assert users.answer("POST", url, json=body).status_code == 200
    assert users.world.realm.password_token("acme", "shop", "alice", NEW_PASSWORD)
    assert not users.works(session)
    again = users.answer("POST", url, json={"token": token, "newpassword": "yet another one"})
    assert_error(again, 400, "invalid_grant", None, clock=users.world.clock)


def test_a_reset_token_expires_and_is_bound_to_its_user(users: UsersApi):
    users.answer("POST", "/acme/shop/users/resetpw", json={"email": "alice@example.com"})
    token = users.inbox.last("reset", "alice")
    body = {"token": token, "newpassword": NEW_PASSWORD}
    for other in ("bob", "nobody"):
        wrong = users.answer("POST", f"/acme/shop/users/{other}/resetpw", json=body)
        assert_error(wrong, 400, "invalid_grant", None, clock=users.world.clock)
    users.world.clock.advance_ms(HOUR_MS)
    late = users.answer("POST", "/acme/shop/users/alice/resetpw", json=body)
    assert_error(late, 400, "invalid_grant", None, clock=users.world.clock)


def test_an_admin_resets_its_password(users: UsersApi):
    start = users.answer("POST", "/management/users/resetpw", json={"email": "ann@example.com"})
    assert start.status_code == 200
    body = {"token": users.inbox.last("reset", "ann"), "newpassword": NEW_PASSWORD}
    assert users.answer("POST", "/management/users/ann/resetpw", json=body).status_code == 200
    assert users.world.realm.admin_token("ann", NEW_PASSWORD).access_token


def test_a_realm_without_a_hook_offers_no_reset(api: Api):
    caller = api.caller()
    response = caller.post("/acme/shop/users/resetpw", json={"email": "alice@example.com"})
    assert response.status_code == 404
    assert caller.post("/acme/shop/users/resetpw", json={"email": "x@y.z"}).json()[
        "error"
    ] == response.json()["error"]


# -- activation and confirmation ------------------------------------------------------------------


def test_an_unactivated_user_activates_once_and_then_signs_in(users: UsersApi):
    realm, clock = users.world.realm, users.world.clock
    realm.create_user("acme", "shop", "carol", password=PASSWORD, activated=False)
    grant = {"grant_type": "password", "username": "carol", "password": PASSWORD}
    refused = users.answer("POST", "/acme/shop/token", json=grant)
    assert_error(refused, 400, "invalid_grant", None, clock=clock)
    token = users.inbox.last("activation", "carol")
    url = f"/acme/shop/users/carol/activate?token={token}"
    response = users.answer("GET", url)
    assert_api_response(response, action="activate user", path="/users/carol/activate",
                        clock=clock)
    assert users.answer("POST", "/acme/shop/token", json=grant).status_code == 200
    assert_error(users.answer("GET", url), 400, "invalid_grant", None, clock=clock)


def test_an_expired_activation_token_is_refused_and_a_new_one_works(users: UsersApi):
    realm, clock = users.world.realm, users.world.clock
    realm.create_user("acme", "shop", "carol", password=PASSWORD, activated=False)
    clock.advance_ms(24 * HOUR_MS)
    old = users.inbox.last("activation", "carol")
    late = users.answer("POST", "/acme/shop/users/carol/activate", json={"token": old})
    assert_error(late, 400, "invalid_grant", None, clock=clock)
    again = users.answer("GET", "/acme/shop/users/carol/reactivate")
    _same_answer(again, users.answer("GET", "/acme/shop/users/nobody/reactivate"))
    token = users.inbox.last("activation", "carol")
    assert users.answer("POST", "/acme/shop/users/carol/activate", json={"token": token}).is_success


def test_an_admin_confirms_then_is_activated_before_signing_in(users: UsersApi):
    realm, clock = users.world.realm, users.world.clock
    realm.create_admin("nia", password=PASSWORD, orgs=["acme"], activated=False, confirmed=False)
    grant = {"grant_type": "password", "username": "nia", "password": PASSWORD}
    unconfirmed = users.answer("POST", "/management/token", json=grant)
    assert unconfirmed.status_code == 403
    assert unconfirmed.json()["error"] == "invalid_grant"

    token = users.inbox.last("confirmation", "nia")
    confirmed = users.answer("GET", f"/management/users/nia/confirm?token={token}")
    assert confirmed.json()["data"] == {"activated": False, "confirmed": True}
    unactivated = users.answer("POST", "/management/token", json=grant)
    assert_error(unactivated, 400, "invalid_grant", None, clock=clock)

    activation = users.inbox.last("activation", "nia")
    activated = users.answer("POST", "/management/users/nia/activate", json={"token": activation})
    assert activated.json()["data"] == {"activated": True, "confirmed": True}
    signed_in = users.answer("POST", "/management/token", json=grant)
    assert signed_in.status_code == 200
    assert signed_in.json()["user"]["confirmed"] is True


def test_a_confirmation_token_neither_activates_nor_serves_another_admin(users: UsersApi):
    realm, clock = users.world.realm, users.world.clock
    realm.create_admin("nia", password=PASSWORD, activated=False, confirmed=False)
    token = users.inbox.last("confirmation", "nia")
    wrong_kind = users.answer("GET", f"/management/users/nia/activate?token={token}")
    assert_error(wrong_kind, 400, "invalid_grant", None, clock=clock)
    wrong_admin = users.answer("GET", f"/management/users/ann/confirm?token={token}")
    assert_error(wrong_admin, 400, "invalid_grant", None, clock=clock)
    assert not realm.get_admin("nia").confirmed
