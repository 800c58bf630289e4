"""An identity provider is checked when it is made; its claims become a username, roles and
groups as configured."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from baas_auth.core.identity_providers import DEFAULT_ALGORITHMS, IdentityProvider
from baas_auth.core.jwk import parse_jwks
from baas_auth.core.jwt_tokens import verify_provider_token
from baas_auth.errors import ConfigError, MalformedTokenError
from tests.federation.kit import AUDIENCE, ISSUER, NOW, b64, claims, ec_key, jwks, rsa_key, sign

RSA = rsa_key()
JWKS = jwks(RSA)


def make(**changes: Any) -> IdentityProvider:
    settings: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": JWKS}
    settings.update(changes)
    return IdentityProvider(**settings)


def test_defaults_follow_the_api():
    provider = make()
    assert provider.algorithms == DEFAULT_ALGORITHMS == ("RS256", "ES256")
    assert (provider.username_claim, provider.roles_claim, provider.groups_claim) == (
        "sub", None, None)
    assert (provider.leeway_s, provider.cooldown_s, provider.timeout_s) == (30, 30, 5)
    assert provider.provision is False


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"algorithms": ("HS256",)}, "public-key"),
        ({"algorithms": ("RS256", "hs512")}, "public-key"),
        ({"algorithms": ("none",)}, "public-key"),
        ({"algorithms": ("RS256", "None")}, "public-key"),
        ({"algorithms": ("RSA-OAEP",)}, "not one of"),
        ({"algorithms": ()}, "at least one"),
        ({"algorithms": (256,)}, "not one of"),
        ({"jwks": None}, "exactly one"),
        ({"jwks_url": "https://idp.example.com/certs"}, "exactly one"),
        ({"jwks": None, "jwks_url": "http://idp.example.com/certs"}, "https"),
        ({"jwks": None, "jwks_url": "ftp://idp.example.com/certs"}, "https"),
        ({"jwks": None, "jwks_url": "/certs"}, "absolute"),
        ({"jwks": None, "jwks_url": "https://user:pw@idp.example.com/certs"}, "credentials"),
        ({"jwks": {"keys": []}}, "non-empty list"),
        ({"jwks": {"kty": "RSA"}}, "non-empty list"),
        ({"jwks": {"keys": [object()]}}, "JSON object"),
        ({"issuer": ""}, "issuer"),
        ({"audience": None}, "audience"),
        ({"username_claim": ""}, "username_claim"),
        ({"roles_claim": "realm_access..roles"}, "dotted path"),
        ({"role_map": {"admins": "Not A Role!"}}, "role names"),
        ({"role_map": ["admins"]}, "role_map"),
        ({"provision": "yes"}, "provision"),
        ({"leeway_s": 61}, "leeway_s"),
        ({"leeway_s": -1}, "leeway_s"),
        ({"leeway_s": 1.5}, "leeway_s"),
        ({"leeway_s": True}, "leeway_s"),
        ({"cooldown_s": 0}, "cooldown_s"),
        ({"timeout_s": float("nan")}, "timeout_s"),
        ({"timeout_s": 600}, "timeout_s"),
    ],
)
def test_bad_providers_are_refused_when_made(changes: dict[str, Any], message: str):
    with pytest.raises(ConfigError, match=message):
        make(**changes)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/certs",
        "http://localhost/certs",
        "http://[::1]:9000/certs",
        "http://127.8.9.10/certs",
        "https://idp.example.com/realms/acme/protocol/openid-connect/certs",
    ],
)
def test_https_or_loopback_key_urls(url: str):
    assert make(jwks=None, jwks_url=url).jwks_url == url


def test_inline_keys_and_the_role_map_are_detached_read_only_copies():
    source = {"keys": [RSA.jwk()]}
    role_map = {"shop-admins": "Admin"}
    provider = make(jwks=source, role_map=role_map, algorithms=["RS256"])
    source["keys"].clear()
    role_map["x"] = "y"
    assert provider.jwks is not None
    assert len(provider.jwks["keys"]) == 1  # type: ignore[arg-type]
    assert dict(provider.role_map or {}) == {"shop-admins": "admin"}
    assert provider.algorithms == ("RS256",)
    with pytest.raises(TypeError):
        provider.role_map["z"] = "w"  # type: ignore[index]


def _verified(provider: IdentityProvider, **claim_changes: object):
    keys = parse_jwks(provider.jwks, provider.algorithms)
    return verify_provider_token(sign(RSA, "RS256", claims(**claim_changes)), provider, keys,
                                 now=NOW)


def test_username_from_a_configured_claim():
    provider = make(username_claim="preferred_username")
    assert _verified(provider, preferred_username="alice.w").username == "alice.w"
    with pytest.raises(MalformedTokenError):
        _verified(provider)  # the claim is missing
    with pytest.raises(MalformedTokenError):
        _verified(provider, preferred_username="al*ce")  # never a wildcard


def test_an_email_the_provider_did_not_verify_names_nobody():
    provider = make(username_claim="email")
    assert _verified(provider, email="alice@example.com").username == "alice@example.com"
    assert _verified(provider, email="a@example.com", email_verified=True).username == (
        "a@example.com")
    for unverified in (False, "true", 1):  # absent counts as verified (Entra sends none)
        with pytest.raises(MalformedTokenError):
            _verified(provider, email="alice@example.com", email_verified=unverified)


def test_a_namespaced_claim_name_with_dots_is_read_whole():
    provider = make(roles_claim="https://shop.example.com/roles")
    assert _verified(provider, **{"https://shop.example.com/roles": ["editor"]}).roles == (
        "editor",)


def test_keycloak_realm_roles_by_dotted_path():
    provider = make(roles_claim="realm_access.roles", groups_claim="groups")
    verified = _verified(
        provider,
        realm_access={"roles": ["Editor", "offline_access", "not a role!", 7]},
        groups=["/staff", "/staff/editors"],
    )
    assert verified.roles == ("editor", "offline_access")
    assert verified.groups == ("/staff", "/staff/editors")


def test_a_space_separated_scope_claim_gives_names():
    assert _verified(make(roles_claim="scope"), scope="read write  read").roles == (
        "read", "write")


def test_a_role_map_keeps_only_mapped_names_from_roles_and_groups():
    provider = make(
        roles_claim="roles",
        groups_claim="groups",
        role_map={"Shop.Admin": "admin", "3f2c-group-guid": "editor", "unused": "viewer"},
    )
    verified = _verified(provider, roles=["Shop.Admin", "Other"], groups=["3f2c-group-guid"])
    assert verified.roles == ("admin", "editor")
    assert verified.groups == ("3f2c-group-guid",)


@pytest.mark.parametrize("value", [None, 5, {"roles": "x"}, [None, 3]])
def test_claims_of_the_wrong_shape_grant_nothing(value: object):
    assert _verified(make(roles_claim="roles"), roles=value).roles == ()


def test_a_key_of_a_type_no_allowed_algorithm_uses_is_skipped():
    provider = make(jwks=jwks(RSA, ec_key()), algorithms=("RS256",))
    assert [key.kid for key in parse_jwks(provider.jwks, provider.algorithms).keys] == ["rsa-1"]


@pytest.mark.parametrize(
    "extra",
    [{"use": "enc"}, {"key_ops": ["encrypt"]}, {"alg": "RSA-OAEP"}, {"alg": "PS256"},
     {"kid": 5}, {"n": 5}, {"n": "!!"}, {"kty": "oct"}],
)
def test_keys_that_cannot_serve_are_skipped(extra: dict[str, object]):
    document = {"keys": [RSA.jwk(**extra), RSA.jwk(kid="kept")]}
    assert [key.kid for key in parse_jwks(document, ("RS256",)).keys] == ["kept"]


def test_small_rsa_keys_and_private_members_are_not_kept():
    from cryptography.hazmat.primitives.asymmetric import rsa

    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()  # noqa: S505
    small = {"kty": "RSA", "n": b64(numbers.n.to_bytes(128, "big")), "e": "AQAB"}
    private = RSA.private.as_dict(private=True) | {"kid": "private"}
    keys = parse_jwks({"keys": [small | {"kid": "small"}, private]}, ("RS256",)).keys
    assert [key.kid for key in keys] == ["private"]
    assert keys[0].key.is_private is False


def test_garbage_documents_give_no_keys():
    for document in (None, [], {"keys": "x"}, {"keys": [1, "a", None]}):
        assert parse_jwks(document, ("RS256",)).keys == ()


def test_the_package_imports_without_the_jose_library():
    code = (
        "import sys; sys.modules['joserfc'] = None\n"
        "import baas_auth, baas_auth.core.jwt_tokens, baas_auth.federation.verifier\n"
        "from baas_auth.core.jwk import parse_jwks\n"
        "from baas_auth.errors import ConfigError\n"
        "try:\n"
        "    parse_jwks({'keys': [{'kty': 'EC', 'crv': 'P-256', 'x': 'a', 'y': 'b'}]}, ['ES256'])\n"
        "except ConfigError as exc:\n"
        "    print('extra' in str(exc))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
