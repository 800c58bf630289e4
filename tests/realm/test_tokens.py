"""Issuing, validating, expiring and revoking tokens through the Realm, with a fake clock."""

from __future__ import annotations

import pytest

from baas_auth import Realm
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.errors import (
    ConfigError,
    ExpiredTokenError,
    IllegalArgumentError,
    InvalidClientError,
    InvalidGrantError,
    MalformedTokenError,
    RevokedTokenError,
)
from tests.conftest import FakeClock

WEEK_MS = 604_800_000


def test_password_grant_issues_a_week_long_token(shop: Realm, clock: FakeClock):
    grant = shop.password_token("acme", "shop", "alice", "wonderland")
    assert grant.expires_in == WEEK_MS // 1000
    principal = shop.authenticate_token(grant.access_token)
    assert (principal.kind, principal.org, principal.app, principal.username) == (
        "app_user",
        "acme",
        "shop",
        "alice",
    )
    assert principal.is_authenticated
    assert principal == grant.principal


@pytest.mark.parametrize("who", ["alice@example.com", "ALICE"], ids=["email", "case"])
def test_password_grant_accepts_email_and_any_case(shop: Realm, who: str):
    assert shop.password_token("acme", "shop", who, "wonderland").principal.username == "alice"


def test_password_grant_accepts_uuid(shop: Realm):
    uuid = shop.get_user("acme", "shop", "alice").uuid
    assert shop.password_token("acme", "shop", uuid, "wonderland").principal.uuid == uuid


@pytest.mark.parametrize(
    ("user", "password"),
    [("alice", "wrong"), ("nobody", "wonderland"), ("alice", ""), ("*", "wonderland")],
    ids=["bad-password", "unknown-user", "empty-password", "wildcard-name"],
)
def test_password_grant_refusals_are_invalid_grant(shop: Realm, user: str, password: str):
    with pytest.raises(InvalidGrantError) as caught:
        shop.password_token("acme", "shop", user, password)
    assert caught.value.error == "invalid_grant"
    assert caught.value.status_code == 400


def test_disabled_and_unactivated_users_get_no_token(shop: Realm):
    shop.update_user("acme", "shop", "alice", disabled=True)
    with pytest.raises(InvalidGrantError, match="user disabled"):
        shop.password_token("acme", "shop", "alice", "wonderland")
    shop.create_user("acme", "shop", "carl", password="pw-secret", activated=False)
    with pytest.raises(InvalidGrantError, match="not activated"):
        shop.password_token("acme", "shop", "carl", "pw-secret")


def test_wrong_password_for_disabled_user_does_not_reveal_state(shop: Realm):
    shop.update_user("acme", "shop", "alice", disabled=True)
    with pytest.raises(InvalidGrantError, match="invalid username or password"):
        shop.password_token("acme", "shop", "alice", "wrong")


def test_token_expires_exactly_at_its_ttl(shop: Realm, clock: FakeClock):
    grant = shop.password_token("acme", "shop", "alice", "wonderland", ttl_ms=60_000)
    assert grant.expires_in == 60
    clock.advance_ms(59_999)
    shop.authenticate_token(grant.access_token)
    clock.advance_ms(1)
    with pytest.raises(ExpiredTokenError) as caught:
        shop.authenticate_token(grant.access_token)
    assert caught.value.error == "expired_token"


def test_ttl_above_realm_maximum_is_illegal(shop: Realm):
    with pytest.raises(IllegalArgumentError, match="604800000"):
        shop.password_token("acme", "shop", "alice", "wonderland", ttl_ms=WEEK_MS + 1)


@pytest.mark.parametrize(
    "ttl", [-1, "60000", 1.0, None], ids=["negative", "string", "float", "none"]
)
def test_ttl_type_and_sign(shop: Realm, ttl: object):
    if ttl is None:  # None means "not given": the maximum
        grant = shop.password_token("acme", "shop", "alice", "wonderland", ttl_ms=None)
        assert grant.expires_in == WEEK_MS // 1000
        return
    with pytest.raises(IllegalArgumentError) as caught:
        shop.password_token("acme", "shop", "alice", "wonderland", ttl_ms=ttl)  # type: ignore[arg-type]
    assert caught.value.error == "illegal_argument"


def test_app_accesstokenttl_is_default_and_ceiling_for_user_tokens(shop: Realm):
    shop.set_access_token_ttl("acme", "shop", 3_600_000)
    assert shop.password_token("acme", "shop", "alice", "wonderland").expires_in == 3600
    assert (
        shop.password_token("acme", "shop", "alice", "wonderland", ttl_ms=60_000).expires_in == 60
    )
    with pytest.raises(IllegalArgumentError, match="3600000"):
        shop.password_token("acme", "shop", "alice", "wonderland", ttl_ms=3_600_001)


def test_app_accesstokenttl_may_exceed_realm_maximum(shop: Realm):
    shop.set_access_token_ttl("acme", "shop", 30 * 86_400_000)
    grant = shop.password_token("acme", "shop", "alice", "wonderland", ttl_ms=20 * 86_400_000)
    assert grant.expires_in == 20 * 86_400


def test_accesstokenttl_zero_means_never_expires(shop: Realm, clock: FakeClock):
    shop.set_access_token_ttl("acme", "shop", 0)
    grant = shop.password_token("acme", "shop", "alice", "wonderland")
    assert grant.expires_in is None
    clock.advance_ms(100 * 365 * 86_400_000)
    assert shop.authenticate_token(grant.access_token).username == "alice"
    # an explicit ttl is still honoured
    assert shop.password_token("acme", "shop", "alice", "wonderland", ttl_ms=1000).expires_in == 1


def test_changing_accesstokenttl_affects_only_new_tokens(shop: Realm, clock: FakeClock):
    old = shop.password_token("acme", "shop", "alice", "wonderland")
    shop.set_access_token_ttl("acme", "shop", 1000)
    clock.advance_ms(5000)
    shop.authenticate_token(old.access_token)
    new = shop.password_token("acme", "shop", "alice", "wonderland")
    assert new.expires_in == 1


def test_client_and_admin_tokens_ignore_accesstokenttl(shop: Realm):
    shop.set_access_token_ttl("acme", "shop", 0)
    creds = shop.create_credentials("acme", "shop")
    assert shop.client_token(creds.client_id, creds.client_secret).expires_in == WEEK_MS // 1000
    shop.create_admin("ann", password="pw-secret", orgs=["acme"])
    assert shop.admin_token("ann", "pw-secret").expires_in == WEEK_MS // 1000
    with pytest.raises(IllegalArgumentError):
        shop.client_token(creds.client_id, creds.client_secret, ttl_ms=WEEK_MS + 1)


def test_realm_maximum_is_configurable(clock: FakeClock):
    from baas_auth import MemoryStore
    from tests.conftest import FAST_HASHER

    realm = Realm(MemoryStore(), clock=clock, max_token_ttl_ms=60_000, password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_user("acme", "sandbox", "u", password="pw-secret")
    assert realm.password_token("acme", "sandbox", "u", "pw-secret").expires_in == 60
    with pytest.raises(ConfigError):
        Realm(MemoryStore(), max_token_ttl_ms=0)


def test_client_credentials_grant_kind_follows_the_client(shop: Realm):
    org_creds = shop.create_credentials("acme")
    app_creds = shop.create_credentials("acme", "shop")
    org_token = shop.client_token(org_creds.client_id, org_creds.client_secret)
    app_token = shop.client_token(app_creds.client_id, app_creds.client_secret)
    assert shop.authenticate_token(org_token.access_token).kind == "org_client"
    app_principal = shop.authenticate_token(app_token.access_token)
    assert (app_principal.kind, app_principal.org, app_principal.app) == (
        "app_client",
        "acme",
        "shop",
    )


@pytest.mark.parametrize(
    "mangle",
    [lambda s: s + "x", lambda s: s[:-1], lambda s: "", lambda s: s.upper()],
    ids=["extended", "truncated", "empty", "upper"],
)
def test_bad_client_secret_is_invalid_client(shop: Realm, mangle):
    creds = shop.create_credentials("acme")
    with pytest.raises(InvalidClientError) as caught:
        shop.client_token(creds.client_id, mangle(creds.client_secret))
    assert caught.value.error == "invalid_client"
    with pytest.raises(InvalidClientError):
        shop.client_token("b3U6unknown", creds.client_secret)


def test_regenerating_credentials_revokes_old_tokens(shop: Realm):
    creds = shop.create_credentials("acme", "shop")
    grant = shop.client_token(creds.client_id, creds.client_secret)
    fresh = shop.regenerate_credentials(creds.client_id)
    assert fresh.client_id == creds.client_id
    assert fresh.client_secret != creds.client_secret
    with pytest.raises(RevokedTokenError):
        shop.authenticate_token(grant.access_token)
    with pytest.raises(InvalidClientError):
        shop.client_token(creds.client_id, creds.client_secret)
    shop.client_token(fresh.client_id, fresh.client_secret)


def test_regenerating_can_keep_old_tokens(shop: Realm):
    creds = shop.create_credentials("acme")
    grant = shop.client_token(creds.client_id, creds.client_secret)
    shop.regenerate_credentials(creds.client_id, revoke_tokens=False)
    shop.authenticate_token(grant.access_token)


def test_deleting_credentials_revokes_their_tokens(shop: Realm):
    creds = shop.create_credentials("acme")
    grant = shop.client_token(creds.client_id, creds.client_secret)
    shop.delete_credentials(creds.client_id)
    with pytest.raises(RevokedTokenError):
        shop.authenticate_token(grant.access_token)


def test_revoke_one_token_leaves_the_others(shop: Realm):
    first = shop.password_token("acme", "shop", "alice", "wonderland")
    second = shop.password_token("acme", "shop", "alice", "wonderland")
    assert shop.revoke_token(first.access_token)
    assert not shop.revoke_token(first.access_token)
    with pytest.raises(RevokedTokenError) as caught:
        shop.authenticate_token(first.access_token)
    assert caught.value.error == "auth_invalid"
    shop.authenticate_token(second.access_token)


def test_revoke_client_token(shop: Realm):
    creds = shop.create_credentials("acme")
    grant = shop.client_token(creds.client_id, creds.client_secret)
    assert shop.revoke_token(grant.access_token)
    with pytest.raises(RevokedTokenError):
        shop.authenticate_token(grant.access_token)


def test_revoke_expired_token_is_allowed(shop: Realm, clock: FakeClock):
    grant = shop.password_token("acme", "shop", "alice", "wonderland", ttl_ms=1000)
    clock.advance_ms(2000)
    assert shop.revoke_token(grant.access_token)


def test_revoke_garbage_token_is_malformed(shop: Realm):
    with pytest.raises(MalformedTokenError):
        shop.revoke_token("not-a-token")


def test_revoke_all_user_tokens(shop: Realm):
    shop.create_user("acme", "shop", "bob", password="pw-secret")
    alice_tokens = [shop.password_token("acme", "shop", "alice", "wonderland") for _ in range(3)]
    bob = shop.password_token("acme", "shop", "bob", "pw-secret")
    assert shop.revoke_user_tokens("acme", "shop", "alice") == 3
    for grant in alice_tokens:
        with pytest.raises(RevokedTokenError):
            shop.authenticate_token(grant.access_token)
    shop.authenticate_token(bob.access_token)
    # new tokens work after a revoke-all
    shop.authenticate_token(shop.password_token("acme", "shop", "alice", "wonderland").access_token)


def test_revoke_all_admin_tokens(shop: Realm):
    shop.create_admin("ann", password="pw-secret", orgs=["acme"])
    grants = [shop.admin_token("ann", "pw-secret") for _ in range(2)]
    assert shop.revoke_admin_tokens("ANN") == 2
    for grant in grants:
        with pytest.raises(RevokedTokenError):
            shop.authenticate_token(grant.access_token)


def test_disabling_a_user_revokes_and_reenabling_does_not_restore(shop: Realm):
    grant = shop.password_token("acme", "shop", "alice", "wonderland")
    shop.update_user("acme", "shop", "alice", disabled=True)
    with pytest.raises(RevokedTokenError):
        shop.authenticate_token(grant.access_token)
    shop.update_user("acme", "shop", "alice", disabled=False)
    with pytest.raises(RevokedTokenError):
        shop.authenticate_token(grant.access_token)


def test_deleting_a_user_revokes_its_tokens(shop: Realm):
    grant = shop.password_token("acme", "shop", "alice", "wonderland")
    shop.delete_user("acme", "shop", "alice")
    with pytest.raises(RevokedTokenError):
        shop.authenticate_token(grant.access_token)
    # a new user with the same name is someone else: the old token stays dead
    shop.create_user("acme", "shop", "alice", password="wonderland")
    with pytest.raises(RevokedTokenError):
        shop.authenticate_token(grant.access_token)


def test_disabled_admin_loses_tokens(shop: Realm):
    shop.create_admin("ann", password="pw-secret", orgs=["acme"])
    grant = shop.admin_token("ann", "pw-secret")
    shop.update_admin("ann", disabled=True)
    with pytest.raises(RevokedTokenError):
        shop.authenticate_token(grant.access_token)
    with pytest.raises(InvalidGrantError):
        shop.admin_token("ann", "pw-secret")


def test_rotated_keys_keep_old_tokens_until_retired(shop: Realm):
    old = shop.password_token("acme", "shop", "alice", "wonderland")
    old_kid = shop.keys.current.kid
    new_kid = shop.rotate_signing_key()
    assert new_kid != old_kid
    new = shop.password_token("acme", "shop", "alice", "wonderland")
    shop.authenticate_token(old.access_token)
    with pytest.raises(ConfigError):
        shop.retire_signing_key(new_kid)
    shop.retire_signing_key(old_kid)
    with pytest.raises(MalformedTokenError) as refused:
        shop.authenticate_token(old.access_token)
    assert refused.value.error == "auth_bad_access_token"  # the code clients know stays
    assert "a key this realm does not hold (a retired key" in refused.value.error_description
    assert "corrupt" not in refused.value.error_description
    shop.authenticate_token(new.access_token)
    with pytest.raises(ConfigError):
        shop.retire_signing_key(old_kid)


def test_configured_signing_keys(clock: FakeClock):
    from baas_auth import MemoryStore, SigningKey
    from tests.conftest import FAST_HASHER

    key = SigningKey.generate()
    store = MemoryStore()
    first = Realm(store, clock=clock, signing_keys=[key], password_hasher=FAST_HASHER)
    first.create_org("acme")
    first.create_user("acme", "sandbox", "u", password="pw-secret")
    grant = first.password_token("acme", "sandbox", "u", "pw-secret")
    other = Realm(
        store, clock=clock, signing_keys=[SigningKey.generate()], password_hasher=FAST_HASHER
    )
    with pytest.raises(MalformedTokenError):
        other.authenticate_token(grant.access_token)
    with pytest.raises(ConfigError):
        first.rotate_signing_key()
    with pytest.raises(ConfigError):
        Realm(store, signing_keys=[])


def test_token_of_one_app_does_not_cover_another(shop: Realm):
    shop.create_app("acme", "blog")
    principal = shop.authenticate_token(
        shop.password_token("acme", "shop", "alice", "wonderland").access_token
    )
    assert principal.covers("acme", "shop")
    assert not principal.covers("acme", "blog")
    assert not shop.permits(principal, "GET", "/posts", org="acme", app="blog")


def test_token_record_never_holds_the_token(shop: Realm):
    grant = shop.password_token("acme", "shop", "alice", "wonderland")
    principal = shop.authenticate_token(grant.access_token)
    lookup = shop.store.get_token(principal.token_id or "")
    assert lookup.record is not None
    assert grant.access_token.encode() not in lookup.record


def test_forged_key_ids_cause_at_most_one_key_reload_a_second(clock: FakeClock):
    from baas_auth import MemoryStore, SigningKey
    from baas_auth.core.tokens import issue_token
    from tests.conftest import FAST_HASHER

    class CountingStore(MemoryStore):
        key_reads = 0

        def get(self, key: str) -> bytes | None:
            if key == "meta:signing_keys":
                CountingStore.key_reads += 1
            return super().get(key)

    realm = Realm(CountingStore(), create=True, clock=clock, password_hasher=FAST_HASHER)
    before = CountingStore.key_reads
    for _ in range(50):
        forged, _ = issue_token(SigningKey.generate(), expires_at_ms=None)
        with pytest.raises(MalformedTokenError):
            realm.authenticate_token(forged)
    assert CountingStore.key_reads - before == 1
    clock.advance_ms(1000)
    with pytest.raises(MalformedTokenError):
        realm.authenticate_token(issue_token(SigningKey.generate(), expires_at_ms=None)[0])
    assert CountingStore.key_reads - before == 2


def test_raising_the_password_cost_rehashes_at_the_next_login(clock: FakeClock):
    from baas_auth import MemoryStore, PasswordHasher

    store = MemoryStore()
    cheap = Realm(store, clock=clock, password_hasher=PasswordHasher(n=16, r=1, p=1))
    cheap.create_org("acme")
    cheap.create_user("acme", "sandbox", "u", password="pw-secret")
    cheap.create_admin("ann", password="pw-secret")
    dearer = PasswordHasher(n=32, r=1, p=1)
    realm = Realm(store, clock=clock, password_hasher=dearer)
    user_key = record_keys.user_key("acme", "sandbox", realm.get_user("acme", "sandbox", "u").uuid)
    admin_key = record_keys.admin_key(realm.get_admin("ann").uuid)

    def stored_hash(key: str, kind: type[rec.UserRecord] | type[rec.AdminRecord]) -> str:
        return rec.decode(kind, store.get(key) or b"").password_hash or ""

    assert dearer.needs_rehash(stored_hash(user_key, rec.UserRecord))
    realm.password_token("acme", "sandbox", "u", "pw-secret")
    realm.admin_token("ann", "pw-secret")
    assert not dearer.needs_rehash(stored_hash(user_key, rec.UserRecord))
    assert not dearer.needs_rehash(stored_hash(admin_key, rec.AdminRecord))
    realm.password_token("acme", "sandbox", "u", "pw-secret")  # the new hash still verifies
    with pytest.raises(InvalidGrantError):
        realm.password_token("acme", "sandbox", "u", "wrong")


def test_a_rotated_key_says_when_it_signed(shop: Realm, clock: FakeClock):
    first = shop.keys.current.kid
    created = shop.keys.dates[first]
    assert created.since_ms is not None
    assert created.until_ms is None
    clock.now += 60
    second = shop.rotate_signing_key()
    clock.now += 60
    third = shop.rotate_signing_key()
    dates = shop.keys.dates
    assert dates[first].since_ms == created.since_ms
    assert dates[first].until_ms == dates[second].since_ms == created.since_ms + 60_000
    assert dates[second].until_ms == dates[third].since_ms == created.since_ms + 120_000
    assert dates[third].until_ms is None
    shop.retire_signing_key(first)
    assert first not in shop.keys.dates
    assert shop.keys.dates[second].until_ms == created.since_ms + 120_000


def test_keys_stored_without_dates_still_load(shop: Realm):
    shop.store.put("meta:signing_keys", b'[{"kid": "AAAAAAAA", "secret": "' + b"A" * 44 + b'"}]')
    shop.rotate_signing_key()  # reloads the stored keys, then adds a dated one
    assert shop.keys.dates["AAAAAAAA"].since_ms is None
    assert shop.keys.dates["AAAAAAAA"].until_ms is not None
