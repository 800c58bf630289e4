"""A seeded realm for the framework helpers' tests, and an async twin over the same records.

Org acme, app shop (locked roles). Every signed-in user may use /books and /whoami; role
``editor`` may also ``put`` /reports. alice holds editor herself, carol through group /staff,
bob has no role, dave holds ``auditor``, which lapses after a minute of inactivity.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

from baas_auth import AsyncRealm, ClientCredentials, MemoryStore, Realm
from baas_auth.stores.protocols import TokenLookup
from tests.conftest import FAST_HASHER, FakeClock

PASSWORD = "wonderland"
USERS = ("alice", "bob", "carol", "dave")
AUDITOR_IDLE_MS = 60_000


@dataclass
class World:
    realm: Realm
    clock: FakeClock
    store: MemoryStore
    app_client: ClientCredentials
    org_client: ClientCredentials

    def token(self, username: str) -> str:
        return self.realm.password_token("acme", "shop", username, PASSWORD).access_token

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def admin_bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.realm.admin_token('ann', PASSWORD).access_token}"}

    def client_bearer(self, creds: ClientCredentials) -> dict[str, str]:
        token = self.realm.client_token(creds.client_id, creds.client_secret).access_token
        return {"Authorization": f"Bearer {token}"}

    def async_realm(self) -> AsyncRealm:
        """An AsyncRealm over the very same records (an async face on the memory store)."""
        return AsyncRealm(
            AsyncMemoryStore(self.store), clock=self.clock, password_hasher=FAST_HASHER
        )


def seed(realm: Realm) -> tuple[ClientCredentials, ClientCredentials]:
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    realm.grant("acme", "shop", "get,put,post,delete:/books/**", role="default")
    realm.grant("acme", "shop", "get:/whoami,/reports", role="default")
    realm.create_role("acme", "shop", "editor")
    realm.grant("acme", "shop", "put:/reports", role="editor")
    realm.create_role("acme", "shop", "auditor", inactivity_ms=AUDITOR_IDLE_MS)
    for name in USERS:
        realm.create_user("acme", "shop", name, password=PASSWORD)
    realm.assign_role("acme", "shop", "editor", user="alice")
    realm.create_group("acme", "shop", "/staff")
    realm.assign_role("acme", "shop", "editor", group="/staff")
    realm.add_to_group("acme", "shop", "/staff", "carol")
    realm.assign_role("acme", "shop", "auditor", user="dave")
    realm.create_admin("ann", password=PASSWORD, orgs=["acme"])
    return realm.create_credentials("acme", "shop"), realm.create_credentials("acme")


@pytest.fixture
def world(clock: FakeClock) -> Iterator[World]:
    store = MemoryStore()
    realm = Realm(store, clock=clock, password_hasher=FAST_HASHER)
    app_client, org_client = seed(realm)
    yield World(realm, clock, store, app_client, org_client)
    realm.close()


class AsyncMemoryStore:
    """The ``AsyncStore`` protocol over a ``MemoryStore``: each method a coroutine."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner

    async def get(self, key: str) -> bytes | None:
        return self.inner.get(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self.inner.get_many(keys)

    async def put(self, key: str, value: bytes) -> None:
        self.inner.put(key, value)

    async def create(self, key: str, value: bytes) -> bool:
        return self.inner.create(key, value)

    async def delete(self, key: str) -> bool:
        return self.inner.delete(key)

    async def transact(self, **changes: object) -> bool:
        return self.inner.transact(**changes)  # type: ignore[arg-type]

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        return self.inner.scan(prefix)

    async def generation(self) -> int:
        return self.inner.generation()

    async def put_token(self, *args: object, **kwargs: object) -> None:
        self.inner.put_token(*args, **kwargs)  # type: ignore[arg-type]

    async def get_token(self, token_id: str) -> TokenLookup:
        return self.inner.get_token(token_id)

    async def touch_token(self, token_id: str, now_ms: int) -> int | None:
        return self.inner.touch_token(token_id, now_ms)

    async def delete_token(self, token_id: str) -> bool:
        return self.inner.delete_token(token_id)

    async def delete_principal_tokens(self, principal_key: str) -> int:
        return self.inner.delete_principal_tokens(principal_key)

    async def purge_expired(self, now_ms: int) -> int:
        return self.inner.purge_expired(now_ms)

    async def get_transient(self, key: str) -> bytes | None:
        return self.inner.get_transient(key)

    async def swap_transient(self, *args: object, **kwargs: object) -> bool:
        return self.inner.swap_transient(*args, **kwargs)  # type: ignore[arg-type]

    async def close(self) -> None:
        """The sync realm owns the memory store."""


class ASGIClient:
    """A synchronous face on httpx's ASGI transport (one event loop per request), and a bare
    websocket handshake; app exceptions propagate (a 500 would hide them)."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=self.transport, base_url="http://testserver"
            ) as client:
                return await client.request(method, url, **options)

        return anyio.run(send)

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)

    def put(self, url: str, **options: Any) -> httpx.Response:
        return self.request("PUT", url, **options)

    def websocket(self, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
        """Connect, then disconnect once the app waits again; what the app sent."""
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
            "subprotocols": [],
        }
        inbox: list[dict[str, Any]] = [{"type": "websocket.connect"}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return inbox.pop(0) if inbox else {"type": "websocket.disconnect", "code": 1000}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        anyio.run(self.app, scope, receive, send)  # type: ignore[arg-type]
        return sent
