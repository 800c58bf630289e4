"""Both adapters behind one synchronous caller, over a seeded realm.

``caller`` is parametrized over ``wsgi`` and ``asgi``: every test that takes it runs on both. The
inner apps record what they were handed (principal, path, query, raw URI, the scope or environ)
and answer 200 with a JSON echo, so a test asserts both the answer and whether the app was called.

The realm is seeded once per test: org ``acme`` (apps ``shop`` with the default roles, ``vault``
locked with an ``accesstokenttl`` of one hour, ``sandbox``), users alice and bob (shop) and victor
(vault), org, shop and vault credentials, admin ann (acme); org ``globex`` (app ``store``), its
credentials and its admin gus. The store is in memory unless a test parametrizes ``store_kind``
with ``"sqlite"`` or ``"redis"``; either way it is wrapped in a ``ProbeStore`` that can be
switched "down" (every call raises ``StoreError``) and records the thread of every call.

``async_world`` and ``make_async`` are the same world over an ``AsyncRealm`` (``AsyncRedisStore``
on the session redis-server, a fresh key prefix, wrapped in an ``AsyncProbeStore``): the test
drives the realm through the blocking facade of ``tests/realm_facade.py``, and the ASGI
middleware runs on that facade's event loop, the one the store's connections belong to. Tests
opt in by taking them; ``world``, ``make`` and ``caller`` are unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import io
import json
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import unquote_to_bytes

import httpx
import pytest

from baas_auth import AsyncRealm, MemoryStore, Realm, SQLiteStore
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.errors import StoreError
from baas_auth.model import ClientCredentials, Principal
from baas_auth.stores.redis import RedisStore
from baas_auth.wsgi import AuthMiddleware as WsgiAuth
from tests.conftest import FAST_HASHER, FakeClock, fresh_prefix, tmp_folder
from tests.realm_facade import BlockingRealm
from tests.redis_server import RedisServer
from tests.stores.blocking_facade import LoopThread

PASSWORD = "correct horse battery"
BASE = "http://testserver"
ALLOWED = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
T = TypeVar("T")


class ProbeStore:
    """A store wrapper: ``down`` makes every call raise ``StoreError`` (and the freshness
    check answer None, as a store that cannot tell does); while ``recording`` is on,
    ``threads`` records the thread of each call, and ``stamp_threads`` that of each
    freshness check (``change_stamp``: on an event loop's thread where it reads memory only,
    on the store thread where it is a round trip, as ``RedisStore``'s). ``stamp_fails``: while
    ``down``, the freshness check raises ``StoreError`` too, as a store's that reads it from
    the server does."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.down = False
        self.stamp_fails = False
        self.recording = False
        self.threads: list[threading.Thread] = []
        self.stamp_threads: list[threading.Thread] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr
        if name == "change_stamp":
            return self._stamp_call(attr)

        def call(*args: object, **kwargs: object) -> object:
            if self.recording:
                self.threads.append(threading.current_thread())
            if self.down and name != "close":
                raise StoreError("the store is down")
            return attr(*args, **kwargs)

        return call

    def _stamp_call(self, stamp: Any) -> Any:
        def change_stamp() -> int | None:
            if self.recording:
                self.stamp_threads.append(threading.current_thread())
            if self.down and self.stamp_fails:
                raise StoreError("the store is down")
            return None if self.down else cast("int | None", stamp())

        return change_stamp


class AsyncProbeStore:
    """``ProbeStore`` for an ``AsyncStore``: each coroutine method stays a coroutine function.

    ``down`` makes every awaited call raise ``StoreError``. While ``recording``: ``fetched``
    holds (method, thread) of each coroutine method looked up, ``awaited`` (method, thread,
    loop) of each call as its coroutine runs, so a call made but never awaited shows as a
    difference. ``sync_calls`` lists every method called that is not a coroutine function
    (recording or not): the realm must never call one. ``change_stamp`` is the exception, a
    plain call answered from memory (None while ``down``; ``StoreError`` with
    ``stamp_fails``), as ``ProbeStore``'s.
    """

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.down = False
        self.stamp_fails = False
        self.recording = False
        self.fetched: list[tuple[str, threading.Thread]] = []
        self.awaited: list[tuple[str, threading.Thread, asyncio.AbstractEventLoop]] = []
        self.sync_calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr
        if name == "change_stamp":  # the one plain call of a store on the loop (memory only)
            return lambda: self._stamp(attr)
        if not inspect.iscoroutinefunction(attr):

            def sync_call(*args: object, **kwargs: object) -> object:
                self.sync_calls.append(name)
                return attr(*args, **kwargs)

            return sync_call
        if self.recording:
            self.fetched.append((name, threading.current_thread()))

        async def call(*args: object, **kwargs: object) -> object:
            if self.recording:
                loop = asyncio.get_running_loop()
                self.awaited.append((name, threading.current_thread(), loop))
            if self.down and name != "close":
                raise StoreError("the store is down")
            return await attr(*args, **kwargs)

        return call

    def _stamp(self, stamp: Callable[[], int | None]) -> int | None:
        if self.down and self.stamp_fails:
            raise StoreError("the store is down")
        return None if self.down else stamp()


@dataclass
class World:
    """The seeded realm, its clock and store, and the credentials made while seeding."""

    realm: Realm
    """A ``Realm``, or (``async_world``) the blocking facade over an ``AsyncRealm``."""
    clock: FakeClock
    store: ProbeStore | AsyncProbeStore
    org_creds: ClientCredentials
    shop_creds: ClientCredentials
    vault_creds: ClientCredentials
    globex_creds: ClientCredentials
    uuids: dict[str, str] = field(default_factory=dict)

    def token(self, who: str, *, ttl_ms: int = 0) -> str:
        """A fresh token of alice, bob (acme/shop), victor (acme/vault), ann or gus (admins)."""
        if who in ("ann", "gus"):
            return self.realm.admin_token(who, PASSWORD, ttl_ms=ttl_ms).access_token
        app = "vault" if who == "victor" else "shop"
        return self.realm.password_token("acme", app, who, PASSWORD, ttl_ms=ttl_ms).access_token

    def client_token(self, creds: ClientCredentials) -> str:
        return self.realm.client_token(creds.client_id, creds.client_secret).access_token


def basic(creds: ClientCredentials | tuple[str, str]) -> str:
    """The value of an ``Authorization: Basic`` header for client credentials."""
    client_id, secret = (
        (creds.client_id, creds.client_secret) if isinstance(creds, ClientCredentials) else creds
    )
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def seed(realm: Realm, clock: FakeClock, store: ProbeStore | AsyncProbeStore) -> World:
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_app("acme", "vault", roles="locked", access_token_ttl_ms=3_600_000)
    uuids = {
        "alice": realm.create_user(
            "acme", "shop", "alice", password=PASSWORD, email="alice@example.com"
        ).uuid,
        "bob": realm.create_user("acme", "shop", "bob", password=PASSWORD).uuid,
        "victor": realm.create_user("acme", "vault", "victor", password=PASSWORD).uuid,
    }
    realm.grant("acme", "vault", "get:/Books/**", user="victor")
    realm.grant("acme", "vault", "put:/notes/*", user="victor")
    realm.create_admin("ann", password=PASSWORD, orgs=["acme"], email="ann@example.com")
    realm.create_org("globex")
    realm.create_app("globex", "store", roles="usergrid")
    realm.create_admin("gus", password=PASSWORD, orgs=["globex"])
    return World(
        realm=realm,
        clock=clock,
        store=store,
        org_creds=realm.create_credentials("acme"),
        shop_creds=realm.create_credentials("acme", "shop"),
        vault_creds=realm.create_credentials("acme", "vault"),
        globex_creds=realm.create_credentials("globex"),
        uuids=uuids,
    )


@pytest.fixture
def store_kind() -> str:
    """``memory``; parametrize ``store_kind`` with ``sqlite`` to run a test on a SQLite file,
    or ``redis`` on the session's redis-server (a fresh key prefix)."""
    return "memory"


@pytest.fixture
def world(store_kind: str, request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[World]:
    inner: MemoryStore | SQLiteStore | RedisStore
    if store_kind == "memory":
        inner = MemoryStore()
    elif store_kind == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        inner = RedisStore(server.url, prefix=fresh_prefix())
    else:
        inner = SQLiteStore(tmp_folder(request) / "auth.db")
    store = ProbeStore(inner)
    realm = Realm(store, clock=clock, password_hasher=FAST_HASHER)  # type: ignore[arg-type]
    yield seed(realm, clock, store)
    store.down = False
    realm.close()


@pytest.fixture
def async_world(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[World]:
    """The seeded world over an ``AsyncRealm`` on ``AsyncRedisStore`` (an ``AsyncProbeStore``
    around it); ``world.realm`` is the blocking facade, whose ``loop`` also runs the requests
    of ``make_async``."""
    from baas_auth.stores.redis import AsyncRedisStore

    server: RedisServer = request.getfixturevalue("redis_server")
    store = AsyncProbeStore(AsyncRedisStore(server.url, prefix=fresh_prefix()))
    realm = BlockingRealm(lambda: AsyncRealm(store, clock=clock, password_hasher=FAST_HASHER))
    try:
        yield seed(cast(Realm, realm), clock, store)
    finally:
        store.down = False
        realm.close()


def async_realm_of(world: World) -> tuple[AsyncRealm, LoopThread]:
    """The ``AsyncRealm`` behind an ``async_world``'s facade, and the loop it runs on."""
    facade = cast(BlockingRealm, world.realm)
    return facade.inner, facade.loop


# -- the inner apps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What one inner app was handed."""

    principal: Principal | None
    path: str
    query: bytes
    """WSGI ``QUERY_STRING`` (as latin-1 bytes) or ASGI ``query_string``."""
    raw: dict[str, Any]
    """A copy of the environ or scope."""


def _echo(call: Call) -> bytes:
    principal = call.principal
    return json.dumps(
        {
            "principal": None if principal is None else [principal.kind, principal.username],
            "path": call.path,
            "query": call.query.decode("latin-1"),
        }
    ).encode()


def _reply_headers(pairs: Iterable[tuple[str, str]]) -> tuple[int, list[tuple[str, str]]]:
    """The inner app's status and headers, steered by ``x-reply-status`` and
    ``x-reply-cache-control`` request headers."""
    found = dict(pairs)
    headers = [("Content-Type", "application/json")]
    if "x-reply-cache-control" in found:
        headers.append(("Cache-Control", found["x-reply-cache-control"]))
    return int(found.get("x-reply-status", "200")), headers


def make_wsgi_inner(calls: list[Call]) -> Callable[..., Iterable[bytes]]:
    def inner(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        call = Call(
            environ.get("baas_auth.principal"),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", "").encode("latin-1"),
            dict(environ),
        )
        calls.append(call)
        status, headers = _reply_headers(
            (key[5:].lower().replace("_", "-"), value)
            for key, value in environ.items()
            if key.startswith("HTTP_X_REPLY_")
        )
        start_response(f"{status} Whatever", headers)
        return [_echo(call)]

    return inner


def make_asgi_inner(calls: list[Call]) -> Callable[..., Any]:
    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        call = Call(
            scope.get("baas_auth.principal"),
            scope.get("path", ""),
            scope.get("query_string", b""),
            dict(scope),
        )
        calls.append(call)
        if scope["type"] == "websocket":
            assert (await receive())["type"] == "websocket.connect"
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
            return
        status, headers = _reply_headers(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": _echo(call)})

    return inner


class _ServerLikeWSGITransport(httpx.WSGITransport):
    """Gives the environ what a real server (gunicorn) gives it: ``RAW_URI``/``REQUEST_URI`` (the
    raw request target), a PEP 3333 ``PATH_INFO`` (the decoded path bytes as latin-1), and
    repeated header fields joined with ``", "`` (httpx's transport keeps only the last)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.target = ""
        self.joined: dict[str, str] = {}

        def server(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            environ["RAW_URI"] = environ["REQUEST_URI"] = self.target
            raw_path = self.target.split("?", 1)[0]
            environ["PATH_INFO"] = unquote_to_bytes(raw_path).decode("latin-1")
            environ.update(self.joined)
            return app(environ, start_response)

        super().__init__(app=server)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.target = request.url.raw_path.decode("ascii")
        values: dict[str, list[str]] = {}
        for name, value in request.headers.raw:
            key = "HTTP_" + name.decode("ascii").upper().replace("-", "_")
            values.setdefault(key, []).append(value.decode("latin-1"))
        self.joined = {key: ", ".join(v) for key, v in values.items() if len(v) > 1}
        return super().handle_request(request)


class Caller:
    """One middleware (WSGI or ASGI) around a recording inner app, called through httpx."""

    def __init__(self, adapter: str, realm: Realm, **options: Any) -> None:
        self.adapter = adapter
        self.calls: list[Call] = []
        if adapter == "wsgi":
            self.app: Any = WsgiAuth(make_wsgi_inner(self.calls), realm, **options)
        else:
            self.app = AsgiAuth(make_asgi_inner(self.calls), realm, **options)

    @property
    def called(self) -> bool:
        return bool(self.calls)

    @property
    def last(self) -> Call:
        assert self.calls, "the inner app was not called"
        return self.calls[-1]

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.adapter == "wsgi":
            with httpx.Client(transport=_ServerLikeWSGITransport(self.app), base_url=BASE) as c:
                return c.request(method, url, **kwargs)

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
                return await c.request(method, url, **kwargs)

        return self.run_asgi(go())

    def run_asgi(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one ASGI exchange to its end (here: on a new event loop)."""
        return asyncio.run(coroutine)

    def call(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        raw: bytes | None = None,
        query: bytes = b"",
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        extra: dict[str, Any] | None = None,
    ) -> Answer:
        """Call the middleware with a hand-built environ or scope, for shapes no HTTP client
        sends. ``path`` is the decoded path as an ASGI server gives it (undecodable bytes as
        lone surrogates); WSGI gets its PEP 3333 form. ``raw`` is the raw path (``raw_path``, or
        ``RAW_URI``/``REQUEST_URI`` with the query), None for none. ``extra`` updates the
        environ or scope."""
        if self.adapter == "wsgi":
            environ = wsgi_environ(method, path, raw=raw, query=query, headers=headers, body=body)
            environ.update(extra or {})
            return call_wsgi(self.app, environ)
        scope = http_scope(method, path, raw=raw, query=query, headers=headers)
        scope.update(extra or {})
        return self.run_asgi(call_asgi(self.app, scope, [body]))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)


class LoopCaller(Caller):
    """The ASGI middleware around an ``AsyncRealm``, each request run on ``loop`` (where the
    realm's store lives), as one server would run them."""

    def __init__(self, realm: AsyncRealm, loop: LoopThread, **options: Any) -> None:
        self.loop = loop
        super().__init__("asgi", cast(Realm, realm), **options)

    def run_asgi(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run(coroutine)


MakeCaller = Callable[..., Caller]


@dataclass(frozen=True)
class Answer:
    """A response from a hand-built call: status, headers (names lower-cased), body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def json(self) -> Any:
        return json.loads(self.body)


def wsgi_environ(
    method: str,
    path: str,
    *,
    raw: bytes | None = None,
    query: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    if raw is not None:
        target = raw + (b"?" + query if query else b"")
        environ["RAW_URI"] = environ["REQUEST_URI"] = target.decode("latin-1")
    for name, value in headers:
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return environ


def call_wsgi(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> Answer:
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, headers))
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started[-1]
    return Answer(int(status.split()[0]), [(k.lower(), v) for k, v in headers], body)


def http_scope(
    method: str,
    path: str,
    *,
    raw: bytes | None = None,
    query: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    kind: str = "http",
) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http" if kind == "http" else "ws",
        "path": path,
        "raw_path": raw,
        "root_path": "",
        "query_string": query,
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    if kind == "http":
        scope["method"] = method
    return scope


async def call_asgi(app: Callable[..., Any], scope: dict[str, Any], chunks: list[bytes]) -> Answer:
    """Send ``chunks`` as the request body (``more_body`` on all but the last)."""
    messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in start["headers"]]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], headers, body)


@pytest.fixture(params=["wsgi", "asgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(adapter: str, world: World) -> MakeCaller:
    """``make(**options)``: a caller of the adapter under test with those middleware options."""

    def build(**options: Any) -> Caller:
        return Caller(adapter, world.realm, **options)

    return build


@pytest.fixture
def make_async(async_world: World) -> MakeCaller:
    """``make_async(**options)``: the ASGI middleware over ``async_world``'s ``AsyncRealm``."""
    realm, loop = async_realm_of(async_world)

    def build(**options: Any) -> Caller:
        return LoopCaller(realm, loop, **options)

    return build


@pytest.fixture
def caller(make: MakeCaller) -> Caller:
    """Multi-tenant mode: ``/{org}/{app}/…`` and ``/management/…``."""
    return make()


@pytest.fixture
def single(make: MakeCaller) -> Caller:
    """Single-app mode around acme/shop."""
    return make(application="acme/shop")


def challenges(response: httpx.Response) -> list[str]:
    """Every ``WWW-Authenticate`` value, in order."""
    return response.headers.get_list("www-authenticate")


def assert_error(
    response: httpx.Response,
    status: int,
    error: str,
    challenge: list[str] | None,
    *,
    clock: FakeClock,
) -> None:
    """The complete shape of a refusal (behaviour §4): status, JSON body, challenges."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    assert body["error_description"]
    assert body["timestamp"] == clock.ms
    assert isinstance(body["duration"], int)
    assert body["duration"] >= 0
    if challenge is not None:
        assert challenges(response) == challenge
