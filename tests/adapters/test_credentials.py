"""behaviour §2 end to end on both adapters: credential sources, conflicts, query-credential
switches, scrubbing of the query the inner app sees, ``Cache-Control: private``, and the
principal hand-off."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from baas_auth.asgi import AuthMiddleware as AsgiAuth
from tests.adapters.conftest import (
    BASE,
    Call,
    Caller,
    MakeCaller,
    World,
    assert_error,
    basic,
    bearer,
    make_asgi_inner,
)

# -- the sources ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(caller: Caller, world: World, scheme: str) -> None:
    response = caller.get(
        "/acme/shop/books", headers={"Authorization": f"{scheme} {world.token('alice')}"}
    )
    assert response.status_code == 200
    assert caller.last.principal is not None
    assert (caller.last.principal.kind, caller.last.principal.username) == ("app_user", "alice")


@pytest.mark.parametrize("name", ["access_token", "access%5Ftoken", "%61ccess_token"])
def test_query_token(caller: Caller, world: World, name: str) -> None:
    response = caller.get(f"/acme/shop/books?{name}={world.token('alice')}")
    assert response.status_code == 200
    assert caller.last.principal is not None
    assert caller.last.principal.username == "alice"
    assert caller.last.query == b""


@pytest.mark.parametrize(
    ("creds", "kind", "app"),
    [("org_creds", "org_client", None), ("shop_creds", "app_client", "shop")],
    ids=["org", "app"],
)
@pytest.mark.parametrize("source", ["query", "basic"])
def test_client_credentials(
    caller: Caller, world: World, creds: str, kind: str, app: str | None, source: str
) -> None:
    found = getattr(world, creds)
    if source == "query":
        params = {"client_id": found.client_id, "client_secret": found.client_secret}
        response = caller.get("/acme/shop/books", params=params)
    else:
        response = caller.get("/acme/shop/books", headers={"Authorization": basic(found)})
    assert response.status_code == 200
    principal = caller.last.principal
    assert principal is not None
    assert (principal.kind, principal.org, principal.app) == (kind, "acme", app)
    assert principal.uuid == found.client_id


def test_client_token_in_a_header(caller: Caller, world: World) -> None:
    response = caller.get("/acme/shop/books", headers=bearer(world.client_token(world.org_creds)))
    assert response.status_code == 200
    assert caller.last.principal is not None
    assert caller.last.principal.kind == "org_client"


def test_admin_token_acts_in_its_orgs_apps(caller: Caller, world: World) -> None:
    response = caller.request("DELETE", "/acme/vault/anything", headers=bearer(world.token("ann")))
    assert response.status_code == 200
    assert caller.last.principal is not None
    assert caller.last.principal.kind == "admin_user"


# -- conflicts: more than one credential method, or a partial one ------------------------------


# Each case: the raw query string and the Authorization fields; {T} is a token of alice, {I}
# and {S} the shop's client_id and client_secret, {B} their Basic header value.
CONFLICTS = [
    ("header-and-query-token", "access_token={T}", ["Bearer {T}"]),
    ("header-and-query-client", "client_id={I}&client_secret={S}", ["Bearer {T}"]),
    ("basic-and-query-token", "access_token={T}", ["{B}"]),
    ("basic-and-query-client", "client_id={I}&client_secret={S}", ["{B}"]),
    ("query-token-and-client", "access_token={T}&client_id={I}&client_secret={S}", []),
    ("two-access-tokens", "access_token={T}&access_token={T}", []),
    ("two-access-tokens-one-encoded", "access_token={T}&access%5Ftoken={T}", []),
    ("two-client-ids", "client_id={I}&client_id={I}&client_secret={S}", []),
    ("two-authorization-headers", "", ["Bearer {T}", "{B}"]),
    ("two-bearer-headers", "", ["Bearer {T}", "Bearer {T}"]),
    ("client-id-without-secret", "client_id={I}", []),
    ("client-secret-without-id", "client_secret={S}", []),
    ("empty-access-token", "access_token=", []),
    ("empty-client-secret", "client_id={I}&client_secret=", []),
    ("bearer-and-basic-in-one-header", "", ["Bearer {T}, {B}"]),
]


def _fill(text: str, world: World, token: str) -> str:
    creds = world.shop_creds
    return text.format(T=token, I=creds.client_id, S=creds.client_secret, B=basic(creds))


@pytest.mark.parametrize(
    ("query", "authorization"), [c[1:] for c in CONFLICTS], ids=[c[0] for c in CONFLICTS]
)
@pytest.mark.parametrize("app", ["shop", "sandbox"])
def test_conflicting_credentials_are_400(
    caller: Caller, world: World, query: str, authorization: list[str], app: str
) -> None:
    token = world.token("alice")
    headers = [("Authorization", _fill(value, world, token)) for value in authorization]
    url = f"/acme/{app}/books" + (f"?{_fill(query, world, token)}" if query else "")
    response = caller.get(url, headers=headers)
    assert_error(
        response,
        400,
        "invalid_request",
        [f'Bearer realm="acme/{app}", error="invalid_request"'],
        clock=world.clock,
    )
    assert not caller.called


# -- unsupported schemes and invalid credentials: never Guest --------------------------------


@pytest.mark.parametrize(
    "value", ["Digest username=x", "Token abc", "Negotiate abc", "Bearerx abc"]
)
@pytest.mark.parametrize("app", ["shop", "sandbox"])
def test_unsupported_scheme_is_401_with_a_bare_challenge(
    caller: Caller, world: World, value: str, app: str
) -> None:
    response = caller.get(f"/acme/{app}/books", headers={"Authorization": value})
    assert_error(response, 401, "unauthorized", [f'Bearer realm="acme/{app}"'], clock=world.clock)
    assert not caller.called


def _invalid(w: World, case: str) -> dict[str, Any]:
    if case == "bad-token":
        return {"headers": {"Authorization": "Bearer not-a-token=="}}
    if case == "expired-token":
        grant = w.realm.password_token("acme", "sandbox", "sandy", "pw-secret", ttl_ms=10)
        token = grant.access_token
        w.clock.advance_ms(10)
        return {"headers": bearer(token)}
    if case == "revoked-token":
        token = w.realm.password_token("acme", "sandbox", "sandy", "pw-secret").access_token
        w.realm.revoke_token(token)
        return {"params": {"access_token": token}}
    if case == "bad-query-client":
        return {"params": {"client_id": w.org_creds.client_id, "client_secret": "b3U6nope"}}
    return {"headers": {"Authorization": basic((w.org_creds.client_id, "b3U6nope"))}}


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("bad-token", "auth_bad_access_token"),
        ("expired-token", "expired_token"),
        ("revoked-token", "auth_invalid"),
        ("bad-query-client", "invalid_client"),
        ("bad-basic-client", "auth_invalid_credentials"),
    ],
)
def test_an_invalid_credential_is_never_guest_even_on_the_sandbox(
    caller: Caller, world: World, case: str, error: str
) -> None:
    world.realm.create_user("acme", "sandbox", "sandy", password="pw-secret")
    assert caller.get("/acme/sandbox/books").status_code == 200  # the guest may do this
    kwargs = _invalid(world, case)
    response = caller.get("/acme/sandbox/books", **kwargs)
    assert response.status_code == 401
    assert response.json()["error"] == error
    assert len(caller.calls) == 1


# -- query credentials switched off -------------------------------------------------------------


@pytest.mark.parametrize(
    "options", [{"allow_query_credentials": False}, {"strict": True}], ids=["off", "strict"]
)
@pytest.mark.parametrize(
    "query",
    [
        "access_token={T}",
        "access%5Ftoken={T}",
        "client_id={I}&client_secret={S}",
        "a=1&client_id={I}",
    ],
    ids=["token", "encoded-token", "client", "client-id-alone"],
)
def test_query_credentials_refused_when_off(
    make: MakeCaller, world: World, options: dict[str, Any], query: str
) -> None:
    caller = make(**options)
    token = world.token("alice")
    query = _fill(query, world, token)
    response = caller.get(f"/acme/shop/books?{query}")
    assert_error(
        response,
        400,
        "invalid_request",
        ['Bearer realm="acme/shop", error="invalid_request"'],
        clock=world.clock,
    )
    assert not caller.called


@pytest.mark.parametrize(
    "options", [{"allow_query_credentials": False}, {"strict": True}], ids=["off", "strict"]
)
def test_header_credentials_still_work_when_query_is_off(
    make: MakeCaller, world: World, options: dict[str, Any]
) -> None:
    caller = make(**options)
    assert caller.get("/acme/shop/books", headers=bearer(world.token("alice"))).status_code == 200
    assert (
        caller.get(
            "/acme/shop/books", headers={"Authorization": basic(world.shop_creds)}
        ).status_code
        == 200
    )
    assert len(caller.calls) == 2


# -- scrubbing ------------------------------------------------------------------------------------


SCRUBS = [
    ("a=1&access_token={T}&b=%2Fx&c", "a=1&b=%2Fx&c"),
    ("access_token={T}", ""),
    ("access%5Ftoken={T}&z=%7E&z=2", "z=%7E&z=2"),
    ("q=caf%C3%A9&client_id={I}&x=1+2&client_secret={S}&y=", "q=caf%C3%A9&x=1+2&y="),
    ("client_secret={S}&client_id={I}&%E2%9C%93=%E2%9C%93", "%E2%9C%93=%E2%9C%93"),
    ("z=1&&access_token={T}&Access_Token=kept", "z=1&&Access_Token=kept"),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    SCRUBS,
    ids=["token-middle", "token-only", "encoded-name", "client-pair", "reversed", "case-differs"],
)
def test_credentials_are_scrubbed_from_the_query_the_app_sees(
    caller: Caller, world: World, query: str, expected: str
) -> None:
    token, secret = world.token("alice"), world.shop_creds.client_secret
    response = caller.get(f"/acme/shop/books?{_fill(query, world, token)}")
    assert response.status_code == 200
    seen = caller.last
    assert seen.query == expected.encode()
    if caller.adapter == "wsgi":
        target = "/acme/shop/books" + (f"?{expected}" if expected else "")
        assert seen.raw["RAW_URI"] == target
        assert seen.raw["REQUEST_URI"] == target
    else:
        assert seen.raw["raw_path"] == b"/acme/shop/books"
    assert token not in repr(seen.raw)
    assert secret not in repr(seen.raw)


def test_a_query_without_credentials_is_untouched(caller: Caller, world: World) -> None:
    query = "b=2&a=%41&a=1+1&access_tokens=x&c"
    response = caller.get(f"/acme/shop/books?{query}", headers=bearer(world.token("alice")))
    assert response.status_code == 200
    assert caller.last.query == query.encode()
    if caller.adapter == "wsgi":
        assert caller.last.raw["RAW_URI"] == f"/acme/shop/books?{query}"


def test_scrubbed_when_a_preflight_passes_through(make: MakeCaller, world: World) -> None:
    caller = make(cors_preflight=True)
    headers = {"Origin": "https://a.example", "Access-Control-Request-Method": "DELETE"}
    response = caller.request("OPTIONS", "/acme/shop/books?x=1&access_token=abc", headers=headers)
    assert response.status_code == 200
    assert caller.last.principal is None
    assert caller.last.query == b"x=1"


# -- Cache-Control: private --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app_sends", "expected"),
    [
        (None, "private"),
        ("public, max-age=60", "private, max-age=60"),
        ("max-age=60", "private, max-age=60"),
        ("no-store", "no-store"),
        ("private, max-age=5", "private, max-age=5"),
        ("No-Store", "No-Store"),
    ],
)
def test_cache_control_private_on_2xx_to_a_query_token(
    caller: Caller, world: World, app_sends: str | None, expected: str
) -> None:
    headers = {} if app_sends is None else {"X-Reply-Cache-Control": app_sends}
    url = f"/acme/shop/books?access_token={world.token('alice')}"
    response = caller.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers.get_list("cache-control") == [expected]


@pytest.mark.parametrize("status", ["201", "204", "299"])
def test_cache_control_private_on_every_2xx(caller: Caller, world: World, status: str) -> None:
    url = f"/acme/shop/books?access_token={world.token('alice')}"
    response = caller.get(url, headers={"X-Reply-Status": status})
    assert response.status_code == int(status)
    assert response.headers["cache-control"] == "private"


@pytest.mark.parametrize("status", ["301", "404", "500"])
def test_no_cache_control_added_to_non_2xx(caller: Caller, world: World, status: str) -> None:
    url = f"/acme/shop/books?access_token={world.token('alice')}"
    response = caller.get(url, headers={"X-Reply-Status": status})
    assert response.status_code == int(status)
    assert "cache-control" not in response.headers


def test_no_cache_control_added_for_a_header_token(caller: Caller, world: World) -> None:
    response = caller.get("/acme/shop/books", headers=bearer(world.token("alice")))
    assert response.status_code == 200
    assert "cache-control" not in response.headers


# -- the principal hand-off ----------------------------------------------------------------


def _principal_keys(call: Call, adapter: str) -> list[object]:
    if adapter == "wsgi":
        return [call.raw["baas_auth.principal"]]
    return [call.raw["baas_auth.principal"], call.raw["user"]]


def test_principal_reaches_the_app(caller: Caller, world: World) -> None:
    assert caller.get("/acme/shop/books", headers=bearer(world.token("alice"))).status_code == 200
    for principal in _principal_keys(caller.last, caller.adapter):
        assert principal is caller.last.principal
        assert principal.kind == "app_user"
        assert principal.username == "alice"
        assert principal.uuid == world.uuids["alice"]
        assert (principal.org, principal.app) == ("acme", "shop")
        assert principal.is_authenticated


def test_guest_principal_reaches_the_app(caller: Caller) -> None:
    assert caller.get("/acme/sandbox/books").status_code == 200
    for principal in _principal_keys(caller.last, caller.adapter):
        assert principal.kind == "guest"
        assert not principal.is_authenticated
        assert (principal.org, principal.app) == ("acme", "sandbox")


def test_inner_app_sees_the_path_unchanged(caller: Caller, world: World) -> None:
    response = caller.get("/ACME/Shop/books/1", headers=bearer(world.token("alice")))
    assert response.status_code == 200
    assert caller.last.path == "/ACME/Shop/books/1"


def test_starlette_request_user(world: World) -> None:
    async def me(request: Request) -> JSONResponse:
        user = request.user
        return JSONResponse(
            {
                "name": user.display_name,
                "authenticated": user.is_authenticated,
                "same": request.scope["baas_auth.principal"] is user,
                "path": request.url.path,
            }
        )

    app = Starlette(routes=[Route("/books/{id}", me)])
    app.add_middleware(AsgiAuth, world.realm, application="acme/shop")

    async def go(headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            return await c.get("/books/7", headers=headers)

    response = asyncio.run(go(bearer(world.token("alice"))))
    assert response.status_code == 200
    assert response.json() == {
        "name": "alice",
        "authenticated": True,
        "same": True,
        "path": "/books/7",
    }
    refused = asyncio.run(go({}))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="acme/shop"'


def test_the_callers_scope_is_not_mutated(world: World) -> None:
    calls: list[Call] = []
    app = AsgiAuth(make_asgi_inner(calls), world.realm)
    token = world.token("alice")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "method": "GET",
        "path": "/acme/shop/books",
        "raw_path": b"/acme/shop/books",
        "root_path": "",
        "query_string": f"a=1&access_token={token}".encode(),
        "headers": [(b"host", b"testserver")],
        "state": {},
    }
    before = copy.deepcopy(scope)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    assert scope == before
    assert "baas_auth.principal" not in scope
    assert "user" not in scope
    seen = calls[0].raw
    assert seen["query_string"] == b"a=1"
    assert seen["user"].username == "alice"
    assert seen["state"] is scope["state"]  # a shallow copy: shared state stays shared


def test_asgi_private_cache_control_with_a_bare_response_start(world: World) -> None:
    """``headers`` is optional in ``http.response.start``; header names sent are lower-case."""

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"ok"})

    app = AsgiAuth(inner, world.realm)
    query = f"access_token={world.token('alice')}".encode()
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/acme/shop/books",
        "query_string": query,
        "headers": [],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    assert list(sent[0]["headers"]) == [(b"cache-control", b"private")]


def test_asgi_private_cache_control_keeps_header_names_lower_case(
    caller: Caller, world: World
) -> None:
    url = f"/acme/shop/books?access_token={world.token('alice')}"
    response = caller.get(url, headers={"X-Reply-Cache-Control": "public, max-age=9"})
    assert response.headers["cache-control"] == "private, max-age=9"
    if caller.adapter == "asgi":
        names = [name for name, _ in response.headers.raw]
        assert names == [name.lower() for name in names]
