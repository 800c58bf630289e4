"""Admin users' refresh tokens (behaviour §9, "admins per realm") on every store (memory,
SQLite, Redis, async Redis): a realm-wide setting, off by default; rotation, replay ending the
family, the grace window, a bounded life, and revoke-all, a password change, disabling, deleting
or unconfirming the admin ending its families; neither an app's refresh token nor an admin's is
accepted in the other's place."""

from __future__ import annotations

import asyncio

import pytest

from baas_auth import AsyncRealm, Realm
from baas_auth.errors import ConfigError, InvalidGrantError, RevokedTokenError
from baas_auth.model import RefreshSettings, TokenGrant
from tests.conftest import FakeClock
from tests.realm_facade import BlockingRealm
from tests.threads import run_threads

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


def test_replay_of_a_spent_token_ends_the_whole_family(admins: Realm) -> None:
    r1 = _on(admins)
    r2 = _refresh(admins, r1.refresh_token)
    r3 = _refresh(admins, r2.refresh_token)
    with pytest.raises(InvalidGrantError):
        _refresh(admins, r1.refresh_token)
    for grant in (r1, r2, r3):
        assert not _alive(admins, grant.access_token)
    with pytest.raises(InvalidGrantError):
        _refresh(admins, r3.refresh_token)


def test_grace_covers_only_the_immediately_previous_token(admins: Realm, clock: FakeClock) -> None:
    r1 = _on(admins, grace_ms=10_000)
    r2 = _refresh(admins, r1.refresh_token)
    r3 = _refresh(admins, r2.refresh_token)
    clock.advance_ms(5_000)
    with pytest.raises(InvalidGrantError):  # r2 within the window: refused, the family lives
        _refresh(admins, r2.refresh_token)
    assert _alive(admins, r3.access_token)
    clock.advance_ms(5_001)
    with pytest.raises(InvalidGrantError):  # r2 after it: the family ends
        _refresh(admins, r2.refresh_token)
    assert not _alive(admins, r3.access_token)


def test_family_life_is_bounded(admins: Realm, clock: FakeClock) -> None:
    grant = _on(admins, ttl_ms=2 * DAY_MS)
    for _ in range(3):  # rotation never extends the family
        clock.advance_ms(DAY_MS // 2)
        grant = _refresh(admins, grant.refresh_token)
    clock.advance_ms(DAY_MS // 2 + 1)
    with pytest.raises(InvalidGrantError):
        _refresh(admins, grant.refresh_token)


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


def test_concurrent_refreshes_have_exactly_one_winner(admins: Realm) -> None:
    grant = _on(admins)
    won: list[TokenGrant] = []
    refused: list[object] = []
    if isinstance(admins, BlockingRealm):  # AsyncRealm: six refreshes in flight on its loop
        outcomes = admins.loop.run(_refresh_at_once(admins.inner, grant.refresh_token, 6))
        won = [o for o in outcomes if isinstance(o, TokenGrant)]
        refused = [o for o in outcomes if isinstance(o, InvalidGrantError)]
    else:

        def work(index: int) -> None:
            try:
                won.append(_refresh(admins, grant.refresh_token))
            except InvalidGrantError:
                refused.append(index)

        run_threads(6, work)
    assert (len(won), len(refused)) == (1, 5)
    assert not _alive(admins, won[0].access_token)  # the others were replays: no grace


async def _refresh_at_once(realm: AsyncRealm, token: str | None, count: int) -> list[object]:
    assert token is not None
    calls = [realm.refresh_admin_token(token) for _ in range(count)]
    return list(await asyncio.gather(*calls, return_exceptions=True))
