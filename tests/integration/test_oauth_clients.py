"""Real OAuth 2 clients no one here wrote (Authlib's, and requests-oauthlib's ``OAuth2Session``
with automatic refresh) against real servers on loopback: the password grant, refresh tokens,
RFC 7662 introspection and RFC 7009 revocation with ``client_secret_basic`` and
``client_secret_post``, on gunicorn (WSGI, Flask example) and uvicorn (ASGI, Starlette example),
both single-app around acme/shop on a shared SQLite realm."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session as OAuthlibSession

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


# -- requests-oauthlib: a session that refreshes on its own -----------------------------------


def test_requests_oauthlib_refreshes_on_its_own(
    server: str,
    shop_client: ClientCredentials,
    shared_realm: Realm,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``OAuth2Session(auto_refresh_url=…, token_updater=…)``: a request with an expired token
    makes the session refresh first (client_secret_post), hand the new token to the updater and
    go on; the spent refresh token, presented again, ends the family, and the session's token
    with it."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on loopback
    shared_realm.set_refresh_token_ttl("acme", "shop", 86_400_000)
    secret = {"client_id": shop_client.client_id, "client_secret": shop_client.client_secret}
    updated: list[dict[str, object]] = []
    session = OAuthlibSession(
        client=LegacyApplicationClient(client_id=shop_client.client_id),
        auto_refresh_url=f"{server}/token",
        auto_refresh_kwargs=secret,
        token_updater=updated.append,
    )
    try:
        first = session.fetch_token(
            f"{server}/token", username="alice", password=PASSWORD, timeout=20, **secret
        )
        assert session.get(f"{server}/books", timeout=20).status_code == 200
        assert updated == []
        # The token as the client sees it, expired (the client reads expires_at): no waiting.
        session.token = {**first, "expires_at": 1.0}
        response = session.get(f"{server}/books", timeout=20)
        assert response.status_code == 200, response.text
        assert len(updated) == 1
        renewed = updated[0]
        assert renewed["access_token"] != first["access_token"]
        assert renewed["refresh_token"] not in (None, first["refresh_token"])
        spent = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        replay = requests.post(f"{server}/token", data=spent, timeout=20)
        assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
        assert session.get(f"{server}/books", timeout=20).status_code == 401  # the family ended
    finally:
        session.close()
        shared_realm.set_refresh_token_ttl("acme", "shop", None)
