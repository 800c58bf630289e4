"""Minting user tokens, changing and resetting passwords, activating and confirming accounts,
through the Realm over every store (memory, SQLite, Redis, and AsyncRealm over async Redis)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Queue
from typing import Any

import pytest

from baas_auth import LoginThrottle, Realm, UserToken
from baas_auth.core import records as rec
from baas_auth.errors import (
    ConfigError,
    ForbiddenError,
    IllegalArgumentError,
    InvalidGrantError,
    NotFoundError,
    RevokedTokenError,
    TooManyRequestsError,
)
from baas_auth.realm.state import RealmSettings
from tests.conftest import (
    FAST_HASHER,
    REALM_KINDS,
    FakeClock,
    make_async_redis_realm,
    make_realm_store,
)

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WEEK_S = 604_800


class Inbox(list[UserToken]):
    """What the realm's ``on_user_token`` hook received, newest last."""

    def last(self, kind: str) -> UserToken:
        found = [notice for notice in self if notice.kind == kind]
        assert found, f"no {kind} token was handed to the hook"
        return found[-1]


def build_realm(
    kind: str, request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path, **settings: Any
) -> Realm:
    if kind == "redis-async":
        return make_async_redis_realm(request, clock, **settings)
    store = make_realm_store(kind, tmp_path, request)
    return Realm(store, clock=clock, password_hasher=FAST_HASHER, **settings)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture(params=REALM_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


ShopMaker = Callable[..., Realm]


@pytest.fixture
def make_shop(
    kind: str, request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> Iterator[ShopMaker]:
    """Makes a realm with these settings holding acme/shop and alice (password
    'wonderland'); closes it after the test."""
    made: list[Realm] = []

    def make(**settings: Any) -> Realm:
        realm = build_realm(kind, request, clock, tmp_path, **settings)
        made.append(realm)
        realm.create_org("acme")
        realm.create_app("acme", "shop")
        realm.create_user(
            "acme", "shop", "alice", password="wonderland", email="alice@example.com"
        )
        return realm

    yield make
    for realm in made:
        realm.close()


@pytest.fixture
def hooked(make_shop: ShopMaker, inbox: Inbox) -> Realm:
    """acme/shop with alice and bob, on a realm whose hook fills ``inbox``, and whose
    throttle locks after 3 failures."""
    realm = make_shop(on_user_token=inbox.append, login_throttle=LoginThrottle(max_failures=3))
    realm.create_user("acme", "shop", "bob", password="builder1")
    return realm


def _works(realm: Realm, token: str) -> bool:
    try:
        realm.authenticate_token(token)
    except RevokedTokenError:
        return False
    return True


# -- minting a token for a user --------------------------------------------------------------


def test_a_minted_token_is_the_users_and_lives_as_a_password_grants(hooked: Realm):
    grant = hooked.issue_user_token("acme", "shop", "alice")
    assert grant.expires_in == WEEK_S
    principal = hooked.authenticate_token(grant.access_token)
    assert (principal.kind, principal.username, principal.org, principal.app) == (
        "app_user",
        "alice",
        "acme",
        "shop",
    )


def test_a_minted_token_follows_the_apps_accesstokenttl(hooked: Realm):
    hooked.set_access_token_ttl("acme", "shop", HOUR_MS)
    assert hooked.issue_user_token("acme", "shop", "alice").expires_in == 3600
    assert hooked.issue_user_token("acme", "shop", "alice", ttl_ms=60_000).expires_in == 60
    with pytest.raises(IllegalArgumentError, match="maximum age of 3600000"):
        hooked.issue_user_token("acme", "shop", "alice", ttl_ms=HOUR_MS + 1)


@pytest.mark.parametrize("ttl", [-1, "5", 1.5, True])
def test_a_bad_ttl_is_refused(hooked: Realm, ttl: Any):
    with pytest.raises(IllegalArgumentError):
        hooked.issue_user_token("acme", "shop", "alice", ttl_ms=ttl)


@pytest.mark.parametrize("state", ["disabled", "unactivated"])
def test_no_token_is_minted_for_a_disabled_or_unactivated_user(hooked: Realm, state: str):
    if state == "disabled":
        hooked.update_user("acme", "shop", "alice", disabled=True)
    else:
        hooked.update_user("acme", "shop", "alice", activated=False)
    with pytest.raises(InvalidGrantError, match=r"disabled|not activated"):
        hooked.issue_user_token("acme", "shop", "alice")


def test_no_token_is_minted_for_an_unknown_user_or_app(hooked: Realm):
    with pytest.raises(NotFoundError):
        hooked.issue_user_token("acme", "shop", "nobody")
    with pytest.raises(NotFoundError):
        hooked.issue_user_token("acme", "blog", "alice")


# -- changing a password ---------------------------------------------------------------------


def test_a_user_changes_its_password_with_the_old_one(hooked: Realm):
    old_token = hooked.password_token("acme", "shop", "alice", "wonderland").access_token
    user = hooked.change_user_password(
        "acme", "shop", "alice", "looking-glass", old_password="wonderland"
    )
    assert user.username == "alice"
    assert hooked.password_token("acme", "shop", "alice", "looking-glass").access_token
    with pytest.raises(InvalidGrantError):
        hooked.password_token("acme", "shop", "alice", "wonderland")
    assert not _works(hooked, old_token)


def test_a_wrong_old_password_is_refused_and_throttled_like_a_grant(hooked: Realm):
    for _ in range(3):
        with pytest.raises(InvalidGrantError):
            hooked.change_user_password(
                "acme", "shop", "alice", "looking-glass", old_password="guess-1234"
            )
    # The same lock as the password grant's: the right old password is not even checked now,
    # and neither is a password grant.
    with pytest.raises(TooManyRequestsError):
        hooked.change_user_password(
            "acme", "shop", "alice", "looking-glass", old_password="wonderland"
        )
    with pytest.raises(TooManyRequestsError):
        hooked.password_token("acme", "shop", "alice", "wonderland")


def test_failed_grants_count_against_the_old_password_check(hooked: Realm, clock: FakeClock):
    for _ in range(3):
        with pytest.raises(InvalidGrantError):
            hooked.password_token("acme", "shop", "ALICE", "guess-1234")
    with pytest.raises(TooManyRequestsError):
        hooked.change_user_password(
            "acme", "shop", "alice", "looking-glass", old_password="wonderland"
        )
    clock.advance_ms(1_000)  # the first lock is a second
    hooked.change_user_password("acme", "shop", "alice", "looking-glass", old_password="wonderland")


def test_a_password_is_set_without_the_old_one_by_a_trusted_caller(hooked: Realm):
    hooked.change_user_password("acme", "shop", "alice", "looking-glass")
    assert hooked.password_token("acme", "shop", "alice", "looking-glass").access_token


def test_a_short_new_password_is_refused_before_the_old_one_is_checked(hooked: Realm):
    for _ in range(5):
        with pytest.raises(ConfigError, match="at least 8"):
            hooked.change_user_password("acme", "shop", "alice", "short", old_password="nope")
    # Nothing was counted: no lock.
    assert hooked.password_token("acme", "shop", "alice", "wonderland").access_token


def test_changing_one_users_password_leaves_the_others_tokens(hooked: Realm):
    bobs = hooked.password_token("acme", "shop", "bob", "builder1").access_token
    hooked.change_user_password("acme", "shop", "alice", "looking-glass")
    assert _works(hooked, bobs)


def test_tokens_can_be_kept_on_a_password_change(make_shop: ShopMaker):
    realm = make_shop(revoke_tokens_on_password_change=False)
    token = realm.password_token("acme", "shop", "alice", "wonderland").access_token
    realm.change_user_password("acme", "shop", "alice", "looking-glass")
    assert _works(realm, token)


def test_an_admin_changes_its_password(hooked: Realm):
    hooked.create_admin("ann", password="administer", orgs=["acme"])
    token = hooked.admin_token("ann", "administer").access_token
    with pytest.raises(InvalidGrantError):
        hooked.change_admin_password("ann", "new-secret-1", old_password="wrong-one")
    admin = hooked.change_admin_password("ann", "new-secret-1", old_password="administer")
    assert admin.username == "ann"
    assert not _works(hooked, token)
    assert hooked.admin_token("ann", "new-secret-1").access_token


# -- resetting a password --------------------------------------------------------------------


def test_a_reset_token_is_handed_to_the_hook_and_sets_the_password_once(
    hooked: Realm, inbox: Inbox
):
    session = hooked.password_token("acme", "shop", "alice", "wonderland").access_token
    hooked.request_password_reset("acme", "shop", "alice@example.com")
    notice = inbox.last("reset")
    alice = hooked.get_user("acme", "shop", "alice")
    assert (notice.uuid, notice.username, notice.email) == (alice.uuid, "alice", alice.email)
    assert (notice.org, notice.app, notice.is_admin) == ("acme", "shop", False)
    assert notice.token not in repr(notice)

    hooked.reset_password("acme", "shop", "alice", notice.token, "looking-glass")
    assert hooked.password_token("acme", "shop", "alice", "looking-glass").access_token
    assert not _works(hooked, session)
    with pytest.raises(InvalidGrantError, match="invalid, already used or expired"):
        hooked.reset_password("acme", "shop", "alice", notice.token, "another-one")


def test_a_reset_token_is_used_once_under_concurrent_redemptions(hooked: Realm, inbox: Inbox):
    hooked.request_password_reset("acme", "shop", "alice")
    token, racers = inbox.last("reset").token, 6
    barrier, outcomes = threading.Barrier(racers), Queue[str]()

    def redeem(n: int) -> None:
        barrier.wait(timeout=10)
        try:
            hooked.reset_password("acme", "shop", "alice", token, f"password-{n}")
            outcomes.put(f"password-{n}")
        except InvalidGrantError:
            outcomes.put("refused")

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    results = [outcomes.get_nowait() for _ in range(racers)]
    winners = [result for result in results if result != "refused"]
    assert len(winners) == 1
    assert hooked.password_token("acme", "shop", "alice", winners[0]).access_token


def test_a_reset_token_expires(hooked: Realm, inbox: Inbox, clock: FakeClock):
    hooked.request_password_reset("acme", "shop", "alice")
    clock.advance_ms(HOUR_MS)
    with pytest.raises(InvalidGrantError):
        hooked.reset_password("acme", "shop", "alice", inbox.last("reset").token, "looking-glass")
    assert hooked.password_token("acme", "shop", "alice", "wonderland").access_token


def test_a_reset_token_works_just_before_it_expires(
    hooked: Realm, inbox: Inbox, clock: FakeClock
):
    hooked.request_password_reset("acme", "shop", "alice")
    clock.advance_ms(HOUR_MS - 1)
    hooked.reset_password("acme", "shop", "alice", inbox.last("reset").token, "looking-glass")


def test_a_reset_token_is_bound_to_its_user_and_survives_a_try_on_another(
    hooked: Realm, inbox: Inbox
):
    hooked.request_password_reset("acme", "shop", "alice")
    token = inbox.last("reset").token
    with pytest.raises(InvalidGrantError):
        hooked.reset_password("acme", "shop", "bob", token, "stolen-pw")
    with pytest.raises(InvalidGrantError):
        hooked.reset_password("acme", "shop", "nobody", token, "stolen-pw")
    assert hooked.password_token("acme", "shop", "bob", "builder1").access_token
    hooked.reset_password("acme", "shop", "alice", token, "looking-glass")


def test_a_reset_token_is_void_once_the_password_changes(hooked: Realm, inbox: Inbox):
    hooked.request_password_reset("acme", "shop", "alice")
    hooked.change_user_password("acme", "shop", "alice", "looking-glass")
    with pytest.raises(InvalidGrantError):
        hooked.reset_password("acme", "shop", "alice", inbox.last("reset").token, "third-one")


def test_a_short_password_does_not_use_up_the_reset_token(hooked: Realm, inbox: Inbox):
    hooked.request_password_reset("acme", "shop", "alice")
    token = inbox.last("reset").token
    with pytest.raises(ConfigError):
        hooked.reset_password("acme", "shop", "alice", token, "short")
    hooked.reset_password("acme", "shop", "alice", token, "looking-glass")


@pytest.mark.parametrize("token", ["", "x" * 43, "not a token", "a" * 500])
def test_made_up_reset_tokens_are_refused(hooked: Realm, token: str):
    with pytest.raises(InvalidGrantError):
        hooked.reset_password("acme", "shop", "alice", token, "looking-glass")


def test_a_token_of_another_kind_does_not_reset(hooked: Realm, inbox: Inbox):
    hooked.create_user("acme", "shop", "carol", password="carolines", activated=False)
    with pytest.raises(InvalidGrantError):
        hooked.reset_password("acme", "shop", "carol", inbox.last("activation").token, "new-pw-12")


def test_the_store_keeps_only_a_hash_of_a_reset_token(hooked: Realm, inbox: Inbox):
    hooked.request_password_reset("acme", "shop", "alice")
    token = inbox.last("reset").token
    key = "onetime:" + hashlib.sha256(token.encode()).hexdigest()
    stored = hooked.store.get_transient(key)
    assert stored is not None
    assert token.encode() not in stored


def test_a_reset_needs_a_hook(make_shop: ShopMaker):
    with pytest.raises(ConfigError, match="on_user_token"):
        make_shop().request_password_reset("acme", "shop", "alice")


def test_a_reset_for_an_unknown_user_is_not_found(hooked: Realm, inbox: Inbox):
    with pytest.raises(NotFoundError):
        hooked.request_password_reset("acme", "shop", "nobody")
    assert not inbox


def test_a_failing_hook_is_logged_without_the_token(
    make_shop: ShopMaker, caplog: pytest.LogCaptureFixture
):
    seen: list[str] = []

    def broken(notice: UserToken) -> None:
        seen.append(notice.token)
        raise RuntimeError(f"mail server down for {notice.token}")

    realm = make_shop(on_user_token=broken)
    with caplog.at_level(logging.ERROR, logger="baas_auth"):
        realm.request_password_reset("acme", "shop", "alice")
    assert seen
    assert "RuntimeError" in caplog.text
    assert seen[0] not in caplog.text


def test_an_admin_resets_its_password(hooked: Realm, inbox: Inbox):
    hooked.create_admin("ann", password="administer", email="ann@example.com")
    hooked.request_admin_password_reset("ann@example.com")
    notice = inbox.last("reset")
    assert (notice.username, notice.org, notice.app, notice.is_admin) == ("ann", None, None, True)
    with pytest.raises(InvalidGrantError):  # an admin's token is no app user's
        hooked.reset_password("acme", "shop", "alice", notice.token, "looking-glass")
    hooked.reset_admin_password("ann", notice.token, "new-secret-1")
    assert hooked.admin_token("ann", "new-secret-1").access_token


# -- activation ------------------------------------------------------------------------------


def test_an_unactivated_user_gets_an_activation_token_and_signs_in_once_activated(
    hooked: Realm, inbox: Inbox
):
    hooked.create_user("acme", "shop", "carol", password="carolines", activated=False)
    notice = inbox.last("activation")
    assert notice.username == "carol"
    with pytest.raises(InvalidGrantError, match="not activated"):
        hooked.password_token("acme", "shop", "carol", "carolines")
    user = hooked.activate_user("acme", "shop", "carol", notice.token)
    assert user.activated
    assert hooked.password_token("acme", "shop", "carol", "carolines").access_token
    with pytest.raises(InvalidGrantError):
        hooked.activate_user("acme", "shop", "carol", notice.token)


def test_an_activation_token_expires_after_a_day(hooked: Realm, inbox: Inbox, clock: FakeClock):
    hooked.create_user("acme", "shop", "carol", password="carolines", activated=False)
    clock.advance_ms(DAY_MS)
    with pytest.raises(InvalidGrantError):
        hooked.activate_user("acme", "shop", "carol", inbox.last("activation").token)
    assert hooked.send_activation("acme", "shop", "carol")
    hooked.activate_user("acme", "shop", "carol", inbox.last("activation").token)


def test_an_active_user_gets_no_activation_token(hooked: Realm, inbox: Inbox):
    assert not hooked.send_activation("acme", "shop", "alice")
    assert not inbox


def test_an_activation_token_activates_only_its_user(hooked: Realm, inbox: Inbox):
    hooked.create_user("acme", "shop", "carol", password="carolines", activated=False)
    carols = inbox.last("activation").token
    hooked.create_user("acme", "shop", "dave", password="davesnotice", activated=False)
    with pytest.raises(InvalidGrantError):
        hooked.activate_user("acme", "shop", "dave", carols)
    assert not hooked.get_user("acme", "shop", "dave").activated


def test_no_hook_means_no_activation_token_and_no_error(make_shop: ShopMaker):
    user = make_shop().create_user("acme", "shop", "carol", password="carolines", activated=False)
    assert not user.activated


# -- admin users: activated and confirmed ----------------------------------------------------


def test_an_unconfirmed_admin_is_refused_with_403_until_confirmed(hooked: Realm, inbox: Inbox):
    admin = hooked.create_admin("ann", password="administer", confirmed=False)
    assert (admin.confirmed, admin.activated) == (False, True)
    with pytest.raises(ForbiddenError) as caught:
        hooked.admin_token("ann", "administer")
    assert (caught.value.status_code, caught.value.error) == (403, "invalid_grant")
    assert caught.value.error_description == "User must be confirmed to authenticate"
    assert hooked.confirm_admin("ann", inbox.last("confirmation").token).confirmed
    assert hooked.admin_token("ann", "administer").access_token


def test_an_unconfirmed_admin_with_a_wrong_password_learns_nothing(hooked: Realm):
    hooked.create_admin("ann", password="administer", confirmed=False)
    with pytest.raises(InvalidGrantError, match="invalid username or password"):
        hooked.admin_token("ann", "wrong-password")


def test_confirming_an_unactivated_admin_asks_for_its_activation(hooked: Realm, inbox: Inbox):
    hooked.create_admin("ann", password="administer", activated=False, confirmed=False)
    assert [notice.kind for notice in inbox] == ["confirmation"]
    hooked.confirm_admin("ann", inbox.last("confirmation").token)
    assert [notice.kind for notice in inbox] == ["confirmation", "activation"]
    with pytest.raises(InvalidGrantError, match="not activated"):
        hooked.admin_token("ann", "administer")
    admin = hooked.activate_admin("ann", inbox.last("activation").token)
    assert (admin.activated, admin.confirmed) == (True, True)
    assert hooked.admin_token("ann", "administer").access_token


def test_a_confirmation_token_does_not_activate(hooked: Realm, inbox: Inbox):
    hooked.create_admin("ann", password="administer", activated=False, confirmed=False)
    with pytest.raises(InvalidGrantError):
        hooked.activate_admin("ann", inbox.last("confirmation").token)


def test_deactivating_or_unconfirming_an_admin_revokes_its_tokens(hooked: Realm, inbox: Inbox):
    hooked.create_admin("ann", password="administer")
    for change in ({"activated": False}, {"confirmed": False}):
        hooked.update_admin("ann", activated=True, confirmed=True)
        token = hooked.admin_token("ann", "administer").access_token
        hooked.update_admin("ann", **change)
        assert not _works(hooked, token)


def test_send_admin_activation_sends_what_the_admin_lacks(hooked: Realm, inbox: Inbox):
    hooked.create_admin("ann", password="administer")
    assert not hooked.send_admin_activation("ann")
    hooked.update_admin("ann", activated=False)
    assert hooked.send_admin_activation("ann")
    assert inbox.last("activation").username == "ann"


def test_admin_records_written_before_these_states_read_as_active_and_confirmed():
    raw = b'{"uuid":"u1","username":"ann","email":null,"password_hash":null,"orgs":[]}'
    admin = rec.decode(rec.AdminRecord, raw)
    assert (admin.activated, admin.confirmed) == (True, True)


@pytest.mark.parametrize(
    "settings",
    [
        {"on_user_token": "mail"},
        {"reset_token_ttl_ms": 0},
        {"activation_token_ttl_ms": DAY_MS + 1},
        {"reset_token_ttl_ms": True},
        {"revoke_tokens_on_password_change": "no"},
    ],
)
def test_bad_settings_are_refused(settings: dict[str, Any]):
    with pytest.raises(ConfigError):
        RealmSettings.build(**settings)
