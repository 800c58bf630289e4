"""A real OAuth 2 client no one here wrote (Authlib's) against real servers on loopback: the
password grant, RFC 7662 introspection and RFC 7009 revocation with ``client_secret_basic`` and
``client_secret_post``, on gunicorn (WSGI, Flask example) and uvicorn (ASGI, Starlette example),
both single-app around acme/shop on a shared SQLite realm."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from baas_auth import Realm
from baas_auth.model import ClientCredentials
from tests.integration.conftest import PASSWORD, free_port, python_module, server_env, serving

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def _command(server: str, port: int) -> list[str]:
    if server == "gunicorn":
        return python_module(
            "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "examples.flask_app:app"
        )
    return python_module(
        "uvicorn", "examples.starlette_app:app", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning",
    )  # fmt: skip


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def server(
    request: pytest.FixtureRequest, shared_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("logs") / f"{request.param}.log"
    env = server_env(BAAS_REALM=f"sqlite:///{shared_db}")
    with serving(_command(str(request.param), port), env=env, log=log, port=port) as base:
        yield base


@pytest.fixture(scope="module")
def shop_client(shared_realm: Realm) -> ClientCredentials:
    return shared_realm.create_credentials("acme", "shop")


def _session(creds: ClientCredentials, method: str) -> OAuth2Session:
    return OAuth2Session(
        creds.client_id, creds.client_secret, token_endpoint_auth_method=method, timeout=20
    )


@pytest.mark.parametrize("method", AUTH_METHODS)
def test_authlib_introspects_and_revokes(
    server: str, shop_client: ClientCredentials, method: str
) -> None:
    with _session(shop_client, method) as session:
        token = session.fetch_token(
            f"{server}/token", grant_type="password", username="alice", password=PASSWORD
        )
        access = token["access_token"]
        answer = session.introspect_token(f"{server}/introspect", token=access)
        assert answer.status_code == 200, answer.text
        claims = answer.json()
        assert (claims["active"], claims["username"], claims["iss"]) == (True, "alice", "acme/shop")
        revoked = session.revoke_token(
            f"{server}/revoke", token=access, token_type_hint="access_token"
        )
        assert (revoked.status_code, revoked.content) == (200, b"")
        after = session.introspect_token(f"{server}/introspect", token=access)
        assert after.json() == {"active": False}
        unknown = session.revoke_token(f"{server}/revoke", token="no-such-token")
        assert unknown.status_code == 200


def test_authlib_with_a_wrong_secret_is_refused(
    server: str, shop_client: ClientCredentials, shared_realm: Realm
) -> None:
    access = shared_realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    wrong = ClientCredentials(shop_client.client_id, "x" * 40)
    with _session(wrong, "client_secret_basic") as session:
        answer = session.introspect_token(f"{server}/introspect", token=access)
        assert answer.status_code == 401
        assert "active" not in answer.text


def test_authlib_refreshes_and_a_replay_ends_the_family(
    server: str, shop_client: ClientCredentials, shared_realm: Realm
) -> None:
    shared_realm.set_refresh_token_ttl("acme", "shop", 86_400_000)
    try:
        with _session(shop_client, "client_secret_post") as session:
            first = session.fetch_token(
                f"{server}/token", grant_type="password", username="alice", password=PASSWORD
            )
            spent = first["refresh_token"]
            second = session.refresh_token(f"{server}/token", refresh_token=spent)
            assert second["refresh_token"] != spent
            claims = session.introspect_token(
                f"{server}/introspect", token=second["access_token"]
            ).json()
            assert claims["active"] is True
            replayed = {"grant_type": "refresh_token", "refresh_token": spent}
            # plain requests: the session would add its new access token as a Bearer header
            replay = requests.post(f"{server}/token", data=replayed, timeout=20)
            assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
            after = session.introspect_token(f"{server}/introspect", token=second["access_token"])
            assert after.json() == {"active": False}
    finally:
        shared_realm.set_refresh_token_ttl("acme", "shop", None)
