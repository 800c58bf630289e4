"""Real servers (uvicorn, gunicorn, hypercorn) on a realm kept in a real redis-server.

Each test's realm lives under its own key prefix of a redis-server this module starts (its own
port and folder); the failure tests (section 4) start one each, since they kill it. The test process
seeds the realm with a sync ``Realm`` on the same server and prefix, then the servers run small
apps written to ``tmp_path`` (``APPS`` below). Every app answers with ``os.getpid()``, in its body
and, for the WSGI app, in an ``X-Worker-Pid`` header set *outside* the middleware, so that even a
refusal says which gunicorn worker gave it.

Nothing waits with a fixed sleep: servers are polled until their port opens, and loops over
requests run until they have seen what they need, with a deadline.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from baas_auth import Realm
from baas_auth.errors import InvalidTokenError
from baas_auth.stores.redis import RedisStore
from tests.conftest import FAST_HASHER, fresh_prefix
from tests.integration.conftest import PASSWORD, free_port, python_module, server_env, serving
from tests.integration.flows import bearer
from tests.redis_server import RedisServer

LOOP_DEADLINE_S = 15.0  # a loop over requests that has not seen both workers by then has failed

_INNER_APPS = '''
"""Plain apps that answer who called and which process answered."""

import json
import os


def _body(principal, path):
    return json.dumps(
        {"pid": os.getpid(), "user": principal.username, "kind": principal.kind, "path": path}
    ).encode()


async def asgi_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = _body(scope["baas_auth.principal"], scope["path"])
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def wsgi_app(environ, start_response):
    body = _body(environ["baas_auth.principal"], environ["PATH_INFO"])
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def with_pid_header(app):
    """Outside the middleware: every answer, refusals included, names its worker."""

    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))], exc_info)

        return app(environ, start)

    return wrapped
'''

APPS = {
    "inner_apps.py": _INNER_APPS,
    # uvicorn: the ASGI middleware awaiting an AsyncRealm over AsyncRedisStore.
    "async_realm_app.py": '''
import os

from baas_auth import AsyncRealm
from baas_auth.asgi import AuthMiddleware
from baas_auth.stores.redis import AsyncRedisStore
from inner_apps import asgi_app

url, prefix = os.environ["BAAS_REDIS_URL"], os.environ.get("BAAS_REDIS_PREFIX")
realm = AsyncRealm.open(url) if prefix is None else AsyncRealm(AsyncRedisStore(url, prefix=prefix))
app = AuthMiddleware(asgi_app, realm, application="acme/shop")
''',
    # hypercorn: the ASGI middleware with a sync Realm over RedisStore (calls run off the loop).
    "sync_realm_asgi_app.py": '''
import os

from baas_auth import Realm
from baas_auth.asgi import AuthMiddleware
from baas_auth.stores.redis import RedisStore
from inner_apps import asgi_app

store = RedisStore(os.environ["BAAS_REDIS_URL"], prefix=os.environ["BAAS_REDIS_PREFIX"])
app = AuthMiddleware(asgi_app, Realm(store), application="acme/shop")
''',
    # gunicorn: the WSGI middleware with a Realm over RedisStore, made in each worker.
    "wsgi_realm_app.py": '''
import os

from baas_auth import Realm
from baas_auth.stores.redis import RedisStore
from baas_auth.wsgi import AuthMiddleware
from inner_apps import with_pid_header, wsgi_app

store = RedisStore(os.environ["BAAS_REDIS_URL"], prefix=os.environ["BAAS_REDIS_PREFIX"])
app = with_pid_header(AuthMiddleware(wsgi_app, Realm(store), application="acme/shop"))
''',
}


@pytest.fixture(scope="module")
def redis_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """This module's own redis-server (tests keep apart by key prefix)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), durable=False)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("apps")
    for name, source in APPS.items():
        (folder / name).write_text(source.lstrip())
    return folder


def seed(realm: Realm) -> None:
    """acme/shop, whose signed-in users may only read /books; alice."""
    realm.create_org("acme")
    realm.create_app("acme", "shop")  # no rules yet
    realm.grant("acme", "shop", "get:/books/**", role="default")
    realm.create_user("acme", "shop", "alice", password=PASSWORD)


def seeded_realm(url: str, prefix: str) -> Realm:
    """The test process's own view of the realm the servers serve, seeded."""
    realm = Realm(RedisStore(url, prefix=prefix), password_hasher=FAST_HASHER)
    seed(realm)
    return realm


def app_env(app_dir: Path, url: str, prefix: str | None) -> dict[str, str]:
    env = server_env(BAAS_REDIS_URL=url)
    env["PYTHONPATH"] = os.pathsep.join([str(app_dir), env["PYTHONPATH"]])
    if prefix is not None:
        env["BAAS_REDIS_PREFIX"] = prefix
    return env


def uvicorn_command(port: int) -> list[str]:
    return python_module(
        "uvicorn", "async_realm_app:app", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--lifespan", "on",
    )  # fmt: skip


def hypercorn_command(port: int) -> list[str]:
    return python_module("hypercorn", "sync_realm_asgi_app:app", "--bind", f"127.0.0.1:{port}")


def gunicorn_command(port: int) -> list[str]:
    options = ["--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}"]
    options += ["--graceful-timeout", "5"]
    if int(version("gunicorn").split(".")[0]) >= 27:
        # gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default: one path
        # for every gunicorn of the user, and a file written outside the test's folders.
        options.append("--no-control-socket")
    return python_module("gunicorn", *options, "wsgi_realm_app:app")


def password_token(client: httpx.Client, base: str) -> str:
    """A token for alice from a server's token endpoint (form-encoded password grant)."""
    answer = client.post(
        f"{base}/token", data={"grant_type": "password", "username": "alice", "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def assert_admitted(answer: httpx.Response, path: str = "/books") -> int:
    """The inner app answered for alice; returns the pid of the process that answered."""
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["user"], body["kind"], body["path"]) == ("alice", "app_user", path)
    return int(body["pid"])


def assert_refused(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert "pid" not in answer.json()  # the middleware answered, never the inner app


# -- 1. uvicorn, ASGI middleware, AsyncRealm ------------------------------------------------


def test_uvicorn_with_an_async_realm(
    redis_host: RedisServer,
    app_dir: Path,
    tmp_path: Path,
    client: httpx.Client,
) -> None:
    realm_prefix = fresh_prefix()
    realm = seeded_realm(redis_host.url, realm_prefix)
    port = free_port()
    env = app_env(app_dir, redis_host.url, realm_prefix)
    try:
        uvicorn = serving(uvicorn_command(port), env=env, log=tmp_path / "uvicorn.log", port=port)
        with uvicorn as base:
            assert_refused(client.get(f"{base}/books"), 401)  # no credentials, no guest rule

            token = password_token(client, base)
            assert realm.authenticate_token(token).username == "alice"  # issued there, valid here
            assert_admitted(client.get(f"{base}/books", headers=bearer(token)))
            assert_admitted(client.get(f"{base}/books/1", headers=bearer(token)), "/books/1")
            refused = client.get(f"{base}/admin", headers=bearer(token))
            assert_refused(refused, 403)  # signed in, but no rule allows it
            assert refused.json()["error"] == "unauthorized"

            here = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
            assert_admitted(client.get(f"{base}/books", headers=bearer(here)))

            revoked = client.put(f"{base}/users/me/revoketokens", headers=bearer(token))
            assert revoked.status_code == 200, revoked.text
            for dead in (token, here):  # the very next request, no wait
                answer = client.get(f"{base}/books", headers=bearer(dead))
                assert_refused(answer, 401)
                assert 'error="invalid_token"' in answer.headers["www-authenticate"]
                with pytest.raises(InvalidTokenError):
                    realm.authenticate_token(dead)
    finally:
        realm.close()


# -- 2. gunicorn, two workers, WSGI middleware, Realm --------------------------------------


def statuses_from_every_worker(
    client: httpx.Client, url: str, token: str, workers: set[int]
) -> list[tuple[int, int]]:
    """(worker pid, status) of requests sent one after another until each worker answered."""
    answers: list[tuple[int, int]] = []
    deadline = time.monotonic() + LOOP_DEADLINE_S
    while not workers <= {pid for pid, _ in answers}:
        if time.monotonic() > deadline:
            pytest.fail(f"not every worker of {workers} answered within the deadline: {answers}")
        answer = client.get(url, headers=bearer(token))
        answers.append((int(answer.headers["x-worker-pid"]), answer.status_code))
    return answers


def find_workers(client: httpx.Client, base: str, token: str) -> set[int]:
    """The two workers' pids, from the inner app's answers (and the header agrees)."""
    seen: set[int] = set()
    deadline = time.monotonic() + LOOP_DEADLINE_S
    while len(seen) < 2:
        if time.monotonic() > deadline:
            pytest.fail(f"only workers {seen} answered within the deadline")
        answer = client.get(f"{base}/books", headers=bearer(token))
        pid = assert_admitted(answer)
        assert int(answer.headers["x-worker-pid"]) == pid
        seen.add(pid)
    return seen


@pytest.fixture(scope="module")
def gunicorn_realm(redis_host: RedisServer) -> Iterator[tuple[Realm, str]]:
    realm_prefix = fresh_prefix()
    realm = seeded_realm(redis_host.url, realm_prefix)
    try:
        yield realm, realm_prefix
    finally:
        realm.close()


@pytest.fixture(scope="module")
def gunicorn_server(
    redis_host: RedisServer,
    app_dir: Path,
    gunicorn_realm: tuple[Realm, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    port = free_port()
    env = app_env(app_dir, redis_host.url, gunicorn_realm[1])
    log = tmp_path_factory.mktemp("logs") / "gunicorn.log"
    with serving(gunicorn_command(port), env=env, log=log, port=port) as base:
        yield base


def test_gunicorn_workers_share_revocation_at_once(
    gunicorn_server: str, gunicorn_realm: tuple[Realm, str], client: httpx.Client
) -> None:
    base, realm = gunicorn_server, gunicorn_realm[0]
    token = password_token(client, base)
    workers = find_workers(client, base, token)

    revoked = client.put(f"{base}/users/me/revoketokens", headers=bearer(token))
    assert revoked.status_code == 200, revoked.text
    revoker = int(revoked.headers["x-worker-pid"])
    assert revoker in workers

    answers = statuses_from_every_worker(client, f"{base}/books", token, workers)
    assert [status for _, status in answers] == [401] * len(answers), answers
    with pytest.raises(InvalidTokenError):
        realm.authenticate_token(token)


def test_a_rule_granted_here_applies_at_once_in_every_worker(
    gunicorn_server: str, gunicorn_realm: tuple[Realm, str], client: httpx.Client
) -> None:
    base, realm = gunicorn_server, gunicorn_realm[0]
    token = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    workers = find_workers(client, base, token)
    reports = f"{base}/reports"

    before = statuses_from_every_worker(client, reports, token, workers)
    assert {status for _, status in before} == {403}, before

    realm.grant("acme", "shop", "get:/reports", role="default")
    try:
        granted = statuses_from_every_worker(client, reports, token, workers)
        assert {status for _, status in granted} == {200}, granted
    finally:
        realm.revoke_grant("acme", "shop", "get:/reports", role="default")

    after = statuses_from_every_worker(client, reports, token, workers)
    assert {status for _, status in after} == {403}, after


# -- 3. two servers (two hosts) sharing one realm ------------------------------------------


def test_two_servers_sharing_a_prefix_share_tokens(
    redis_host: RedisServer,
    app_dir: Path,
    tmp_path: Path,
    client: httpx.Client,
) -> None:
    realm_prefix = fresh_prefix()
    realm = seeded_realm(redis_host.url, realm_prefix)
    env = app_env(app_dir, redis_host.url, realm_prefix)
    uvicorn_port, hypercorn_port = free_port(), free_port()
    try:
        with ExitStack() as servers:
            one = servers.enter_context(
                serving(
                    uvicorn_command(uvicorn_port),
                    env=env,
                    log=tmp_path / "uvicorn.log",
                    port=uvicorn_port,
                )
            )
            two = servers.enter_context(
                serving(
                    hypercorn_command(hypercorn_port),
                    env=env,
                    log=tmp_path / "hypercorn.log",
                    port=hypercorn_port,
                )
            )

            from_one = password_token(client, one)
            from_two = password_token(client, two)
            pids = set()
            for base, token in itertools.product((one, two), (from_one, from_two)):
                pids.add(assert_admitted(client.get(f"{base}/books", headers=bearer(token))))
            assert len(pids) == 2  # two processes answered, each accepting both tokens

            # Revoked through one host: refused by the other on its very next request.
            revoked = client.put(
                f"{two}/users/me/revoketoken", params={"token": from_one}, headers=bearer(from_two)
            )
            assert revoked.status_code == 200, revoked.text
            assert_refused(client.get(f"{one}/books", headers=bearer(from_one)), 401)
            assert_admitted(client.get(f"{one}/books", headers=bearer(from_two)))

            # Another prefix on the same server is another realm: other keys, other tokens.
            other = Realm(RedisStore(redis_host.url, prefix=f"other-{realm_prefix}"))
            try:
                with pytest.raises(InvalidTokenError):
                    other.authenticate_token(from_two)
            finally:
                other.close()
    finally:
        realm.close()


# -- 4. Redis fails under a running server, then comes back ---------------------------------


@pytest.fixture
def doomed_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, since the test kills it."""
    server = RedisServer(tmp_path / "redis-data")
    server.folder.mkdir()
    try:
        yield server.start()
    finally:
        server.stop()


def seed_and_serve_uvicorn(
    redis: RedisServer, app_dir: Path, tmp_path: Path
) -> tuple[AbstractContextManager[str], str]:
    """The realm seeded with ``AsyncRealm.open(url)``'s default prefix; the uvicorn server (not
    yet started) and a token the test process issued."""
    realm = Realm.open(redis.url, password_hasher=FAST_HASHER)
    try:
        seed(realm)
        token = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    finally:
        realm.close()
    port = free_port()
    env = app_env(app_dir, redis.url, prefix=None)
    return serving(uvicorn_command(port), env=env, log=tmp_path / "uvicorn.log", port=port), token


def assert_unavailable(answer: httpx.Response) -> None:
    """Failed closed: 503 with Retry-After, and quickly (connection refused: no timeout to wait
    for, and no retries)."""
    assert_refused(answer, 503)
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"] == "service_unavailable"
    assert answer.elapsed.total_seconds() < 5


def test_redis_down_at_the_first_request(
    doomed_redis: RedisServer, app_dir: Path, tmp_path: Path, client: httpx.Client
) -> None:
    """An AsyncRealm's application is checked at the first request (the loop must run): a store
    failure then is a 503 like any other, and the check is made again once Redis is back."""
    server, token = seed_and_serve_uvicorn(doomed_redis, app_dir, tmp_path)
    with server as base:
        doomed_redis.kill()
        assert_unavailable(client.get(f"{base}/books", headers=bearer(token)))
        assert_unavailable(client.get(f"{base}/books", headers=bearer(token)))

        doomed_redis.start()
        assert_admitted(client.get(f"{base}/books", headers=bearer(token)))
        assert_refused(client.get(f"{base}/admin", headers=bearer(token)), 403)


def test_redis_killed_and_restarted_under_uvicorn(
    doomed_redis: RedisServer, app_dir: Path, tmp_path: Path, client: httpx.Client
) -> None:
    server, from_test = seed_and_serve_uvicorn(doomed_redis, app_dir, tmp_path)
    with server as base:
        token = password_token(client, base)
        server_pid = assert_admitted(client.get(f"{base}/books", headers=bearer(token)))

        # Killed while serving: every request fails closed, not only the first after the crash.
        doomed_redis.kill()
        for _ in range(2):
            assert_unavailable(client.get(f"{base}/books", headers=bearer(token)))
        assert_unavailable(client.get(f"{base}/books"))  # a guest's decision needs the store too
        grant = client.post(
            f"{base}/token",
            data={"grant_type": "password", "username": "alice", "password": PASSWORD},
        )
        assert_unavailable(grant)

        doomed_redis.start()  # same port, same append-only file
        again = client.get(f"{base}/books", headers=bearer(token))  # the very next request
        assert assert_admitted(again) == server_pid  # the same process, never restarted
        assert_admitted(client.get(f"{base}/books", headers=bearer(from_test)))

        # Restarted while the server sat idle: its pooled connection is to a dead server, and
        # the next request must still be answered (not a 503 for each stale connection).
        doomed_redis.kill()
        doomed_redis.start()
        for _ in range(3):
            assert assert_admitted(client.get(f"{base}/books", headers=bearer(token))) == server_pid


def test_a_new_signing_key_met_during_an_outage_is_never_a_401(
    doomed_redis: RedisServer, app_dir: Path, tmp_path: Path, client: httpx.Client
) -> None:
    """A token signed with a key the server has not loaded yet (rotated by another process) makes
    it reload its keys; while Redis is down that reload fails, and the answer is 503 for as long
    as it fails, then 200: never a 401 that would tell the client to throw its token away."""
    server, old_key_token = seed_and_serve_uvicorn(doomed_redis, app_dir, tmp_path)
    with server as base:
        assert_admitted(client.get(f"{base}/books", headers=bearer(old_key_token)))
        realm = Realm.open(doomed_redis.url, password_hasher=FAST_HASHER)
        try:
            realm.rotate_signing_key()  # elsewhere: this server still holds only the old key
            token = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
        finally:
            realm.close()

        doomed_redis.kill()
        for _ in range(3):  # each within the server's once-a-second key reload limit
            assert_unavailable(client.get(f"{base}/books", headers=bearer(token)))

        doomed_redis.start()
        assert_admitted(client.get(f"{base}/books", headers=bearer(token)))
        assert_admitted(client.get(f"{base}/books", headers=bearer(old_key_token)))


# -- 5. Redis emptied under running gunicorn workers, then restored -------------------------


def test_redis_flushed_under_gunicorn_is_503_in_every_worker_until_restored(
    doomed_redis: RedisServer, app_dir: Path, tmp_path: Path, client: httpx.Client
) -> None:
    """A lost store is a failure, not an empty realm: every worker answers 503 and logs an
    error naming the cause, none writes new keys or an empty directory, and once the data is
    restored every worker serves the same token again, without a restart."""
    realm = Realm.open(doomed_redis.url, password_hasher=FAST_HASHER)
    try:
        seed(realm)
        token = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    finally:
        realm.close()
    port = free_port()
    env = app_env(app_dir, doomed_redis.url, prefix="baas:")  # Realm.open's default
    log = tmp_path / "gunicorn.log"
    with serving(gunicorn_command(port), env=env, log=log, port=port) as base:
        workers = find_workers(client, base, token)
        with doomed_redis.client() as raw:
            dumped: dict[bytes, bytes] = {}
            for key in raw.scan_iter():
                value = raw.dump(key)
                assert isinstance(value, bytes)
                dumped[key] = value
            raw.flushall()
            lost = statuses_from_every_worker(client, f"{base}/books", token, workers)
            assert {status for _, status in lost} == {503}, lost
            assert raw.dbsize() == 0  # no worker wrote keys or a directory
            for key, value in dumped.items():
                raw.restore(key, 0, value)
        restored = statuses_from_every_worker(client, f"{base}/books", token, workers)
        assert {status for _, status in restored} == {200}, restored
    logged = log.read_text(errors="replace")
    assert "RealmLostError" in logged
    assert "no longer holds the realm" in logged
