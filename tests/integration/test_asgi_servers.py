"""uvicorn and hypercorn serving the Starlette and FastAPI examples on a shared SQLite realm."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from baas_auth import Realm
from tests.integration.conftest import free_port, python_module, server_env, serving
from tests.integration.flows import (
    anonymous_is_refused,
    bearer,
    server_token,
    tokens_cross_processes,
)


def _command(server: str, target: str, port: int) -> list[str]:
    if server == "uvicorn":
        return python_module(
            "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"
        )
    return python_module("hypercorn", target, "--bind", f"127.0.0.1:{port}")


SERVERS = [
    ("uvicorn", "examples.starlette_app:app"),
    ("uvicorn", "examples.fastapi_app:app"),
    ("hypercorn", "examples.starlette_app:app"),
]


@pytest.fixture(scope="module", params=SERVERS, ids=lambda p: f"{p[0]}-{p[1].split('.')[1]}")
def asgi_server(
    request: pytest.FixtureRequest, shared_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    server, target = request.param
    port = free_port()
    log = tmp_path_factory.mktemp("logs") / f"{server}.log"
    env = server_env(BAAS_REALM=f"sqlite:///{shared_db}")
    with serving(_command(server, target, port), env=env, log=log, port=port) as base:
        yield base


def test_anonymous_requests_are_refused(asgi_server: str, client: httpx.Client) -> None:
    anonymous_is_refused(client, asgi_server)


def test_tokens_cross_between_server_and_test_process(
    asgi_server: str, client: httpx.Client, shared_realm: Realm
) -> None:
    tokens_cross_processes(client, asgi_server, shared_realm, times=3)


def test_rules_granted_by_the_test_process_apply_at_once(
    asgi_server: str, client: httpx.Client, shared_realm: Realm
) -> None:
    assert client.get(f"{asgi_server}/books").status_code == 401
    shared_realm.grant("acme", "shop", "get:/books", role="guest")
    try:
        answer = client.get(f"{asgi_server}/books")
        assert answer.status_code == 200
        assert answer.json()["kind"] == "guest"
    finally:
        shared_realm.revoke_grant("acme", "shop", "get:/books", role="guest")
    assert client.get(f"{asgi_server}/books").status_code == 401


def _ws_url(base: str) -> str:
    return base.replace("http://", "ws://", 1) + "/ws"


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_websocket_needs_a_token(
    server: str, shared_db: Path, tmp_path: Path, client: httpx.Client
) -> None:
    port = free_port()
    env = server_env(BAAS_REALM=f"sqlite:///{shared_db}")
    command = _command(server, "examples.starlette_app:app", port)
    with serving(command, env=env, log=tmp_path / "server.log", port=port) as base:
        with pytest.raises(InvalidStatus) as refused:
            connect(_ws_url(base), open_timeout=10).close()
        # Both servers offer websocket.http.response: the refusal is a real HTTP 401.
        assert refused.value.response.status_code == 401
        assert json.loads(bytes(refused.value.response.body or b""))["error"] == "unauthorized"

        token = server_token(client, base)
        with connect(_ws_url(base), additional_headers=bearer(token), open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10)) == {"hello": "alice"}
            ws.send("ping")
            assert ws.recv(timeout=10) == "ping"

        # Browsers cannot set headers on a websocket: the query token works too.
        with connect(f"{_ws_url(base)}?access_token={token}", open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10)) == {"hello": "alice"}
