"""Identity providers kept in the realm, on every store: added, listed, removed, seen by a
second realm over the same store, and refused when badly configured (behaviour §8)."""

from __future__ import annotations

import pytest

from baas_auth import Realm
from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.errors import ConfigError, ConflictError, NotFoundError
from tests.federation.kit import AUDIENCE, ISSUER, ec_key, jwks

KEYS_URL = "https://idp.example.com/realms/acme/certs"


def test_a_provider_added_is_listed_with_its_settings(shop: Realm) -> None:
    added = shop.add_identity_provider(
        "acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks_url=KEYS_URL,
        username_claim="preferred_username", roles_claim="realm_access.roles",
        role_map={"shop-admins": "admin"}, provision=True, leeway_s=10,
    )
    assert isinstance(added, IdentityProvider)
    [listed] = shop.identity_providers("acme", "shop")
    assert listed == added
    assert listed.role_map == {"shop-admins": "admin"}
    assert listed.algorithms == ("RS256", "ES256")
    assert shop.identity_providers("acme", None) == []


def test_an_inline_key_set_survives_the_store(shop: Realm) -> None:
    key_set = jwks(ec_key())
    shop.add_identity_provider("acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks=key_set,
                               algorithms=("ES256",))
    [listed] = shop.identity_providers("acme", "shop")
    assert listed.jwks is not None
    assert dict(listed.jwks) == key_set


def test_org_level_providers_are_apart_from_the_apps(shop: Realm) -> None:
    shop.add_identity_provider("acme", None, issuer=ISSUER, audience="admins", jwks_url=KEYS_URL,
                               username_claim="email")
    assert [p.audience for p in shop.identity_providers("acme", None)] == ["admins"]
    assert shop.identity_providers("acme", "shop") == []
    shop.remove_identity_provider("acme", None, ISSUER)
    assert shop.identity_providers("acme", None) == []


def test_an_issuer_is_trusted_once_per_app(shop: Realm) -> None:
    shop.add_identity_provider("acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks_url=KEYS_URL)
    with pytest.raises(ConflictError):
        shop.add_identity_provider("acme", "shop", issuer=ISSUER, audience="x", jwks_url=KEYS_URL)
    other = "https://login.example.org/"
    shop.add_identity_provider("acme", "shop", issuer=other, audience=AUDIENCE, jwks_url=KEYS_URL)
    assert [p.issuer for p in shop.identity_providers("acme", "shop")] == [ISSUER, other]


def test_removing_forgets_only_that_provider(shop: Realm) -> None:
    other = "https://login.example.org/"
    for issuer in (ISSUER, other):
        shop.add_identity_provider("acme", "shop", issuer=issuer, audience=AUDIENCE,
                                   jwks_url=KEYS_URL)
    shop.remove_identity_provider("acme", "shop", ISSUER)
    assert [p.issuer for p in shop.identity_providers("acme", "shop")] == [other]
    with pytest.raises(NotFoundError):
        shop.remove_identity_provider("acme", "shop", ISSUER)


@pytest.mark.parametrize("bad", [
    {"jwks_url": "http://idp.example.com/certs"},  # plain HTTP off loopback
    {"jwks_url": KEYS_URL, "algorithms": ("HS256",)},
    {"jwks_url": KEYS_URL, "jwks": {"keys": [{}]}},  # both key sources
    {"jwks_url": KEYS_URL, "leeway_s": 61},
])
def test_a_bad_provider_is_refused_and_nothing_is_kept(shop: Realm, bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        shop.add_identity_provider("acme", "shop", issuer=ISSUER, audience=AUDIENCE, **bad)  # type: ignore[arg-type]
    assert shop.identity_providers("acme", "shop") == []


def test_an_unknown_org_or_app_has_no_providers(shop: Realm) -> None:
    with pytest.raises(NotFoundError):
        shop.add_identity_provider("acme", "nope", issuer=ISSUER, audience=AUDIENCE,
                                   jwks_url=KEYS_URL)
    with pytest.raises(NotFoundError):
        shop.identity_providers("nope", None)


def test_adding_a_provider_is_a_directory_change(shop: Realm) -> None:
    """Every process decides afresh after it: the store's generation moves."""
    store = shop.store
    before = store.generation()
    shop.add_identity_provider("acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks_url=KEYS_URL)
    assert store.generation() != before
    before = store.generation()
    shop.remove_identity_provider("acme", "shop", ISSUER)
    assert store.generation() != before
