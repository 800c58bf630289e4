"""The freshness check holds under every interleaving of a process's threads (behaviour §7).

A threaded server reads the store's change stamp on several threads at once. Another realm on
the same SQLite file revokes alice's token; every request that started after ``revoke_token``
returned must be refused, never given the admission remembered before it. First with the one
interleaving that matters forced (a thread stopped halfway through noting the commit while
another request starts), then with threads left to change hands between any two steps (a tiny
switch interval) while the revocation runs.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from baas_auth import Realm, SQLiteStore
from tests.adapters.conftest import Caller, call_asgi, call_wsgi, http_scope, wsgi_environ
from tests.conftest import FAST_HASHER, FakeClock
from tests.stores.sqlite_helpers import PausedBetweenTheTwoSteps
from tests.threads import run_threads

PASSWORD = "correct horse battery"
PATH = "/acme/shop/books/1"
ROUNDS = 100
ASKING_THREADS = 4
ASKED_AFTER = 4  # requests each thread makes once the revocation has returned
MOST_ASKED = 50_000  # a bound on each thread's requests


@pytest.fixture
def tiny_switch_interval() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def served_realms(
    tmp_path: Path, clock: FakeClock, store: SQLiteStore | None = None
) -> tuple[Realm, Realm]:
    """The realm the middleware serves (over ``store``, by default a new one), and another one
    on the same file that revokes."""
    store = SQLiteStore(tmp_path / "auth.db") if store is None else store
    served = Realm(store, clock=clock, password_hasher=FAST_HASHER)
    served.create_org("acme")
    served.create_app("acme", "shop", roles="locked")
    served.create_user("acme", "shop", "alice", password=PASSWORD)
    served.grant("acme", "shop", "get:/books/**", user="alice")
    other = Realm(SQLiteStore(tmp_path / "auth.db"), clock=clock, password_hasher=FAST_HASHER)
    return served, other


class Asker:
    """One thread's requests with a token, through either adapter: the ASGI middleware is
    called on one event loop per thread, as a server's loop would call it."""

    def __init__(self, caller: Caller, token: str) -> None:
        self.caller = caller
        self.headers = [("authorization", f"Bearer {token}")]

    def ask_until(self, enough: Callable[[int], bool]) -> None:
        """Ask until ``enough(status)`` is true (bounded)."""
        if self.caller.adapter == "wsgi":
            for _ in range(MOST_ASKED):
                environ = wsgi_environ("GET", PATH, headers=self.headers)
                if enough(call_wsgi(self.caller.app, environ).status):
                    return
            raise AssertionError("asked too often")
        asyncio.run(self._ask_on_a_loop(enough))

    async def _ask_on_a_loop(self, enough: Callable[[int], bool]) -> None:
        for _ in range(MOST_ASKED):
            answer = await call_asgi(
                self.caller.app, http_scope("GET", PATH, headers=self.headers), [b""]
            )
            if enough(answer.status):
                return
        raise AssertionError("asked too often")


def statuses_after_a_revocation(caller: Caller, other: Realm, token: str) -> list[int]:
    """Threads ask with ``token`` while ``other`` revokes it; the statuses of the requests that
    started after the revocation returned."""
    revoked = threading.Event()
    after: list[int] = []

    def ask(index: int) -> None:
        if index == 0:
            assert other.revoke_token(token)
            revoked.set()
            return
        mine: list[int] = []
        started_after = False

        def enough(status: int) -> bool:
            nonlocal started_after
            if started_after:
                mine.append(status)
            started_after = revoked.is_set()  # read before the next request starts
            return len(mine) == ASKED_AFTER

        Asker(caller, token).ask_until(enough)
        after.extend(mine)

    run_threads(1 + ASKING_THREADS, ask)
    return after


@pytest.mark.usefixtures("tiny_switch_interval")
@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_no_request_started_after_a_revocation_is_admitted_on_any_thread(
    adapter: str, tmp_path: Path, clock: FakeClock
) -> None:
    served, other = served_realms(tmp_path, clock)
    caller = Caller(adapter, served)
    try:
        for _ in range(ROUNDS):
            token = served.password_token("acme", "shop", "alice", PASSWORD).access_token
            for _ in range(2):  # remembered from its second sight on
                assert (
                    caller.call("GET", PATH, headers=[("authorization", f"Bearer {token}")]).status
                    == 200
                )
            after = statuses_after_a_revocation(caller, other, token)
            assert len(after) == ASKING_THREADS * ASKED_AFTER
            assert set(after) == {401}, f"{after.count(200)} admitted after the revocation"
    finally:
        other.close()
        served.close()


def ask_once(caller: Caller, token: str) -> int:
    headers = [("authorization", f"Bearer {token}")]
    if caller.adapter == "wsgi":
        return call_wsgi(caller.app, wsgi_environ("GET", PATH, headers=headers)).status
    scope = http_scope("GET", PATH, headers=headers)
    return asyncio.run(call_asgi(caller.app, scope, [b""])).status


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_a_request_starting_while_another_thread_is_halfway_through_noting_the_revocation(
    adapter: str, tmp_path: Path, clock: FakeClock
) -> None:
    store = PausedBetweenTheTwoSteps(tmp_path / "auth.db")
    served, other = served_realms(tmp_path, clock, store)
    caller = Caller(adapter, served)
    token = served.password_token("acme", "shop", "alice", PASSWORD).access_token
    try:
        assert [ask_once(caller, token) for _ in range(3)] == [200] * 3  # remembered
        assert other.revoke_token(token)
        statuses: dict[str, int] = {}
        first = threading.Thread(target=lambda: statuses.update(first=ask_once(caller, token)))
        store.arm(first)
        first.start()
        assert store.paused.wait(timeout=60)
        try:
            statuses["second"] = ask_once(caller, token)
        finally:
            store.resume.set()
            first.join()
        assert statuses == {"first": 401, "second": 401}
    finally:
        other.close()
        served.close()
