"""Admin users' refresh tokens (behaviour §9, "admins per realm") on every store (memory,
SQLite, Redis, async Redis): a realm-wide setting, off by default; rotation, the orgs of now, and
revoke-all, a password change, disabling, deleting or unconfirming the admin ending its
families; neither an app's refresh token nor an admin's is accepted in the other's place. Replay,
the grace window, the bounded life and concurrent refreshes are ``test_refresh_tokens``' tests,
run for admins too (its ``holder``)."""

from __future__ import annotations

import pytest

from baas_auth import Realm
from baas_auth.errors import ConfigError, InvalidGrantError, RevokedTokenError
from baas_auth.model import RefreshSettings, TokenGrant

PASSWORD = "admin-password"
DAY_MS = 86_400_000


@pytest.fixture
def admins(realm: Realm) -> Realm:
    """A realm with org acme, admin ann (of acme) and app acme/shop with user alice."""
    realm.create_org("acme")
    realm.create_admin("ann", password=PASSWORD, orgs=["acme"])
    realm.create_app("acme", "shop")
    realm.create_user("acme", "shop", "alice", password="wonderland")
    return realm


def _on(realm: Realm, *, ttl_ms: int = 30 * DAY_MS, grace_ms: int = 0) -> TokenGrant:
    settings = realm.set_admin_refresh_token_ttl(ttl_ms, grace_ms=grace_ms)
    assert settings == RefreshSettings(ttl_ms, grace_ms)
    grant = realm.admin_token("ann", PASSWORD)
    assert grant.refresh_token is not None
    return grant


def _refresh(realm: Realm, token: str | None) -> TokenGrant:
    assert token is not None
    return realm.refresh_admin_token(token)


def _alive(realm: Realm, token: str) -> bool:
    try:
        realm.token_info(token)
    except RevokedTokenError:
        return False
    return True


def test_off_by_default(admins: Realm) -> None:
    assert admins.admin_refresh_settings() == RefreshSettings(None, 0)
    assert admins.admin_token("ann", PASSWORD).refresh_token is None
    admins.set_admin_refresh_token_ttl(DAY_MS)
    admins.set_admin_refresh_token_ttl(None)
    assert admins.admin_token("ann", PASSWORD).refresh_token is None


def test_rotation_and_introspection(admins: Realm) -> None:
    first = _on(admins)
    assert first.refresh_token is not None
    for org in (None, "acme"):
        live = admins.introspect(first.refresh_token, org=org)
        assert (live["active"], live["token_type"], live["sub"]) == (
            True,
            "refresh_token",
            first.principal.uuid,
        )
        assert live["baas_auth"] == {"kind": "admin_user"}
    admins.create_org("globex")
    assert admins.introspect(first.refresh_token, org="globex") == {"active": False}
    assert admins.introspect(first.refresh_token, org="acme", app="shop") == {"active": False}
    second = _refresh(admins, first.refresh_token)
    assert second.refresh_token not in (None, first.refresh_token)
    assert admins.introspect(first.refresh_token) == {"active": False}
    principal = admins.token_info(second.access_token).principal
    assert (principal.kind, principal.username, principal.orgs) == (
        "admin_user",
        "ann",
        frozenset({"acme"}),
    )
    assert second.principal.orgs == frozenset({"acme"})


def test_a_refresh_gets_the_orgs_of_now(admins: Realm) -> None:
    grant = _on(admins)
    admins.create_org("globex")
    admins.add_admin_to_org("ann", "globex")
    refreshed = _refresh(admins, grant.refresh_token)
    assert admins.token_info(refreshed.access_token).principal.orgs == {"acme", "globex"}


def test_switched_off_the_families_end(admins: Realm) -> None:
    grant = _on(admins)
    admins.set_admin_refresh_token_ttl(None)
    with pytest.raises(InvalidGrantError):
        _refresh(admins, grant.refresh_token)


@pytest.mark.parametrize(
    "how", ["revoke-all", "disable", "delete", "password-change", "update-password", "unconfirm"]
)
def test_account_changes_end_families(admins: Realm, how: str) -> None:
    first = _on(admins)
    grant = _refresh(admins, first.refresh_token)  # the family's second generation
    if how == "revoke-all":
        admins.revoke_admin_tokens("ann")
    elif how == "disable":
        admins.update_admin("ann", disabled=True)
        admins.update_admin("ann", disabled=False)
    elif how == "delete":
        admins.delete_admin("ann")
    elif how == "password-change":
        admins.change_admin_password("ann", "a new admin password", old_password=PASSWORD)
    elif how == "update-password":
        admins.update_admin("ann", password="a new admin password")
    else:
        admins.update_admin("ann", confirmed=False)
        admins.update_admin("ann", confirmed=True)
    assert grant.refresh_token is not None
    assert admins.introspect(grant.refresh_token) == {"active": False}
    with pytest.raises(InvalidGrantError):
        _refresh(admins, grant.refresh_token)
    assert not _alive(admins, grant.access_token) or how == "update-password"


def test_neither_kind_of_family_is_accepted_in_the_others_place(admins: Realm) -> None:
    grant = _on(admins)
    assert grant.refresh_token is not None
    admins.set_refresh_token_ttl("acme", "shop", DAY_MS)
    user = admins.password_token("acme", "shop", "alice", "wonderland")
    assert user.refresh_token is not None
    with pytest.raises(InvalidGrantError):
        admins.refresh_token("acme", "shop", grant.refresh_token)
    with pytest.raises(InvalidGrantError):
        admins.refresh_admin_token(user.refresh_token)
    with pytest.raises(InvalidGrantError):  # an access token is no refresh token
        admins.refresh_admin_token(grant.access_token)
    with pytest.raises(RevokedTokenError):  # and a refresh token is no Bearer credential
        admins.token_info(grant.refresh_token)
    assert _refresh(admins, grant.refresh_token).refresh_token
    assert admins.refresh_token("acme", "shop", user.refresh_token).refresh_token


def test_settings_are_checked(admins: Realm) -> None:
    with pytest.raises(ConfigError):
        admins.set_admin_refresh_token_ttl(DAY_MS, grace_ms=60_001)
    with pytest.raises(ConfigError):
        admins.set_admin_refresh_token_ttl(-1)
    assert admins.admin_refresh_settings() == RefreshSettings(None, 0)
