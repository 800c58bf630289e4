"""A real OpenID Connect provider (Authlib's authorization server, on loopback) issues RFC 9068
JWT access tokens and serves its discovery document and JWKS; the shop trusts it, configured
from its discovery document, and its tokens go through both adapters on real servers (gunicorn:
WSGI, Flask example; uvicorn: ASGI, Starlette example) sharing a SQLite realm (behaviour §8).
The provider rotates its key: the servers pick the new key up without a restart."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from baas_auth import Realm
from baas_auth.errors import ConflictError
from tests.integration.oidc_provider import (
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    OIDCProvider,
    running_provider,
)
from tests.integration.test_oauth_clients import server  # gunicorn and uvicorn, on loopback

__all__ = ["server"]  # a fixture, shared with the OAuth client tests

COOLDOWN_S = 1  # the least a provider may have: the wait for a refetch on a real server


@pytest.fixture(scope="module")
def insecure_transport() -> Iterator[None]:
    """Authlib refuses a token endpoint over plain HTTP unless told it is a test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
        yield


@pytest.fixture
def provider(
    server: str, insecure_transport: None, shared_realm: Realm
) -> Iterator[OIDCProvider]:
    """A provider the shop trusts, configured from its discovery document; alice an editor,
    and editors may DELETE."""
    with running_provider() as running:
        running.add_user("alice", "alice-at-the-idp")
        running.add_user("vera", "vera-at-the-idp", roles=["editor"])
        running.add_user("olga", "olga-at-the-idp")
        discovery = httpx.get(f"{running.issuer}/.well-known/openid-configuration").json()
        assert discovery["issuer"] == running.issuer
        with contextlib.suppress(ConflictError):  # the example seeds it too, when it starts
            shared_realm.create_role("acme", "shop", "editor")
        shared_realm.assign_role("acme", "shop", "editor", user="alice")
        for rule in shared_realm.get_role("acme", "shop", "default").rules:  # usergrid's /**
            shared_realm.revoke_grant("acme", "shop", rule, role="default")
        shared_realm.grant("acme", "shop", "get,put:/books/**", role="default")
        shared_realm.grant("acme", "shop", "delete:/books/**", role="editor")
        shared_realm.add_identity_provider(
            "acme", "shop", issuer=discovery["issuer"], audience=AUDIENCE,
            jwks_url=discovery["jwks_uri"], username_claim="preferred_username",
            roles_claim="roles", cooldown_s=COOLDOWN_S,
        )
        try:
            yield running
        finally:
            shared_realm.remove_identity_provider("acme", "shop", running.issuer)


def access_token(provider: OIDCProvider, user: str) -> str:
    """A token from the provider's own token endpoint (the password grant, Basic auth)."""
    response = httpx.post(
        f"{provider.issuer}/token",
        data={"grant_type": "password", "username": user, "password": f"{user}-at-the-idp",
              "scope": "openid profile"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_providers_token_is_its_local_user(server: str, provider: OIDCProvider) -> None:
    token = access_token(provider, "alice")
    books = httpx.get(f"{server}/books", headers=bearer(token), timeout=20)
    assert books.status_code == 200, books.text
    assert books.json()["user"] == "alice"
    assert httpx.put(f"{server}/books/1", headers=bearer(token), timeout=20).status_code == 200
    refused = httpx.get(f"{server}/books", headers=bearer(token[:-4] + "AAAA"), timeout=20)
    assert refused.status_code == 401


def test_a_visitor_gets_the_roles_its_token_names(server: str, provider: OIDCProvider) -> None:
    vera, olga = access_token(provider, "vera"), access_token(provider, "olga")
    assert httpx.get(f"{server}/books", headers=bearer(olga), timeout=20).json()["user"] == "olga"
    # DELETE is the editors': a rule the middleware checks, then the example's route guard
    # (require(role="editor")), which must see the role the token names as the rule did
    assert httpx.delete(f"{server}/books/1", headers=bearer(vera), timeout=20).status_code == 200
    assert httpx.delete(f"{server}/books/1", headers=bearer(olga), timeout=20).status_code == 403


def test_a_key_rotation_is_picked_up_without_a_restart(
    server: str, provider: OIDCProvider
) -> None:
    before = access_token(provider, "alice")
    assert httpx.get(f"{server}/books", headers=bearer(before), timeout=20).status_code == 200
    fetched_at = time.monotonic()
    hits = provider.jwks_hits
    provider.rotate(keep_old=False)
    after = access_token(provider, "alice")
    # The server fetches again on the new kid once the provider's cooldown has passed since
    # its last fetch: a real server's clock, which no fake clock of the test reaches.
    threading.Event().wait(max(0.0, COOLDOWN_S + 0.1 - (time.monotonic() - fetched_at)))
    response = httpx.get(f"{server}/books", headers=bearer(after), timeout=20)
    assert response.status_code == 200, response.text
    assert provider.jwks_hits == hits + 1
