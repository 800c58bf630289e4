"""Orgs and apps addressed by uuid: ``Realm.permits`` takes them as it takes names,
on every store; no new org or app may be named in the form of a uuid."""

from __future__ import annotations

import pytest

from baas_auth import Realm
from baas_auth.errors import ConfigError

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def shop(realm: Realm) -> Realm:
    """acme/shop, locked, with alice (``get:/books/**``) and ann, admin of acme."""
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    realm.create_user("acme", "shop", "alice", password="wonderland")
    realm.grant("acme", "shop", "get:/books/**", user="alice")
    realm.create_admin("ann", password="wonderland", orgs=["acme"])
    return realm


@pytest.fixture
def ids(shop: Realm) -> dict[str, str]:
    return {"org": shop.get_org("acme").uuid, "app": shop.get_app("acme", "shop").uuid}


@pytest.mark.parametrize(
    ("org", "app"), [("org", "app"), ("org", "shop"), ("acme", "app"), ("ACME", "app")]
)
def test_permits_by_uuid_as_by_name(shop: Realm, ids: dict[str, str], org: str, app: str) -> None:
    org, app = ids.get(org, org), ids.get(app, app)
    alice = shop.authenticate_token(
        shop.password_token("acme", "shop", "alice", "wonderland").access_token
    )
    ann = shop.authenticate_token(shop.admin_token("ann", "wonderland").access_token)
    assert shop.permits(alice, "GET", "/books/1", org=org, app=app)
    assert not shop.permits(alice, "PUT", "/books/1", org=org, app=app)
    assert shop.permits(ann, "DELETE", "/anything", org=org, app=app)


def test_an_unknown_uuid_permits_nothing(shop: Realm, ids: dict[str, str]) -> None:
    ann = shop.authenticate_token(shop.admin_token("ann", "wonderland").access_token)
    alice = shop.authenticate_token(
        shop.password_token("acme", "shop", "alice", "wonderland").access_token
    )
    assert not shop.permits(ann, "GET", "/books", org=UNKNOWN, app=ids["app"])
    assert not shop.permits(alice, "GET", "/books", org=ids["org"], app=UNKNOWN)


@pytest.mark.parametrize("name", [UNKNOWN, UNKNOWN.replace("-", ""), "{" + UNKNOWN + "}"])
def test_names_never_take_the_form_of_a_uuid(shop: Realm, name: str) -> None:
    with pytest.raises(ConfigError):  # "{…}" fails the name grammar already
        shop.create_org(name)
    with pytest.raises(ConfigError):
        shop.create_app("acme", name)
