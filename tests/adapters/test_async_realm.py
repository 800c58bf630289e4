"""The ASGI adapter over an ``AsyncRealm`` (behaviour §7), and where each realm's store I/O runs.

An ``AsyncRealm`` over ``AsyncRedisStore`` behind ``baas_auth.asgi.AuthMiddleware`` serves the
same answers as a ``Realm`` (guest 401, token 200, rules 403, the token endpoint's grants,
revocation at once, single-app mode). Its store is awaited on the event loop (it is async):
every coroutine method the realm looks up is awaited there, no blocking method is called, and
redis-py's blocking client is never used. A ``Realm`` whose store blocks (SQLite, Redis) has
every store call of every kind of request (resources, token grants, ``/management``, revoke
endpoints, websockets) made on the adapter's ``baas-auth-store`` thread. Either way the password
KDF runs on its own pool (``baas-auth-kdf``), never on the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import redis

from baas_auth import AsyncRealm, PasswordHasher, Realm, SQLiteStore
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.errors import ConfigError
from baas_auth.stores.redis import RedisStore
from tests.adapters.conftest import (
    PASSWORD,
    AsyncProbeStore,
    Call,
    MakeCaller,
    ProbeStore,
    World,
    assert_error,
    async_realm_of,
    basic,
    bearer,
    call_asgi,
    http_scope,
    make_asgi_inner,
    seed,
)
from tests.conftest import FAST_HASHER, FakeClock, fresh_prefix
from tests.redis_server import RedisServer

FORM = "application/x-www-form-urlencoded"

# -- the answers ----------------------------------------------------------------------------------


def test_a_guest_is_401_and_the_app_is_not_called(make_async: MakeCaller, async_world: World):
    caller = make_async()
    response = caller.get("/acme/vault/anything")
    assert_error(
        response, 401, "unauthorized", ['Bearer realm="acme/vault"'], clock=async_world.clock
    )
    assert not caller.called
    assert caller.post("/acme/shop/users", json={"username": "new"}).status_code == 200
    assert caller.last.principal is not None
    assert caller.last.principal.kind == "guest"


def test_a_token_is_200_with_its_principal(make_async: MakeCaller, async_world: World):
    caller = make_async()
    response = caller.get("/acme/shop/books", headers=bearer(async_world.token("alice")))
    assert response.status_code == 200, response.text
    principal = caller.last.principal
    assert principal is not None
    assert (principal.kind, principal.username) == ("app_user", "alice")
    assert caller.last.raw["user"] is principal


def test_rules_refuse_with_403(make_async: MakeCaller, async_world: World):
    caller = make_async()
    victor = bearer(async_world.token("victor"))
    assert caller.get("/acme/vault/Books/1", headers=victor).status_code == 200
    assert caller.put("/acme/vault/notes/1", headers=victor).status_code == 200
    caller.calls.clear()
    response = caller.get("/acme/vault/secrets", headers=victor)
    assert_error(
        response,
        403,
        "unauthorized",
        ['Bearer realm="acme/vault", error="insufficient_scope"'],
        clock=async_world.clock,
    )
    assert not caller.called


def test_a_password_grant_at_the_token_endpoint(make_async: MakeCaller, async_world: World):
    caller = make_async()
    form = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    response = caller.post("/acme/shop/token", data=form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["username"] == "alice"
    assert response.headers["cache-control"] == "no-store"
    assert not caller.called
    assert caller.get("/acme/shop/x", headers=bearer(body["access_token"])).status_code == 200
    bad = caller.post("/acme/shop/token", data={**form, "password": "wrong"})
    assert_error(bad, 400, "invalid_grant", [], clock=async_world.clock)


def test_revoked_tokens_are_401_at_once(make_async: MakeCaller, async_world: World):
    caller = make_async()
    first, second, bobs = (async_world.token(who) for who in ("alice", "alice", "bob"))
    assert caller.get("/acme/shop/x", headers=bearer(first)).status_code == 200
    one = caller.put(
        "/acme/shop/users/me/revoketoken", headers=bearer(second), params={"token": first}
    )
    assert one.status_code == 200, one.text
    refused = caller.get("/acme/shop/x", headers=bearer(first))
    assert_error(refused, 401, "auth_invalid", None, clock=async_world.clock)
    every = caller.put("/acme/shop/users/me/revoketokens", headers=bearer(second))
    assert every.status_code == 200, every.text
    assert caller.get("/acme/shop/x", headers=bearer(second)).status_code == 401
    assert caller.get("/acme/shop/x", headers=bearer(bobs)).status_code == 200
    async_world.realm.revoke_user_tokens("acme", "shop", "bob")  # through the realm: the same
    assert caller.get("/acme/shop/x", headers=bearer(bobs)).status_code == 401


def test_client_credentials(make_async: MakeCaller, async_world: World):
    caller = make_async()
    creds = async_world.shop_creds
    assert caller.get("/acme/shop/x", headers={"Authorization": basic(creds)}).status_code == 200
    response = caller.post(
        "/acme/shop/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(creds)},
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert caller.get("/acme/shop/x", headers=bearer(token)).status_code == 200
    assert caller.last.principal is not None
    assert caller.last.principal.kind == "app_client"
    org = caller.post(
        "/management/token",
        data={
            "grant_type": "client_credentials",
            "client_id": async_world.org_creds.client_id,
            "client_secret": async_world.org_creds.client_secret,
        },
    )
    assert org.status_code == 200, org.text
    assert (
        caller.get("/management/orgs/acme", headers=bearer(org.json()["access_token"])).status_code
        == 200
    )
    async_world.realm.regenerate_credentials(creds.client_id)
    assert caller.get("/acme/shop/x", headers=bearer(token)).status_code == 401


def test_the_management_area(make_async: MakeCaller, async_world: World):
    caller = make_async()
    grant = caller.post(
        "/management/token",
        data={"grant_type": "password", "username": "ann", "password": PASSWORD},
    )
    assert grant.status_code == 200, grant.text
    ann = bearer(grant.json()["access_token"])
    me = caller.get("/management/me", headers=ann)
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "ann"
    assert caller.get("/management/orgs/acme", headers=ann).status_code == 200
    assert caller.get("/management/orgs/globex", headers=ann).status_code == 403
    assert caller.put("/management/users/ann/revoketokens", headers=ann).status_code == 200
    assert caller.get("/management/me", headers=ann).status_code == 401


def test_a_single_app_middleware_over_a_missing_app_raises_at_the_first_request(
    make_async: MakeCaller, async_world: World
):
    # An AsyncRealm cannot be read before the loop runs: construction passes, and every
    # request raises ConfigError (the server's 500) until the app exists, never answering.
    caller = make_async(application="acme/nope")
    for _ in range(2):
        with pytest.raises(ConfigError, match="nope"):
            caller.get("/books", headers=bearer(async_world.token("alice")))
    assert not caller.called
    async_world.realm.create_app("acme", "nope", roles="sandbox")
    assert caller.get("/books").status_code == 200
    single = make_async(application="acme/shop")
    assert single.get("/books", headers=bearer(async_world.token("alice"))).status_code == 200
    assert single.get("/books").status_code == 401


def test_async_realm_open_serves_under_asgi(tmp_path: Path, clock: FakeClock) -> None:
    """``AsyncRealm.open`` on a Redis URL, end to end (its own server: the default prefix)."""
    server = RedisServer(tmp_path).start()
    try:

        async def scenario() -> list[int]:
            realm = AsyncRealm.open(server.url, clock=clock, password_hasher=FAST_HASHER)
            await realm.create_org("acme")
            await realm.create_app("acme", "shop", roles="usergrid")
            await realm.create_user("acme", "shop", "alice", password=PASSWORD)
            calls: list[Call] = []
            app = AsgiAuth(make_asgi_inner(calls), realm)
            token = (await realm.password_token("acme", "shop", "alice", PASSWORD)).access_token
            auth = [("Authorization", f"Bearer {token}")]
            statuses = [(await call_asgi(app, _get("/acme/shop/x", auth), [b""])).status]
            await realm.revoke_token(token)
            statuses.append((await call_asgi(app, _get("/acme/shop/x", auth), [b""])).status)
            await realm.close()
            return statuses

        assert asyncio.run(scenario()) == [200, 401]
        with server.client() as raw:
            assert raw.keys("baas:*")  # the default prefix
    finally:
        server.stop()


def _get(path: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
    return http_scope("GET", path, raw=path.encode(), headers=headers)


# -- where the store I/O runs ---------------------------------------------------------------------


@dataclass
class Exchange:
    """One request, its credentials issued beforehand: run it with ``send(app)`` on a loop."""

    send: Callable[[AsgiAuth], Awaitable[int]]


def _http(
    method: str,
    path: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    query: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Callable[[AsgiAuth], Awaitable[int]]:
    all_headers = [*(headers or []), *([("content-type", FORM)] if form is not None else [])]
    body = urlencode(form or {}).encode()
    query_string = urlencode(query or {}).encode()

    async def send(app: AsgiAuth) -> int:
        scope = http_scope(method, path, raw=path.encode(), query=query_string, headers=all_headers)
        return (await call_asgi(app, scope, [body[:7], body[7:]])).status

    return send


def _websocket(path: str, headers: list[tuple[str, str]]) -> Callable[[AsgiAuth], Awaitable[int]]:
    async def send(app: AsgiAuth) -> int:
        scope = http_scope("GET", path, raw=path.encode(), headers=headers, kind="websocket")
        scope["subprotocols"] = []
        incoming = [{"type": "websocket.connect"}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

        async def record(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, record)
        return 200 if sent and sent[0]["type"] == "websocket.accept" else 403

    return send


def _auth(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def _password(username: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": PASSWORD}


def _client(world: World, which: str) -> dict[str, str]:
    creds = getattr(world, which)
    return {
        "grant_type": "client_credentials",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }


EXCHANGES: dict[str, Callable[[World], Exchange]] = {
    "token-header": lambda w: Exchange(
        _http("GET", "/acme/shop/books", headers=_auth(w.token("alice")))
    ),
    "client-basic": lambda w: Exchange(
        _http("GET", "/acme/shop/books", headers=[("Authorization", basic(w.shop_creds))])
    ),
    "guest": lambda w: Exchange(_http("POST", "/acme/shop/users")),
    "password-grant": lambda w: Exchange(
        _http("POST", "/acme/shop/token", form=_password("alice"))
    ),
    "client-grant": lambda w: Exchange(
        _http("POST", "/acme/shop/token", form=_client(w, "shop_creds"))
    ),
    "management-password-grant": lambda w: Exchange(
        _http("POST", "/management/token", form=_password("ann"))
    ),
    "management-client-grant": lambda w: Exchange(
        _http("POST", "/management/token", form=_client(w, "org_creds"))
    ),
    "management-me": lambda w: Exchange(
        _http("GET", "/management/me", headers=_auth(w.token("ann")))
    ),
    "management-resource": lambda w: Exchange(
        _http("GET", "/management/orgs/acme", headers=_auth(w.token("ann")))
    ),
    "revoke-one": lambda w: Exchange(
        _http(
            "PUT",
            "/acme/shop/users/me/revoketoken",
            headers=_auth(w.token("alice")),
            query={"token": w.token("alice")},
        )
    ),
    "revoke-all": lambda w: Exchange(
        _http("PUT", "/acme/shop/users/me/revoketokens", headers=_auth(w.token("alice")))
    ),
    "admin-revokes-a-user": lambda w: Exchange(
        _http("POST", "/acme/shop/users/bob/revoketokens", headers=_auth(w.token("ann")))
    ),
    "client-revokes-a-token": lambda w: Exchange(
        _http(
            "POST",
            "/acme/shop/users/bob/revoketoken",
            headers=[("Authorization", basic(w.shop_creds))],
            form={"token": w.token("bob")},
        )
    ),
    "admin-revokes-own": lambda w: Exchange(
        _http("PUT", "/management/users/ann/revoketokens", headers=_auth(w.token("ann")))
    ),
    "websocket": lambda w: Exchange(_websocket("/acme/shop/ws", _auth(w.token("alice")))),
}
PASSWORD_CHECKS = {"password-grant", "management-password-grant"}


@pytest.fixture
def kdf_threads(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The thread of every password check (``PasswordHasher.verify``)."""
    threads: list[threading.Thread] = []
    verify = PasswordHasher.verify

    def recording(self: PasswordHasher, password: str, encoded: str | None) -> bool:
        threads.append(threading.current_thread())
        return verify(self, password, encoded)

    monkeypatch.setattr(PasswordHasher, "verify", recording)
    return threads


@pytest.fixture
def blocking_redis_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Every command sent through redis-py's blocking client (``redis.Redis``)."""
    sent: list[tuple[object, ...]] = []
    execute = redis.Redis.execute_command

    def recording(self: redis.Redis, *args: object, **options: object) -> object:
        sent.append(args)
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", recording)
    return sent


def _run_on(loop: Callable[[Awaitable[Any]], Any], exchange: Exchange, app: AsgiAuth):
    async def go() -> tuple[int, threading.Thread, asyncio.AbstractEventLoop]:
        status = await exchange.send(app)
        return status, threading.current_thread(), asyncio.get_running_loop()

    return loop(go())


@pytest.mark.parametrize("kind", list(EXCHANGES))
def test_an_async_realms_store_is_only_awaited_on_the_loop(
    async_world: World,
    kind: str,
    kdf_threads: list[threading.Thread],
    blocking_redis_calls: list[tuple[object, ...]],
) -> None:
    realm, loop = async_realm_of(async_world)
    app = AsgiAuth(make_asgi_inner([]), realm)
    exchange = EXCHANGES[kind](async_world)  # credentials issued before recording
    store = async_world.store
    assert isinstance(store, AsyncProbeStore)
    kdf_threads.clear()
    store.recording = True
    status, loop_thread, running = _run_on(loop.run, exchange, app)
    store.recording = False
    assert status == 200
    assert store.awaited, "the request touched the store"
    # Every coroutine method looked up was awaited, each on the loop thread, on the running loop
    # (an http request's freshness check first: the adapter looked it up once, when made).
    awaited = [name for name, _, _ in store.awaited]
    if kind != "websocket":
        assert awaited.pop(0) == "read_change_stamp"
    assert [name for name, _ in store.fetched] == awaited
    assert {thread for _, thread, _ in store.awaited} == {loop_thread}
    assert {awaited_on for _, _, awaited_on in store.awaited} == {running}
    assert store.sync_calls == []
    assert blocking_redis_calls == []
    if kind in PASSWORD_CHECKS:
        assert kdf_threads, "the password was checked"
    assert loop_thread not in kdf_threads
    assert all(t.name.startswith("baas-auth-kdf") for t in kdf_threads)


@pytest.fixture(params=["sqlite", "redis"])
def blocking_world(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[World]:
    """The seeded world over a ``Realm`` whose store blocks, in a ``ProbeStore``."""
    if request.param == "sqlite":
        inner: object = SQLiteStore(tmp_path / "auth.db")
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        inner = RedisStore(server.url, prefix=fresh_prefix())
    store = ProbeStore(inner)
    realm = Realm(store, clock=clock, password_hasher=FAST_HASHER)  # type: ignore[arg-type]
    try:
        yield seed(realm, clock, store)
    finally:
        store.down = False
        realm.close()


@pytest.mark.parametrize("kind", list(EXCHANGES))
def test_a_blocking_realms_store_calls_run_on_the_store_thread(
    blocking_world: World, kind: str, kdf_threads: list[threading.Thread]
) -> None:
    app = AsgiAuth(make_asgi_inner([]), blocking_world.realm)
    exchange = EXCHANGES[kind](blocking_world)
    store = blocking_world.store
    assert isinstance(store, ProbeStore)
    kdf_threads.clear()
    store.recording = True
    status, loop_thread, _ = _run_on(asyncio.run, exchange, app)
    store.recording = False
    assert status == 200
    assert store.threads, "the request touched the store"
    assert loop_thread not in store.threads
    assert all(t.name.startswith("baas-auth-store") for t in store.threads)
    assert len(set(store.threads)) == 1  # one thread: a SQLite connection belongs to it
    if kind in PASSWORD_CHECKS:
        assert kdf_threads, "the password was checked"
    assert loop_thread not in kdf_threads
    assert all(t.name.startswith("baas-auth-kdf") for t in kdf_threads)
    if kind != "websocket":
        # The freshness check: SQLite's reads shared memory, on the loop; Redis's is a round
        # trip, made on the store thread.
        assert store.stamp_threads, "the freshness check ran"
        expected = loop_thread if isinstance(store.inner, SQLiteStore) else store.threads[0]
        assert set(store.stamp_threads) == {expected}


def test_the_async_probe_sees_a_call_that_is_never_awaited(async_world: World) -> None:
    """The checks above are not vacuous: a store method called like a blocking one (its
    coroutine dropped) shows as looked up but not awaited."""
    store = async_world.store
    assert isinstance(store, AsyncProbeStore)
    _, loop = async_realm_of(async_world)
    store.recording = True

    async def misuse() -> None:
        store.get("k").close()  # what a blocking driver would do
        await store.get("k")

    loop.run(misuse())
    store.recording = False
    assert [name for name, _ in store.fetched] == ["get", "get"]
    assert [name for name, _, _ in store.awaited] == ["get"]
