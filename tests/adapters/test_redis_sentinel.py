"""Through Redis Sentinel, from a ``redis+sentinel://`` URL (behaviour §7), on both adapters.

One primary, one replica and one sentinel for the module (``tests/redis_topologies.py``). In
the middle of traffic the primary is killed: every request is 503 until the sentinel has
promoted the replica, then the SAME middleware serves again (it asks the sentinel where the
primary is now), with nothing reconnected by hand. A token revoked before the failover stays
refused; a token issued and used only in writes the replica never received is not admitted
from what the process remembered (the rollback rule: what was remembered before the loss is
decided afresh). A planned switchover (``SENTINEL FAILOVER`` with the primary up) leaves the
old primary serving for some seconds: each change stamp read asks the sentinel too, so a token
revoked on the new primary is never admitted from the old one. After each test the killed
server comes back as the replica of the new primary, so the next test fails over the other way.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.exceptions import InvalidResponse, ResponseError

from baas_auth import Realm, StoreError
from baas_auth.stores._redis_fresh import INCOMPLETE
from baas_auth.stores._redis_primary import checked_stamp, parse_replies
from baas_auth.stores.redis import RedisStore
from tests.adapters.test_redis_outage import (
    TIMEOUT_S,
    Deployment,
    _refused,
    _served,
    _timed,
    _token,
    deploy,
)
from tests.conftest import FakeClock, fresh_prefix
from tests.redis_topologies import DEADLINE_S, SentinelSet

AT = ("127.0.0.1", 7000)
"""Where a stamp read was sent, in the checks' own test."""


def _remembered(deployment: Deployment, token: str, user: str) -> None:
    for _ in range(3):  # decided, remembered at the second sight, then recalled
        _served(deployment, token, user)
    deployment.calls.clear()


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSet]:
    servers = SentinelSet(tmp_path_factory.mktemp("sentinel"))
    yield servers
    servers.stop()


@pytest.fixture
def prefix() -> str:
    return fresh_prefix()


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def deployment(
    request: pytest.FixtureRequest, sentinels: SentinelSet, clock: FakeClock, prefix: str
) -> Iterator[Deployment]:
    yield from deploy(request.param, sentinels, clock, prefix=prefix)
    if sentinels.primary_port() != sentinels.primary.port:  # the test failed over
        sentinels.recover()


def test_a_failover_is_503_while_it_lasts_then_served_and_nothing_revoked_comes_back(
    deployment: Deployment, sentinels: SentinelSet
) -> None:
    alice, bob = _token(deployment, "alice"), _token(deployment, "bob")
    _remembered(deployment, alice, "alice")  # under the stamp before the failover
    _remembered(deployment, bob, "bob")
    assert deployment.realm.revoke_token(alice)
    assert deployment.get(alice).status == 401
    sentinels.wait_replicated()

    sentinels.primary.kill()
    for _ in range(2):
        with _timed(2 * TIMEOUT_S):
            _refused(deployment.get(bob), deployment)
    with pytest.raises(StoreError):
        deployment.realm.ping()  # what a health check asks: down too
    sentinels.fail_over()

    deployment.realm.ping()
    _served(deployment, bob, "bob")  # the same middleware, now on the promoted replica
    for _ in range(3):
        assert deployment.get(alice).status == 401  # revoked before: never back
    granted = deployment.password_grant()  # the new primary takes writes
    assert granted.status == 200, granted.body
    _served(deployment, granted.json()["access_token"], "alice")


def test_a_token_lost_in_a_failover_is_not_admitted_from_memory(
    deployment: Deployment, sentinels: SentinelSet
) -> None:
    """carol's token is written and used (her admission remembered) while the replica is cut
    off, so the replica never gets it; the failover loses it."""
    bob = _token(deployment, "bob")
    _remembered(deployment, bob, "bob")
    sentinels.wait_replicated()
    replica = sentinels.replica.process
    assert replica is not None
    os.kill(replica.pid, signal.SIGSTOP)
    try:
        # The primary drops its link to the stopped replica, so nothing written from here on
        # reaches it (a stopped process would still find what was sent in its socket).
        with sentinels.primary.client() as raw:
            assert raw.client_kill_filter(_type="replica") == 1
        carol = _token(deployment, "alice")
        _remembered(deployment, carol, "alice")
        sentinels.primary.kill()
    finally:
        os.kill(replica.pid, signal.SIGCONT)
    _refused(deployment.get(carol), deployment)
    sentinels.fail_over()

    for _ in range(3):
        answer = deployment.get(carol)
        assert answer.status == 401, answer.body
    assert not deployment.calls
    _served(deployment, bob, "bob")


def test_a_planned_switchover_then_the_old_primarys_clients_closed_keeps_revocation_immediate(
    deployment: Deployment, sentinels: SentinelSet, prefix: str
) -> None:
    """``SENTINEL FAILOVER`` with the primary up (a planned switchover): the sentinel leaves the
    old primary a primary, with every connection to it open, until it notices it some seconds
    later (docs/redis.md). The optional step right after it, ``CLIENT KILL TYPE normal`` on
    the old primary, closes them: every process reaches the new primary through the sentinel at
    its next request, with no 503 at all, and a revocation made there applies at once."""
    bob = _token(deployment, "bob")
    _remembered(deployment, bob, "bob")
    sentinels.wait_replicated()
    old = sentinels.primary
    sentinels.fail_over()
    with old.client() as raw:
        raw.client_kill_filter(_type="normal", skipme=True)
    _served(deployment, bob, "bob")  # on the new primary
    other = Realm(RedisStore(sentinels.url, prefix=prefix))
    try:
        assert other.revoke_user_tokens("acme", "shop", "bob") == 1
    finally:
        other.close()
    answer = deployment.get(bob)
    assert answer.status == 401, answer.body


def _still_a_primary(sentinels: SentinelSet, port: int) -> bool:
    for server in (sentinels.primary, sentinels.replica):
        if server.port == port:
            with server.client() as raw:
                return bool(raw.role()[0] == b"master")
    raise AssertionError(f"no server on port {port}")


def test_a_planned_switchover_keeps_revocation_immediate_with_the_old_primary_still_serving(
    deployment: Deployment, sentinels: SentinelSet, prefix: str
) -> None:
    """``SENTINEL FAILOVER`` with the primary up, and nothing done to the old primary: it stays
    a primary, serving the connections it has, for some seconds. bob's token, revoked on the
    new primary right after the switchover, is refused from the next request on: each request
    is 503 (the stamp read came from a server the sentinels no longer name) or its right answer
    (bob 401, alice 200), never a 200 for bob; and the middleware reaches the new primary
    without waiting for the sentinels to reconfigure the old one."""
    alice, bob = _token(deployment, "alice"), _token(deployment, "bob")
    _remembered(deployment, alice, "alice")
    _remembered(deployment, bob, "bob")
    sentinels.wait_replicated()
    old_port = sentinels.primary.port
    sentinels.fail_over()
    other = Realm(RedisStore(sentinels.url, prefix=prefix))
    try:
        assert other.revoke_user_tokens("acme", "shop", "bob") == 1
    finally:
        other.close()

    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + DEADLINE_S
    while seen[-2:] != [("bob", 401), ("alice", 200)]:
        assert time.monotonic() < deadline, f"not served again within {DEADLINE_S} s: {seen}"
        for user, token, right in (("bob", bob, 401), ("alice", alice, 200)):
            deployment.calls.clear()
            answer = deployment.get(token)
            seen.append((user, answer.status))
            if answer.status == 503:
                _refused(answer, deployment)
            else:
                assert answer.status == right, (user, seen, answer.body)
    # The window above was the old primary's: it still was one when it closed.
    assert _still_a_primary(sentinels, old_port), seen
    _served(deployment, alice, "alice")


def test_a_sentinel_that_does_not_answer_is_503_within_the_timeout_then_served(
    deployment: Deployment, sentinels: SentinelSet
) -> None:
    """Each stamp read asks the sentinel where the primary is: while it does not answer (paused)
    the store cannot tell, so the request is 503 within the store's timeout, never admitted
    from a server that may no longer be the primary; once it answers, served again."""
    bob = _token(deployment, "bob")
    _remembered(deployment, bob, "bob")
    sentinel = sentinels.sentinel
    assert sentinel is not None
    os.kill(sentinel.pid, signal.SIGSTOP)
    try:
        with _timed(2 * TIMEOUT_S):
            _refused(deployment.get(bob), deployment)
    finally:
        os.kill(sentinel.pid, signal.SIGCONT)
    _served(deployment, bob, "bob")


def test_the_url_names_the_service_and_database(sentinels: SentinelSet, tmp_path: Path) -> None:
    """The store reaches the primary the sentinel names, in the URL's database."""
    store = RedisStore(sentinels.url.replace("/0", "/3"), prefix="db3:")
    try:
        store.put("k", b"v")
    finally:
        store.close()
    with sentinels.primary.client() as raw:
        raw.select(3)
        assert raw.hget("db3:dir", "k") == b"v"


@pytest.mark.parametrize(
    ("role", "named", "refusal"),
    [
        ([b"slave", b"127.0.0.1", 7001, b"connected", 10], [b"127.0.0.1", b"7000"], "(slave)"),
        ([b"master", 10, []], [b"127.0.0.1", b"7001"], "name 127.0.0.1:7001 the primary now"),
        ([b"master", 10, []], None, "does not name a primary"),
    ],
)
def test_a_stamp_read_counts_only_from_the_primary_the_sentinels_name(
    role: list[object], named: list[bytes] | None, refusal: str
) -> None:
    """What the stamp read checks, each way it refuses (the first is a server demoted while
    the sentinel asked still names it: ``ROLE`` says so)."""
    assert checked_stamp([b"master", 10, []], b"7", [b"127.0.0.1", b"7000"], AT) == b"7"
    with pytest.raises(StoreError, match=re.escape(refusal)):
        checked_stamp(role, b"7", named, AT)


ROLE_AND_STAMP = (
    b"*3\r\n$6\r\nmaster\r\n:1234\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n7001\r\n$4\r\n1234\r\n"
    b"$2\r\n17\r\n"
)


def test_the_replies_are_read_whole_and_alone() -> None:
    """``ROLE`` and ``GET`` (RESP2 and RESP3 nils), the sentinel's answer; a reply cut anywhere
    is waited for; an error reply or bytes past the last reply raise (the line is dropped)."""
    replica = [b"127.0.0.1", b"7001", b"1234"]
    assert parse_replies(ROLE_AND_STAMP, 2) == [[b"master", 1234, [replica]], b"17"]
    for cut in range(len(ROLE_AND_STAMP)):
        assert parse_replies(ROLE_AND_STAMP[:cut], 2) is INCOMPLETE
    assert parse_replies(b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n$-1\r\n", 2)[1] is None
    assert parse_replies(b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n_\r\n", 2)[1] is None
    assert parse_replies(b"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n7000\r\n", 1) == [
        [b"127.0.0.1", b"7000"]
    ]
    assert parse_replies(b"*-1\r\n", 1) == [None]
    with pytest.raises(ResponseError, match="NOPERM"):
        parse_replies(b"-NOPERM no permissions to run the 'role' command\r\n$-1\r\n", 2)
    with pytest.raises(InvalidResponse):
        parse_replies(b"$-1\r\n$-1\r\n", 1)
    with pytest.raises(InvalidResponse):
        parse_replies(b">2\r\n$1\r\na\r\n$1\r\nb\r\n", 1)
