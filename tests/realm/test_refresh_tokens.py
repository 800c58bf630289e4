"""Refresh tokens (behaviour §9) on every store (memory, SQLite, Redis, async Redis), for an
app's users and (``holder``) for admin users where the rules are the same: off by
default, rotation, the replays that broke peers (a spent token ends the whole family; the grace
window covers the immediately previous token only), a bounded family life, revoke-all and
disabling ending families, neither kind accepted as the other, exactly one winner among
concurrent refreshes."""

from __future__ import annotations

import asyncio
import multiprocessing
from dataclasses import dataclass
from pathlib import Path

import pytest

from baas_auth import AsyncRealm, Realm, SQLiteStore
from baas_auth.errors import ConfigError, InvalidGrantError, RevokedTokenError
from baas_auth.model import TokenGrant
from tests.conftest import FAST_HASHER, FakeClock, fresh_prefix
from tests.realm_facade import BlockingRealm
from tests.threads import run_threads

PASSWORD = "wonderland"
DAY_MS = 86_400_000


def _on(shop: Realm, *, grace_ms: int = 0) -> TokenGrant:
    shop.set_refresh_token_ttl("acme", "shop", 30 * DAY_MS, grace_ms=grace_ms)
    grant = shop.password_token("acme", "shop", "alice", PASSWORD)
    assert grant.refresh_token is not None
    return grant


def _refresh(shop: Realm, token: str | None) -> TokenGrant:
    assert token is not None
    return shop.refresh_token("acme", "shop", token)


def _alive(shop: Realm, token: str) -> bool:
    try:
        shop.token_info(token)
    except RevokedTokenError:
        return False
    return True


@dataclass(frozen=True)
class Holder:
    """Whose families a test makes: alice's in acme/shop (refresh tokens switched on for the
    app) or admin ann's (switched on for the realm); the rules of families are the same."""

    realm: Realm
    kind: str

    def on(self, *, ttl_ms: int = 30 * DAY_MS, grace_ms: int = 0) -> TokenGrant:
        if self.kind == "admin":
            self.realm.set_admin_refresh_token_ttl(ttl_ms, grace_ms=grace_ms)
            grant = self.realm.admin_token("ann", PASSWORD)
        else:
            self.realm.set_refresh_token_ttl("acme", "shop", ttl_ms, grace_ms=grace_ms)
            grant = self.realm.password_token("acme", "shop", "alice", PASSWORD)
        assert grant.refresh_token is not None
        return grant

    def refresh(self, token: str | None) -> TokenGrant:
        assert token is not None
        if self.kind == "admin":
            return self.realm.refresh_admin_token(token)
        return self.realm.refresh_token("acme", "shop", token)

    def alive(self, token: str) -> bool:
        return _alive(self.realm, token)


@pytest.fixture(params=["app", "admin"])
def holder(shop: Realm, request: pytest.FixtureRequest) -> Holder:
    shop.create_admin("ann", password=PASSWORD, orgs=["acme"])
    return Holder(shop, str(request.param))


def test_off_by_default(shop: Realm) -> None:
    assert shop.password_token("acme", "shop", "alice", PASSWORD).refresh_token is None


def test_rotation_spends_the_old_token(shop: Realm) -> None:
    first = _on(shop)
    assert first.refresh_token is not None
    live = shop.introspect(first.refresh_token, org="acme", app="shop")
    assert (live["active"], live["token_type"], live["username"]) == (
        True,
        "refresh_token",
        "alice",
    )
    second = _refresh(shop, first.refresh_token)
    assert shop.introspect(first.refresh_token, org="acme", app="shop") == {"active": False}
    assert second.refresh_token not in (None, first.refresh_token)
    assert second.access_token != first.access_token
    assert shop.token_info(second.access_token).principal.username == "alice"
    assert second.principal.username == "alice"


def test_replay_of_a_spent_token_ends_the_whole_family(holder: Holder) -> None:
    r1 = holder.on()
    r2 = holder.refresh(r1.refresh_token)
    r3 = holder.refresh(r2.refresh_token)
    with pytest.raises(InvalidGrantError):
        holder.refresh(r1.refresh_token)
    for grant in (r1, r2, r3):
        assert not holder.alive(grant.access_token)
    with pytest.raises(InvalidGrantError):
        holder.refresh(r3.refresh_token)


def test_grace_covers_only_the_immediately_previous_token(holder: Holder, clock: FakeClock) -> None:
    r1 = holder.on(grace_ms=10_000)
    r2 = holder.refresh(r1.refresh_token)
    r3 = holder.refresh(r2.refresh_token)
    clock.advance_ms(5_000)
    with pytest.raises(InvalidGrantError):  # r2, within the window: refused, family intact
        holder.refresh(r2.refresh_token)
    assert holder.alive(r3.access_token)
    with pytest.raises(InvalidGrantError):  # r1 is no longer the previous one: ends it all
        holder.refresh(r1.refresh_token)
    assert not holder.alive(r3.access_token)


def test_previous_token_after_the_grace_window_ends_the_family(
    holder: Holder, clock: FakeClock
) -> None:
    r1 = holder.on(grace_ms=10_000)
    r2 = holder.refresh(r1.refresh_token)
    clock.advance_ms(10_001)
    with pytest.raises(InvalidGrantError):
        holder.refresh(r1.refresh_token)
    assert not holder.alive(r2.access_token)
    with pytest.raises(InvalidGrantError):
        holder.refresh(r2.refresh_token)


def test_family_life_is_bounded(holder: Holder, clock: FakeClock) -> None:
    grant = holder.on(ttl_ms=2 * DAY_MS)
    for _ in range(3):  # rotation never extends the family
        clock.advance_ms(DAY_MS // 2)
        grant = holder.refresh(grant.refresh_token)
    clock.advance_ms(DAY_MS // 2 + 1)
    with pytest.raises(InvalidGrantError):
        holder.refresh(grant.refresh_token)


@pytest.mark.parametrize("how", ["revoke-all", "disable", "delete", "password-change"])
def test_account_changes_end_families(shop: Realm, how: str) -> None:
    grant = _on(shop)
    if how == "revoke-all":
        shop.revoke_user_tokens("acme", "shop", "alice")
    elif how == "disable":
        shop.update_user("acme", "shop", "alice", disabled=True)
        shop.update_user("acme", "shop", "alice", disabled=False)
    elif how == "delete":
        shop.delete_user("acme", "shop", "alice")
    else:
        shop.update_user("acme", "shop", "alice", password="a new wonderland")
    assert grant.refresh_token is not None
    if how != "delete":
        assert shop.introspect(grant.refresh_token, org="acme", app="shop") == {"active": False}
    with pytest.raises(InvalidGrantError):
        _refresh(shop, grant.refresh_token)


def test_neither_kind_is_accepted_as_the_other(shop: Realm) -> None:
    grant = _on(shop)
    assert grant.refresh_token is not None
    with pytest.raises(RevokedTokenError):
        shop.token_info(grant.refresh_token)
    with pytest.raises(InvalidGrantError):
        shop.refresh_token("acme", "shop", grant.access_token)
    shop.create_app("acme", "other")
    with pytest.raises(InvalidGrantError):  # and a refresh token is no other app's
        shop.refresh_token("acme", "other", grant.refresh_token)
    assert _refresh(shop, grant.refresh_token).refresh_token


def test_refresh_ttl_and_grace_are_checked(shop: Realm) -> None:
    with pytest.raises(ConfigError):
        shop.set_refresh_token_ttl("acme", "shop", DAY_MS, grace_ms=60_001)
    with pytest.raises(ConfigError):
        shop.set_refresh_token_ttl("acme", "shop", -1)
    shop.set_refresh_token_ttl("acme", "shop", DAY_MS)
    shop.set_refresh_token_ttl("acme", "shop", None)
    assert shop.password_token("acme", "shop", "alice", PASSWORD).refresh_token is None


@pytest.mark.parametrize("grace_ms", [0, 60_000])
def test_concurrent_refreshes_have_exactly_one_winner(holder: Holder, grace_ms: int) -> None:
    grant = holder.on(grace_ms=grace_ms)
    won: list[TokenGrant] = []
    refused: list[object] = []
    shop = holder.realm
    if isinstance(shop, BlockingRealm):  # AsyncRealm: six refreshes in flight on its loop
        outcomes = shop.loop.run(_refresh_at_once(shop.inner, holder.kind, grant.refresh_token))
        won = [o for o in outcomes if isinstance(o, TokenGrant)]
        refused = [o for o in outcomes if isinstance(o, InvalidGrantError)]
    else:

        def work(index: int) -> None:
            try:
                won.append(holder.refresh(grant.refresh_token))
            except InvalidGrantError:
                refused.append(index)

        run_threads(6, work)
    assert (len(won), len(refused)) == (1, 5)
    # the others were replays: without grace they end the family, within it they do not
    assert holder.alive(won[0].access_token) is (grace_ms > 0)


async def _refresh_at_once(realm: AsyncRealm, kind: str, token: str | None) -> list[object]:
    assert token is not None
    if kind == "admin":
        calls = [realm.refresh_admin_token(token) for _ in range(6)]
    else:
        calls = [realm.refresh_token("acme", "shop", token) for _ in range(6)]
    return list(await asyncio.gather(*calls, return_exceptions=True))


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_concurrent_refreshes_across_processes_have_exactly_one_winner(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from tests.realm.refresh_process import refresh_once

    prefix = fresh_prefix()
    if kind == "sqlite":
        where = str(tmp_path / "auth.db")
        realm = Realm(SQLiteStore(where), password_hasher=FAST_HASHER)
    else:
        from baas_auth.stores.redis import RedisStore

        where = request.getfixturevalue("redis_server").url
        realm = Realm(RedisStore(where, prefix=prefix), password_hasher=FAST_HASHER)
    try:
        realm.create_org("acme")
        realm.create_app("acme", "shop")
        realm.create_user("acme", "shop", "alice", password=PASSWORD)
        grant = _on(realm, grace_ms=60_000)
    finally:
        realm.close()
    context = multiprocessing.get_context("spawn")
    count = 4
    barrier, results = context.Barrier(count), context.Queue()
    args = (kind, where, prefix, grant.refresh_token, barrier, results)
    processes = [context.Process(target=refresh_once, args=args) for _ in range(count)]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=120) for _ in range(count))
    for process in processes:
        process.join(timeout=60)
    assert outcomes == ["refused"] * (count - 1) + ["won"]


def test_a_family_record_keeps_only_tokens_that_may_be_live() -> None:
    from baas_auth.realm.refresh_families import live_members, member

    entries = [member("a1", 1_000), member("r1", 9_000), member("a2", 5_000), member("n", None)]
    assert live_members(entries, 2_000, "r1") == [member("a2", 5_000), member("n", None)]


def test_many_refreshes_then_a_replay_still_ends_the_live_tokens(
    shop: Realm, clock: FakeClock
) -> None:
    first = _on(shop)
    grant = first
    for _ in range(5):
        clock.advance_ms(1_000)
        grant = _refresh(shop, grant.refresh_token)
    with pytest.raises(InvalidGrantError):
        _refresh(shop, first.refresh_token)
    assert not _alive(shop, grant.access_token)


def test_a_family_keeps_a_bounded_number_of_live_access_tokens(holder: Holder) -> None:
    """A client refreshing far more often than its access tokens expire: the family keeps the
    newest MAX_LIVE_ACCESS of them and revokes older ones, so its record (read and written at
    every refresh) stays small, and a replay still ends every token it kept."""
    from baas_auth.realm.refresh_families import MAX_LIVE_ACCESS

    first = holder.on()
    grants = [first]
    for _ in range(MAX_LIVE_ACCESS + 4):
        grants.append(holder.refresh(grants[-1].refresh_token))
    alive = [holder.alive(grant.access_token) for grant in grants]
    assert alive == [False] * (len(grants) - MAX_LIVE_ACCESS) + [True] * MAX_LIVE_ACCESS
    with pytest.raises(InvalidGrantError):
        holder.refresh(first.refresh_token)
    assert not any(holder.alive(grant.access_token) for grant in grants)


def test_a_copy_refuses_the_refresh_tokens_of_its_source() -> None:
    """Families are transient records, which a copy leaves behind: in the copy a refresh token
    is refused (its users sign in again), never granted from a family it cannot see."""
    from baas_auth import MemoryStore
    from baas_auth.stores.transfer import copy_realm
    from tests.conftest import FAST_HASHER

    source = MemoryStore()
    realm = Realm(source, password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    realm.create_user("acme", "shop", "alice", password=PASSWORD)
    grant = _on(realm)
    copy = MemoryStore()
    copy_realm(source, copy)
    copied = Realm(copy, password_hasher=FAST_HASHER)
    assert _alive(copied, grant.access_token)
    with pytest.raises(InvalidGrantError):
        _refresh(copied, grant.refresh_token)
    assert _refresh(realm, grant.refresh_token).refresh_token  # the source's family lives on
