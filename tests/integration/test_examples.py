"""Each example's ``build_app(realm)`` in-process: refused without a token, served with one."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import anyio
import httpx
import pytest

from baas_auth import MemoryStore, Realm
from tests.conftest import FAST_HASHER

# (module, path prefix of the application, how to drive the app)
WSGI, ASGI = "wsgi", "asgi"
EXAMPLES = [
    ("examples.plain_wsgi", "/acme/shop", WSGI),
    ("examples.flask_app", "", WSGI),
    ("examples.django_app", "", WSGI),
    ("examples.starlette_app", "", ASGI),
    ("examples.fastapi_app", "", ASGI),
]


class ASGIClient:
    """A synchronous face on httpx's ASGI transport: one event loop per request."""

    def __init__(self, app: object) -> None:
        self.transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]

    def request(self, method: str, url: str, **options: object) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=self.transport, base_url="http://testserver"
            ) as client:
                return await client.request(method, url, **options)  # type: ignore[arg-type]

        return anyio.run(send)

    def get(self, url: str, **options: object) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: object) -> httpx.Response:
        return self.request("POST", url, **options)

    def put(self, url: str, **options: object) -> httpx.Response:
        return self.request("PUT", url, **options)


@contextmanager
def drive(app: object, kind: str) -> Iterator[httpx.Client | ASGIClient]:
    if kind == ASGI:
        yield ASGIClient(app)
        return
    transport = httpx.WSGITransport(app=app)  # type: ignore[arg-type]
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture(params=EXAMPLES, ids=lambda e: e[0].split(".")[1])
def example(request: pytest.FixtureRequest) -> tuple[ModuleType, str, str]:
    name, prefix, kind = request.param
    return importlib.import_module(name), prefix, kind


def _seeded() -> Realm:
    return Realm(MemoryStore(), password_hasher=FAST_HASHER)


def test_module_exposes_app_and_builder(example: tuple[ModuleType, str, str]) -> None:
    module, _, _ = example
    assert callable(module.app)
    assert callable(module.build_app)
    assert isinstance(module.realm, Realm)


def test_example_guards_its_routes(example: tuple[ModuleType, str, str]) -> None:
    module, prefix, kind = example
    realm = _seeded()
    module.seed(realm)
    module.seed(realm)  # a second run reuses what exists
    with drive(module.build_app(realm), kind) as client:
        refused = client.get(f"{prefix}/books")
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"

        answer = client.post(
            f"{prefix}/token",
            data={"grant_type": "password", "username": "alice", "password": "wonderland"},
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        books = client.get(f"{prefix}/books", headers=headers)
        assert books.status_code == 200, books.text
        assert books.json()["user"] == "alice"
        assert len(books.json()["books"]) == 2

        revoked = client.put(f"{prefix}/users/me/revoketokens", headers=headers)
        assert revoked.status_code == 200
        assert client.get(f"{prefix}/books", headers=headers).status_code == 401
