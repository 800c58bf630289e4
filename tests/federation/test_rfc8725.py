"""The verifier against the attacks of RFC 8725 (JWT best current practice) and the checks of
behaviour §8, table-driven: each bad token is refused with the documented error, each good one
verifies, and no header makes the verifier contact a URL it names."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.core.jwk import KeySet, parse_jwks
from baas_auth.core.jwt_tokens import UnknownKeyIdError, VerifiedClaims, verify_provider_token
from baas_auth.errors import (
    ExpiredTokenError,
    InvalidTokenError,
    MalformedTokenError,
)
from tests.federation.kit import (
    AUDIENCE,
    ISSUER,
    NOW,
    SigningKey,
    b64,
    claims,
    ec_key,
    ed_key,
    header_for,
    hmac_token,
    jwks,
    key_server,
    rsa_key,
    segment,
    sign,
    sign_with_header,
    unsigned,
)

RSA = rsa_key("rsa-1")
EC = ec_key("ec-1")
ED = ed_key("ed-1")
ATTACKER = rsa_key("rsa-1")  # the attacker names the provider's kid
ATTACKER_EC = ec_key("ec-1")
ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA", "Ed25519")


def provider(*keys: SigningKey, **changes: object) -> IdentityProvider:
    settings: dict[str, object] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks": jwks(*(keys or (RSA, EC, ED))),
        "algorithms": ALGORITHMS,
    }
    settings.update(changes)
    return IdentityProvider(**settings)  # type: ignore[arg-type]


def verify(token: str, idp: IdentityProvider | None = None, now: float = NOW) -> VerifiedClaims:
    idp = idp or provider()
    return verify_provider_token(token, idp, parse_jwks(idp.jwks, idp.algorithms), now=now)


GOOD: dict[str, Callable[[], str]] = {
    "RS256": lambda: sign(RSA, "RS256"),
    "ES256": lambda: sign(EC, "ES256"),
    "PS256": lambda: sign(RSA, "PS256"),
    "EdDSA": lambda: sign(ED, "EdDSA"),
    "Ed25519": lambda: sign(ED, "Ed25519"),
    "typ absent": lambda: sign(RSA, "RS256", typ=None),
    "typ JWT": lambda: sign(RSA, "RS256", typ="JWT"),
    "typ jwt, lower case": lambda: sign(RSA, "RS256", typ="jwt"),
    "typ application/at+JWT": lambda: sign(RSA, "RS256", typ="application/at+JWT"),
    "aud as a list holding ours": lambda: sign(RSA, "RS256", claims(aud=["other", AUDIENCE])),
    "exp just inside the leeway": lambda: sign(RSA, "RS256", claims(exp=NOW - 29)),
    "nbf in the future, inside the leeway": lambda: sign(RSA, "RS256", claims(nbf=NOW + 30)),
    "iat in the future, inside the leeway": lambda: sign(RSA, "RS256", claims(iat=NOW + 30)),
    "no nbf, no iat": lambda: sign(RSA, "RS256", claims(nbf=None, iat=None)),
    "exp as a float": lambda: sign(RSA, "RS256", claims(exp=NOW + 0.5)),
    "a jku header, ignored": lambda: sign(RSA, "RS256", jku="https://evil.example/keys"),
    "an unknown header member": lambda: sign(RSA, "RS256", x5t="abc", foo={"bar": 1}),
}


@pytest.mark.parametrize("make", GOOD.values(), ids=GOOD.keys())
def test_good_tokens_verify(make: Callable[[], str]):
    verified = verify(make())
    assert (verified.issuer, verified.subject, verified.username) == (ISSUER, "alice", "alice")


def test_a_token_without_kid_verifies_when_the_provider_has_one_key():
    only = rsa_key(kid=None)
    assert verify(sign(only, "RS256"), provider(only)).subject == "alice"


PUBLIC_PEM = RSA.pem()
PUBLIC_JWK = json.dumps(RSA.jwk()).encode()
HS_HEADER = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}

MALFORMED: dict[str, Callable[[], str]] = {
    # algorithm attacks
    "alg none, no signature": lambda: unsigned({"alg": "none"}, claims()),
    "alg none, any signature": lambda: unsigned({"alg": "none", "kid": "rsa-1"}, claims(), "e30"),
    "alg NONE": lambda: unsigned({"alg": "NONE", "kid": "rsa-1"}, claims(), "e30"),
    "HS256 keyed with the public key's PEM": lambda: hmac_token(PUBLIC_PEM, HS_HEADER, claims()),
    "HS256 keyed with the public JWK": lambda: hmac_token(PUBLIC_JWK, HS_HEADER, claims()),
    "RS512: outside the allow-list": lambda: sign(RSA, "RS512"),
    "ES384: outside the allow-list": lambda: sign(ec_key("ec-1", "P-384"), "ES384"),
    "alg missing": lambda: sign_with_header(RSA, "RS256", {"kid": "rsa-1"}),
    "alg not a string": lambda: unsigned({"alg": ["RS256"], "kid": "rsa-1"}, claims(), "e30"),
    # signatures
    "signed by another key with the same kid": lambda: sign(ATTACKER, "RS256"),
    "ES256 signed by another key": lambda: sign(ATTACKER_EC, "ES256"),
    "signature of other claims": lambda: _swap_payload(sign(RSA, "RS256"), claims(sub="mallory")),
    "signature truncated": lambda: sign(RSA, "RS256")[:-8],
    "empty signature": lambda: sign(RSA, "RS256").rsplit(".", 1)[0] + ".",
    # iss, aud, exp, nbf, iat
    "wrong iss": lambda: sign(RSA, "RS256", claims(iss="https://idp.example.com/realms/other")),
    "iss with a trailing slash": lambda: sign(RSA, "RS256", claims(iss=ISSUER + "/")),
    "iss missing": lambda: sign(RSA, "RS256", claims(iss=None)),
    "wrong aud": lambda: sign(RSA, "RS256", claims(aud="account")),
    "aud list without ours": lambda: sign(RSA, "RS256", claims(aud=["account", "other"])),
    "aud missing": lambda: sign(RSA, "RS256", claims(aud=None)),
    "exp missing": lambda: sign(RSA, "RS256", claims(exp=None)),
    "exp a string": lambda: sign(RSA, "RS256", claims(exp=str(NOW + 300))),
    "exp true": lambda: sign(RSA, "RS256", claims(exp=True)),
    "nbf beyond the leeway": lambda: sign(RSA, "RS256", claims(nbf=NOW + 31)),
    "iat beyond the leeway": lambda: sign(RSA, "RS256", claims(iat=NOW + 31)),
    "iat a string": lambda: sign(RSA, "RS256", claims(iat="yesterday")),
    # header members
    "typ id+jwt": lambda: sign(RSA, "RS256", typ="id+jwt"),
    "typ JOSE+JSON": lambda: sign(RSA, "RS256", typ="JOSE+JSON"),
    "typ not a string": lambda: sign(RSA, "RS256", typ=["JWT"]),
    "crit naming exp": lambda: sign(RSA, "RS256", crit=["exp"]),
    "crit naming b64": lambda: sign(RSA, "RS256", crit=["b64"], b64=False),
    "crit empty": lambda: sign(RSA, "RS256", crit=[]),
    "kid not a string": lambda: sign(RSA, "RS256", kid=1),
    # key type against alg (key confusion with a shared kid)
    "ES256 token, RSA key of that kid": lambda: sign(ec_key("rsa-1"), "ES256"),
    "RS256 token, EC key of that kid": lambda: sign(rsa_key("ec-1"), "RS256"),
    "EdDSA token, RSA key of that kid": lambda: sign(ed_key("rsa-1"), "EdDSA"),
    # form and size
    "oversized": lambda: sign(RSA, "RS256", claims(pad="x" * 8200)),
    "two segments": lambda: ".".join(sign(RSA, "RS256").split(".")[:2]),
    "four segments": lambda: sign(RSA, "RS256") + ".e30",
    "padding in a segment": lambda: sign(RSA, "RS256").replace(".", "=.", 1),
    "header not an object": lambda: f"{segment([1])}.{segment(claims())}.e30",
    "duplicate claim": lambda: _duplicate_sub(),
    # who the token names
    "sub missing": lambda: sign(RSA, "RS256", claims(sub=None)),
    "username not a valid username": lambda: sign(RSA, "RS256", claims(sub="auth0|123")),
    "username shaped like a uuid": lambda: sign(
        RSA, "RS256", claims(sub="0b8e9c52-5d3e-4a51-9a57-0a5fb2a4c001")
    ),
    "username me": lambda: sign(RSA, "RS256", claims(sub="me")),
}


def _swap_payload(token: str, payload: dict[str, object]) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{segment(payload)}.{signature}"


def _duplicate_sub() -> str:
    raw = json.dumps(claims())[:-1] + ', "sub": "mallory"}'
    return sign(RSA, "RS256").split(".")[0] + "." + b64(raw.encode()) + ".e30"


@pytest.mark.parametrize("make", MALFORMED.values(), ids=MALFORMED.keys())
def test_bad_tokens_are_malformed(make: Callable[[], str]):
    with pytest.raises(MalformedTokenError) as refused:
        verify(make())
    assert type(refused.value) is MalformedTokenError
    assert (refused.value.status_code, refused.value.error) == (401, "auth_bad_access_token")
    assert refused.value.challenge_error == "invalid_token"


def test_an_expired_token_is_expired_beyond_the_leeway():
    with pytest.raises(ExpiredTokenError) as refused:
        verify(sign(RSA, "RS256", claims(exp=NOW - 30)))
    assert (refused.value.status_code, refused.value.error) == (401, "expired_token")
    assert refused.value.challenge_error == "invalid_token"


def test_an_expired_token_with_a_bad_signature_is_malformed_not_expired():
    with pytest.raises(MalformedTokenError) as refused:
        verify(sign(ATTACKER, "RS256", claims(exp=NOW - 3600)))
    assert type(refused.value) is MalformedTokenError


def test_the_leeway_is_the_providers():
    strict = provider(leeway_s=0)
    with pytest.raises(ExpiredTokenError):
        verify(sign(RSA, "RS256", claims(exp=NOW)), strict)
    with pytest.raises(MalformedTokenError):
        verify(sign(RSA, "RS256", claims(nbf=NOW + 1)), strict)


def test_an_unknown_kid_is_told_apart_so_keys_can_be_fetched_again():
    with pytest.raises(UnknownKeyIdError) as refused:
        verify(sign(rsa_key("rotated-in"), "RS256"))
    assert isinstance(refused.value, MalformedTokenError)  # unhandled, it is a plain 401


def test_no_kid_with_several_keys_is_malformed_not_unknown():
    with pytest.raises(MalformedTokenError) as refused:
        verify(sign(rsa_key(kid=None), "RS256"))
    assert type(refused.value) is MalformedTokenError


def test_no_key_at_all_refuses_everything():
    idp = provider()
    with pytest.raises(UnknownKeyIdError):
        verify_provider_token(sign(RSA, "RS256"), idp, KeySet(), now=NOW)


@pytest.mark.parametrize("member", ["jku", "x5u"])
def test_key_urls_in_the_header_are_never_followed(member: str):
    with key_server() as server:
        server.serve(jwks(ATTACKER))  # the attacker's key set, one request away
        forged = sign(ATTACKER, "RS256", **{member: server.url})
        with pytest.raises(MalformedTokenError):
            verify(forged)
        assert verify(sign(RSA, "RS256", **{member: server.url})).subject == "alice"
        assert server.hits == []


def test_an_embedded_jwk_is_never_trusted():
    with key_server() as server:
        forged = sign(ATTACKER, "RS256", jwk=ATTACKER.jwk(), jku=server.url, x5u=server.url)
        with pytest.raises(MalformedTokenError):
            verify(forged)
        assert server.hits == []


def test_every_refusal_is_an_invalid_token_error():
    for make in MALFORMED.values():
        with pytest.raises(InvalidTokenError):
            verify(make())


def test_a_key_pinned_to_an_algorithm_verifies_only_that_one():
    # A key pinned to RS256 in the key set does not verify a PS256 token, even though both use
    # RSA keys: the key set's "alg" is honoured.
    pinned = provider(jwks={"keys": [RSA.jwk(alg="RS256")]})
    assert verify(sign(RSA, "RS256"), pinned).subject == "alice"
    with pytest.raises(MalformedTokenError):
        verify(sign(RSA, "PS256"), pinned)


def test_header_kit_builds_what_it_says():
    assert header_for(RSA, "RS256", typ=None) == {"alg": "RS256", "kid": "rsa-1"}
