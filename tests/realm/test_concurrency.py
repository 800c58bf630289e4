"""Tokens issued, validated and revoked from many tasks (one event loop) and many threads at
once: nothing is lost. Every issued token validates until it is revoked, every revoked one is
refused at once, and revoking all of a user's tokens counts exactly the ones still standing.

The tasks run on an ``AsyncRealm`` over ``AsyncRedisStore``; the threads on the ``realm``
fixture (every store kind, the async realm through its blocking facade, whose calls from all
threads meet on its one loop).
"""

from __future__ import annotations

import asyncio

import pytest

from baas_auth import AsyncRealm, Realm
from baas_auth.errors import RevokedTokenError
from baas_auth.stores.redis import AsyncRedisStore
from tests.conftest import FAST_HASHER, FakeClock, fresh_prefix
from tests.redis_server import RedisServer
from tests.threads import run_threads

TASKS = 200
USERS = 100
"""Two tasks per user, each with two grants in flight: at most 4 grants of one account at once,
within the login throttle's budget of checks in flight (more would wait their turn)."""
PASSWORD = "pw-concurrent"
BURST_TIMEOUT_S = 30.0
"""The store timeout for the bursts below. 200 tasks keep about 400 store calls in flight; the
store's client has 100 connections (``POOL_SIZE``), and a call waits for a free one within the
store's timeout. One event loop runs some 2,500 Redis calls a second through redis-py (measured
on a 2-core machine), and redis-py's waiting pool is not first-come first-served, so with the
default 1 s a burst this size can have a call refused (StoreError: fail closed, nothing lost):
the point here is what is kept, not how fast (tests/stores/test_redis_pool.py: more calls than
connections, default timeout). A bound, never waited out when all goes well: 5 s was too short
for a call that waited its turn while the suite's other worker and its redis-server shared the
two cores."""


def test_many_tasks_issue_validate_and_revoke_with_nothing_lost(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    async def scenario() -> None:
        store = AsyncRedisStore(redis_server.url, prefix=fresh_prefix(), timeout=BURST_TIMEOUT_S)
        realm = AsyncRealm(store, clock=clock, password_hasher=FAST_HASHER)
        try:
            await _run_tasks(realm)
        finally:
            await realm.close()

    asyncio.run(scenario())


async def _run_tasks(realm: AsyncRealm) -> None:
    await realm.create_org("acme")
    await realm.create_app("acme", "shop", roles="usergrid")
    await asyncio.gather(
        *(realm.create_user("acme", "shop", f"u{n}", password=PASSWORD) for n in range(USERS))
    )
    creds = await realm.create_credentials("acme", "shop")

    async def one(i: int) -> tuple[str, str, str]:
        user = f"u{i % USERS}"
        kept, doomed = await asyncio.gather(
            realm.password_token("acme", "shop", user, PASSWORD),
            realm.password_token("acme", "shop", user, PASSWORD),
        )
        client = await realm.client_token(creds.client_id, creds.client_secret)
        for grant in (kept, doomed):
            assert (await realm.authenticate_token(grant.access_token)).username == user
        assert await realm.revoke_token(doomed.access_token)
        with pytest.raises(RevokedTokenError):
            await realm.authenticate_token(doomed.access_token)
        assert not await realm.revoke_token(doomed.access_token)  # already gone
        assert (await realm.authenticate_token(kept.access_token)).username == user
        return kept.access_token, doomed.access_token, client.access_token

    issued = await asyncio.gather(*(one(i) for i in range(TASKS)))
    kept, doomed, clients = (list(column) for column in zip(*issued, strict=True))
    assert len(set(kept + doomed + clients)) == 3 * TASKS

    # Everything still standing validates (concurrently), everything revoked is refused.
    principals = await asyncio.gather(*(realm.authenticate_token(t) for t in kept + clients))
    assert [p.username for p in principals[:TASKS]] == [f"u{i % USERS}" for i in range(TASKS)]
    assert {p.kind for p in principals[TASKS:]} == {"app_client"}
    await _all_refused(realm, doomed)

    # Revoke-all counts exactly the standing tokens of each user, and they stop at once.
    counts = await asyncio.gather(
        *(realm.revoke_user_tokens("acme", "shop", f"u{n}") for n in range(USERS))
    )
    assert counts == [TASKS // USERS] * USERS
    await _all_refused(realm, kept)
    assert (
        await asyncio.gather(
            *(realm.revoke_user_tokens("acme", "shop", f"u{n}") for n in range(USERS))
        )
        == [0] * USERS
    )

    # The client's tokens were untouched by all that, until its secret is regenerated.
    assert len(await asyncio.gather(*(realm.authenticate_token(t) for t in clients))) == TASKS
    await realm.regenerate_credentials(creds.client_id)
    await _all_refused(realm, clients)


async def _all_refused(realm: AsyncRealm, tokens: list[str]) -> None:
    outcomes = await asyncio.gather(
        *(realm.authenticate_token(t) for t in tokens), return_exceptions=True
    )
    accepted = [o for o in outcomes if not isinstance(o, RevokedTokenError)]
    assert accepted == []


def test_tasks_revoking_all_while_others_issue_lose_nothing(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """Revoke-all racing issues: each token issued is either counted by a revoke-all (and
    refused) or still valid afterwards, never both and never neither."""

    async def scenario() -> None:
        store = AsyncRedisStore(redis_server.url, prefix=fresh_prefix(), timeout=BURST_TIMEOUT_S)
        # One account, 180 grants at once: the throttle would refuse all but 5 (see USERS).
        realm = AsyncRealm(store, clock=clock, password_hasher=FAST_HASHER, login_throttle=None)
        try:
            await realm.create_org("acme")
            await realm.create_app("acme", "shop")
            await realm.create_user("acme", "shop", "alice", password=PASSWORD)

            async def issue() -> str:
                grant = await realm.password_token("acme", "shop", "alice", PASSWORD)
                return grant.access_token

            async def revoke_all() -> int:
                await asyncio.sleep(0)
                return await realm.revoke_user_tokens("acme", "shop", "alice")

            work = [issue() if i % 10 else revoke_all() for i in range(TASKS)]
            results = await asyncio.gather(*work)
            tokens = [r for r in results if isinstance(r, str)]
            revoked = sum(r for r in results if isinstance(r, int))
            outcomes = await asyncio.gather(
                *(realm.authenticate_token(t) for t in tokens), return_exceptions=True
            )
            standing = [o for o in outcomes if not isinstance(o, BaseException)]
            refused = [o for o in outcomes if isinstance(o, RevokedTokenError)]
            assert len(standing) + len(refused) == len(tokens)
            assert len(refused) == revoked
            assert await realm.revoke_user_tokens("acme", "shop", "alice") == len(standing)
        finally:
            await realm.close()

    asyncio.run(scenario())


# -- threads, on every realm kind ---------------------------------------------------------------


THREADS = 8
ROUNDS = 10


def test_many_threads_issue_validate_and_revoke_with_nothing_lost(realm: Realm) -> None:
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    for n in range(THREADS):
        realm.create_user("acme", "shop", f"t{n}", password=PASSWORD)
    kept: dict[int, list[str]] = {n: [] for n in range(THREADS)}

    def work(n: int) -> None:
        user = f"t{n}"
        for _ in range(ROUNDS):
            keep = realm.password_token("acme", "shop", user, PASSWORD).access_token
            doomed = realm.password_token("acme", "shop", user, PASSWORD).access_token
            assert realm.authenticate_token(doomed).username == user
            assert realm.revoke_token(doomed)
            with pytest.raises(RevokedTokenError):
                realm.authenticate_token(doomed)
            assert realm.authenticate_token(keep).username == user
            kept[n].append(keep)

    run_threads(THREADS, work)
    for n, tokens in kept.items():
        assert [realm.authenticate_token(t).username for t in tokens] == [f"t{n}"] * ROUNDS
    counts: dict[int, int] = {}
    run_threads(
        THREADS, lambda n: counts.update({n: realm.revoke_user_tokens("acme", "shop", f"t{n}")})
    )
    assert counts == {n: ROUNDS for n in range(THREADS)}
    for tokens in kept.values():
        for token in tokens:
            with pytest.raises(RevokedTokenError):
                realm.authenticate_token(token)
