"""Route-path decoding, root_path removal, canonical checks (behaviour §5.2): accepting side."""

from __future__ import annotations

import pytest

from baas_auth.core.paths import (
    check_raw_path,
    check_route_path,
    split_segments,
    strip_root_path,
    wsgi_route_path,
)
from baas_auth.errors import BadRequestError


def _latin1(text: str) -> str:
    """What a PEP 3333 server puts in PATH_INFO for the UTF-8 path ``text``."""
    return text.encode("utf-8").decode("latin-1")


@pytest.mark.parametrize(
    ("path_info", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("/users/alice", "/users/alice"),
        (_latin1("/caf\u00e9"), "/caf\u00e9"),
        (_latin1("/\u65e5\u672c"), "/\u65e5\u672c"),
        (_latin1("/emoji/\U0001f600"), "/emoji/\U0001f600"),
        ("/already/\u65e5", "/already/\u65e5"),  # not a latin-1 string: taken as decoded
    ],
    ids=["empty", "root", "ascii", "latin-1-e-acute", "cjk", "astral", "already-decoded"],
)
def test_wsgi_route_path_decodes_utf8(path_info: str, expected: str) -> None:
    assert wsgi_route_path(path_info) == expected


def test_wsgi_route_path_returns_ascii_input_itself() -> None:
    path = "/books/1"
    assert wsgi_route_path(path) is path


def test_wsgi_route_path_refuses_invalid_utf8_without_echoing() -> None:
    with pytest.raises(BadRequestError) as info:
        wsgi_route_path("/secret-\xff")
    assert info.value.status_code == 400
    assert info.value.error == "invalid_request"
    assert "secret" not in info.value.error_description


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        ("/api/x", "/api", "/x"),
        ("/api", "/api", "/"),
        ("/api/", "/api", "/"),
        ("/a/b/c", "/a/b", "/c"),
        ("/x", "", "/x"),
        ("/x", "/", "/x"),
        ("", "", "/"),
        ("/", "", "/"),
        ("/api/api/x", "/api", "/api/x"),
    ],
    ids=[
        "prefix",
        "exact",
        "exact-trailing-slash",
        "two-segment-root",
        "empty-root",
        "slash-root",
        "empty-everything",
        "root-only",
        "repeated-prefix-removed-once",
    ],
)
def test_strip_root_path(path: str, root_path: str, expected: str) -> None:
    assert strip_root_path(path, root_path) == expected


@pytest.mark.parametrize(
    ("path", "root_path"),
    [("/apix", "/api"), ("/other", "/api"), ("/ap", "/api"), ("/", "/api"), ("", "/api")],
    ids=["no-segment-boundary", "elsewhere", "shorter", "root", "empty"],
)
def test_strip_root_path_refuses_paths_outside_root(path: str, root_path: str) -> None:
    with pytest.raises(BadRequestError, match="root path"):
        strip_root_path(path, root_path)


@pytest.mark.parametrize(
    ("path", "root_path"),
    [("/api/x/y", "/api/"), ("/api", "/api/"), ("/api/", "/api/"), ("/a/b/", "/a/b/")],
    ids=["under", "exact-without-slash", "exact", "two-segments"],
)
def test_root_path_with_a_trailing_slash_is_refused(path: str, root_path: str) -> None:
    """behaviour §5.2: Starlette routes /api/x/y whole under root_path /api/ (its
    get_route_path strips only on a '/' after the root), Django routes 'x/y': refuse."""
    with pytest.raises(BadRequestError, match="trailing slash"):
        strip_root_path(path, root_path)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/users",
        "/users/alice",
        "/users/me/activities",
        "/files/report.json",
        "/a/.well-known",
        "/a/...",
        "/a/..b",
        "/a/b.",
        "/a b",
        "/caf\u00e9",
        "/\u65e5\u672c/\U0001f600",
        "/a+b",
        "/~user",
        "/a:b@c",
    ],
    ids=[
        "root",
        "one-segment",
        "two-segments",
        "me",
        "dot-in-name",
        "dot-prefix-name",
        "three-dots",
        "dotdot-prefix-name",
        "dot-suffix-name",
        "space",
        "latin-1",
        "cjk-and-astral",
        "plus",
        "tilde",
        "colon-and-at",
    ],
)
def test_check_route_path_accepts_canonical_paths(path: str) -> None:
    check_route_path(path)


def test_trailing_slash_is_refused_by_default() -> None:
    with pytest.raises(BadRequestError, match="empty segment"):
        check_route_path("/users/")


@pytest.mark.parametrize("path", ["/", "/users/", "/users/alice/"], ids=["root", "one", "two"])
def test_trailing_slash_accepted_on_request(path: str) -> None:
    check_route_path(path, allow_trailing_slash=True)


@pytest.mark.parametrize(
    "path",
    ["//", "/users//", "/a//b/", "/../", "/a/./", "/a/../"],
    ids=["double-root", "double-end", "inner-empty", "dotdot", "dot", "dotdot-end"],
)
def test_allow_trailing_slash_still_refuses_bad_segments(path: str) -> None:
    with pytest.raises(BadRequestError):
        check_route_path(path, allow_trailing_slash=True)


@pytest.mark.parametrize(
    "raw",
    [
        b"/",
        b"/users/alice",
        b"/caf%C3%A9",
        b"/a%20b",
        b"/a%2Db",
        b"/users?access_token=a%2Fb%2e%25",
        b"http://example.com/users",
        b"HTTPS://example.com:8443/users?q=%2f",
        b"http://example.com",
        b"*",
        b"",
    ],
    ids=[
        "root",
        "plain",
        "encoded-utf8",
        "encoded-space",
        "encoded-hyphen",
        "query-not-checked",
        "absolute-form",
        "absolute-form-upper-scheme-port",
        "absolute-form-no-path",
        "asterisk-form",
        "empty",
    ],
)
def test_check_raw_path_accepts(raw: bytes) -> None:
    check_raw_path(raw)


@pytest.mark.parametrize(
    ("path", "segments"),
    [("/", []), ("/a", ["a"]), ("/a/b", ["a", "b"]), ("/a/", ["a", ""])],
    ids=["root", "one", "two", "trailing-slash"],
)
def test_split_segments(path: str, segments: list[str]) -> None:
    assert split_segments(path) == segments
