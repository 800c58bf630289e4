"""Holes 7, 8, 9 and 11 of the first release, and malformed endpoint values (behaviour §5.2, §6.2,
§6.3 rev 2): the edges where an adapter hands the decision something other than what the inner
app (or its router) will act on.

- Hole 7: endpoint bodies over 64 KiB. The first release's ASGI adapter dropped the chunk that
  crossed the limit and parsed the rest, so a valid form followed by more bytes was read as the
  valid form alone; both adapters tested "is the body blank?" before "is it too large?", so 64 KiB
  of spaces let credentials in the query through.
- Hole 8: method-override headers were recognised only as the lower-case, hyphenated names an
  ASGI server is supposed to send; ``X_HTTP_Method_Override`` (or an upper-case name) reached the
  inner app, which may read it as the override.
- Hole 9: unknown ASGI scope types were passed to the inner app unchecked.
- Hole 11: a ``root_path`` ending in ``/`` was stripped differently from Starlette's router.
- Lone surrogates and non-strings in endpoint JSON were 500s (the KDF, the secret hash or SQLite
  raised on them), and the answer differed between known and unknown accounts.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from baas_auth import MemoryStore
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.core.paths import strip_root_path
from baas_auth.errors import BadRequestError
from baas_auth.middleware.endpoint_bodies import MAX_BODY_BYTES
from tests.adapters.conftest import (
    PASSWORD,
    Answer,
    Caller,
    World,
    bearer,
    call_asgi,
    call_wsgi,
    http_scope,
    wsgi_environ,
)

TOKEN_PATH = "/acme/shop/token"
FORM = "application/x-www-form-urlencoded"
LIMIT = MAX_BODY_BYTES
CREDENTIALS = f"grant_type=password&username=alice&password={quote_plus(PASSWORD)}"
QUERY_CREDENTIALS = CREDENTIALS.encode()


def test_the_limit_is_64_kib() -> None:
    assert LIMIT == 64 * 1024


# -- helpers ------------------------------------------------------------------------------------


def _token_rows(world: World) -> int:
    """How many token records the store holds (a token issued is a row written)."""
    inner = world.store.inner
    if isinstance(inner, MemoryStore):
        return len(inner._tokens)
    row = inner._execute("SELECT count(*) FROM tokens").fetchone()  # type: ignore[attr-defined]
    return int(row[0])


def _padded_form(size: int) -> bytes:
    """A valid password-grant form for alice, padded with an unused parameter to ``size`` bytes."""
    head = f"{CREDENTIALS}&pad=".encode()
    assert size >= len(head)
    return head + b"x" * (size - len(head))


def _padded_json(size: int) -> bytes:
    """A valid password-grant JSON object for alice, padded to exactly ``size`` bytes."""
    empty = json.dumps(
        {"grant_type": "password", "username": "alice", "password": PASSWORD, "pad": ""}
    ).encode()
    assert size >= len(empty)
    return empty[:-2] + b"x" * (size - len(empty)) + b'"}'


def _chunked(body: bytes, size: int = 1024) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def _post(
    caller: Caller,
    path: str,
    chunks: list[bytes],
    *,
    query: bytes = b"",
    content_type: str = FORM,
    headers: tuple[tuple[str, str], ...] = (),
) -> Answer:
    """POST ``chunks`` as the body: over ASGI one ``http.request`` message each (``more_body``
    on all but the last), over WSGI one stream with its ``Content-Length``."""
    all_headers = (("content-type", content_type), *headers)
    if caller.adapter == "wsgi":
        environ = wsgi_environ(
            "POST", path, query=query, headers=all_headers, body=b"".join(chunks)
        )
        return call_wsgi(caller.app, environ)
    scope = http_scope("POST", path, query=query, headers=all_headers)
    return asyncio.run(call_asgi(caller.app, scope, chunks))


def _assert_refused(answer: Answer, status: int, error: str) -> None:
    assert answer.status == status, answer.body
    assert answer.header("content-type") == ["application/json"]
    body = answer.json()
    assert body["error"] == error
    assert "access_token" not in body


def _assert_token(answer: Answer) -> None:
    assert answer.status == 200, answer.body
    assert answer.json()["token_type"] == "Bearer"
    assert answer.json()["access_token"]


# -- hole 7: endpoint bodies over 64 KiB --------------------------------------------------------


OVER_LIMIT_BODIES: dict[str, tuple[list[bytes], bytes, str]] = {
    # (chunks, query, content type)
    "form-one-chunk": ([_padded_form(LIMIT + 1)], b"", FORM),
    # Blank bodies were "no body" before they were "too large": the query's credentials won.
    "blank-one-chunk-query-credentials": ([b" " * (LIMIT + 1)], QUERY_CREDENTIALS, FORM),
    "blank-many-chunks-query-credentials": (
        _chunked(b" " * (LIMIT + 1)),
        QUERY_CREDENTIALS,
        FORM,
    ),
    # One chunk well past the limit: the old ASGI reader dropped it whole, leaving an empty body.
    "big-chunk-query-credentials": ([b"x" * (LIMIT + 4096)], QUERY_CREDENTIALS, FORM),
    "form-many-chunks": (_chunked(_padded_form(LIMIT + 1)), b"", FORM),
    # The chunk that crosses the limit was dropped and what came before it parsed: a valid form.
    "form-many-chunks-then-two-bytes": ([*_chunked(_padded_form(LIMIT)), b"xx"], b"", FORM),
    # A duplicate parameter (a duplicate is 400) hidden past the limit.
    "form-then-duplicate-password": (
        [_padded_form(LIMIT), b"&password=not-the-password"],
        b"",
        FORM,
    ),
    "form-short-then-duplicate-password": (
        [_padded_form(LIMIT - 8), b"&password=not-the-password"],
        b"",
        FORM,
    ),
    "json-one-chunk": ([_padded_json(LIMIT + 1)], b"", "application/json"),
    "json-many-chunks": (_chunked(_padded_json(LIMIT + 1)), b"", "application/json"),
    "json-then-blank-chunks": (
        [_padded_json(LIMIT - 100), *_chunked(b" " * 4096)],
        b"",
        "application/json",
    ),
    "json-exact-then-blank": ([_padded_json(LIMIT), b"  "], b"", "application/json"),
}


@pytest.mark.parametrize("shape", list(OVER_LIMIT_BODIES))
def test_an_endpoint_body_over_the_limit_is_400_and_issues_no_token(
    caller: Caller, world: World, shape: str
) -> None:
    chunks, query, content_type = OVER_LIMIT_BODIES[shape]
    assert sum(map(len, chunks)) > LIMIT
    before = _token_rows(world)
    answer = _post(caller, TOKEN_PATH, chunks, query=query, content_type=content_type)
    _assert_refused(answer, 400, "invalid_request")
    assert _token_rows(world) == before
    assert not caller.called


EXACT_LIMIT_BODIES: dict[str, tuple[list[bytes], str]] = {
    "form-one-chunk": ([_padded_form(LIMIT)], FORM),
    "form-many-chunks": (_chunked(_padded_form(LIMIT)), FORM),
    "form-one-byte-chunks-at-the-end": (
        [_padded_form(LIMIT)[:-16], *(bytes([b]) for b in _padded_form(LIMIT)[-16:])],
        FORM,
    ),
    "json-one-chunk": ([_padded_json(LIMIT)], "application/json"),
    "json-many-chunks": (_chunked(_padded_json(LIMIT), 999), "application/json"),
}


@pytest.mark.parametrize("shape", list(EXACT_LIMIT_BODIES))
def test_an_endpoint_body_of_exactly_the_limit_is_read(
    caller: Caller, world: World, shape: str
) -> None:
    chunks, content_type = EXACT_LIMIT_BODIES[shape]
    assert sum(map(len, chunks)) == LIMIT
    before = _token_rows(world)
    _assert_token(_post(caller, TOKEN_PATH, chunks, content_type=content_type))
    assert _token_rows(world) == before + 1
    assert not caller.called


def test_an_over_limit_body_is_refused_on_every_endpoint(caller: Caller, world: World) -> None:
    token = world.token("alice")
    before = _token_rows(world)
    for path in ("/acme/shop/users/alice/revoketokens", "/management/token"):
        answer = _post(
            caller, path, [_padded_form(LIMIT + 1)], headers=tuple(bearer(token).items())
        )
        _assert_refused(answer, 400, "invalid_request")
    assert _token_rows(world) == before  # alice's token was not revoked
    assert not caller.called


def _wsgi_terminated(body: bytes, *, query: bytes = b"") -> dict[str, Any]:
    """An environ from a server that marks its input as terminated and sends no length
    (a chunked request, as mod_wsgi or uWSGI pass it)."""
    environ = wsgi_environ(
        "POST", TOKEN_PATH, query=query, headers=(("content-type", FORM),), body=body
    )
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    return environ


@pytest.mark.parametrize(
    ("body", "query"),
    [
        (_padded_form(LIMIT + 1), b""),
        (_padded_form(LIMIT) + b"&password=not-the-password", b""),
        (b" " * (LIMIT + 1), QUERY_CREDENTIALS),
        (b"\n" * (LIMIT + 4096), QUERY_CREDENTIALS),
    ],
    ids=["form", "duplicate-password", "blank", "blank-big"],
)
def test_wsgi_input_terminated_over_the_limit_is_400(
    world: World, body: bytes, query: bytes
) -> None:
    caller = Caller("wsgi", world.realm)
    before = _token_rows(world)
    answer = call_wsgi(caller.app, _wsgi_terminated(body, query=query))
    _assert_refused(answer, 400, "invalid_request")
    assert _token_rows(world) == before
    assert not caller.called


def test_wsgi_input_terminated_of_exactly_the_limit_is_read(world: World) -> None:
    caller = Caller("wsgi", world.realm)
    _assert_token(call_wsgi(caller.app, _wsgi_terminated(_padded_form(LIMIT))))
    assert not caller.called


def test_wsgi_content_length_bounds_the_read(world: World) -> None:
    """A Content-Length that covers only the valid form: the bytes after it are not the body.
    A Content-Length past the limit is 400 whatever the stream holds."""
    caller = Caller("wsgi", world.realm)
    form = _padded_form(LIMIT)
    environ = wsgi_environ(
        "POST", TOKEN_PATH, headers=(("content-type", FORM),), body=form + b"&password=x"
    )
    environ["CONTENT_LENGTH"] = str(len(form))
    _assert_token(call_wsgi(caller.app, environ))
    environ = wsgi_environ("POST", TOKEN_PATH, headers=(("content-type", FORM),), body=form)
    environ["CONTENT_LENGTH"] = str(LIMIT + 1)  # a stream shorter than it says
    _assert_refused(call_wsgi(caller.app, environ), 400, "invalid_request")
    assert not caller.called


# -- hole 8: method override in any spelling ----------------------------------------------------


OVERRIDE_NAMES = [
    b"X_HTTP_Method_Override",
    b"x_http_method_override",
    b"X-Http-Method-Override",
    b"X-HTTP-METHOD-OVERRIDE",
    b"x-http-method-override",
    b"X_HTTP_METHOD",
    b"x-http-method",
    b"X-Method_Override",
    b"X_METHOD_OVERRIDE",
]


def _call_with_header(caller: Caller, method: str, path: str, name: bytes, value: bytes) -> Answer:
    """Send one header under exactly ``name``: raw bytes in an ASGI scope (servers may pass
    names on as sent), the environ key a WSGI server makes of it."""
    if caller.adapter == "asgi":
        scope = http_scope(method, path)
        scope["headers"] = [(name, value)]
        return asyncio.run(call_asgi(caller.app, scope, [b""]))
    key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
    environ = wsgi_environ(method, path)
    environ[key] = value.decode("latin-1")
    return call_wsgi(caller.app, environ)


@pytest.mark.parametrize("name", OVERRIDE_NAMES, ids=[n.decode() for n in OVERRIDE_NAMES])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        # The guest of an app with the original rules may POST /users, never DELETE it.
        ("POST", "/acme/shop/users"),
        # The sandbox's guest may do anything; an override is refused all the same.
        ("POST", "/acme/sandbox/books"),
        ("GET", "/acme/sandbox/books/1"),
    ],
)
def test_a_method_override_header_in_any_spelling_is_400(
    caller: Caller, method: str, path: str, name: bytes
) -> None:
    answer = _call_with_header(caller, method, path, name, b"DELETE")
    _assert_refused(answer, 400, "invalid_request")
    assert not caller.called


@pytest.mark.parametrize("name", [b"X_HTTP_Method_Override", b"X-HTTP-METHOD"])
def test_a_method_override_header_is_400_with_a_token_too(
    caller: Caller, world: World, name: bytes
) -> None:
    """bob may PUT (the default role of the original rules), not the other way round: the
    header is refused whoever sends it."""
    token = world.token("bob")
    if caller.adapter == "asgi":
        scope = http_scope("GET", "/acme/shop/books", headers=tuple(bearer(token).items()))
        scope["headers"].append((name, b"DELETE"))
        answer = asyncio.run(call_asgi(caller.app, scope, [b""]))
    else:
        environ = wsgi_environ("GET", "/acme/shop/books", headers=tuple(bearer(token).items()))
        environ["HTTP_" + name.decode().upper().replace("-", "_")] = "DELETE"
        answer = call_wsgi(caller.app, environ)
    _assert_refused(answer, 400, "invalid_request")
    assert not caller.called


def test_other_underscored_headers_still_pass(caller: Caller) -> None:
    """Only the override names are refused: an unrelated header with ``_`` goes through."""
    answer = _call_with_header(caller, "GET", "/acme/sandbox/books", b"X_Request_Id", b"1")
    assert answer.status == 200, answer.body
    assert caller.called


# -- hole 9: unknown ASGI scope types -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["foo", "http.request", "webtransport", "HTTP", "Websocket"])
def test_an_unknown_asgi_scope_type_raises_and_never_reaches_the_app(
    world: World, kind: str
) -> None:
    caller = Caller("asgi", world.realm)
    scope = http_scope("GET", "/acme/sandbox/books", kind=kind)
    scope["method"] = "GET"
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with pytest.raises(ValueError, match="scope type"):
        asyncio.run(caller.app(scope, receive, send))
    assert not caller.called
    assert sent == []


def test_lifespan_still_passes_through(world: World) -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    asyncio.run(AsgiAuth(app, world.realm)(scope, receive, send))
    assert seen == ["lifespan.startup", "lifespan.shutdown"]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# -- hole 11: a root_path ending in '/' ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/acme/sandbox/books",
        "/api/acme/shop/users",
        "/api/acme/shop/token",
        "/api/management/orgs/acme",
        "/api/",
        "/api",
        "/api//acme/sandbox/books",
        "/apix/acme/sandbox/books",
        "/acme/sandbox/books",
    ],
)
def test_a_root_path_with_a_trailing_slash_is_400_for_every_path(world: World, path: str) -> None:
    """ASGI only: WSGI's SCRIPT_NAME is removed from PATH_INFO by the server."""
    for caller in (
        Caller("asgi", world.realm),
        Caller("asgi", world.realm, application="acme/sandbox"),
    ):
        answer = caller.call("GET", path, extra={"root_path": "/api/"})
        _assert_refused(answer, 400, "invalid_request")
        with_token = caller.call(
            "GET",
            path,
            headers=tuple(bearer(world.token("ann")).items()),
            extra={"root_path": "/api/"},
        )
        _assert_refused(with_token, 400, "invalid_request")
        assert not caller.called


@pytest.mark.parametrize(
    ("root_path", "path", "seen"),
    [
        ("", "/acme/sandbox/books", "/acme/sandbox/books"),
        ("/", "/acme/sandbox/books", "/acme/sandbox/books"),
        ("/api", "/api/acme/sandbox/books", "/api/acme/sandbox/books"),
    ],
)
def test_a_root_path_without_a_trailing_slash_still_works(
    world: World, root_path: str, path: str, seen: str
) -> None:
    caller = Caller("asgi", world.realm)
    answer = caller.call("GET", path, extra={"root_path": root_path})
    assert answer.status == 200, answer.body
    assert caller.last.path == seen  # the scope is handed on unchanged


def _first_release_strip_root_path(path: str, root_path: str) -> str:
    """The first release's ``strip_root_path`` (c1d0bb9), kept here to show the divergence:
    it tolerated one trailing slash of ``root_path`` by dropping it."""
    root = root_path[:-1] if root_path.endswith("/") else root_path
    if not root:
        return path or "/"
    if path == root:
        return "/"
    if path.startswith(root) and path[len(root)] == "/":
        return path[len(root) :]
    raise BadRequestError("The request path is outside the application's root path")


@pytest.mark.parametrize(
    ("path", "routed"),
    [
        # Starlette's get_route_path only strips root_path when a '/' follows it; "/api/" is
        # followed by 'a' here, so Starlette routes the whole path, "/api/acme/sandbox/x", while
        # the first release checked "/acme/sandbox/x".
        ("/api/acme/sandbox/x", "/api/acme/sandbox/x"),
        # Here a '/' follows "/api/", so Starlette routes "/acme/sandbox/x"; the first release
        # stripped "/api" and checked "//acme/sandbox/x" (a 400 then, but not the routed path).
        ("/api//acme/sandbox/x", "/acme/sandbox/x"),
    ],
)
def test_starlette_routes_a_different_path_under_a_root_path_ending_in_slash(
    path: str, routed: str
) -> None:
    from starlette._utils import get_route_path

    scope = {"type": "http", "path": path, "root_path": "/api/"}
    assert get_route_path(scope) == routed
    assert _first_release_strip_root_path(path, "/api/") != routed
    # Now: no path is checked at all, so none can differ from the routed one.
    with pytest.raises(BadRequestError, match="root_path"):
        strip_root_path(path, "/api/")


def test_a_starlette_app_under_root_path_with_slash_never_sees_a_request(world: World) -> None:
    """The first release's hole end to end: a multi-tenant Starlette app routes
    ``/{org}/{app}/{rest:path}``. Under ``root_path="/api/"`` the request ``/api/acme/sandbox/x``
    was checked as the sandbox's guest (allowed: the sandbox is open) but Starlette, routing the
    whole path, served org ``api``'s app ``acme`` — a locked app the guest may not read."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    world.realm.create_org("api")
    world.realm.create_app("api", "acme")  # locked: its guest may do nothing
    served: list[dict[str, str]] = []

    async def resource(request: Request) -> JSONResponse:
        served.append(dict(request.path_params))
        return JSONResponse(request.path_params)

    inner = Starlette(routes=[Route("/{org}/{app}/{rest:path}", resource)])
    app = AsgiAuth(inner, world.realm)
    scope = http_scope("GET", "/api/acme/sandbox/secret")
    scope["root_path"] = "/api/"
    answer = asyncio.run(call_asgi(app, scope, [b""]))
    _assert_refused(answer, 400, "invalid_request")
    assert served == []
    # The same request under root_path "/api" is checked and routed as the sandbox's.
    scope["root_path"] = "/api"
    answer = asyncio.run(call_asgi(app, scope, [b""]))
    assert answer.status == 200, answer.body
    assert served == [{"org": "acme", "app": "sandbox", "rest": "secret"}]


# -- lone surrogates and wrong types in endpoint JSON -------------------------------------------


def _json_post(caller: Caller, path: str, text: str) -> Answer:
    """POST a JSON text as written (``\\ud800`` escapes stay escapes: they decode to lone
    surrogates in the parser, which is where the old code met them)."""
    return _post(caller, path, [text.encode("ascii")], content_type="application/json")


SURROGATE_GRANTS = {
    "password": '{{"grant_type":"password","username":"{user}","password":"\\ud800"}}',
    "password-low": '{{"grant_type":"password","username":"{user}","password":"pass\\udfffword"}}',
    "username": '{{"grant_type":"password","username":"{user}\\ud800","password":"x"}}',
    "username-only-surrogate": '{{"grant_type":"password","username":"\\udc80","password":"x"}}',
    "grant-type": '{{"grant_type":"password\\ud800","username":"{user}","password":"x"}}',
    "ttl": '{{"grant_type":"password","username":"{user}","password":"x","ttl":"\\ud800"}}',
}
SURROGATE_CLIENT_GRANTS = {
    "client-secret": '{{"grant_type":"client_credentials","client_id":"{cid}",'
    '"client_secret":"\\ud800"}}',
    "client-id": '{{"grant_type":"client_credentials","client_id":"{cid}\\ud800",'
    '"client_secret":"x"}}',
}
WRONG_TYPES = {
    "password-number": '{{"grant_type":"password","username":"{user}","password":12345678}}',
    "password-list": '{{"grant_type":"password","username":"{user}","password":["a"]}}',
    "password-object": '{{"grant_type":"password","username":"{user}","password":{{}}}}',
    "username-number": '{{"grant_type":"password","username":7,"password":"x"}}',
    "password-true": '{{"grant_type":"password","username":"{user}","password":true}}',
}


BOTH_STORES = pytest.mark.parametrize("store_kind", ["memory", "sqlite"])


@BOTH_STORES
@pytest.mark.parametrize("case", list(SURROGATE_GRANTS) + list(WRONG_TYPES))
@pytest.mark.parametrize("path", [TOKEN_PATH, "/management/token"])
def test_malformed_password_grant_values_are_400_alike_for_every_account(
    caller: Caller, world: World, case: str, path: str
) -> None:
    template = {**SURROGATE_GRANTS, **WRONG_TYPES}[case]
    known = "ann" if path.startswith("/management") else "alice"
    answers = {
        user: _json_post(caller, path, template.format(user=user))
        for user in (known, "nosuch", world.uuids["alice"])
    }
    errors = set()
    for answer in answers.values():
        assert answer.status == 400, answer.body
        errors.add(answer.json()["error"])
    assert len(errors) == 1, answers
    assert errors <= {"invalid_request", "invalid_grant"}
    assert not caller.called


@BOTH_STORES
@pytest.mark.parametrize("case", list(SURROGATE_CLIENT_GRANTS))
@pytest.mark.parametrize("path", [TOKEN_PATH, "/management/token"])
def test_malformed_client_credentials_are_400_alike_for_every_client(
    caller: Caller, world: World, case: str, path: str
) -> None:
    template = SURROGATE_CLIENT_GRANTS[case]
    known = world.org_creds.client_id if path.startswith("/management") else None
    known = known or world.shop_creds.client_id
    before = _token_rows(world)
    answers = [
        _json_post(caller, path, template.format(cid=cid)) for cid in (known, "YXA6nosuchclient")
    ]
    assert [a.status for a in answers] == [400, 400], [a.body for a in answers]
    assert answers[0].json()["error"] == answers[1].json()["error"] == "invalid_request"
    assert _token_rows(world) == before
    assert not caller.called


@BOTH_STORES
def test_a_surrogate_in_a_revoke_token_parameter_is_400(caller: Caller, world: World) -> None:
    token = world.token("alice")
    answer = _post(
        caller,
        "/acme/shop/users/alice/revoketoken",
        [b'{"token":"\\ud800"}'],
        content_type="application/json",
        headers=tuple(bearer(token).items()),
    )
    _assert_refused(answer, 400, "invalid_request")
    assert not caller.called


@BOTH_STORES
def test_a_surrogate_never_reaches_the_sqlite_file(
    caller: Caller, world: World, store_kind: str, tmp_path: Path
) -> None:
    """After every malformed grant the store is intact and the real password still works (the
    throttle did not lock alice out over requests that never named her)."""
    for template in SURROGATE_GRANTS.values():
        _json_post(caller, TOKEN_PATH, template.format(user="alice"))
    answer = _post(caller, TOKEN_PATH, [CREDENTIALS.encode()])
    _assert_token(answer)
    if store_kind == "sqlite":
        with sqlite3.connect(tmp_path / "auth.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
