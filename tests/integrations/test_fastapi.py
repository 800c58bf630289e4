"""FastAPI: dependencies for the caller and for requirements, the OAuth2 password scheme that
gives /docs a working Authorize button, and the one line that opens the docs (in process)."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI

from baas_auth import AsyncRealm, DecisionEvent, Principal, Realm
from baas_auth.asgi import AuthMiddleware
from baas_auth.errors import ConfigError
from baas_auth.integrations.fastapi import (
    Authenticated,
    CurrentPrincipal,
    docs_rule,
    protect,
    require,
)
from tests.integrations.conftest import PASSWORD, ASGIClient, World

Editor = Annotated[Principal, Depends(require(role="editor"))]
Reporter = Annotated[Principal, Depends(require(rule="put:/reports"))]

# What Swagger UI sends for "Authorize" with the password flow (swagger-ui's oauth2 authorize).
SWAGGER_HEADERS = {
    "Accept": "application/json, text/plain, */*",
    "Content-Type": "application/x-www-form-urlencoded",
    "X-Requested-With": "XMLHttpRequest",
}


def _api() -> FastAPI:
    api = FastAPI(title="books")

    @api.get("/books")
    def books(caller: CurrentPrincipal) -> dict[str, object]:
        return {"user": caller.display_name, "kind": caller.kind}

    @api.get("/whoami")
    async def whoami(caller: Authenticated) -> dict[str, object]:
        return {"user": caller.display_name}

    @api.put("/books/{book_id}")
    def put_book(book_id: int, caller: Editor) -> dict[str, object]:
        return {"updated": book_id, "by": caller.username}

    @api.delete("/books/{book_id}", dependencies=[Depends(require(role="editor"))])
    def delete_book(book_id: int) -> dict[str, object]:
        return {"deleted": book_id}

    @api.post("/books/report")
    def report(caller: Reporter) -> dict[str, object]:
        return {"by": caller.username}

    @api.get("/books/public")
    def public() -> dict[str, object]:
        return {"open": True}

    return api


def _protected(realm: Realm | AsyncRealm, **options: object) -> FastAPI:
    api = _api()
    protect(api, realm, application="acme/shop", **options)  # type: ignore[arg-type]
    return api


@pytest.fixture
def client(world: World) -> ASGIClient:
    api = _protected(world.realm)
    world.realm.grant("acme", "shop", docs_rule(api), role="guest")
    return ASGIClient(api)


def test_the_schema_declares_an_oauth2_password_scheme(client: ASGIClient) -> None:
    schema = client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["baas_auth"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"] == {"password": {"scopes": {}, "tokenUrl": "token"}}
    paths = schema["paths"]
    for path, method in [("/books", "get"), ("/whoami", "get"), ("/books/{book_id}", "put"),
                         ("/books/{book_id}", "delete"), ("/books/report", "post")]:
        assert paths[path][method]["security"] == [{"baas_auth": []}], (path, method)
    assert "security" not in paths["/books/public"]["get"]


def test_swaggers_password_flow_at_the_token_endpoint(client: ASGIClient) -> None:
    """Authorize: the form Swagger UI posts to ``tokenUrl`` (relative to /openapi.json)."""
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text
    assert "oauth2RedirectUrl" in docs.text
    answer = client.post(
        "/token",
        content=f"grant_type=password&username=alice&password={PASSWORD}&scope=",
        headers=SWAGGER_HEADERS,
    )
    assert answer.status_code == 200, answer.text
    grant = answer.json()
    assert grant["token_type"] == "Bearer"
    # Swagger then sends "Authorization: Bearer <access_token>" with every call.
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    assert client.put("/books/7", headers=headers).json() == {"updated": 7, "by": "alice"}


def test_a_wrong_password_gets_the_token_endpoints_error(client: ASGIClient) -> None:
    answer = client.post(
        "/token",
        content="grant_type=password&username=alice&password=nope&scope=",
        headers=SWAGGER_HEADERS,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_the_docs_are_closed_until_the_one_line_grant(world: World) -> None:
    api = _protected(world.realm)
    client = ASGIClient(api)
    paths = ["/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc"]
    assert [client.get(path).status_code for path in paths] == [401] * 4
    assert docs_rule(api) == "get:/openapi.json,/docs,/redoc,/docs/oauth2-redirect"
    world.realm.grant("acme", "shop", docs_rule(api), role="guest")
    assert [client.get(path).status_code for path in paths] == [200] * 4
    assert client.request("HEAD", "/openapi.json").status_code == 200
    assert client.get("/books").status_code == 401  # nothing else opened


def test_docs_rule_follows_the_apps_urls() -> None:
    custom = FastAPI(docs_url="/api/docs", redoc_url=None, openapi_url="/api/schema.json")
    assert docs_rule(custom) == "get:/api/schema.json,/api/docs,/docs/oauth2-redirect"
    with pytest.raises(ConfigError):
        docs_rule(FastAPI(openapi_url=None, docs_url=None, redoc_url=None))


def test_current_principal_is_the_caller_or_the_guest(world: World, client: ASGIClient) -> None:
    assert client.get("/books", headers=world.bearer("bob")).json() == {
        "user": "bob", "kind": "app_user"
    }
    world.realm.grant("acme", "shop", "get:/books", role="guest")
    assert client.get("/books").json() == {"user": "guest", "kind": "guest"}


def test_authenticated_refuses_the_guest(world: World, client: ASGIClient) -> None:
    world.realm.grant("acme", "shop", "get:/whoami", role="guest")
    answer = client.get("/whoami")
    assert answer.status_code == 401
    assert answer.json()["error_description"] == "No application guest access authorized"
    assert client.get("/whoami", headers=world.bearer("bob")).json() == {"user": "bob"}


@pytest.mark.parametrize("username", ["alice", "carol"])
def test_require_role_admits_holders(world: World, client: ASGIClient, username: str) -> None:
    assert client.put("/books/1", headers=world.bearer(username)).status_code == 200
    assert client.request("DELETE", "/books/1", headers=world.bearer(username)).status_code == 200


def test_require_role_refuses_as_the_middleware_does(world: World, client: ASGIClient) -> None:
    # The rules let bob send PUT and DELETE: the 403 is the dependency's.
    for method in ("PUT", "DELETE"):
        answer = client.request(method, "/books/1", headers=world.bearer("bob"))
        assert answer.status_code == 403
        assert answer.headers["cache-control"] == "no-store"
        assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
        assert set(answer.json()) == {"error", "error_description", "timestamp", "duration"}
        assert answer.json()["error"] == "unauthorized"


def test_require_rule(world: World, client: ASGIClient) -> None:
    assert client.post("/books/report", headers=world.bearer("alice")).json() == {"by": "alice"}
    assert client.post("/books/report", headers=world.bearer("bob")).status_code == 403


def test_without_protects_handler_fastapis_shape_keeps_status_and_challenge(
    world: World,
) -> None:
    api = _api()
    api.add_middleware(AuthMiddleware, world.realm, application="acme/shop")
    client = ASGIClient(api)
    answer = client.put("/books/1", headers=world.bearer("bob"))
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Subject does not have permission to access this resource"}
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert client.put("/books/1", headers=world.bearer("alice")).status_code == 200


def test_an_async_realm(world: World) -> None:
    client = ASGIClient(_protected(world.async_realm()))
    assert client.put("/books/1", headers=world.bearer("carol")).status_code == 200
    assert client.put("/books/1", headers=world.bearer("bob")).status_code == 403


def test_a_token_url_per_deployment(world: World) -> None:
    """Multi-tenant mode: the token endpoint is /{org}/{app}/token."""
    api = FastAPI(openapi_url="/acme/shop/openapi.json", docs_url="/acme/shop/docs")

    @api.put("/acme/shop/books/{book_id}")
    def put_book(
        book_id: int,
        caller: Annotated[Principal, Depends(require(role="editor", token_url="/acme/shop/token"))],
    ) -> dict[str, object]:
        return {"by": caller.username}

    protect(api, world.realm)
    world.realm.grant("acme", "shop", "get:/openapi.json", role="guest")
    client = ASGIClient(api)
    schemes = client.get("/acme/shop/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["baas_auth /acme/shop/token"]["flows"]["password"]["tokenUrl"] == (
        "/acme/shop/token"
    )
    assert client.put("/acme/shop/books/1", headers=world.bearer("alice")).status_code == 200
    assert client.put("/acme/shop/books/1", headers=world.bearer("bob")).status_code == 403


# -- protect(…, public_docs=True) ------------------------------------------------------------------


@pytest.mark.parametrize("application", ["acme/shop", None])
def test_public_docs_in_either_mode(world: World, application: str | None) -> None:
    events: list[DecisionEvent] = []
    api = FastAPI(title="books", root_path="")

    @api.get("/books")
    def books(caller: CurrentPrincipal) -> dict[str, object]:
        return {"user": caller.display_name}

    protect(
        api, world.realm, application=application, public_docs=True, on_decision=events.append
    )
    client = ASGIClient(api)
    for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"):
        answer = client.get(f"{path}?access_token={world.token('bob')}")
        assert answer.status_code == 200, (path, answer.text)
    assert [(e.decision, e.reason, e.principal) for e in events] == [
        ("allow", "public-docs", None)
    ] * 4
    for path in ("/openapi.json/extra", "/docs/", "/docs/x", "/redoc/../books"):
        assert client.get(path).status_code in (400, 401), path
    assert client.post("/openapi.json").status_code == 401
    assert client.get("/books").status_code == 401  # the rest is the middleware's


def test_public_docs_need_docs(world: World) -> None:
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    with pytest.raises(ConfigError, match="no OpenAPI schema"):
        protect(api, world.realm, public_docs=True)


def test_a_403_keeps_the_original_body_code_with_the_rfc_6750_challenge(world: World) -> None:
    """SPEC §4: ``"error": "unauthorized"`` in the body, as the original system's clients read
    it; ``error="insufficient_scope"`` in the challenge, as RFC 6750 says; from the middleware
    and from a guard alike."""
    client = ASGIClient(_protected(world.realm))
    by_rule = client.get("/whoami/x", headers=world.bearer("bob"))  # no rule, no route
    by_guard = client.put("/books/1", headers=world.bearer("bob"))  # the guard's own refusal
    for answer in (by_rule, by_guard):
        assert answer.status_code == 403
        assert answer.json()["error"] == "unauthorized"
        challenge = 'Bearer realm="acme/shop", error="insufficient_scope"'
        assert answer.headers["www-authenticate"] == challenge
