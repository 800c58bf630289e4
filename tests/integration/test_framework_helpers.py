"""The framework helpers on real servers, each serving its example on a shared SQLite realm:
uvicorn with FastAPI (the schema, Swagger's password flow, ``require(role=…)``) and Starlette
(``request.auth``, ``@requires``, ``@require``), gunicorn with Flask (``@require``,
``current_principal``) and Django (the MIDDLEWARE entry, ``request.principal``, ``@require``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from baas_auth import Realm
from tests.integration.conftest import PASSWORD, free_port, python_module, server_env, serving
from tests.integration.flows import bearer

# What Swagger UI sends for "Authorize" with the password flow.
SWAGGER_HEADERS = {
    "Accept": "application/json, text/plain, */*",
    "Content-Type": "application/x-www-form-urlencoded",
    "X-Requested-With": "XMLHttpRequest",
}


def _uvicorn(target: str, port: int) -> list[str]:
    return python_module(
        "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"
    )


def _gunicorn(target: str, port: int) -> list[str]:
    return python_module(
        "gunicorn", "--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
        "--graceful-timeout", "5", target,
    )


@pytest.fixture(scope="module")
def serve(
    shared_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str, str], str]]:
    """Start servers on demand (one per example for the module), stopped at its end."""
    started: dict[str, str] = {}
    with ExitStack() as stack:

        def start(server: str, target: str) -> str:
            if target not in started:
                port = free_port()
                command = (_uvicorn if server == "uvicorn" else _gunicorn)(target, port)
                log = tmp_path_factory.mktemp("logs") / f"{server}.log"
                env = server_env(BAAS_REALM=f"sqlite:///{shared_db}")
                started[target] = stack.enter_context(
                    serving(command, env=env, log=log, port=port)
                )
            return started[target]

        yield start


@pytest.fixture(scope="module")
def fastapi_server(serve: Callable[[str, str], str]) -> str:
    return serve("uvicorn", "examples.fastapi_app:app")


@pytest.fixture(scope="module")
def starlette_server(serve: Callable[[str, str], str]) -> str:
    return serve("uvicorn", "examples.starlette_app:app")


@pytest.fixture(scope="module")
def flask_server(serve: Callable[[str, str], str]) -> str:
    return serve("gunicorn", "examples.flask_app:app")


@pytest.fixture(scope="module")
def django_server(serve: Callable[[str, str], str]) -> str:
    return serve("gunicorn", "examples.django_app:app")


def _token(realm: Realm, username: str) -> str:
    """The examples' seed made bob and gave alice the editor role when the server started."""
    return realm.password_token("acme", "shop", username, PASSWORD).access_token


def _assert_role_refusal(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert answer.json()["error"] == "unauthorized"
    assert set(answer.json()) == {"error", "error_description", "timestamp", "duration"}


# -- FastAPI ------------------------------------------------------------------------------------


def test_fastapi_schema_has_the_password_scheme(fastapi_server: str, client: httpx.Client) -> None:
    schema = client.get(f"{fastapi_server}/openapi.json")  # opened by docs_rule, anonymously
    assert schema.status_code == 200, schema.text
    scheme = schema.json()["components"]["securitySchemes"]["baas_auth"]
    assert scheme["flows"]["password"]["tokenUrl"] == "token"
    assert schema.json()["paths"]["/books/{book_id}"]["put"]["security"] == [{"baas_auth": []}]
    docs = client.get(f"{fastapi_server}/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text


def test_fastapi_swagger_password_flow(fastapi_server: str, client: httpx.Client) -> None:
    """Authorize as Swagger does it: tokenUrl resolved against the schema's URL, a form POST."""
    schema_url = f"{fastapi_server}/openapi.json"
    scheme = client.get(schema_url).json()["components"]["securitySchemes"]["baas_auth"]
    token_url = urljoin(schema_url, scheme["flows"]["password"]["tokenUrl"])
    assert token_url == f"{fastapi_server}/token"
    answer = client.post(
        token_url,
        content=f"grant_type=password&username=alice&password={PASSWORD}&scope=",
        headers=SWAGGER_HEADERS,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    books = client.get(f"{fastapi_server}/books", headers=bearer(token))
    assert books.json()["user"] == "alice"
    updated = client.put(f"{fastapi_server}/books/1", headers=bearer(token))
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"updated": 1, "by": "alice"}


def test_fastapi_require_role(
    fastapi_server: str, client: httpx.Client, shared_realm: Realm
) -> None:
    assert client.put(f"{fastapi_server}/books/1").status_code == 401  # the middleware's
    _assert_role_refusal(
        client.put(f"{fastapi_server}/books/1", headers=bearer(_token(shared_realm, "bob")))
    )


# -- Starlette ----------------------------------------------------------------------------------


def test_starlette_request_auth_and_requires(
    starlette_server: str, client: httpx.Client, shared_realm: Realm
) -> None:
    answer = client.get(f"{starlette_server}/whoami", headers=bearer(_token(shared_realm, "bob")))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"user": "bob", "scopes": ["authenticated", "kind:app_user"]}
    shared_realm.grant("acme", "shop", "get:/whoami", role="guest")
    try:
        # The rules let the guest through; Starlette's @requires("authenticated") does not.
        assert client.get(f"{starlette_server}/whoami").status_code == 403
    finally:
        shared_realm.revoke_grant("acme", "shop", "get:/whoami", role="guest")


def test_starlette_require_role(
    starlette_server: str, client: httpx.Client, shared_realm: Realm
) -> None:
    alice = client.put(f"{starlette_server}/books/1", headers=bearer(_token(shared_realm, "alice")))
    assert alice.json() == {"updated": 1, "by": "alice"}
    _assert_role_refusal(
        client.put(f"{starlette_server}/books/1", headers=bearer(_token(shared_realm, "bob")))
    )


# -- Flask --------------------------------------------------------------------------------------


def test_flask_current_principal_and_require(
    flask_server: str, client: httpx.Client, shared_realm: Realm
) -> None:
    bob = bearer(_token(shared_realm, "bob"))
    assert client.get(f"{flask_server}/books", headers=bob).json()["user"] == "bob"
    shared_realm.grant("acme", "shop", "post:/books", role="guest")
    try:
        refused = client.post(f"{flask_server}/books", json={"title": "Emma"})
        assert refused.status_code == 401  # @require(): the rules let the guest through
        assert refused.json()["error"] == "unauthorized"
        assert refused.headers["www-authenticate"] == 'Bearer realm="acme/shop"'
    finally:
        shared_realm.revoke_grant("acme", "shop", "post:/books", role="guest")
    created = client.post(f"{flask_server}/books", json={"title": "Emma"}, headers=bob)
    assert created.status_code == 201


def test_flask_require_role(flask_server: str, client: httpx.Client, shared_realm: Realm) -> None:
    alice = client.put(f"{flask_server}/books/1", headers=bearer(_token(shared_realm, "alice")))
    assert alice.json() == {"updated": 1, "by": "alice"}
    _assert_role_refusal(
        client.put(f"{flask_server}/books/1", headers=bearer(_token(shared_realm, "bob")))
    )


# -- Django -------------------------------------------------------------------------------------


def test_django_middleware_entry(django_server: str, client: httpx.Client) -> None:
    assert client.get(f"{django_server}/books").status_code == 401
    answer = client.post(
        f"{django_server}/token",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD},
    )
    assert answer.status_code == 200, answer.text
    books = client.get(f"{django_server}/books", headers=bearer(answer.json()["access_token"]))
    assert books.status_code == 200
    assert books.json()["user"] == "alice"


def test_django_require_role(
    django_server: str, client: httpx.Client, shared_realm: Realm
) -> None:
    alice = client.put(f"{django_server}/books/1", headers=bearer(_token(shared_realm, "alice")))
    assert alice.json() == {"updated": 1, "by": "alice"}
    _assert_role_refusal(
        client.put(f"{django_server}/books/1", headers=bearer(_token(shared_realm, "bob")))
    )
