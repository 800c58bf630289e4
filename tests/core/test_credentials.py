"""Credential extraction, query scrubbing, method checks (behaviour §2, §5.1): accepting side."""

from __future__ import annotations

import base64

import pytest

from baas_auth.core.credentials import (
    BearerToken,
    ClientSecretPair,
    check_method,
    check_method_override,
    extract_credential,
    has_query_credentials,
    parse_query,
    scrub_query,
)
from baas_auth.core.http import RequestInfo
from baas_auth.errors import MethodNotAllowedError


def request(query: bytes = b"", *headers: tuple[str, str], method: str = "GET") -> RequestInfo:
    return RequestInfo(method=method, path="/", query_string=query, headers=headers)


def basic(text: str) -> tuple[str, str]:
    return ("authorization", "Basic " + base64.b64encode(text.encode()).decode())


def test_no_credentials_is_none() -> None:
    assert extract_credential(request()) is None
    assert extract_credential(request(b"limit=10&q=%2F", ("accept", "*/*"))) is None


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("bEaReR abc", "abc"),
        ("Bearer YWJj.ZGVm-_~+/==", "YWJj.ZGVm-_~+/=="),
        ("Bearer a=", "a="),
    ],
    ids=["canonical", "lower", "upper", "mixed", "all-token68-chars", "padding"],
)
def test_bearer_header(header: str, token: str) -> None:
    found = extract_credential(request(b"", ("authorization", header)))
    assert found == BearerToken(token, "header")


@pytest.mark.parametrize(
    ("query", "token"),
    [
        (b"access_token=abc", "abc"),
        (b"x=1&access_token=abc&y=2", "abc"),
        (b"access%5Ftoken=abc", "abc"),
        (b"%61ccess_token=abc", "abc"),
        (b"access_token=a%2Bb", "a+b"),
    ],
    ids=["alone", "among-others", "encoded-underscore", "encoded-letter", "encoded-value"],
)
def test_query_token(query: bytes, token: str) -> None:
    assert extract_credential(request(query)) == BearerToken(token, "query")


def test_query_client_credentials() -> None:
    found = extract_credential(request(b"client_secret=s3cr%2Bt&x=1&client_id=YXA6abc"))
    assert found == ClientSecretPair("YXA6abc", "s3cr+t", "query")


@pytest.mark.parametrize(
    ("text", "client_id", "secret"),
    [
        ("id:secret", "id", "secret"),
        ("YXA6abc:b3U6x-y_z", "YXA6abc", "b3U6x-y_z"),
        ("id:sec:ret", "id", "sec:ret"),
        ("\u00e9t\u00e9:\u65e5", "\u00e9t\u00e9", "\u65e5"),
    ],
    ids=["plain", "usergrid-like", "colon-in-secret", "utf8"],
)
def test_basic_header(text: str, client_id: str, secret: str) -> None:
    found = extract_credential(request(b"", basic(text)))
    assert found == ClientSecretPair(client_id, secret, "basic")


def test_lowercase_basic_scheme() -> None:
    header = ("authorization", "basic " + base64.b64encode(b"id:secret").decode())
    assert extract_credential(request(b"", header)) == ClientSecretPair("id", "secret", "basic")


def test_header_credentials_with_harmless_query() -> None:
    found = extract_credential(request(b"ql=select%20*", ("authorization", "Bearer t")))
    assert found == BearerToken("t", "header")


def test_allow_query_false_still_takes_the_header() -> None:
    found = extract_credential(request(b"a=1", ("authorization", "Bearer t")), allow_query=False)
    assert found == BearerToken("t", "header")


def test_reprs_hide_secrets() -> None:
    assert "tok-123" not in repr(BearerToken("tok-123", "header"))
    pair = ClientSecretPair("the-id", "sec-456", "basic")
    assert "sec-456" not in repr(pair)
    assert "the-id" in repr(pair)


@pytest.mark.parametrize(
    ("query", "pairs"),
    [
        (b"", []),
        (b"a=1", [("a", "1")]),
        (b"a=1&b=2&a=3", [("a", "1"), ("b", "2"), ("a", "3")]),
        (b"a=&b", [("a", ""), ("b", "")]),
        (b"a=1&&b=2", [("a", "1"), ("b", "2")]),
        (b"q=a+b%20c", [("q", "a b c")]),
        (b"x%5Fy=%E6%97%A5", [("x_y", "\u65e5")]),
        (b"a=b=c", [("a", "b=c")]),
        (b"a=%ff", [("a", "\ufffd")]),
        (b"a=1;b=2", [("a", "1;b=2")]),
    ],
    ids=[
        "empty",
        "one",
        "order-and-repeats",
        "blank-values",
        "empty-part",
        "plus-and-space",
        "utf8",
        "first-equals",
        "invalid-utf8-replaced",
        "semicolon-is-not-a-separator",
    ],
)
def test_parse_query(query: bytes, pairs: list[tuple[str, str]]) -> None:
    assert parse_query(query) == pairs


@pytest.mark.parametrize(
    ("query", "scrubbed"),
    [
        (b"access_token=t", b""),
        (b"a=1&access_token=t&b=%2F", b"a=1&b=%2F"),
        (b"client_id=i&client_secret=s&q=x", b"q=x"),
        (b"access%5Ftoken=t&q=a+b", b"q=a+b"),
        (b"q=1&client%5fsecret=s&client_id", b"q=1"),
        (b"a=1&&access_token=t&b", b"a=1&&b"),
        (b"access_token=1&access_token=2&z", b"z"),
    ],
    ids=[
        "only-token",
        "middle",
        "client-pair",
        "encoded-name",
        "encoded-and-valueless",
        "empty-part-kept",
        "repeated",
    ],
)
def test_scrub_query_removes_credentials(query: bytes, scrubbed: bytes) -> None:
    assert scrub_query(query) == scrubbed


@pytest.mark.parametrize(
    "query",
    [b"", b"a=1&b=2", b"q=%2F%25", b"x=access_token", b"my_access_token=1", b"a=1&&b"],
    ids=["empty", "plain", "percent", "name-as-value", "longer-name", "empty-part"],
)
def test_scrub_query_returns_the_same_object_when_nothing_is_removed(query: bytes) -> None:
    assert scrub_query(query) is query
    assert not has_query_credentials(query)


@pytest.mark.parametrize(
    "query",
    [b"access_token=", b"client_id=x", b"q=1&client%5Fsecret=y", b"%61ccess_token"],
    ids=["blank-token", "id-alone", "encoded-secret", "encoded-no-value"],
)
def test_has_query_credentials(query: bytes) -> None:
    assert has_query_credentials(query)


@pytest.mark.parametrize(
    ("method", "verb"),
    [
        ("GET", "get"),
        ("HEAD", "get"),
        ("OPTIONS", "get"),
        ("PUT", "put"),
        ("POST", "post"),
        ("DELETE", "delete"),
        ("PATCH", "patch"),
    ],
    ids=["get", "head", "options", "put", "post", "delete", "patch"],
)
def test_check_method(method: str, verb: str) -> None:
    assert check_method(method) == verb


@pytest.mark.parametrize(
    "method",
    ["get", "Get", "TRACE", "CONNECT", "PROPFIND", "", "GET "],
    ids=["lower", "capitalised", "trace", "connect", "webdav", "empty", "trailing-space"],
)
def test_check_method_refuses_others(method: str) -> None:
    with pytest.raises(MethodNotAllowedError) as info:
        check_method(method)
    assert info.value.status_code == 405
    assert info.value.error == "method_not_allowed"


def test_check_method_override_accepts_plain_requests() -> None:
    check_method_override(request(b"method=x&a_method=y&q=%2F", ("x-method", "DELETE")))
