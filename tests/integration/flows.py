"""The token round trip every server must pass: tokens cross between server and test process."""

from __future__ import annotations

import httpx
import pytest

from baas_auth import Realm
from baas_auth.errors import InvalidTokenError
from tests.integration.conftest import PASSWORD


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def server_token(client: httpx.Client, base: str) -> str:
    """A token for alice from the server's own token endpoint (form-encoded password grant)."""
    answer = client.post(
        f"{base}/token", data={"grant_type": "password", "username": "alice", "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["user"]["username"] == "alice"
    return str(body["access_token"])


def assert_books(client: httpx.Client, base: str, token: str) -> None:
    answer = client.get(f"{base}/books", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"] == "alice"
    assert answer.json()["kind"] == "app_user"


def assert_refused(client: httpx.Client, base: str, token: str, times: int) -> None:
    """Every one of ``times`` requests is refused, whichever worker answers it."""
    statuses = [
        client.get(f"{base}/books", headers=bearer(token)).status_code for _ in range(times)
    ]
    assert statuses == [401] * times


def anonymous_is_refused(client: httpx.Client, base: str) -> None:
    answer = client.get(f"{base}/books")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer ")
    assert answer.json()["error"] == "unauthorized"


def tokens_cross_processes(client: httpx.Client, base: str, realm: Realm, times: int) -> None:
    """Issued by the server, valid here; issued here, valid there; revoked anywhere, dead
    everywhere."""
    from_server = server_token(client, base)
    assert realm.authenticate_token(from_server).username == "alice"
    assert_books(client, base, from_server)

    from_test = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    for _ in range(times):  # several requests, so that every worker has seen it
        assert_books(client, base, from_test)

    # Revoked by a request to the server: refused here and by every worker.
    revoked = client.put(f"{base}/users/me/revoketokens", headers=bearer(from_server))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["action"] == "revoked user tokens"
    for token in (from_server, from_test):
        with pytest.raises(InvalidTokenError):
            realm.authenticate_token(token)
        assert_refused(client, base, token, times)

    # Revoked by the test process: refused by the server.
    fresh = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    assert_books(client, base, fresh)
    assert realm.revoke_token(fresh)
    assert_refused(client, base, fresh, times)
