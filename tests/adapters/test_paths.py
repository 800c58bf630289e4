"""Methods (behaviour §5.1) and paths (§5.2) on both adapters, with hand-built environs and
scopes for the shapes an HTTP client would normalise away. Most cases target ``acme/sandbox``,
whose guest may do anything, so a refusal can only come from the path or method check."""

from __future__ import annotations

from typing import Any

import pytest

from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.errors import ConfigError
from baas_auth.wsgi import AuthMiddleware as WsgiAuth
from tests.adapters.conftest import (
    ALLOWED,
    Answer,
    Caller,
    MakeCaller,
    World,
    bearer,
)

BAD_REQUEST = 'Bearer realm="baas", error="invalid_request"'


def assert_bad_request(answer: Answer, caller: Caller) -> None:
    assert answer.status == 400, answer.body
    assert answer.json()["error"] == "invalid_request"
    assert answer.header("content-type") == ["application/json"]
    assert len(answer.header("www-authenticate")) == 1
    assert 'error="invalid_request"' in answer.header("www-authenticate")[0]
    assert not caller.called


# -- the decoded route path ----------------------------------------------------------------------

ROUTE_PATHS = [
    ("dotdot", "/acme/sandbox/a/../b"),
    ("dotdot-last", "/acme/sandbox/a/.."),
    ("dot", "/acme/sandbox/./b"),
    ("dotdot-into-other-app", "/acme/sandbox/../vault/x"),
    ("semicolon", "/acme/sandbox/a;b"),
    ("semicolon-param", "/acme/sandbox/a;jsessionid=1"),
    ("backslash", "/acme/sandbox/a\\b"),
    ("nul", "/acme/sandbox/a\x00b"),
    ("newline", "/acme/sandbox/a\nb"),
    ("tab", "/acme/sandbox/a\tb"),
    ("del", "/acme/sandbox/a\x7f"),
    ("double-slash", "/acme/sandbox//b"),
    ("double-slash-leading", "//acme/sandbox/b"),
    ("percent", "/acme/sandbox/a%2fb"),
    ("hash", "/acme/sandbox/a#b"),
    ("question-mark", "/acme/sandbox/a?b"),
    ("relative", "acme/sandbox/b"),
    ("invalid-utf8", "/acme/sandbox/\udcff"),
    ("invalid-utf8-overlong-slash", "/acme/sandbox/a\udcc0\udcafb"),
]


@pytest.mark.parametrize("path", [p for _, p in ROUTE_PATHS], ids=[i for i, _ in ROUTE_PATHS])
def test_bad_route_paths_are_400(caller: Caller, path: str) -> None:
    answer = caller.call("GET", path)
    assert_bad_request(answer, caller)
    assert answer.header("www-authenticate") == [BAD_REQUEST]


@pytest.mark.parametrize(
    "path_info",
    [
        "/acme/sandbox/\xff",
        "/acme/sandbox/\xc0\xaf",
        "/acme/sandbox/\xe2\x9c",
        "/acme/sandbox/\x85",
    ],
    ids=["ff", "overlong-slash", "truncated", "lone-continuation"],
)
def test_wsgi_path_info_that_is_not_utf8_is_400(world: World, path_info: str) -> None:
    """PEP 3333: PATH_INFO holds the path bytes as latin-1; these bytes are not UTF-8."""
    caller = Caller("wsgi", world.realm)
    assert_bad_request(caller.call("GET", "/", extra={"PATH_INFO": path_info}), caller)


def test_asgi_c1_control_in_the_path_is_400(world: World) -> None:
    caller = Caller("asgi", world.realm)
    assert_bad_request(caller.call("GET", "/acme/sandbox/a\x85b"), caller)
    assert caller.call("GET", "/acme/sandbox/\xff").status == 200  # U+00FF is a letter


@pytest.mark.parametrize(
    "path",
    [
        "/acme/sandbox/b",
        "/acme/sandbox/b/",
        "/acme/sandbox",
        "/acme/sandbox/",
        "/acme/sandbox/caf\u00e9/\u2713",
        "/acme/sandbox/a.b/..c/c..",
        "/acme/sandbox/a b",
    ],
)
def test_good_route_paths_reach_the_app_unchanged(caller: Caller, path: str) -> None:
    answer = caller.call("GET", path)
    assert answer.status == 200, answer.body
    expected = path if caller.adapter == "asgi" else path.encode().decode("latin-1")
    assert caller.last.path == expected


# -- the raw path -----------------------------------------------------------------------------

RAW_PATHS = [
    ("encoded-slash", "/acme/sandbox/a/b", b"/acme/sandbox/a%2fb"),
    ("encoded-slash-upper", "/acme/sandbox/a/b", b"/acme/sandbox/a%2Fb"),
    ("encoded-dotdot", "/acme/sandbox/../x", b"/acme/sandbox/%2e%2e/x"),
    ("encoded-dot", "/acme/sandbox/./x", b"/acme/sandbox/%2E/x"),
    ("encoded-dot-in-name", "/acme/sandbox/a.json", b"/acme/sandbox/a%2ejson"),
    ("encoded-backslash", "/acme/sandbox/a\\b", b"/acme/sandbox/a%5cb"),
    ("encoded-semicolon", "/acme/sandbox/a;b", b"/acme/sandbox/a%3bb"),
    ("encoded-percent", "/acme/sandbox/a%2fb", b"/acme/sandbox/a%252fb"),
    ("encoded-hash", "/acme/sandbox/a#b", b"/acme/sandbox/a%23b"),
    ("encoded-question-mark", "/acme/sandbox/a?b", b"/acme/sandbox/a%3fb"),
    ("encoded-nul", "/acme/sandbox/a\x00b", b"/acme/sandbox/a%00b"),
    ("raw-slash-decoded-path-fine", "/acme/sandbox/ab", b"/acme/sandbox/a%2fb"),
]


@pytest.mark.parametrize(
    ("path", "raw"), [(p, r) for _, p, r in RAW_PATHS], ids=[i for i, _, _ in RAW_PATHS]
)
def test_encoded_separators_in_the_raw_path_are_400(caller: Caller, path: str, raw: bytes) -> None:
    assert_bad_request(caller.call("GET", path, raw=raw, query=b"a=%2f"), caller)


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/acme/sandbox/a", b"/acme/sandbox/%61"),
        ("/acme/sandbox/a b", b"/acme/sandbox/a%20b"),
        ("/acme/sandbox/caf\u00e9", b"/acme/sandbox/caf%C3%A9"),
        ("/acme/sandbox/x", b"http://testserver/acme/sandbox/x"),
    ],
    ids=["encoded-letter", "encoded-space", "encoded-utf8", "absolute-form"],
)
def test_harmless_raw_paths_pass(caller: Caller, path: str, raw: bytes) -> None:
    answer = caller.call("GET", path, raw=raw, query=b"q=%2f..%2e;%00")
    assert answer.status == 200, answer.body
    assert caller.last.query == b"q=%2f..%2e;%00"  # the query is not subject to path checks


# -- root_path and SCRIPT_NAME ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "path", "status", "seen"),
    [
        ("/api", "/api/acme/sandbox/x", 200, "/api/acme/sandbox/x"),
        ("/api/", "/api/acme/sandbox/x", 400, None),  # frameworks disagree on it: refused
        ("/api", "/apix/acme/sandbox/x", 400, None),
        ("/api", "/other/acme/sandbox/x", 400, None),
        ("/api", "/api", 401, None),
        ("/api", "/api/", 401, None),
        ("/api", "/api//acme/sandbox/x", 400, None),
        ("", "/acme/sandbox/x", 200, "/acme/sandbox/x"),
        ("/", "/acme/sandbox/x", 200, "/acme/sandbox/x"),
    ],
    ids=[
        "prefix",
        "prefix-slash",
        "apix",
        "outside",
        "root-only",
        "root-slash",
        "double",
        "none",
        "slash",
    ],
)
def test_asgi_root_path(world: World, root: str, path: str, status: int, seen: str | None) -> None:
    caller = Caller("asgi", world.realm)
    answer = caller.call("GET", path, extra={"root_path": root})
    assert answer.status == status, answer.body
    if seen is None:
        assert not caller.called
    else:
        assert caller.last.path == seen
        assert caller.last.raw["root_path"] == root


@pytest.mark.parametrize(
    ("root", "path", "status"),
    [
        ("/api", "/api", 200),
        ("/api", "/api/x", 200),
        ("/api", "/apix", 400),
        ("/api", "/", 400),
    ],
    ids=["root-only", "under", "apix", "outside"],
)
def test_asgi_root_path_single_app(world: World, root: str, path: str, status: int) -> None:
    caller = Caller("asgi", world.realm, application="acme/sandbox")
    assert caller.call("GET", path, extra={"root_path": root}).status == status
    assert caller.called == (status == 200)


@pytest.mark.parametrize(
    ("script_name", "path_info", "status"),
    [
        ("/api", "/acme/sandbox/x", 200),
        ("/api", "x/acme/sandbox/x", 400),
        ("/api", "", 401),
        ("/api/v1", "/acme/sandbox", 200),
    ],
    ids=["mounted", "apix-split-mid-segment", "empty-path-info", "deep-mount"],
)
def test_wsgi_script_name(world: World, script_name: str, path_info: str, status: int) -> None:
    caller = Caller("wsgi", world.realm)
    answer = caller.call("GET", "/", extra={"SCRIPT_NAME": script_name, "PATH_INFO": path_info})
    assert answer.status == status, answer.body
    assert caller.called == (status == 200)
    if status == 200:
        assert caller.last.raw["SCRIPT_NAME"] == script_name
        assert caller.last.path == path_info


def test_empty_path_info_is_root(make: MakeCaller) -> None:
    sandbox = make(application="acme/sandbox")
    answer = sandbox.call("GET", "")
    assert answer.status == 200
    assert sandbox.last.path == ""
    multi = make()
    answer = multi.call("GET", "")
    assert answer.status == 401  # "/" addresses no app
    assert answer.json()["error"] == "unauthorized"


# -- case sensitivity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "path", "status"),
    [
        ({}, "/acme/vault/Books/1", 200),
        ({}, "/acme/vault/books/1", 403),  # behaviour §5.2: case-sensitive in both modes
        ({}, "/ACME/Vault/BOOKS/1", 403),
        ({"case_sensitive_paths": False}, "/acme/vault/books/1", 200),
        ({}, "/ACME/VAULT/Books/1", 200),
        ({"application": "acme/vault"}, "/Books/1", 200),
        ({"application": "acme/vault"}, "/books/1", 403),
        ({"application": "acme/vault", "case_sensitive_paths": False}, "/books/1", 200),
        ({"application": "ACME/Vault"}, "/Books/1", 200),
    ],
    ids=[
        "multi-exact",
        "multi-lower",
        "multi-upper-rest",
        "multi-insensitive-lower",
        "multi-names-still-insensitive",
        "single-exact",
        "single-lower",
        "single-insensitive-lower",
        "single-application-name-any-case",
    ],
)
def test_path_case_per_mode(
    make: MakeCaller, world: World, options: dict[str, Any], path: str, status: int
) -> None:
    caller = make(**options)
    response = caller.get(path, headers=bearer(world.token("victor")))
    assert response.status_code == status, response.text
    assert caller.called == (status == 200)
    if status == 200:
        assert caller.last.path == path


@pytest.mark.parametrize(
    ("options", "path", "status"),
    [
        ({}, "/acme/vault/users/VICTOR", 403),
        ({"case_sensitive_paths": False}, "/acme/vault/users/VICTOR", 200),
        ({}, "/acme/vault/users/me", 200),
        ({"application": "acme/vault"}, "/users/victor", 200),
        ({"application": "acme/vault"}, "/users/VICTOR", 403),
        ({"application": "acme/vault"}, "/users/Me", 403),
    ],
    ids=[
        "multi-upper",
        "multi-insensitive-upper",
        "multi-me",
        "single-exact",
        "single-upper",
        "single-me-upper",
    ],
)
def test_own_entity_follows_the_case_rule(
    make: MakeCaller, world: World, options: dict[str, Any], path: str, status: int
) -> None:
    caller = make(**options)
    assert caller.get(path, headers=bearer(world.token("victor"))).status_code == status


# -- methods ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "get", "Get", "PROPFIND", "M-SEARCH", ""])
def test_unknown_methods_are_405(caller: Caller, method: str) -> None:
    answer = caller.call(method, "/acme/sandbox/x", headers=[("Authorization", "Bearer x")])
    assert answer.status == 405
    assert answer.json()["error"] == "method_not_allowed"
    assert answer.header("allow") == [ALLOWED]
    assert answer.header("www-authenticate") == []
    assert not caller.called


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/acme/vault/Books/1", 200),
        ("HEAD", "/acme/vault/Books/1", 200),
        ("OPTIONS", "/acme/vault/Books/1", 200),
        ("POST", "/acme/vault/Books/1", 403),
        ("HEAD", "/acme/vault/secrets", 403),
        ("OPTIONS", "/acme/vault/secrets", 403),
        ("PUT", "/acme/vault/notes/1", 200),
        ("PATCH", "/acme/vault/notes/1", 200),
        ("DELETE", "/acme/vault/notes/1", 403),
        ("GET", "/acme/vault/notes/1", 403),
        ("PATCH", "/acme/vault/notes", 403),
    ],
)
def test_methods_map_to_verbs(
    caller: Caller, world: World, method: str, path: str, status: int
) -> None:
    answer = caller.call(
        method, path, headers=[("Authorization", f"Bearer {world.token('victor')}")]
    )
    assert answer.status == status, answer.body
    assert caller.called == (status == 200)


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ([("X-HTTP-Method-Override", "DELETE")], b""),
        ([("X-HTTP-Method", "DELETE")], b""),
        ([("X-Method-Override", "GET")], b""),
        ([], b"_method=DELETE"),
        ([], b"a=1&%5Fmethod=PUT"),
        ([], b"_method="),
    ],
    ids=[
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "param",
        "encoded-param",
        "empty-param",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_method_overrides_are_400(
    caller: Caller, method: str, headers: list[tuple[str, str]], query: bytes
) -> None:
    answer = caller.call(method, "/acme/sandbox/x", headers=headers, query=query)
    assert_bad_request(answer, caller)
    assert answer.header("www-authenticate") == [
        'Bearer realm="acme/sandbox", error="invalid_request"'
    ]


# -- CORS preflight ---------------------------------------------------------------------------

PREFLIGHT = [("Origin", "https://a.example"), ("Access-Control-Request-Method", "DELETE")]


def test_preflight_passes_through_when_on(make: MakeCaller) -> None:
    caller = make(cors_preflight=True)
    answer = caller.call("OPTIONS", "/acme/vault/secrets", headers=PREFLIGHT)
    assert answer.status == 200
    assert caller.last.principal is None
    if caller.adapter == "asgi":
        assert "user" not in caller.last.raw


@pytest.mark.parametrize(
    ("method", "headers"),
    [("OPTIONS", PREFLIGHT[:1]), ("OPTIONS", PREFLIGHT[1:]), ("GET", PREFLIGHT)],
    ids=["no-request-method", "no-origin", "not-options"],
)
def test_not_a_preflight_is_authorized(
    make: MakeCaller, method: str, headers: list[tuple[str, str]]
) -> None:
    caller = make(cors_preflight=True)
    answer = caller.call(method, "/acme/vault/secrets", headers=headers)
    assert answer.status == 401
    assert not caller.called


def test_preflight_is_authorized_when_off(caller: Caller) -> None:
    answer = caller.call("OPTIONS", "/acme/vault/secrets", headers=PREFLIGHT)
    assert answer.status == 401
    assert answer.header("www-authenticate") == ['Bearer realm="acme/vault"']
    assert not caller.called


def test_preflight_still_gets_path_and_override_checks(make: MakeCaller) -> None:
    caller = make(cors_preflight=True)
    assert_bad_request(caller.call("OPTIONS", "/acme/vault/../x", headers=PREFLIGHT), caller)
    headers = [*PREFLIGHT, ("X-HTTP-Method-Override", "DELETE")]
    assert_bad_request(caller.call("OPTIONS", "/acme/vault/x", headers=headers), caller)


@pytest.mark.parametrize("middleware", [WsgiAuth, AsgiAuth], ids=["wsgi", "asgi"])
@pytest.mark.parametrize("option", ["cors_preflight", "usergrid_status_codes"])
def test_strict_excludes_lenient_options(world: World, middleware: Any, option: str) -> None:
    with pytest.raises(ConfigError):
        middleware(lambda *a: None, world.realm, strict=True, **{option: True})
