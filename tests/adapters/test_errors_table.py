"""Every row of the behaviour §4 errors table, on both adapters, on a memory and a SQLite store.

Each case asserts the whole refusal: status, ``error``, the exact ``WWW-Authenticate`` values
(``error=`` only when credentials were sent or the request was malformed; a Basic challenge beside
the Bearer one for bad Basic credentials; only ``Basic realm=`` on token-endpoint 401s; none on
token-endpoint 400s, 405s and 503s), ``Allow`` on 405 only, the JSON body with ``timestamp`` and
``duration`` — and that the inner app was not called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.errors import ConfigError
from baas_auth.wsgi import AuthMiddleware as WsgiAuth
from tests.adapters.conftest import (
    ALLOWED,
    PASSWORD,
    Caller,
    MakeCaller,
    World,
    assert_error,
    basic,
    bearer,
    challenges,
)

_ALICE = {"grant_type": "password", "username": "alice", "password": PASSWORD}

SHOP = 'Bearer realm="acme/shop"'
VAULT = 'Bearer realm="acme/vault"'


def bad(realm: str, error: str) -> str:
    return f'Bearer realm="{realm}", error="{error}"'


Request = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Row:
    id: str
    request: Callable[[World], Request]
    status: int
    error: str
    challenges: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    allow: str | None = None


def get(url: str, **kwargs: Any) -> Callable[[World], Request]:
    return lambda _: ("GET", url, kwargs)


def with_token(who: str, url: str, method: str = "GET") -> Callable[[World], Request]:
    return lambda w: (method, url, {"headers": bearer(w.token(who))})


def token_post(data: dict[str, str], url: str = "/acme/shop/token") -> Callable[[World], Request]:
    return lambda _: ("POST", url, {"data": data})


def _tampered(w: World) -> Request:
    token = w.token("alice")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    return "GET", "/acme/shop/books", {"headers": bearer(flipped)}


def _expired(w: World) -> Request:
    token = w.token("alice", ttl_ms=1000)
    w.clock.advance_ms(1000)
    return "GET", "/acme/shop/books", {"headers": bearer(token)}


def _revoked(w: World) -> Request:
    token = w.token("alice")
    w.realm.revoke_token(token)
    return "GET", "/acme/shop/books", {"headers": bearer(token)}


def _unknown(w: World) -> Request:
    token = w.token("bob")
    w.realm.delete_user("acme", "shop", "bob")
    return "GET", "/acme/shop/books", {"headers": bearer(token)}


def _store_down(make_request: Callable[[World], Request]) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        request = make_request(w)
        w.store.down = True
        return request

    return build


def _query_client(creds: str, url: str = "/acme/shop/books") -> Callable[[World], Request]:
    def build(w: World) -> Request:
        found = getattr(w, creds)
        params = {"client_id": found.client_id, "client_secret": found.client_secret}
        return "GET", url, {"params": params}

    return build


def _basic(creds: str, url: str = "/acme/shop/books", *, secret: str | None = None):
    def build(w: World) -> Request:
        found = getattr(w, creds)
        value = basic((found.client_id, secret or found.client_secret))
        return "GET", url, {"headers": {"Authorization": value}}

    return build


def _client_grant(creds: str, url: str = "/acme/shop/token", *, secret: str | None = None):
    def build(w: World) -> Request:
        found = getattr(w, creds)
        data = {
            "grant_type": "client_credentials",
            "client_id": found.client_id,
            "client_secret": secret or found.client_secret,
        }
        return "POST", url, {"data": data}

    return build


def _password_grant_with_client(
    creds: str, url: str = "/acme/shop/token", *, secret: str | None = None
):
    """A password grant (alice, or admin ann on /management/token) presenting client
    credentials in a Basic header."""

    def build(w: World) -> Request:
        found = getattr(w, creds)
        username = "ann" if url.startswith("/management") else "alice"
        data = {"grant_type": "password", "username": username, "password": PASSWORD}
        headers = {"Authorization": basic((found.client_id, secret or found.client_secret))}
        return "POST", url, {"data": data, "headers": headers}

    return build


def _disabled_user(w: World) -> Request:
    w.realm.update_user("acme", "shop", "bob", disabled=True)
    return token_post({"grant_type": "password", "username": "bob", "password": PASSWORD})(w)


ROWS = [
    # -- no credentials, guest refused ------------------------------------------------------
    Row("no-credentials-guest-refused", get("/acme/shop/books"), 401, "unauthorized", [SHOP]),
    Row(
        "no-credentials-guest-refused-single-app",
        get("/books"),
        401,
        "unauthorized",
        [SHOP],
        options={"application": "acme/shop"},
    ),
    Row("no-credentials-locked-app", get("/acme/vault/users"), 401, "unauthorized", [VAULT]),
    # -- malformed requests and conflicting credentials (400) ----------------------------------
    *(
        Row(
            f"malformed-authorization-{name}",
            get("/acme/shop/books", headers={"Authorization": value}),
            400,
            "invalid_request",
            [bad("acme/shop", "invalid_request")],
        )
        for name, value in [
            ("nothing-after-scheme", "Bearer"),
            ("two-spaces", "Bearer  abc"),
            ("tab", "Bearer\tabc"),
            ("not-token68", "Bearer abc,def"),
            ("basic-not-base64", "Basic ***"),
            ("basic-no-colon", "Basic Y2xpZW50"),
        ]
    ),
    Row(
        "conflict-header-and-query-token",
        lambda w: (
            "GET",
            "/acme/shop/books",
            {"headers": bearer(w.token("alice")), "params": {"access_token": w.token("alice")}},
        ),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
    ),
    Row(
        "conflict-query-token-and-client-credentials",
        lambda w: (
            "GET",
            "/acme/shop/books",
            {
                "params": {
                    "access_token": w.token("alice"),
                    "client_id": w.shop_creds.client_id,
                    "client_secret": w.shop_creds.client_secret,
                }
            },
        ),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
    ),
    Row(
        "conflict-basic-header-and-query-token",
        lambda w: (
            "GET",
            "/acme/shop/books",
            {
                "headers": {"Authorization": basic(w.shop_creds)},
                "params": {"access_token": w.token("alice")},
            },
        ),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
    ),
    Row(
        "conflict-two-access-tokens",
        lambda w: (
            "GET",
            "/acme/shop/books",
            {"params": [("access_token", w.token("alice")), ("access_token", w.token("alice"))]},
        ),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
    ),
    Row(
        "conflict-two-authorization-headers",
        lambda w: (
            "GET",
            "/acme/shop/books",
            {
                "headers": [
                    ("Authorization", f"Bearer {w.token('alice')}"),
                    ("Authorization", f"Bearer {w.token('alice')}"),
                ]
            },
        ),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
    ),
    Row(
        "conflict-client-id-without-secret",
        lambda w: ("GET", "/acme/shop/books", {"params": {"client_id": w.shop_creds.client_id}}),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
    ),
    Row(
        "conflict-empty-access-token",
        get("/acme/shop/books?access_token="),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
    ),
    Row(
        "bad-path-encoded-dotdot",
        get("/acme/shop/%2e%2e/vault/x"),
        400,
        "invalid_request",
        [bad("baas", "invalid_request")],
    ),
    Row(
        "bad-path-encoded-dotdot-single-app",
        get("/books/%2e%2e/x"),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
        options={"application": "acme/shop"},
    ),
    Row(
        "bad-path-semicolon",
        get("/acme/shop/books;x=1"),
        400,
        "invalid_request",
        [bad("baas", "invalid_request")],
    ),
    Row(
        "method-override-header",
        get("/acme/shop/books", headers={"X-HTTP-Method-Override": "DELETE"}),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
    ),
    Row(
        "method-override-parameter",
        get("/acme/shop/books?_method=DELETE"),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
    ),
    Row(
        "query-credentials-refused",
        get("/acme/shop/books?access_token=abc"),
        400,
        "invalid_request",
        [bad("acme/shop", "invalid_request")],
        options={"allow_query_credentials": False},
    ),
    # -- tokens that do not authenticate -----------------------------------------------------
    Row(
        "token-unparsable",
        get("/acme/shop/books", headers={"Authorization": "Bearer abc"}),
        401,
        "auth_bad_access_token",
        [bad("acme/shop", "invalid_token")],
    ),
    Row(
        "token-mac-wrong",
        _tampered,
        401,
        "auth_bad_access_token",
        [bad("acme/shop", "invalid_token")],
    ),
    Row("token-expired", _expired, 401, "expired_token", [bad("acme/shop", "invalid_token")]),
    Row("token-revoked", _revoked, 401, "auth_invalid", [bad("acme/shop", "invalid_token")]),
    Row("token-unknown", _unknown, 401, "auth_invalid", [bad("acme/shop", "invalid_token")]),
    Row(
        "query-client-credentials-wrong-secret",
        lambda w: (
            "GET",
            "/acme/shop/books",
            {"params": {"client_id": w.shop_creds.client_id, "client_secret": "YXA6wrong"}},
        ),
        401,
        "invalid_client",
        [bad("acme/shop", "invalid_token")],
    ),
    Row(
        "query-client-credentials-unknown-id",
        get("/acme/shop/books", params={"client_id": "YXA6nobody", "client_secret": "x"}),
        401,
        "invalid_client",
        [bad("acme/shop", "invalid_token")],
    ),
    Row(
        "basic-client-credentials-wrong-secret",
        _basic("shop_creds", secret="YXA6wrong"),
        401,
        "auth_invalid_credentials",
        [bad("acme/shop", "invalid_token"), 'Basic realm="acme/shop"'],
    ),
    Row(
        "basic-client-credentials-unknown-id",
        get("/acme/shop/books", headers={"Authorization": basic(("YXA6nobody", "secret"))}),
        401,
        "auth_invalid_credentials",
        [bad("acme/shop", "invalid_token"), 'Basic realm="acme/shop"'],
    ),
    # -- authenticated, refused ------------------------------------------------------------
    Row(
        "forbidden",
        with_token("victor", "/acme/vault/secrets"),
        403,
        "unauthorized",
        [bad("acme/vault", "insufficient_scope")],
    ),
    Row(
        "forbidden-method",
        with_token("victor", "/acme/vault/Books/1", "DELETE"),
        403,
        "unauthorized",
        [bad("acme/vault", "insufficient_scope")],
    ),
    Row(
        "forbidden-usergrid-status-codes",
        with_token("victor", "/acme/vault/secrets"),
        401,
        "unauthorized",
        [bad("acme/vault", "insufficient_scope")],
        options={"usergrid_status_codes": True},
    ),
    Row(
        "forbidden-single-app",
        with_token("victor", "/secrets"),
        403,
        "unauthorized",
        [bad("acme/vault", "insufficient_scope")],
        options={"application": "acme/vault"},
    ),
    # -- credentials of another app or org ----------------------------------------------------
    Row(
        "other-app-user-token",
        with_token("alice", "/acme/vault/Books/1"),
        401,
        "unauthorized",
        [bad("acme/vault", "invalid_token")],
    ),
    Row(
        "other-app-user-token-single-app",
        with_token("victor", "/books"),
        401,
        "unauthorized",
        [bad("acme/shop", "invalid_token")],
        options={"application": "acme/shop"},
    ),
    Row(
        "other-app-client-credentials",
        _query_client("shop_creds", "/acme/vault/Books"),
        401,
        "unauthorized",
        [bad("acme/vault", "invalid_token")],
    ),
    Row(
        "other-app-basic-credentials",
        _basic("shop_creds", "/acme/vault/Books"),
        401,
        "unauthorized",
        [bad("acme/vault", "invalid_token")],
    ),
    Row(
        "other-app-client-token",
        lambda w: ("GET", "/acme/vault/Books", {"headers": bearer(w.client_token(w.shop_creds))}),
        401,
        "unauthorized",
        [bad("acme/vault", "invalid_token")],
    ),
    Row(
        "other-org-admin-token",
        with_token("gus", "/acme/shop/books"),
        401,
        "unauthorized",
        [bad("acme/shop", "invalid_token")],
    ),
    Row(
        "other-org-client-credentials",
        _query_client("globex_creds"),
        401,
        "unauthorized",
        [bad("acme/shop", "invalid_token")],
    ),
    Row(
        "other-org-client-token",
        lambda w: ("GET", "/acme/shop/books", {"headers": bearer(w.client_token(w.globex_creds))}),
        401,
        "unauthorized",
        [bad("acme/shop", "invalid_token")],
    ),
    # -- methods ---------------------------------------------------------------------------
    *(
        Row(
            f"method-{method.lower()}",
            lambda w, m=method: (m, "/acme/shop/books", {"headers": bearer(w.token("alice"))}),
            405,
            "method_not_allowed",
            [],
            allow=ALLOWED,
        )
        for method in ("TRACE", "PROPFIND", "BREW")
    ),
    # -- paths outside any app --------------------------------------------------------------
    Row("outside-root", get("/"), 401, "unauthorized", ['Bearer realm="baas"']),
    Row("outside-org-only", get("/acme"), 401, "unauthorized", ['Bearer realm="baas"']),
    Row(
        "outside-org-only-with-token",
        with_token("alice", "/acme"),
        401,
        "unauthorized",
        [bad("baas", "invalid_token")],
    ),
    Row(
        "outside-malformed-credentials",
        get("/acme", headers={"Authorization": "Bearer"}),
        400,
        "invalid_request",
        [bad("baas", "invalid_request")],
    ),
    Row(
        "unknown-org",
        get("/nope/shop/books"),
        401,
        "unauthorized",
        ['Bearer realm="nope/shop"'],
    ),
    Row("unknown-app", get("/acme/nope/books"), 401, "unauthorized", ['Bearer realm="acme/nope"']),
    Row(
        "unknown-app-with-token",
        with_token("alice", "/acme/nope/books"),
        401,
        "unauthorized",
        [bad("acme/nope", "invalid_token")],
    ),
    Row(
        "unknown-app-with-org-credentials",
        _query_client("org_creds", "/acme/nope/books"),
        401,
        "unauthorized",
        [bad("acme/nope", "invalid_token")],
    ),
    # -- ttl ----------------------------------------------------------------------------------
    *(
        Row(
            f"ttl-{name}",
            token_post(
                {"grant_type": "password", "username": "alice", "password": PASSWORD, "ttl": ttl}
            ),
            400,
            "illegal_argument",
            [],
        )
        for name, ttl in [
            ("not-a-number", "soon"),
            ("negative", "-1"),
            ("fraction", "1.5"),
            ("above-ceiling", "604800001"),
        ]
    ),
    Row(
        "ttl-above-app-ceiling",
        token_post(
            {
                "grant_type": "password",
                "username": "victor",
                "password": PASSWORD,
                "ttl": "3600001",
            },
            "/acme/vault/token",
        ),
        400,
        "illegal_argument",
        [],
    ),
    Row(
        "ttl-client-credentials",
        lambda w: (
            "POST",
            "/acme/shop/token",
            {
                "data": {
                    "grant_type": "client_credentials",
                    "client_id": w.shop_creds.client_id,
                    "client_secret": w.shop_creds.client_secret,
                    "ttl": "-5",
                }
            },
        ),
        400,
        "illegal_argument",
        [],
    ),
    # -- the store is down ------------------------------------------------------------------
    Row(
        "store-down-token",
        _store_down(with_token("alice", "/acme/shop/books")),
        503,
        "service_unavailable",
        [],
    ),
    Row(
        "store-down-guest", _store_down(get("/acme/sandbox/books")), 503, "service_unavailable", []
    ),
    Row(
        "store-down-client-credentials",
        _store_down(_query_client("shop_creds")),
        503,
        "service_unavailable",
        [],
    ),
    Row(
        "store-down-token-endpoint",
        _store_down(
            token_post({"grant_type": "password", "username": "alice", "password": PASSWORD})
        ),
        503,
        "service_unavailable",
        [],
    ),
    # -- token endpoint ---------------------------------------------------------------------
    Row(
        "grant-bad-password",
        token_post({"grant_type": "password", "username": "alice", "password": "nope"}),
        400,
        "invalid_grant",
        [],
    ),
    Row(
        "grant-unknown-user",
        token_post({"grant_type": "password", "username": "zed", "password": PASSWORD}),
        400,
        "invalid_grant",
        [],
    ),
    Row("grant-disabled-user", _disabled_user, 400, "invalid_grant", []),
    Row(
        "grant-admin-bad-password",
        token_post(
            {"grant_type": "password", "username": "ann", "password": "nope"}, "/management/token"
        ),
        400,
        "invalid_grant",
        [],
    ),
    Row(
        "client-grant-wrong-secret",
        _client_grant("shop_creds", secret="YXA6wrong"),
        401,
        "invalid_client",
        ['Basic realm="acme/shop"'],
    ),
    Row(
        "client-grant-other-app",
        _client_grant("vault_creds"),
        401,
        "invalid_client",
        ['Basic realm="acme/shop"'],
    ),
    Row(
        "client-grant-other-org",
        _client_grant("globex_creds"),
        401,
        "invalid_client",
        ['Basic realm="acme/shop"'],
    ),
    Row(
        "client-grant-wrong-secret-management",
        _client_grant("org_creds", "/management/token", secret="b3U6wrong"),
        401,
        "invalid_client",
        ['Basic realm="management"'],
    ),
    Row(
        "password-grant-client-wrong-secret",
        _password_grant_with_client("shop_creds", secret="YXA6wrong"),
        401,
        "invalid_client",
        ['Basic realm="acme/shop"'],
    ),
    Row(
        "password-grant-client-other-app",
        _password_grant_with_client("vault_creds"),
        401,
        "invalid_client",
        ['Basic realm="acme/shop"'],
    ),
    Row(
        "password-grant-client-other-org",
        _password_grant_with_client("globex_creds"),
        401,
        "invalid_client",
        ['Basic realm="acme/shop"'],
    ),
    Row(
        "password-grant-client-wrong-secret-management",
        _password_grant_with_client("org_creds", "/management/token", secret="b3U6wrong"),
        401,
        "invalid_client",
        ['Basic realm="management"'],
    ),
    Row(
        "grant-type-unknown",
        token_post({"grant_type": "authorization_code", "code": "x"}),
        400,
        "unsupported_grant_type",
        [],
    ),
    Row(
        "grant-type-missing",
        token_post({"username": "alice", "password": PASSWORD}),
        400,
        "invalid_request",
        [],
    ),
]


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_errors_table(row: Row, make: MakeCaller, world: World) -> None:
    caller = make(**row.options)
    method, url, kwargs = row.request(world)
    response = caller.request(method, url, **kwargs)

    assert_error(response, row.status, row.error, row.challenges, clock=world.clock)
    assert response.headers.get("allow") == row.allow
    assert response.headers["cache-control"] == "no-store"
    assert not caller.called
    everything = response.text + repr(response.headers.multi_items())
    for secret in _long_values(kwargs):
        assert secret not in everything  # no response echoes a token or secret


def _long_values(kwargs: dict[str, Any]) -> list[str]:
    """Every token, secret or password the request sent (an Authorization value without its
    scheme)."""
    found: list[str] = []
    for name in ("headers", "params", "data"):
        value = kwargs.get(name) or {}
        pairs = value.items() if isinstance(value, dict) else value
        for key, sent in pairs:
            if key.lower() == "authorization":
                sent = sent.partition(" ")[2]
            if key.lower() in _SECRET_NAMES and len(sent) >= 8:
                found.append(sent)
    return found


_SECRET_NAMES = {"authorization", "access_token", "client_secret", "password"}


def test_every_spec_error_code_has_a_row() -> None:
    codes = {row.error for row in ROWS}
    assert codes >= {
        "unauthorized",
        "invalid_request",
        "auth_bad_access_token",
        "expired_token",
        "auth_invalid",
        "invalid_client",
        "auth_invalid_credentials",
        "method_not_allowed",
        "illegal_argument",
        "service_unavailable",
        "invalid_grant",
        "unsupported_grant_type",
    }
    assert {row.status for row in ROWS} == {400, 401, 403, 405, 503}


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_a_closed_sqlite_store_is_503(caller: Caller, world: World) -> None:
    token = world.token("alice")
    world.realm.close()
    for response in (
        caller.get("/acme/shop/books", headers=bearer(token)),
        caller.get("/acme/sandbox/books"),
        caller.post("/acme/shop/token", data=_ALICE),
    ):
        assert_error(response, 503, "service_unavailable", [], clock=world.clock)
    assert not caller.called


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "expected"),
    [
        ("GET", "/acme/shop/books", {}, ['Bearer realm="api.example.com"']),
        (
            "GET",
            "/acme/shop/books",
            {"headers": {"Authorization": basic(("YXA6x", "y"))}},
            [
                'Bearer realm="api.example.com", error="invalid_token"',
                'Basic realm="api.example.com"',
            ],
        ),
        ("GET", "/", {}, ['Bearer realm="api.example.com"']),
        ("GET", "/acme/shop/a;b", {}, ['Bearer realm="api.example.com", error="invalid_request"']),
        (
            "POST",
            "/acme/shop/token",
            {"data": {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}},
            ['Basic realm="api.example.com"'],
        ),
        ("GET", "/management/me", {}, ['Bearer realm="api.example.com"']),
    ],
    ids=["guest", "basic", "outside", "bad-path", "token-endpoint", "management"],
)
def test_configured_realm_name(
    make: MakeCaller,
    world: World,
    method: str,
    url: str,
    kwargs: dict[str, Any],
    expected: list[str],
) -> None:
    caller = make(realm_name="api.example.com")
    response = caller.request(method, url, **kwargs)
    assert challenges(response) == expected
    assert not caller.called


@pytest.mark.parametrize("middleware", [WsgiAuth, AsgiAuth], ids=["wsgi", "asgi"])
@pytest.mark.parametrize("name", ['a"b', "", "x" * 129, "a\r\nSet-Cookie: x=1"])
def test_unsafe_realm_names_are_refused(world: World, middleware: Any, name: str) -> None:
    with pytest.raises(ConfigError):
        middleware(lambda *a: None, world.realm, realm_name=name)
