"""gunicorn (two sync workers) serving the Flask and Django examples on a shared SQLite realm."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from baas_auth import Realm
from tests.integration.conftest import free_port, python_module, server_env, serving
from tests.integration.flows import anonymous_is_refused, bearer, tokens_cross_processes

EXAMPLES = ["examples.flask_app:app", "examples.django_app:app"]


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.split(".")[1])
def gunicorn_server(
    request: pytest.FixtureRequest, shared_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    command = python_module(
        "gunicorn",
        "--workers", "2",
        "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}",
        "--graceful-timeout", "5",
        request.param,
    )
    log = tmp_path_factory.mktemp("logs") / "gunicorn.log"
    env = server_env(BAAS_REALM=f"sqlite:///{shared_db}")
    with serving(command, env=env, log=log, port=port) as base:
        yield base


def test_anonymous_requests_are_refused(gunicorn_server: str, client: httpx.Client) -> None:
    anonymous_is_refused(client, gunicorn_server)


def test_revocation_reaches_every_worker(
    gunicorn_server: str, client: httpx.Client, shared_realm: Realm
) -> None:
    tokens_cross_processes(client, gunicorn_server, shared_realm, times=8)


def test_a_query_token_works_and_its_answer_is_private(
    gunicorn_server: str, client: httpx.Client, shared_realm: Realm
) -> None:
    token = shared_realm.password_token("acme", "shop", "alice", "wonderland").access_token
    answer = client.get(f"{gunicorn_server}/books", params={"access_token": token})
    assert answer.status_code == 200
    assert answer.json()["user"] == "alice"
    assert "private" in answer.headers["cache-control"]
    assert client.get(f"{gunicorn_server}/books", headers=bearer(token)).status_code == 200


def test_a_wrong_password_is_refused(gunicorn_server: str, client: httpx.Client) -> None:
    answer = client.post(
        f"{gunicorn_server}/token",
        json={"grant_type": "password", "username": "alice", "password": "not it"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
