"""Endpoints (behaviour §6) on both adapters: token (every way of sending parameters),
/management/token, /management/me, and the revoke endpoints with their effect checked after."""

from __future__ import annotations

import json
from typing import Any

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

ALICE = {"grant_type": "password", "username": "alice", "password": PASSWORD}
FORM_BODY = httpx.QueryParams(ALICE).__str__().encode()
WEEK_S = 604_800


def assert_token_response(
    response: httpx.Response, *, expires_in: int | None = WEEK_S
) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body: dict[str, Any] = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["access_token"], str)
    assert body.get("expires_in") == expires_in
    assert PASSWORD not in response.text
    return body


def assert_works(caller: Caller, token: str, url: str = "/acme/shop/books") -> None:
    before = len(caller.calls)
    assert caller.get(url, headers=bearer(token)).status_code == 200
    assert len(caller.calls) == before + 1


def assert_revoked(caller: Caller, world: World, token: str, url: str = "/acme/shop/books") -> None:
    response = caller.get(url, headers=bearer(token))
    assert_error(
        response,
        401,
        "auth_invalid",
        [f'Bearer realm="{url.split("/")[1]}/{url.split("/")[2]}", error="invalid_token"'],
        clock=world.clock,
    )


# -- the password grant ---------------------------------------------------------------------


def _send(
    caller: Caller, how: str, params: dict[str, Any], url: str = "/acme/shop/token"
) -> httpx.Response:
    if how == "get-query":
        return caller.get(url, params=params)
    if how == "post-form":
        return caller.post(url, data=params)
    if how == "post-json":
        return caller.post(url, json=params)
    content = json.dumps(params).encode()
    if how == "post-json-no-content-type":
        return caller.post(url, content=content)
    if how == "post-json-text-plain":
        return caller.post(url, content=content, headers={"Content-Type": "text/plain"})
    if how == "post-json-form-content-type":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return caller.post(url, content=content, headers=headers)
    if how == "post-query":
        return caller.post(url, params=params)
    raise AssertionError(how)


HOWS = [
    "get-query",
    "post-form",
    "post-json",
    "post-json-no-content-type",
    "post-json-text-plain",
    "post-json-form-content-type",
    "post-query",
]


@pytest.mark.parametrize("how", HOWS)
def test_password_grant(caller: Caller, world: World, how: str) -> None:
    body = assert_token_response(_send(caller, how, ALICE))
    assert body["user"] == {
        "uuid": world.uuids["alice"],
        "username": "alice",
        "email": "alice@example.com",
        "activated": True,
    }
    assert_works(caller, body["access_token"])
    assert len(caller.calls) == 1  # only the check above reached the app


@pytest.mark.parametrize("username", ["alice@example.com", "ALICE", "Alice@Example.com"])
def test_password_grant_by_email_or_any_case(caller: Caller, world: World, username: str) -> None:
    body = assert_token_response(
        caller.post("/acme/shop/token", data={**ALICE, "username": username})
    )
    assert body["user"]["username"] == "alice"


def test_password_grant_single_app(single: Caller) -> None:
    body = assert_token_response(single.post("/token", data=ALICE))
    assert_works(single, body["access_token"], "/books")


@pytest.mark.parametrize(
    ("how", "ttl", "expires_in"),
    [
        ("post-json", 60_000, 60),
        ("post-json", "60000", 60),
        ("post-form", "60000", 60),
        ("get-query", "1500", 1),
        ("post-json", 0, WEEK_S),
        ("post-form", "0", WEEK_S),
        ("post-form", "", WEEK_S),
        ("post-json", 604_800_000, WEEK_S),
    ],
    ids=[
        "json-number",
        "json-string",
        "form",
        "query",
        "json-zero",
        "form-zero",
        "form-empty",
        "json-max",
    ],
)
def test_ttl(caller: Caller, world: World, how: str, ttl: object, expires_in: int) -> None:
    body = assert_token_response(_send(caller, how, {**ALICE, "ttl": ttl}), expires_in=expires_in)
    world.clock.advance_ms(expires_in * 1000 - 1)
    assert_works(caller, body["access_token"])


@pytest.mark.parametrize(
    "ttl", [-1, 1.5, "1e3", True, "abc", "-1", 604_800_001, "604800001", [1], {"a": 1}, 10**30]
)
def test_bad_ttl_is_illegal_argument(caller: Caller, world: World, ttl: object) -> None:
    response = caller.post("/acme/shop/token", json={**ALICE, "ttl": ttl})
    assert_error(response, 400, "illegal_argument", [], clock=world.clock)
    assert not caller.called


@pytest.mark.parametrize(
    ("url", "username", "ttl", "ceiling"),
    [
        ("/acme/shop/token", "alice", "604800001", 604_800_000),
        ("/acme/vault/token", "victor", "3600001", 3_600_000),
    ],
    ids=["realm", "app"],
)
def test_ttl_above_the_ceiling_names_it(
    caller: Caller, world: World, url: str, username: str, ttl: str, ceiling: int
) -> None:
    response = caller.post(url, data={**ALICE, "username": username, "ttl": ttl})
    assert_error(response, 400, "illegal_argument", [], clock=world.clock)
    assert response.json()["error_description"] == (
        f"Your token age cannot be more than the maximum age of {ceiling} milliseconds"
    )


def test_app_ceiling_and_default(caller: Caller) -> None:
    victor = {"grant_type": "password", "username": "victor", "password": PASSWORD}
    assert_token_response(caller.post("/acme/vault/token", data=victor), expires_in=3600)
    response = caller.post("/acme/vault/token", data={**victor, "ttl": "3600001"})
    assert response.status_code == 400
    assert response.json()["error"] == "illegal_argument"


def test_never_expiring_tokens_omit_expires_in(caller: Caller, world: World) -> None:
    world.realm.set_access_token_ttl("acme", "shop", 0)
    body = assert_token_response(caller.post("/acme/shop/token", data=ALICE), expires_in=None)
    assert "expires_in" not in body


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"grant_type": "password", "username": "alice"}, 400, "invalid_request"),
        ({"grant_type": "password", "password": PASSWORD}, 400, "invalid_request"),
        ({**ALICE, "password": "wrong"}, 400, "invalid_grant"),
        ({**ALICE, "username": "nobody"}, 400, "invalid_grant"),
        ({**ALICE, "username": "victor"}, 400, "invalid_grant"),
        ({"grant_type": "authorization_code", "code": "x"}, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, 400, "invalid_request"),
        ({"username": "alice", "password": PASSWORD}, 400, "invalid_request"),
    ],
    ids=[
        "no-password",
        "no-username",
        "bad-password",
        "unknown-user",
        "user-of-another-app",
        "unknown-grant",
        "empty-grant",
        "missing-grant",
    ],
)
def test_token_endpoint_refusals(
    caller: Caller, world: World, data: dict[str, str], status: int, error: str
) -> None:
    response = caller.post("/acme/shop/token", data=data)
    assert_error(response, status, error, [], clock=world.clock)
    assert "access_token" not in response.json()
    assert not caller.called


def test_duplicate_parameters_are_400(caller: Caller, world: World) -> None:
    response = caller.post("/acme/shop/token?grant_type=password", data=ALICE)
    assert_error(response, 400, "invalid_request", [], clock=world.clock)


def test_a_bearer_token_at_the_token_endpoint_is_400(caller: Caller, world: World) -> None:
    response = caller.post("/acme/shop/token", data=ALICE, headers=bearer(world.token("alice")))
    assert_error(response, 400, "invalid_request", [], clock=world.clock)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"[1, 2]", "application/json"),
        (b"{not json", "application/json"),
        (b"grant_type=password", "text/plain"),
        (b"<xml/>", "application/xml"),
    ],
    ids=["json-array", "broken-json", "text-plain-form", "xml"],
)
def test_unreadable_bodies_are_400(
    caller: Caller, world: World, content: bytes, content_type: str
) -> None:
    response = caller.post(
        "/acme/shop/token", content=content, headers={"Content-Type": content_type}
    )
    assert_error(response, 400, "invalid_request", [], clock=world.clock)


def test_unknown_app_token_endpoint_is_401(caller: Caller, world: World) -> None:
    response = caller.post("/acme/nope/token", data=ALICE)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


# -- the client_credentials grant -------------------------------------------------------------


def _client(creds: Any) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }


def _organization(world: World, name: str) -> dict[str, Any]:
    apps = {app.full_name: app.uuid for app in world.realm.list_apps(name)}
    return {"uuid": world.realm.get_org(name).uuid, "name": name, "applications": apps}


@pytest.mark.parametrize("how", ["get-query", "post-form", "post-json", "basic"])
def test_client_grant_with_app_credentials(caller: Caller, world: World, how: str) -> None:
    if how == "basic":
        response = caller.post(
            "/acme/shop/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic(world.shop_creds)},
        )
    else:
        response = _send(caller, how, _client(world.shop_creds))
    body = assert_token_response(response)
    assert body["application"] == world.realm.get_app("acme", "shop").uuid
    assert "organization" not in body
    assert "user" not in body
    assert world.shop_creds.client_secret not in response.text
    assert_works(caller, body["access_token"])


def test_client_grant_with_org_credentials_at_an_app_endpoint(caller: Caller, world: World) -> None:
    response = caller.post("/acme/shop/token", data=_client(world.org_creds))
    body = assert_token_response(response)
    organization = body["organization"]
    assert organization == _organization(world, "acme")
    assert set(organization["applications"]) == {"acme/shop", "acme/vault", "acme/sandbox"}
    assert world.org_creds.client_secret not in response.text
    assert_works(caller, body["access_token"], "/acme/vault/anything")  # an org token


@pytest.mark.parametrize("creds", ["vault_creds", "globex_creds"], ids=["other-app", "other-org"])
@pytest.mark.parametrize("how", ["post-form", "basic"])
def test_client_grant_with_credentials_of_another_app(
    caller: Caller, world: World, creds: str, how: str
) -> None:
    found = getattr(world, creds)
    if how == "basic":
        response = caller.post(
            "/acme/shop/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic(found)},
        )
    else:
        response = caller.post("/acme/shop/token", data=_client(found))
    assert_error(response, 401, "invalid_client", ['Basic realm="acme/shop"'], clock=world.clock)
    assert found.client_secret not in response.text


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": "client_credentials"},
        {"grant_type": "client_credentials", "client_id": "YXA6x"},
        {"grant_type": "client_credentials", "client_id": "YXA6x", "client_secret": "nope"},
    ],
    ids=["none", "id-only", "wrong"],
)
def test_client_grant_without_good_credentials(
    caller: Caller, world: World, data: dict[str, str]
) -> None:
    response = caller.post("/acme/shop/token", data=data)
    assert_error(response, 401, "invalid_client", ['Basic realm="acme/shop"'], clock=world.clock)


def test_client_credentials_sent_twice(caller: Caller, world: World) -> None:
    response = caller.post(
        "/acme/shop/token",
        data=_client(world.shop_creds),
        headers={"Authorization": basic(world.shop_creds)},
    )
    assert_error(response, 400, "invalid_request", [], clock=world.clock)


# -- client credentials presented with a password grant ----------------------------------------


def _present(
    caller: Caller, url: str, grant: dict[str, str], creds: tuple[str, str], how: str
) -> httpx.Response:
    """A password grant that also presents client credentials ``creds``, sent ``how``."""
    client_id, secret = creds
    pair = {"client_id": client_id, "client_secret": secret}
    if how == "basic":
        return caller.post(url, data=grant, headers={"Authorization": basic(creds)})
    if how == "body":
        return caller.post(url, data={**grant, **pair})
    if how == "json":
        return caller.post(url, json={**grant, **pair})
    return caller.post(url, params=pair, data=grant)


def _presented(world: World, which: str) -> tuple[str, str]:
    shop = world.shop_creds
    found = {
        "wrong-secret": (shop.client_id, shop.client_secret[:-4] + "AAAA"),
        "other-app": (world.vault_creds.client_id, world.vault_creds.client_secret),
        "other-org": (world.globex_creds.client_id, world.globex_creds.client_secret),
        "unknown-id": ("YXA6" + "A" * 22, shop.client_secret),
        "own-app": (shop.client_id, shop.client_secret),
        "own-org": (world.org_creds.client_id, world.org_creds.client_secret),
    }
    return found[which]


CLIENT_HOWS = ["basic", "body", "json", "query"]
REFUSED_CLIENTS = ["wrong-secret", "other-app", "other-org", "unknown-id"]


def _assert_refused_client(response: httpx.Response, world: World, realm_name: str) -> None:
    assert_error(
        response, 401, "invalid_client", [f'Basic realm="{realm_name}"'], clock=world.clock
    )
    assert "access_token" not in response.json()
    for creds in (world.shop_creds, world.vault_creds, world.globex_creds, world.org_creds):
        assert creds.client_secret not in response.text


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("which", REFUSED_CLIENTS)
@pytest.mark.parametrize("how", CLIENT_HOWS)
def test_password_grant_with_refused_client_credentials(
    caller: Caller, world: World, which: str, how: str, store_kind: str
) -> None:
    """RFC 6749 §3.2.1: client credentials that are presented are verified, even on a grant
    that needs none; a client this app does not know is refused before the password is."""
    response = _present(caller, "/acme/shop/token", ALICE, _presented(world, which), how)
    _assert_refused_client(response, world, "acme/shop")
    assert not caller.called


@pytest.mark.parametrize("which", REFUSED_CLIENTS)
@pytest.mark.parametrize("how", ["basic", "body"])
def test_password_grant_with_refused_client_credentials_single_app(
    single: Caller, world: World, which: str, how: str
) -> None:
    response = _present(single, "/token", ALICE, _presented(world, which), how)
    _assert_refused_client(response, world, "acme/shop")


@pytest.mark.parametrize("which", ["own-app", "own-org"])
@pytest.mark.parametrize("how", CLIENT_HOWS)
def test_password_grant_with_the_apps_own_client_credentials(
    caller: Caller, world: World, which: str, how: str
) -> None:
    response = _present(caller, "/acme/shop/token", ALICE, _presented(world, which), how)
    body = assert_token_response(response)
    assert body["user"]["username"] == "alice"  # a user's token, whichever client asked


@pytest.mark.parametrize("which", ["own-app", "own-org"])
def test_password_grant_with_own_client_credentials_single_app(
    single: Caller, world: World, which: str
) -> None:
    response = _present(single, "/token", ALICE, _presented(world, which), "basic")
    assert assert_token_response(response)["user"]["username"] == "alice"


def test_refused_client_credentials_do_not_count_as_failed_logins(
    caller: Caller, world: World
) -> None:
    """The client is checked first: a refused client never reaches the password (no KDF,
    and nothing counted against the account)."""
    wrong = _presented(world, "wrong-secret")
    for _ in range(8):
        guess = {**ALICE, "password": "x" * 9}
        response = _present(caller, "/acme/shop/token", guess, wrong, "body")
        assert response.status_code == 401
    assert_token_response(caller.post("/acme/shop/token", data=ALICE))


ANN = {"grant_type": "password", "username": "ann", "password": PASSWORD}


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("which", ["wrong-secret", "unknown-id"])
@pytest.mark.parametrize("how", CLIENT_HOWS)
def test_admin_password_grant_with_refused_client_credentials(
    caller: Caller, world: World, which: str, how: str, store_kind: str
) -> None:
    response = _present(caller, "/management/token", ANN, _presented(world, which), how)
    _assert_refused_client(response, world, "management")


@pytest.mark.parametrize("which", ["own-org", "other-org", "own-app"])
def test_admin_password_grant_with_valid_client_credentials(
    caller: Caller, world: World, which: str
) -> None:
    """/management/token serves every client (its client_credentials grant does too): any
    valid credentials may accompany an admin's password grant."""
    response = _present(caller, "/management/token", ANN, _presented(world, which), "basic")
    assert assert_token_response(response)["user"]["username"] == "ann"


def test_client_credentials_presented_twice_on_a_password_grant(
    caller: Caller, world: World
) -> None:
    pair = dict(zip(("client_id", "client_secret"), _presented(world, "own-app"), strict=True))
    response = caller.post(
        "/acme/shop/token",
        data={**ALICE, **pair},
        headers={"Authorization": basic(world.shop_creds)},
    )
    assert_error(response, 400, "invalid_request", [], clock=world.clock)


@pytest.mark.parametrize("present", ["client_id", "client_secret"])
def test_half_client_credentials_on_a_password_grant(
    caller: Caller, world: World, present: str
) -> None:
    pair = dict(zip(("client_id", "client_secret"), _presented(world, "own-app"), strict=True))
    response = caller.post("/acme/shop/token", data={**ALICE, present: pair[present]})
    _assert_refused_client(response, world, "acme/shop")


# -- /management/token and /management/me ------------------------------------------------------


def test_admin_password_grant(caller: Caller, world: World) -> None:
    response = caller.post(
        "/management/token",
        json={"grant_type": "password", "username": "ann", "password": PASSWORD},
    )
    body = assert_token_response(response)
    user = body["user"]
    assert user["username"] == "ann"
    assert user["email"] == "ann@example.com"
    assert user["uuid"] == world.realm.get_admin("ann").uuid
    assert user["organizations"] == {"acme": _organization(world, "acme")}
    assert_works(caller, body["access_token"], "/acme/vault/anything")
    assert caller.get("/globex/store/x", headers=bearer(body["access_token"])).status_code == 401


def test_management_token_client_credentials(caller: Caller, world: World) -> None:
    body = assert_token_response(caller.post("/management/token", data=_client(world.org_creds)))
    assert body["organization"] == _organization(world, "acme")


def test_app_users_cannot_use_the_management_token_endpoint(caller: Caller, world: World) -> None:
    response = caller.post("/management/token", data=ALICE)
    assert_error(response, 400, "invalid_grant", [], clock=world.clock)


def test_management_me(caller: Caller, world: World) -> None:
    token = world.token("ann", ttl_ms=120_000)
    world.clock.advance_ms(60_000)
    response = caller.get("/management/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 60
    assert body["user"]["username"] == "ann"
    assert body["user"]["organizations"] == {"acme": _organization(world, "acme")}
    assert "access_token" not in body
    assert token not in response.text
    assert not caller.called


@pytest.mark.parametrize(
    ("who", "status", "error", "challenge"),
    [
        (None, 401, "unauthorized", ['Bearer realm="management"']),
        ("alice", 401, "unauthorized", ['Bearer realm="management", error="invalid_token"']),
        ("bad", 401, "auth_bad_access_token", ['Bearer realm="management", error="invalid_token"']),
        ("org-client", 401, "unauthorized", ['Bearer realm="management", error="invalid_token"']),
    ],
    ids=["no-credentials", "app-user", "bad-token", "org-client-basic"],
)
def test_management_me_refusals(
    caller: Caller, world: World, who: str | None, status: int, error: str, challenge: list[str]
) -> None:
    if who == "org-client":
        headers = {"Authorization": basic(world.org_creds)}
    else:
        headers = {} if who is None else bearer("abc" if who == "bad" else world.token(who))
    response = caller.get("/management/me", headers=headers)
    assert_error(response, status, error, challenge, clock=world.clock)


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("POST", "/management/me", "GET"),
        ("DELETE", "/acme/shop/token", "GET, POST"),
        ("PUT", "/management/token", "GET, POST"),
        ("GET", "/acme/shop/users/alice/revoketokens", "PUT, POST"),
        ("DELETE", "/acme/shop/users/alice/revoketoken", "PUT, POST"),
        ("GET", "/management/users/ann/revoketokens", "PUT, POST"),
    ],
)
def test_endpoint_methods(caller: Caller, world: World, method: str, url: str, allow: str) -> None:
    response = caller.request(method, url, headers=bearer(world.token("ann")))
    assert_error(response, 405, "method_not_allowed", [], clock=world.clock)
    assert response.headers["allow"] == allow
    assert not caller.called


# -- strict mode ------------------------------------------------------------------------------


def test_strict_token_endpoint_is_post_only(make: MakeCaller, world: World) -> None:
    caller = make(strict=True)
    response = caller.get("/acme/shop/token", params=ALICE)
    assert_error(response, 405, "method_not_allowed", [], clock=world.clock)
    assert response.headers["allow"] == "POST"
    assert_token_response(caller.post("/acme/shop/token", data=ALICE))


@pytest.mark.parametrize(
    "name", ["username", "password", "client_id", "client_secret", "access_token"]
)
def test_strict_token_endpoint_takes_no_credentials_in_the_uri(
    make: MakeCaller, world: World, name: str
) -> None:
    caller = make(strict=True)
    data = {**ALICE, **_client(world.shop_creds), "access_token": "x"}
    query = {name: data.pop(name)}
    response = caller.post("/acme/shop/token", params=query, data=data)
    assert_error(response, 400, "invalid_request", [], clock=world.clock)


@pytest.mark.parametrize("name", ["client_id", "client_secret"])
def test_query_credentials_off_applies_to_the_token_endpoint(
    make: MakeCaller, world: World, name: str
) -> None:
    caller = make(allow_query_credentials=False)
    data = _client(world.shop_creds)
    query = {name: data.pop(name)}
    response = caller.post("/acme/shop/token", params=query, data=data)
    assert_error(response, 400, "invalid_request", [], clock=world.clock)
    assert_token_response(caller.post("/acme/shop/token", data=_client(world.shop_creds)))


# -- revoking -------------------------------------------------------------------------------


@pytest.mark.parametrize("subject", ["me", "alice", "ALICE", "uuid", "email"])
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_user_revokes_all_own_tokens(
    caller: Caller, world: World, subject: str, method: str
) -> None:
    first, second, bobs = world.token("alice"), world.token("alice"), world.token("bob")
    who = {"uuid": world.uuids["alice"], "email": "alice@example.com"}.get(subject, subject)
    response = caller.request(method, f"/acme/shop/users/{who}/revoketokens", headers=bearer(first))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"action": "revoked user tokens", "timestamp": world.clock.ms, "duration": 0}
    assert response.headers["cache-control"] == "no-store"
    assert not caller.called
    assert_revoked(caller, world, first)
    assert_revoked(caller, world, second)
    assert_works(caller, bobs)


@pytest.mark.parametrize("subject", ["me", "alice"])
@pytest.mark.parametrize("where", ["query", "form", "json"])
def test_user_revokes_one_token(caller: Caller, world: World, subject: str, where: str) -> None:
    keep, doomed = world.token("alice"), world.token("alice")
    url = f"/acme/shop/users/{subject}/revoketoken"
    kwargs: dict[str, Any] = {
        "query": {"params": {"token": doomed}},
        "form": {"data": {"token": doomed}},
        "json": {"json": {"token": doomed}},
    }[where]
    response = caller.put(url, headers=bearer(keep), **kwargs)
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "revoked user token"
    assert doomed not in response.text
    assert_revoked(caller, world, doomed)
    assert_works(caller, keep)


@pytest.mark.parametrize(
    "caller_of",
    ["app-basic", "app-token", "org-query", "org-token", "admin"],
)
def test_clients_and_admins_revoke_a_users_tokens(
    caller: Caller, world: World, caller_of: str
) -> None:
    bobs = world.token("bob")
    auth: dict[str, Any] = {
        "app-basic": lambda: {"headers": {"Authorization": basic(world.shop_creds)}},
        "app-token": lambda: {"headers": bearer(world.client_token(world.shop_creds))},
        "org-query": lambda: {
            "params": {
                "client_id": world.org_creds.client_id,
                "client_secret": world.org_creds.client_secret,
            }
        },
        "org-token": lambda: {"headers": bearer(world.client_token(world.org_creds))},
        "admin": lambda: {"headers": bearer(world.token("ann"))},
    }[caller_of]()
    response = caller.post("/acme/shop/users/bob/revoketokens", **auth)
    assert response.status_code == 200, response.text
    assert_revoked(caller, world, bobs)
    one = world.token("bob")
    params = {**auth.get("params", {}), "token": one}
    response = caller.post(
        "/acme/shop/users/bob/revoketoken", headers=auth.get("headers"), params=params
    )
    assert response.status_code == 200, response.text
    assert_revoked(caller, world, one)


def test_a_client_token_can_be_revoked_by_its_client(caller: Caller, world: World) -> None:
    """Any kind of token can be revoked (behaviour §3): through the realm, checked over HTTP."""
    token = world.client_token(world.shop_creds)
    assert_works(caller, token)
    world.realm.revoke_token(token)
    assert_revoked(caller, world, token)


def test_a_user_cannot_revoke_another_users_tokens(caller: Caller, world: World) -> None:
    bobs = world.token("bob")
    response = caller.put("/acme/shop/users/bob/revoketokens", headers=bearer(world.token("alice")))
    assert_error(
        response,
        403,
        "unauthorized",
        ['Bearer realm="acme/shop", error="insufficient_scope"'],
        clock=world.clock,
    )
    response = caller.put(
        "/acme/shop/users/bob/revoketoken",
        params={"token": bobs},
        headers=bearer(world.token("alice")),
    )
    assert response.status_code == 403
    assert_works(caller, bobs)


def test_revoke_is_refused_whatever_the_rules_say(caller: Caller, world: World) -> None:
    """The sandbox guest may do anything, but not revoke tokens; neither may a user whose rules
    cover ``/users/**``."""
    world.realm.create_user("acme", "sandbox", "sandy", password="pw-secret")
    sandys = world.realm.password_token("acme", "sandbox", "sandy", "pw-secret").access_token
    response = caller.put("/acme/sandbox/users/sandy/revoketokens")
    assert_error(response, 401, "unauthorized", ['Bearer realm="acme/sandbox"'], clock=world.clock)
    assert_works(caller, sandys, "/acme/sandbox/x")
    world.realm.create_user("acme", "sandbox", "mallory", password="pw-secret")
    mallory = world.realm.password_token("acme", "sandbox", "mallory", "pw-secret").access_token
    response = caller.put("/acme/sandbox/users/sandy/revoketokens", headers=bearer(mallory))
    assert response.status_code == 403
    assert_works(caller, sandys, "/acme/sandbox/x")


def test_revoking_another_users_token_as_ones_own_is_400(caller: Caller, world: World) -> None:
    bobs = world.token("bob")
    response = caller.put(
        "/acme/shop/users/me/revoketoken",
        params={"token": bobs},
        headers=bearer(world.token("alice")),
    )
    assert_error(
        response,
        400,
        "invalid_request",
        ['Bearer realm="acme/shop", error="invalid_request"'],
        clock=world.clock,
    )
    assert bobs not in response.text
    assert_works(caller, bobs)


def test_revoke_one_without_a_token_is_400(caller: Caller, world: World) -> None:
    response = caller.put("/acme/shop/users/me/revoketoken", headers=bearer(world.token("alice")))
    assert_error(
        response,
        400,
        "invalid_request",
        ['Bearer realm="acme/shop", error="invalid_request"'],
        clock=world.clock,
    )


def test_unknown_user_by_a_client_is_404(caller: Caller, world: World) -> None:
    response = caller.put(
        "/acme/shop/users/nobody/revoketokens", headers={"Authorization": basic(world.shop_creds)}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert "www-authenticate" not in response.headers
    assert response.json()["timestamp"] == world.clock.ms


@pytest.mark.parametrize(
    "url", ["/acme/shop/users/alice/revoketokens", "/management/users/ann/revoketokens"]
)
def test_revoke_without_credentials_is_401(caller: Caller, world: World, url: str) -> None:
    response = caller.put(url)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert not caller.called


@pytest.mark.parametrize(
    ("creds", "url"),
    [
        ("vault_creds", "/acme/shop/users/alice/revoketokens"),
        ("globex_creds", "/acme/shop/users/alice/revoketokens"),
    ],
    ids=["other-app", "other-org"],
)
def test_revoke_by_a_client_of_another_app_is_401(
    caller: Caller, world: World, creds: str, url: str
) -> None:
    alices = world.token("alice")
    response = caller.put(url, headers={"Authorization": basic(getattr(world, creds))})
    assert_error(
        response,
        401,
        "unauthorized",
        ['Bearer realm="acme/shop", error="invalid_token"'],
        clock=world.clock,
    )
    assert_works(caller, alices)


def test_revoke_by_an_admin_of_another_org_is_401(caller: Caller, world: World) -> None:
    alices = world.token("alice")
    response = caller.put("/acme/shop/users/alice/revoketokens", headers=bearer(world.token("gus")))
    assert response.status_code == 401
    assert_works(caller, alices)


@pytest.mark.parametrize("subject", ["me", "ann", "ANN", "ann@example.com", "uuid"])
def test_admin_revokes_own_tokens(caller: Caller, world: World, subject: str) -> None:
    subject = world.realm.get_admin("ann").uuid if subject == "uuid" else subject
    first, second = world.token("ann"), world.token("ann")
    response = caller.put(f"/management/users/{subject}/revoketokens", headers=bearer(first))
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "revoked user tokens"
    assert_revoked(caller, world, second, "/acme/shop/books")


def test_admin_revokes_one_own_token(caller: Caller, world: World) -> None:
    keep, doomed = world.token("ann"), world.token("ann")
    response = caller.post(
        "/management/users/ann/revoketoken", params={"token": doomed}, headers=bearer(keep)
    )
    assert response.status_code == 200, response.text
    assert_revoked(caller, world, doomed)
    assert_works(caller, keep)


@pytest.mark.parametrize("who", ["gus", "org-client"])
def test_admin_tokens_are_revoked_only_by_their_admin(
    caller: Caller, world: World, who: str
) -> None:
    anns = world.token("ann")
    headers = (
        bearer(world.token("gus")) if who == "gus" else {"Authorization": basic(world.org_creds)}
    )
    response = caller.put("/management/users/ann/revoketokens", headers=headers)
    assert response.status_code == 403
    assert_works(caller, anns)


# -- endpoints=False ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/acme/sandbox/token?grant_type=password&username=u&password=p"),
        ("POST", "/acme/sandbox/users/me/revoketokens"),
    ],
)
def test_endpoints_off_passes_the_paths_to_the_app(make: MakeCaller, method: str, url: str) -> None:
    caller = make(endpoints=False)
    response = caller.request(method, url)
    assert response.status_code == 200
    assert response.json()["path"] == url.split("?")[0]
    assert caller.last.principal is not None
    assert caller.last.principal.kind == "guest"


def test_endpoints_off_management_needs_an_admin(make: MakeCaller, world: World) -> None:
    caller = make(endpoints=False)
    assert caller.get("/management/token").status_code == 401
    # behaviour §6.1: only the caller's own orgs and own user are reachable under /management.
    anns = bearer(world.token("ann"))
    assert caller.get("/management/me", headers=anns).status_code == 403
    assert not caller.called
    response = caller.get("/management/orgs/acme", headers=anns)
    assert response.status_code == 200
    assert caller.last.path == "/management/orgs/acme"


def test_a_malformed_token_parameter_is_400_not_a_challenge_to_the_caller(
    caller: Caller, world: World
) -> None:
    """The caller's own credentials are fine; the value it asks to revoke is not a token."""
    alices = world.token("alice")
    response = caller.put(
        "/acme/shop/users/me/revoketoken", params={"token": "garbage"}, headers=bearer(alices)
    )
    assert_error(
        response,
        400,
        "invalid_request",
        ['Bearer realm="acme/shop", error="invalid_request"'],
        clock=world.clock,
    )
    assert_works(caller, alices)


@pytest.mark.parametrize("length", ["abc", "-1x"])
def test_wsgi_bad_content_length_at_the_token_endpoint(world: World, length: str) -> None:
    caller = Caller("wsgi", world.realm)
    answer = caller.call(
        "POST",
        "/acme/shop/token",
        body=FORM_BODY,
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        extra={"CONTENT_LENGTH": length},
    )
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.header("www-authenticate") == []  # a token-endpoint 400 has no challenge


def test_wsgi_body_without_length_is_read_only_when_terminated(world: World) -> None:
    caller = Caller("wsgi", world.realm)
    headers = [("Content-Type", "application/x-www-form-urlencoded")]
    unterminated = caller.call(
        "POST", "/acme/shop/token", body=FORM_BODY, headers=headers, extra={"CONTENT_LENGTH": ""}
    )
    assert unterminated.status == 400  # nothing was read: grant_type is missing
    terminated = caller.call(
        "POST",
        "/acme/shop/token",
        body=FORM_BODY,
        headers=headers,
        extra={"CONTENT_LENGTH": "", "wsgi.input_terminated": True},
    )
    assert terminated.status == 200, terminated.body


@pytest.mark.parametrize(
    ("url", "who"),
    [
        ("/acme/shop/users/bob/revoketokens", "alice"),
        ("/management/users/ann/revoketokens", "gus"),
    ],
    ids=["app-user", "admin"],
)
def test_usergrid_status_codes_turn_revoke_refusals_into_401(
    make: MakeCaller, world: World, url: str, who: str
) -> None:
    caller = make(usergrid_status_codes=True)
    realm = "acme/shop" if url.startswith("/acme") else "management"
    response = caller.put(url, headers=bearer(world.token(who)))
    assert_error(
        response,
        401,
        "unauthorized",
        [f'Bearer realm="{realm}", error="insufficient_scope"'],
        clock=world.clock,
    )


def test_single_app_revoke(single: Caller, world: World) -> None:
    alices, bobs = world.token("alice"), world.token("bob")
    response = single.put("/users/me/revoketokens", headers=bearer(alices))
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "revoked user tokens"
    assert single.get("/books", headers=bearer(alices)).json()["error"] == "auth_invalid"
    assert single.get("/books", headers=bearer(bobs)).status_code == 200


def test_single_app_has_no_management_endpoints(single: Caller, world: World) -> None:
    data = {"grant_type": "password", "username": "ann", "password": PASSWORD}
    response = single.post("/management/token", data=data)
    assert_error(response, 401, "unauthorized", ['Bearer realm="acme/shop"'], clock=world.clock)
    response = single.get("/management/me", headers=bearer(world.token("alice")))
    assert response.status_code == 200  # an ordinary path of the app, allowed by alice's rules
    assert single.last.path == "/management/me"
