"""A real OpenID Connect provider (Authlib's authorization server, on loopback) issues RFC 9068
JWT access tokens and serves its discovery document and JWKS; the shop trusts it, configured
from its discovery document, and its tokens go through both adapters on real servers (gunicorn:
WSGI, Flask example; uvicorn: ASGI, Starlette example) sharing a SQLite realm (behaviour §8).
The provider rotates its key: the servers pick the new key up without a restart."""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from baas_auth import Realm, SQLiteStore
from baas_auth.errors import ConflictError
from baas_auth.federation.verifier import ProviderTokens
from baas_auth.middleware import federation
from tests.conftest import FAST_HASHER, FakeClock
from tests.integration.oidc_provider import (
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    OIDCProvider,
    running_provider,
)
from tests.integration.test_oauth_clients import server  # gunicorn and uvicorn, on loopback

__all__ = ["server"]  # a fixture, shared with the OAuth client tests

COOLDOWN_S = 1  # the least a provider may have; the test moves a fake clock past it


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


@dataclass
class InProcessServer:
    """The example app on a real server in a thread of the test process; the key sets of its
    middleware read ``clock``, which only the test moves."""

    url: str
    clock: FakeClock


def _serve_wsgi(app: Any) -> tuple[str, Callable[[], None]]:
    """werkzeug's threaded WSGI server on a free loopback port (listening once made): its
    URL, and how to stop it."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    return f"http://127.0.0.1:{server.server_port}", stop


def _serve_asgi(app: Any) -> tuple[str, Callable[[], None]]:
    """uvicorn on a socket listening before it starts (a request sent before uvicorn runs
    waits in the backlog): its URL, and how to stop it."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://127.0.0.1:{sock.getsockname()[1]}", stop


@pytest.fixture(params=["werkzeug-wsgi", "uvicorn-asgi"])
def in_process_server(
    request: pytest.FixtureRequest, shared_db: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InProcessServer]:
    """The Flask example (WSGI) or the Starlette example (ASGI) on the shared SQLite realm,
    served from a thread of this process so that the key sets' cooldown can be driven by a
    fake clock (a server process would read the real one, and the test would have to wait)."""
    from examples import flask_app, starlette_app

    clock = FakeClock()
    keyed_to_clock = functools.partial(ProviderTokens, clock=clock)
    monkeypatch.setattr(federation, "ProviderTokens", keyed_to_clock)
    realm = Realm(SQLiteStore(shared_db), password_hasher=FAST_HASHER)
    if request.param == "werkzeug-wsgi":
        flask_app.seed(realm)
        url, stop = _serve_wsgi(flask_app.build_app(realm))
    else:
        starlette_app.seed(realm)
        url, stop = _serve_asgi(starlette_app.build_app(realm))
    try:
        yield InProcessServer(url, clock)
    finally:
        stop()
        realm.close()


@pytest.fixture
def rotating_provider(insecure_transport: None, shared_realm: Realm) -> Iterator[OIDCProvider]:
    """A provider the shop trusts (configured from its discovery document), whose key set may
    be fetched again at most once per ``COOLDOWN_S``."""
    with running_provider() as running:
        running.add_user("alice", "alice-at-the-idp")
        discovery = httpx.get(f"{running.issuer}/.well-known/openid-configuration").json()
        shared_realm.add_identity_provider(
            "acme", "shop", issuer=discovery["issuer"], audience=AUDIENCE,
            jwks_url=discovery["jwks_uri"], username_claim="preferred_username",
            cooldown_s=COOLDOWN_S,
        )
        try:
            yield running
        finally:
            shared_realm.remove_identity_provider("acme", "shop", running.issuer)


def test_a_key_rotation_is_picked_up_without_a_restart(
    in_process_server: InProcessServer, rotating_provider: OIDCProvider
) -> None:
    books = f"{in_process_server.url}/books"
    before = access_token(rotating_provider, "alice")
    assert httpx.get(books, headers=bearer(before), timeout=20).status_code == 200
    hits = rotating_provider.jwks_hits
    assert hits == 1
    rotating_provider.rotate(keep_old=False)
    after = access_token(rotating_provider, "alice")
    # Within the cooldown of the last fetch, an unknown kid fetches nothing (a flood of random
    # kids cannot make the server hammer the provider): the new key is not known yet.
    refused = httpx.get(books, headers=bearer(after), timeout=20)
    assert refused.status_code == 401, refused.text
    assert rotating_provider.jwks_hits == hits
    in_process_server.clock.advance_ms(COOLDOWN_S * 1000)
    # Once the cooldown has passed, the same server fetches the keys again on the unknown kid
    # and admits the token signed with the new key: no restart.
    response = httpx.get(books, headers=bearer(after), timeout=20)
    assert response.status_code == 200, response.text
    assert rotating_provider.jwks_hits == hits + 1
    assert httpx.get(books, headers=bearer(after), timeout=20).status_code == 200
    assert rotating_provider.jwks_hits == hits + 1
