"""The freshness check holds under every interleaving of a process's threads (behaviour §7).

A threaded server reads the store's change stamp on several threads at once. Another realm on
the same SQLite file revokes alice's token while the threads keep asking; every request that
started after ``revoke_token`` returned must be refused, never given the admission remembered
before it. The switch interval is made tiny so the threads change hands between any two steps.
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


def served_realms(tmp_path: Path, clock: FakeClock) -> tuple[Realm, Realm]:
    """The realm the middleware serves, and another one on the same file that revokes."""
    served = Realm(SQLiteStore(tmp_path / "auth.db"), clock=clock, password_hasher=FAST_HASHER)
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
