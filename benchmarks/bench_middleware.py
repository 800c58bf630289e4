"""Per-request overhead of baas_auth's ASGI and WSGI middleware beside its peers, in process.

No server and no sockets: ASGI apps are awaited in one event loop, WSGI apps are called directly,
and every call gets a shallow copy of one prebuilt scope or environ (``GET /users/me``).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import sys
from typing import Any

from _apps import (
    FASTAPI_PLAIN,
    FLASK_PLAIN,
    Case,
    asgi_peers,
    bare_asgi,
    bare_wsgi,
    wsgi_peers,
)
from _realms import COLD_POOL, Seeded, more_tokens, seeded, tampered
from _timing import Report, Result, RunBatch, Settings, cli, measure, result

from baas_auth import Principal
from baas_auth.asgi import PRINCIPAL_KEY
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.wsgi import AuthMiddleware as WsgiAuth

BARE_ASGI = "bare ASGI app"
BARE_WSGI = "bare WSGI app"
_HEADERS = (
    (b"host", b"api.example.com"),
    (b"accept", b"application/json"),
    (b"user-agent", b"bench/1.0"),
)
_REQUEST = {"type": "http.request", "body": b"", "more_body": False}
SQLITE_THREAD = "SQLite store (decision on the adapter's store thread)"


class SanityError(RuntimeError):
    """A scenario did not answer as it must; its timing would measure a broken path."""


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise SanityError(what)


# -- requests -------------------------------------------------------------------------------------


def asgi_scope(authorization: str | None, path: str = "/users/me") -> dict[str, Any]:
    """The http scope of ``GET path`` with 3 headers, plus ``authorization`` if given."""
    headers = list(_HEADERS)
    if authorization is not None:
        headers.append((b"authorization", authorization.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def wsgi_environ(authorization: str | None, path: str = "/users/me") -> dict[str, Any]:
    """The PEP 3333 environ of the same request."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "api.example.com",
        "HTTP_ACCEPT": "application/json",
        "HTTP_USER_AGENT": "bench/1.0",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    return environ


async def _receive() -> dict[str, Any]:
    return _REQUEST


async def _send(message: dict[str, Any]) -> None:
    return None


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


# -- running and checking one case ----------------------------------------------------------------


def asgi_batch(loop: asyncio.AbstractEventLoop, app: Any, bases: list[dict[str, Any]]) -> RunBatch:
    """Calls of ``app``, each on a copy of the next scope of ``bases`` (often just one)."""
    base = bases[0]
    pool = itertools.cycle(bases)

    async def same(n: int) -> None:
        for _ in range(n):
            await app(dict(base), _receive, _send)

    async def cycling(n: int) -> None:
        for _ in range(n):
            await app(dict(next(pool)), _receive, _send)

    many = same if len(bases) == 1 else cycling
    return lambda n: loop.run_until_complete(many(n))


def wsgi_batch(app: Any, bases: list[dict[str, Any]]) -> RunBatch:
    """Calls of ``app``, each on a copy of the next environ of ``bases``; bodies are drained."""
    base = bases[0]
    pool = itertools.cycle(bases)

    def same(n: int) -> None:
        for _ in range(n):
            _drain(app(dict(base), _start_response))

    def cycling(n: int) -> None:
        for _ in range(n):
            _drain(app(dict(next(pool)), _start_response))

    return same if len(bases) == 1 else cycling


def _drain(body: Any) -> None:
    for _chunk in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()


def asgi_answer(
    loop: asyncio.AbstractEventLoop, app: Any, scope: dict[str, Any]
) -> tuple[int, bytes]:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    loop.run_until_complete(app(dict(scope), _receive, send))
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, body


def wsgi_answer(app: Any, environ: dict[str, Any]) -> tuple[int, bytes]:
    seen: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        seen.append(status)

    chunks = app(dict(environ), start_response)
    body = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return int(seen[0].split()[0]), body


def _check(case: Case, status: int, body: bytes) -> None:
    _require(status == case.status, f"{case.name}: status {status}, expected {case.status}")
    if status == 200:  # only the inner app answers "ok": the middleware let the request through
        _require(body == b"ok", f"{case.name}: the inner app did not answer ({body[:60]!r})")


def _row(group: str, case: Case, settings: Settings, run_batch: RunBatch, baseline: str) -> Result:
    timing = measure(run_batch, settings)
    return result(
        group,
        case.name,
        timing,
        library=case.library,
        baseline=baseline,
        relative_to=case.relative_to,
        status=case.status,
    )


# -- baas_auth cases ------------------------------------------------------------------------------


NEW_PATHS = tuple(f"/items/{i}" for i in range(10_000))


def baas_cases(middleware: Any, bare: Any, memory: Seeded, sqlite: Seeded) -> list[Case]:
    """The baas_auth scenarios, for ``middleware`` (the ASGI or the WSGI ``AuthMiddleware``)."""
    shop = middleware(bare, memory.realm, application="acme/shop")
    on_sqlite = middleware(bare, sqlite.realm, application="acme/shop")
    sandbox = middleware(bare, memory.realm, application="acme/sandbox")
    sqlite_name = SQLITE_THREAD if middleware is AsgiAuth else "SQLite store"
    lib = "baas_auth"
    return [
        Case(
            "baas_auth, valid bearer token, memory store", lib, shop, f"Bearer {memory.token}", 200
        ),
        Case(
            "baas_auth, valid token, memory store, a new path each request (10,000 paths)",
            lib,
            shop,
            f"Bearer {memory.token}",
            200,
            paths=NEW_PATHS,
        ),
        Case(
            f"baas_auth, valid bearer token, {sqlite_name}",
            lib,
            on_sqlite,
            f"Bearer {sqlite.token}",
            200,
        ),
        Case("baas_auth, guest refused (401)", lib, shop, None, 401),
        Case(
            "baas_auth, tampered token (401), memory store",
            lib,
            shop,
            f"Bearer {tampered(memory.token)}",
            401,
        ),
        Case(
            "baas_auth, tampered token (401), SQLite store",
            lib,
            on_sqlite,
            f"Bearer {tampered(sqlite.token)}",
            401,
        ),
        Case(
            "baas_auth, revoked token (401), memory store",
            lib,
            shop,
            f"Bearer {memory.revoked_token}",
            401,
        ),
        Case("baas_auth, guest allowed on the sandbox app", lib, sandbox, None, 200),
        Case("baas_auth, org client via Basic", lib, shop, memory.basic_header, 200),
    ]


def new_token_case(middleware: Any, bare: Any, seed: Seeded, tokens: tuple[str, ...]) -> Case:
    """Every call with a token the realm has not seen: none of its caches can answer."""
    return Case(
        f"baas_auth, valid token, memory store, a new token each request ({len(tokens):,})",
        "baas_auth",
        middleware(bare, seed.realm, application="acme/shop"),
        None,
        200,
        tokens=tokens,
    )


def around_framework(middleware: Any, peers: list[Case], plain: str, seed: Seeded) -> list[Case]:
    """baas_auth wrapped around the plain framework app (FastAPI or Flask), when it is there."""
    return [
        Case(
            f"{plain} behind baas_auth, valid bearer token, memory store",
            "baas_auth",
            middleware(case.app, seed.realm, application="acme/shop"),
            f"Bearer {seed.token}",
            200,
            relative_to=plain,
        )
        for case in peers
        if case.name == plain
    ]


def _check_principal(principal: Principal | None, kind: str, name: str) -> None:
    ok = principal is not None and principal.kind == kind and principal.username == name
    _require(ok, f"the inner app saw principal {principal!r}, expected {kind} {name}")


def check_asgi_principal(loop: asyncio.AbstractEventLoop, seed: Seeded) -> None:
    seen: list[Principal | None] = []

    async def probe(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope.get(PRINCIPAL_KEY))
        await bare_asgi(scope, receive, send)

    app = AsgiAuth(probe, seed.realm, application="acme/shop")
    asgi_answer(loop, app, asgi_scope(f"Bearer {seed.token}"))
    _check_principal(seen[0] if seen else None, "app_user", "alice")


def check_wsgi_principal(seed: Seeded) -> None:
    seen: list[Principal | None] = []

    def probe(environ: Any, start_response: Any) -> Any:
        seen.append(environ.get(PRINCIPAL_KEY))
        return bare_wsgi(environ, start_response)

    wsgi_answer(
        WsgiAuth(probe, seed.realm, application="acme/shop"), wsgi_environ(f"Bearer {seed.token}")
    )
    _check_principal(seen[0] if seen else None, "app_user", "alice")


# -- the two scenarios ----------------------------------------------------------------------------


def asgi_cases(
    loop: asyncio.AbstractEventLoop, memory: Seeded, sqlite: Seeded, notes: list[str]
) -> list[Case]:
    check_asgi_principal(loop, memory)
    check_asgi_principal(loop, sqlite)
    peers = asgi_peers(notes)
    cases = [Case(BARE_ASGI, "baseline", bare_asgi, None, 200)]
    cases += baas_cases(AsgiAuth, bare_asgi, memory, sqlite) + peers
    return cases + around_framework(AsgiAuth, peers, FASTAPI_PLAIN, memory)


def wsgi_cases(memory: Seeded, sqlite: Seeded, notes: list[str]) -> list[Case]:
    check_wsgi_principal(memory)
    check_wsgi_principal(sqlite)
    peers = wsgi_peers(notes)
    cases = [Case(BARE_WSGI, "baseline", bare_wsgi, None, 200)]
    cases += baas_cases(WsgiAuth, bare_wsgi, memory, sqlite) + peers
    return cases + around_framework(WsgiAuth, peers, FLASK_PLAIN, memory)


def measure_asgi(
    loop: asyncio.AbstractEventLoop, cases: list[Case], settings: Settings, report: Report
) -> None:
    for case in cases:
        bases = [asgi_scope(authorization, path) for path, authorization in case.requests()]
        _check(case, *asgi_answer(loop, case.app, bases[0]))
        report.add(_row("asgi", case, settings, asgi_batch(loop, case.app, bases), BARE_ASGI))


def measure_wsgi(cases: list[Case], settings: Settings, report: Report) -> None:
    for case in cases:
        bases = [wsgi_environ(authorization, path) for path, authorization in case.requests()]
        _check(case, *wsgi_answer(case.app, bases[0]))
        report.add(_row("wsgi", case, settings, wsgi_batch(case.app, bases), BARE_WSGI))


def run(settings: Settings, report: Report) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    memory, sqlite = seeded("memory"), seeded("sqlite")
    measure_asgi(loop, asgi_cases(loop, memory, sqlite, report.notes), settings, report)
    measure_wsgi(wsgi_cases(memory, sqlite, report.notes), settings, report)
    # Last: tens of thousands of live tokens make every garbage collection after them slower.
    tokens = more_tokens(memory, COLD_POOL)
    measure_asgi(loop, [new_token_case(AsgiAuth, bare_asgi, memory, tokens)], settings, report)
    measure_wsgi([new_token_case(WsgiAuth, bare_wsgi, memory, tokens)], settings, report)
    loop.close()


if __name__ == "__main__":
    cli(run)
