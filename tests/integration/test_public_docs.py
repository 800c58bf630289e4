"""Multi-tenant FastAPI with public docs on a real server (uvicorn), read with a real client:
the schema, Swagger UI, its OAuth2 redirect and ReDoc answer anyone; nothing else under or
around those paths does, and the tenants' paths are still the middleware's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import PASSWORD, free_port, python_module, server_env, serving
from tests.integration.flows import bearer


@pytest.fixture(scope="module")
def server(shared_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    command = python_module(
        "uvicorn", "tests.integration.docs_app:app", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning",
    )
    log = tmp_path_factory.mktemp("logs") / "uvicorn.log"
    env = server_env(BAAS_REALM=f"sqlite:///{shared_db}")
    with serving(command, env=env, log=log, port=port) as url:
        yield url


def test_the_docs_answer_anyone_in_multi_tenant_mode(server: str, client: httpx.Client) -> None:
    schema = client.get(f"{server}/openapi.json")
    assert schema.status_code == 200, schema.text
    assert "/{org}/{application}/books" in schema.json()["paths"]
    for page, marker in (("/docs", "swagger-ui"), ("/redoc", "redoc"),
                         ("/docs/oauth2-redirect", "oauth2")):
        answer = client.get(f"{server}{page}")
        assert answer.status_code == 200, (page, answer.text)
        assert marker in answer.text.lower()
    assert client.head(f"{server}/openapi.json").status_code == 200


def test_nothing_else_opens(server: str, client: httpx.Client) -> None:
    for method, path in (
        ("GET", "/openapi.json/extra"),
        ("GET", "/docs/"),
        ("GET", "/docs/x"),
        ("GET", "/docs/../acme/shop/books"),
        ("GET", "/%2e%2e/openapi.json"),
        ("POST", "/openapi.json"),
        ("GET", "/acme/shop/books"),
    ):
        answer = client.request(method, f"{server}{path}")
        assert answer.status_code in (400, 401), (method, path, answer.text)
    token = client.post(
        f"{server}/acme/shop/token",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD},
    ).json()["access_token"]
    books = client.get(f"{server}/acme/shop/books", headers=bearer(token))
    assert books.json() == {"org": "acme", "app": "shop", "user": "alice"}
