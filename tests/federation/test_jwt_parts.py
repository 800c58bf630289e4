"""The compact-form parser: strict on form, and nothing but ``MalformedTokenError`` (or an
``InvalidTokenError`` from the verifier) comes out of it, whatever the input."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.core.jwk import parse_jwks
from baas_auth.core.jwt_parts import MAX_TOKEN_CHARS, parse_compact, peek_issuer
from baas_auth.core.jwt_tokens import verify_provider_token
from baas_auth.errors import InvalidTokenError, MalformedTokenError
from tests.federation.kit import (
    AUDIENCE,
    ISSUER,
    NOW,
    b64,
    claims,
    ec_key,
    jwks,
    rsa_key,
    sign,
)

RSA = rsa_key()
EC = ec_key()
PROVIDER = IdentityProvider(issuer=ISSUER, audience=AUDIENCE, jwks=jwks(RSA, EC),
                            roles_claim="roles", groups_claim="a.b")
KEYS = parse_jwks(PROVIDER.jwks, PROVIDER.algorithms)
HEADER = b64(b'{"alg":"RS256","kid":"rsa-1"}')


def _token(header: bytes, payload: bytes, signature: bytes = b"sig") -> str:
    return f"{b64(header)}.{b64(payload)}.{b64(signature)}"


def test_a_good_token_comes_apart():
    token = sign(RSA, "RS256")
    parts = parse_compact(token)
    assert parts.header["alg"] == "RS256"
    assert parts.claims["iss"] == ISSUER
    assert parts.signing_input == token.rsplit(".", 1)[0].encode()
    assert peek_issuer(token) == ISSUER


@pytest.mark.parametrize(
    "payload",
    [
        b'{"sub": "alice", "sub": "mallory"}',  # two parsers could keep different ones
        b'{"exp": NaN}',
        b'{"exp": Infinity}',
        b'{"exp": -Infinity}',
        b"[1, 2]",
        b'"text"',
        b"\xff\xfe{}",
        b"{" * 5000 + b"}" * 5000,
    ],
)
def test_payloads_that_are_not_plain_json_objects_are_malformed(payload: bytes):
    with pytest.raises(MalformedTokenError):
        parse_compact(_token(b'{"alg":"RS256"}', payload))
    assert peek_issuer(_token(b'{"alg":"RS256"}', payload)) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "..",
        "a.b",
        "a.b.c.d",
        f"{HEADER}.e30.",  # empty signature
        f"{HEADER}.e30=.c2ln",  # padding
        f"{HEADER}.e30.c2l+",  # the base64 alphabet, not base64url
        f"{HEADER}.e30.a",  # 4n+1 characters cannot be base64
        f"{HEADER}.é30.c2ln",
        f" {HEADER}.e30.c2ln",
    ],
)
def test_malformed_forms(token: str):
    with pytest.raises(MalformedTokenError):
        parse_compact(token)


def test_an_unpadded_segment_of_4n_plus_2_or_3_characters_decodes():
    assert parse_compact(f"{HEADER}.e30.c2ln").signature == b"sig"
    assert parse_compact(f"{HEADER}.e30.c2k").signature == b"si"


def test_size_is_bounded_before_anything_is_decoded():
    token = sign(RSA, "RS256", claims(pad="x" * (MAX_TOKEN_CHARS * 3 // 4 - 700)))
    assert len(token) <= MAX_TOKEN_CHARS
    parse_compact(token)
    with pytest.raises(MalformedTokenError):
        parse_compact(token + "A" * (MAX_TOKEN_CHARS - len(token) + 1))


@pytest.mark.parametrize("value", [None, 42, b"a.b.c", ["a", "b", "c"]])
def test_non_text_is_malformed(value: object):
    with pytest.raises(MalformedTokenError):
        parse_compact(value)
    assert peek_issuer(value) is None


def test_peek_issuer_answers_only_strings():
    assert peek_issuer(_token(b"{}", json.dumps({"iss": 5}).encode())) is None
    assert peek_issuer(_token(b"{}", b"{}")) is None


@given(st.text(max_size=300))
def test_any_text_parses_or_is_malformed(text: str):
    with contextlib.suppress(MalformedTokenError):
        parse_compact(text)


_segment = st.one_of(
    st.binary(max_size=120).map(lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()),
    st.text(alphabet="ABCxyz019-_=+/.", max_size=40),
)
_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                   max_size=4),
    max_leaves=12,
)
_json_segment = st.dictionaries(
    st.sampled_from(["alg", "kid", "typ", "crit", "jku", "iss", "aud", "exp", "nbf", "iat",
                     "sub", "x"]),
    _json_value,
    max_size=8,
).map(lambda members: b64(json.dumps(members).encode()))


@given(st.lists(_segment | _json_segment, min_size=1, max_size=5))
def test_any_segments_parse_or_are_malformed(segments: list[str]):
    with contextlib.suppress(MalformedTokenError):
        parse_compact(".".join(segments))


@given(_json_segment, _json_segment, _segment)
def test_the_verifier_answers_only_invalid_token_errors(header: str, payload: str, sig: str):
    # Any header and claims at all: a 401 of the documented kinds, never another exception.
    with contextlib.suppress(InvalidTokenError):
        verify_provider_token(f"{header}.{payload}.{sig}", PROVIDER, KEYS, now=NOW)


_claim_value = st.one_of(
    _json_value,
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([NOW, NOW + 300, NOW - 300, ISSUER, AUDIENCE, [AUDIENCE], "alice"]),
)


@given(st.dictionaries(
    st.sampled_from(["iss", "aud", "sub", "exp", "nbf", "iat", "roles", "a", "email"]),
    _claim_value,
    max_size=9,
))
def test_any_signed_claims_verify_or_are_refused_as_documented(changes: dict[str, object]):
    # A correct signature over any claims at all: verified, or a 401 of the documented kinds.
    with contextlib.suppress(InvalidTokenError):
        verify_provider_token(sign(EC, "ES256", claims(**changes)), PROVIDER, KEYS, now=NOW)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", [10**400, -(10**400), 2**53 + 1], ids=["huge", "-huge", "2^53+1"])
def test_time_claims_beyond_any_date_are_malformed(name: str, value: int):
    with pytest.raises(MalformedTokenError):
        verify_provider_token(sign(EC, "ES256", claims(**{name: value})), PROVIDER, KEYS, now=NOW)
