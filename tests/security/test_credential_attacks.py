"""Credential conflicts, header smuggling, query tricks (behaviour §2): refused, never guessed."""

from __future__ import annotations

import base64
import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baas_auth.core.credentials import (
    check_method_override,
    extract_credential,
    scrub_query,
)
from baas_auth.core.http import RequestInfo
from baas_auth.errors import AuthenticationError, BadRequestError

SECRET = "S3CRETvalue"
TOKEN = "T0KENvalue"


def request(query: bytes = b"", *headers: tuple[str, str]) -> RequestInfo:
    return RequestInfo(method="GET", path="/", query_string=query, headers=headers)


def auth(value: str) -> tuple[str, str]:
    return ("authorization", value)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


BEARER = auth(f"Bearer {TOKEN}")
BASIC = auth("Basic " + b64(f"id:{SECRET}".encode()))
Q_TOKEN = f"access_token={TOKEN}".encode()
Q_CLIENT = f"client_id=id&client_secret={SECRET}".encode()

BAD_REQUESTS: list[tuple[bytes, tuple[tuple[str, str], ...], str]] = [
    # conflicts between methods
    (Q_TOKEN, (BEARER,), "header-and-query-token"),
    (Q_TOKEN, (BASIC,), "basic-and-query-token"),
    (Q_CLIENT, (BEARER,), "bearer-and-query-client"),
    (Q_CLIENT, (BASIC,), "basic-and-query-client"),
    (Q_TOKEN + b"&" + Q_CLIENT, (), "query-token-and-query-client"),
    (b"access%5Ftoken=" + TOKEN.encode(), (BEARER,), "encoded-name-and-header"),
    (b"", (BEARER, BEARER), "two-authorization-headers"),
    (b"", (BEARER, BASIC), "bearer-and-basic-headers"),
    (b"", (BEARER, auth("")), "second-header-empty"),
    # repeated, partial or empty parameters
    (Q_TOKEN + b"&" + Q_TOKEN, (), "two-access-tokens"),
    (Q_TOKEN + b"&access%5Ftoken=x", (), "two-access-tokens-one-encoded"),
    (b"client_id=id", (), "client-id-alone"),
    (f"client_secret={SECRET}".encode(), (), "client-secret-alone"),
    (Q_CLIENT + b"&client_id=other", (), "duplicate-client-id"),
    (Q_CLIENT + f"&client_secret={SECRET}".encode(), (), "duplicate-client-secret"),
    (b"access_token=", (), "empty-token"),
    (b"access_token", (), "valueless-token"),
    (b"client_id=&client_secret=" + SECRET.encode(), (), "empty-client-id"),
    (b"client_id=id&client_secret=", (), "empty-client-secret"),
    (b"access_token=&" + Q_CLIENT, (), "empty-token-with-client"),
    # malformed Authorization
    (b"", (auth(""),), "empty-header"),
    (b"", (auth("Bearer"),), "bare-bearer"),
    (b"", (auth("Bearer "),), "nothing-after-scheme"),
    (b"", (auth(f"Bearer  {TOKEN}"),), "two-spaces"),
    (b"", (auth(f"Bearer\t{TOKEN}"),), "tab"),
    (b"", (auth(f"Bearer {TOKEN} y"),), "two-tokens"),
    (b"", (auth(f"Bearer {TOKEN} "),), "trailing-space"),
    (b"", (auth(f" Bearer {TOKEN}"),), "leading-space"),
    (b"", (auth(f"Bearer {TOKEN}\n"),), "trailing-newline"),
    (b"", (auth(f"Bearer {TOKEN}\r\nX-Evil: 1"),), "crlf-injection"),
    (b"", (auth(f"Bearer {TOKEN}, Basic x"),), "two-schemes-one-header"),
    (b"", (auth("Bearer t\u00e9ken"),), "unicode-in-token"),
    (b"", (auth("Bearer t%6Fken"),), "percent-in-token"),
    (b"", (auth("Bearer =abc"),), "padding-first"),
    (b"", (auth("Bearer ab=c"),), "padding-inside"),
    (b"", (auth('Bearer "abc"'),), "quoted-token"),
    (b"", (auth("Basic"),), "bare-basic"),
    (b"", (auth("Basic !!!!"),), "basic-not-base64"),
    (b"", (auth("Basic aWQ6c2VjcmV0"[:-1]),), "basic-bad-padding"),
    (b"", (auth("Basic aWQ6-2VjcmV0"),), "basic-urlsafe-alphabet"),
    (b"", (auth("Basic " + b64(b"idsecret")),), "basic-without-colon"),
    (b"", (auth("Basic " + b64(b":" + SECRET.encode())),), "basic-empty-id"),
    (b"", (auth("Basic " + b64(b"id:")),), "basic-empty-secret"),
    (b"", (auth("Basic " + b64(b":")),), "basic-only-colon"),
    (b"", (auth("Basic " + b64(b"")),), "basic-empty-payload"),
    (b"", (auth("Basic " + b64(b"id:\xff" + SECRET.encode())),), "basic-invalid-utf8"),
    (b"", (auth("(Bearer) " + TOKEN),), "scheme-not-a-token"),
]


@pytest.mark.parametrize(
    ("query", "headers"),
    [(q, h) for q, h, _ in BAD_REQUESTS],
    ids=[i for _, _, i in BAD_REQUESTS],
)
def test_refused_with_400(query: bytes, headers: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(BadRequestError) as info:
        extract_credential(request(query, *headers))
    assert type(info.value) is BadRequestError
    assert info.value.status_code == 400
    assert info.value.error == "invalid_request"
    assert info.value.challenge_error == "invalid_request"
    assert SECRET not in str(info.value)
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        f'Digest username="id", response="{SECRET}"',
        f"Token {TOKEN}",
        f"Negotiate {TOKEN}",
        "Negotiate",
        f'OAuth oauth_token="{TOKEN}"',
        f"Bearerx {TOKEN}",
        f"AWS4-HMAC-SHA256 Credential={SECRET}",
    ],
    ids=["digest", "token", "negotiate", "bare-negotiate", "oauth1", "bearer-prefix", "aws"],
)
def test_unsupported_scheme_is_401_without_challenge_error(value: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        extract_credential(request(b"", auth(value)))
    assert type(info.value) is AuthenticationError
    assert info.value.status_code == 401
    assert info.value.challenge_error is None
    assert SECRET not in str(info.value)
    assert TOKEN not in str(info.value)


QUERY_CREDENTIALS = [
    (Q_TOKEN, "access-token"),
    (Q_CLIENT, "client-pair"),
    (b"client_id=id", "client-id-alone"),
    (b"client_secret=x", "client-secret-alone"),
    (b"access%5Ftoken=x", "encoded-name"),
    (b"access_token=", "blank"),
    (b"access_token", "valueless"),
]


@pytest.mark.parametrize(
    "query", [q for q, _ in QUERY_CREDENTIALS], ids=[i for _, i in QUERY_CREDENTIALS]
)
@pytest.mark.parametrize("headers", [(), (BEARER,)], ids=["no-header", "with-header"])
def test_query_credentials_refused_when_not_allowed(
    query: bytes, headers: tuple[tuple[str, str], ...]
) -> None:
    with pytest.raises(BadRequestError):
        extract_credential(request(query, *headers), allow_query=False)


OVERRIDES = [
    (b"", (("x-http-method-override", "DELETE"),), "x-http-method-override"),
    (b"", (("x-http-method", "DELETE"),), "x-http-method"),
    (b"", (("x-method-override", "DELETE"),), "x-method-override"),
    (b"", (("x-http-method-override", "GET"),), "override-to-same-verb"),
    (b"_method=DELETE", (), "query-param"),
    (b"a=1&_method", (), "valueless-param"),
    (b"%5Fmethod=PUT", (), "encoded-param"),
]


@pytest.mark.parametrize(
    ("query", "headers"), [(q, h) for q, h, _ in OVERRIDES], ids=[i for _, _, i in OVERRIDES]
)
def test_method_override_is_400(query: bytes, headers: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(BadRequestError):
        check_method_override(request(query, *headers))


# Hypothesis: random queries mixing credential names (plain and percent-encoded) with others.

_CREDENTIAL_NAMES = st.sampled_from(
    [
        b"access_token",
        b"client_id",
        b"client_secret",
        b"access%5Ftoken",
        b"access%5ftoken",
        b"%61ccess_token",
        b"client%5Fid",
        b"%63lient_secret",
    ]
)
_SAFE = st.binary(max_size=8).filter(lambda b: b"&" not in b and b"=" not in b)
_OTHER_NAMES = _SAFE.filter(
    lambda b: (
        b.replace(b"+", b" ") not in (b"access_token", b"client_id", b"client_secret")
        and b"%" not in b
    )
)


def _part(name: bytes, value: bytes, with_equals: bool) -> bytes:
    return name + b"=" + value if with_equals else name


@st.composite
def mixed_queries(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A query and the non-credential parts it must keep, in order."""
    parts: list[bytes] = []
    kept: list[bytes] = []
    for _ in range(draw(st.integers(0, 8))):
        is_credential = draw(st.booleans())
        name = draw(_CREDENTIAL_NAMES if is_credential else _OTHER_NAMES)
        part = _part(name, draw(_SAFE), draw(st.booleans()))
        parts.append(part)
        if not is_credential:
            kept.append(part)
    return b"&".join(parts), kept


@given(mixed_queries())
def test_scrub_query_keeps_others_byte_identical(case: tuple[bytes, list[bytes]]) -> None:
    query, kept = case
    scrubbed = scrub_query(query)
    assert scrubbed == b"&".join(kept) or (scrubbed is query and query == b"&".join(kept))
    for part in scrubbed.split(b"&"):
        name = part.partition(b"=")[0]
        assert not re.fullmatch(rb"access_token|client_id|client_secret", name)
        assert b"%" not in name


@given(st.binary(max_size=60))
def test_scrub_query_is_idempotent_and_total(query: bytes) -> None:
    once = scrub_query(query)
    assert scrub_query(once) == once


_LATIN1 = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=40)
_HEADER_VALUES = st.one_of(
    _LATIN1,
    st.builds(lambda s, rest: s + rest, st.sampled_from(["Bearer ", "Basic ", "bearer"]), _LATIN1),
    st.builds(lambda raw: "Basic " + b64(raw), st.binary(max_size=30)),
)


@given(
    st.lists(_HEADER_VALUES, max_size=3),
    st.binary(max_size=40),
    st.booleans(),
)
def test_extract_credential_raises_only_auth_errors(
    values: list[str], query: bytes, allow_query: bool
) -> None:
    req = request(query, *[("authorization", v) for v in values])
    with contextlib.suppress(BadRequestError, AuthenticationError):
        extract_credential(req, allow_query=allow_query)
