"""Path-matching bypass attempts (behaviour §5.2): each refused with 400, never normalised."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baas_auth.core.paths import (
    check_raw_path,
    check_route_path,
    strip_root_path,
    wsgi_route_path,
)
from baas_auth.errors import BadRequestError

ROUTE_PATH_ATTACKS = [
    ("/users/../admin", "dotdot-segment"),
    ("/..", "dotdot-alone"),
    ("/users/..", "dotdot-last"),
    ("/./admin", "dot-segment"),
    ("/admin/.", "dot-last"),
    ("/users/%2e%2e/admin", "decoded-percent-dot-left-in"),
    ("/users%2fadmin", "percent-slash-left-in"),
    ("/users/%252fadmin", "double-encoded-slash"),
    ("/admin;jsessionid=abc", "semicolon-jsessionid"),
    ("/admin;/x", "semicolon-segment"),
    ("/users\\..\\admin", "backslash-traversal"),
    ("/admin\\", "backslash-end"),
    ("/admin#frag", "hash"),
    ("/admin?x=1", "question-mark"),
    ("//admin", "double-slash-start"),
    ("/users//admin", "double-slash-inner"),
    ("/users/", "trailing-slash"),
    ("/admin\x00.json", "nul"),
    ("/admin\n", "newline"),
    ("/admin\r\nX-Injected: 1", "crlf"),
    ("/admin\t", "tab"),
    ("/admin\x7f", "del"),
    ("/admin\x85", "c1-nel"),
    ("/admin\x9f", "c1-last"),
    ("/admin\udcc0\udcae", "surrogate-escaped-bytes"),
    ("admin", "relative"),
    ("", "empty"),
    ("*", "asterisk-form"),
    ("http://evil/admin", "absolute-url"),
]


@pytest.mark.parametrize(
    "path", [p for p, _ in ROUTE_PATH_ATTACKS], ids=[i for _, i in ROUTE_PATH_ATTACKS]
)
def test_route_path_attacks_are_refused(path: str) -> None:
    with pytest.raises(BadRequestError) as info:
        check_route_path(path)
    assert info.value.status_code == 400
    assert info.value.error == "invalid_request"


RAW_PATH_ATTACKS = [
    (b"/users/%2e%2e/admin", "encoded-dotdot-lower"),
    (b"/users/%2E%2E/admin", "encoded-dotdot-upper"),
    (b"/users/.%2e/admin", "half-encoded-dotdot"),
    (b"/users%2fadmin", "encoded-slash-lower"),
    (b"/users%2Fadmin", "encoded-slash-upper"),
    (b"/users%252fadmin", "double-encoded-slash"),
    (b"/users%25252fadmin", "triple-encoded-slash"),
    (b"/users%5c..%5cadmin", "encoded-backslash-lower"),
    (b"/users%5C..%5Cadmin", "encoded-backslash-upper"),
    (b"/admin%3bjsessionid=x", "encoded-semicolon-lower"),
    (b"/admin%3Bjsessionid=x", "encoded-semicolon-upper"),
    (b"/admin%23frag", "encoded-hash"),
    (b"/admin%3fx=1", "encoded-question-lower"),
    (b"/admin%3Fx=1", "encoded-question-upper"),
    (b"/admin%00.json", "encoded-nul"),
    (b"/admin\x00", "raw-nul"),
    (b"/admin\r\n", "raw-crlf"),
    (b"/admin\t", "raw-tab"),
    (b"/admin\x7f", "raw-del"),
    (b"http://example.com/users%2fadmin", "absolute-form-encoded-slash"),
    (b"https://example.com/%2e%2e/admin?q=1", "absolute-form-encoded-dot"),
    (b"/users%2fadmin?x=%2f", "attack-before-query"),
]


@pytest.mark.parametrize(
    "raw", [r for r, _ in RAW_PATH_ATTACKS], ids=[i for _, i in RAW_PATH_ATTACKS]
)
def test_raw_path_attacks_are_refused(raw: bytes) -> None:
    with pytest.raises(BadRequestError) as info:
        check_raw_path(raw)
    assert b"admin" not in info.value.error_description.encode()


INVALID_UTF8 = [
    (b"/\xc0\xaf", "overlong-slash"),
    (b"/\xc0\xae\xc0\xae/admin", "overlong-dots"),
    (b"/\xe0\x80\xaf", "three-byte-overlong-slash"),
    (b"/\xed\xa0\x80", "encoded-surrogate"),
    (b"/\xff", "invalid-start-byte"),
    (b"/\xc3", "truncated-sequence"),
    (b"/\xf4\x90\x80\x80", "beyond-u10ffff"),
]


@pytest.mark.parametrize("raw", [r for r, _ in INVALID_UTF8], ids=[i for _, i in INVALID_UTF8])
def test_invalid_utf8_in_path_info_is_refused(raw: bytes) -> None:
    with pytest.raises(BadRequestError, match="UTF-8"):
        wsgi_route_path(raw.decode("latin-1"))


ROOT_PATH_TRICKS = [
    ("/apix/admin", "/api", "no-segment-boundary"),
    ("/api-admin", "/api", "hyphen-suffix"),
    ("/API/x", "/api", "case-differs"),
    ("/ap/x", "/api", "prefix-of-root"),
    ("/x/api/y", "/api", "root-not-at-start"),
    ("api/x", "/api", "relative-path"),
]


@pytest.mark.parametrize(
    ("path", "root_path"),
    [(p, r) for p, r, _ in ROOT_PATH_TRICKS],
    ids=[i for _, _, i in ROOT_PATH_TRICKS],
)
def test_root_path_boundary_tricks_are_refused(path: str, root_path: str) -> None:
    with pytest.raises(BadRequestError):
        strip_root_path(path, root_path)


def test_root_path_removal_leaves_later_checks_in_force() -> None:
    # /api//admin strips to //admin, which the route-path check then refuses.
    with pytest.raises(BadRequestError):
        check_route_path(strip_root_path("/api//admin", "/api"))


_SEGMENT = st.one_of(
    st.sampled_from(["", ".", "..", "...", "a", "users", "me", ".x", "x.", "./", "../", "/"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=6),
)


def _is_canonical(path: str, trailing_ok: bool) -> bool:
    """A slow, obvious oracle for check_route_path."""
    if not path.startswith("/") or any(c in path for c in ";\\#?%"):
        return False
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in path):
        return False
    if path == "/":
        return True
    segments = path[1:].split("/")
    if trailing_ok and len(segments) > 1 and segments[-1] == "":
        segments.pop()
    return all(s not in ("", ".", "..") for s in segments)


@given(st.lists(_SEGMENT, min_size=1, max_size=6), st.booleans())
def test_check_route_path_agrees_with_segment_oracle(
    segments: list[str], trailing_ok: bool
) -> None:
    path = "/" + "/".join(segments)
    try:
        check_route_path(path, allow_trailing_slash=trailing_ok)
    except BadRequestError:
        assert not _is_canonical(path, trailing_ok)
    else:
        assert _is_canonical(path, trailing_ok)
        if path != "/":
            assert all(s not in (".", "..") for s in path[1:].split("/"))


@given(st.text(max_size=30))
def test_check_route_path_raises_only_bad_request(path: str) -> None:
    with contextlib.suppress(BadRequestError):
        check_route_path(path)


@given(st.binary(max_size=40))
def test_raw_path_and_wsgi_decoding_raise_only_bad_request(raw: bytes) -> None:
    with contextlib.suppress(BadRequestError):
        check_raw_path(raw)
    with contextlib.suppress(BadRequestError):
        wsgi_route_path(raw.decode("latin-1"))
