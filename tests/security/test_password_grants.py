"""Password grants under attack (behaviour §6.2): holes 5 and 6 of the first release.

Hole 5: under ASGI all decisions shared one thread (SQLite) or ran on the event loop (memory),
so a burst of password grants stalled every token-bearing request behind the KDF. Hole 6: 30
wrong passwords in 2 s, then the right one, succeeded. Now the KDF runs on the endpoints' own
pool, failed grants lock an account through the store, and passwords have a minimum length.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from baas_auth import MemoryStore, PasswordHasher, Realm, SQLiteStore, Store
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.core.throttle import WAITING_LEASE_MS, Attempts, LoginThrottle
from baas_auth.errors import ConfigError, InvalidGrantError, TooManyRequestsError
from baas_auth.realm import drivers, flows
from baas_auth.realm.drivers import Driver
from baas_auth.realm.store_commands import Offload
from tests.adapters.conftest import (
    PASSWORD,
    Caller,
    World,
    call_asgi,
    http_scope,
    make_asgi_inner,
)
from tests.conftest import FakeClock, fresh_prefix, make_realm_store
from tests.redis_server import RedisServer
from tests.threads import run_threads

WRONG = "not-the-password"


class CountingHasher(PasswordHasher):
    """The test suite's cheap scrypt, counting how often a password is checked."""

    checks: ClassVar[int] = 0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def verify(self, password: str, encoded: str | None) -> bool:
        with type(self).lock:
            type(self).checks += 1
        return super().verify(password, encoded)


@pytest.fixture(params=["memory", "sqlite"])
def store_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    return None if request.param == "memory" else tmp_path / "auth.db"


def _realm(store_path: Path | None, clock: FakeClock, **options: Any) -> Realm:
    store = MemoryStore() if store_path is None else SQLiteStore(store_path)
    return Realm(store, clock=clock, password_hasher=CountingHasher(n=16, r=1, p=1), **options)


@pytest.fixture
def realm(store_path: Path | None, clock: FakeClock) -> Iterator[Realm]:
    realm = _realm(store_path, clock)
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    realm.create_user("acme", "shop", "alice", password=PASSWORD, email="alice@example.com")
    realm.create_admin("ann", password=PASSWORD, orgs=["acme"])
    CountingHasher.checks = 0
    yield realm
    realm.close()


def _fail(realm: Realm, username: str = "alice", times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(InvalidGrantError):
            realm.password_token("acme", "shop", username, WRONG)


def _locked_for(realm: Realm, username: str = "alice", password: str = PASSWORD) -> int:
    with pytest.raises(TooManyRequestsError) as refused:
        realm.password_token("acme", "shop", username, password)
    return refused.value.retry_after


# -- throttling (hole 6) --------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_against_the_right_password(
    realm: Realm,
) -> None:
    _fail(realm, times=5)
    checks = CountingHasher.checks
    assert _locked_for(realm) == 1
    assert CountingHasher.checks == checks, "a locked account's password is never checked"


def test_the_lock_doubles_with_each_further_failure_up_to_its_cap(
    realm: Realm, clock: FakeClock
) -> None:
    _fail(realm, times=5)
    waits = []
    for _ in range(12):
        wait = _locked_for(realm)
        waits.append(wait)
        clock.advance_ms(wait * 1000)
        _fail(realm)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]


def test_a_success_clears_the_count(realm: Realm, clock: FakeClock) -> None:
    _fail(realm, times=4)
    realm.password_token("acme", "shop", "alice", PASSWORD)
    _fail(realm, times=4)
    assert realm.password_token("acme", "shop", "alice", PASSWORD).principal.username == "alice"


def test_the_lock_ends_and_the_right_password_then_works(realm: Realm, clock: FakeClock) -> None:
    _fail(realm, times=5)
    clock.advance_ms(999)
    assert _locked_for(realm) == 1
    clock.advance_ms(1)
    assert realm.password_token("acme", "shop", "alice", PASSWORD).principal.username == "alice"


def test_failures_spread_wider_than_the_window_do_not_lock(realm: Realm, clock: FakeClock) -> None:
    for _ in range(10):
        _fail(realm)
        clock.advance_ms(900_001)
    assert realm.password_token("acme", "shop", "alice", PASSWORD).principal.username == "alice"


def test_every_name_of_an_account_shares_one_count(realm: Realm) -> None:
    uuid = realm.get_user("acme", "shop", "alice").uuid
    for name in ("alice", "ALICE", "alice@example.com", uuid, "Alice@Example.com"):
        _fail(realm, username=name)
    assert _locked_for(realm, username="alice@example.com") == 1


def test_unknown_accounts_are_throttled_alike(realm: Realm) -> None:
    """No enumeration by the 429: an unknown name locks after the same failures."""
    for name in ("alice", "nosuch"):
        with pytest.raises(InvalidGrantError):
            realm.password_token("acme", "shop", name, WRONG)
        _fail(realm, username=name, times=4)
        assert _locked_for(realm, username=name) == 1


def test_unknown_names_are_not_kept_in_the_store_as_written(
    tmp_path: Path, clock: FakeClock
) -> None:
    realm = _realm(tmp_path / "auth.db", clock)
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    typed_in_the_wrong_box = "my-Real-Passw0rd"
    _fail(realm, username=typed_in_the_wrong_box)
    realm.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("auth.db"))
    assert b"throttle:" in raw  # the count is there...
    assert typed_in_the_wrong_box.lower().encode() not in raw  # ...under a keyed hash


def test_admin_accounts_are_throttled(realm: Realm) -> None:
    for _ in range(5):
        with pytest.raises(InvalidGrantError):
            realm.admin_token("ann", WRONG)
    with pytest.raises(TooManyRequestsError):
        realm.admin_token("ann", PASSWORD)
    # an app user of the same name elsewhere is another account
    assert realm.password_token("acme", "shop", "alice", PASSWORD)


def test_the_lock_is_shared_by_every_process_on_the_store(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "auth.db"
    first = _realm(path, clock)
    first.create_org("acme")
    first.create_app("acme", "shop")
    first.create_user("acme", "shop", "alice", password=PASSWORD)
    second = _realm(path, clock)  # another process, as far as the store can tell
    _fail(first, times=3)
    _fail(second, times=2)
    assert _locked_for(first) == 1
    assert _locked_for(second) == 1
    first.close()
    second.close()


def test_a_burst_of_parallel_guesses_gets_at_most_the_allowed_checks(realm: Realm) -> None:
    """Each attempt is counted before its password is checked, so parallel guesses cannot
    all slip in before the first failure is recorded."""
    outcomes: list[str] = []
    barrier = threading.Barrier(16)

    def guess() -> None:
        barrier.wait()
        try:
            realm.password_token("acme", "shop", "alice", WRONG)
        except TooManyRequestsError:
            outcomes.append("locked")
        except InvalidGrantError:
            outcomes.append("wrong")

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 16
    assert outcomes.count("wrong") == 5 == CountingHasher.checks
    assert outcomes.count("locked") == 11


def test_throttling_can_be_configured_and_switched_off(
    store_path: Path | None, clock: FakeClock
) -> None:
    strict = _realm(store_path, clock, login_throttle=LoginThrottle(max_failures=2))
    strict.create_org("acme")
    strict.create_app("acme", "shop")
    strict.create_user("acme", "shop", "alice", password=PASSWORD)
    _fail(strict, times=2)
    assert _locked_for(strict) == 1
    strict.close()
    if store_path is not None:
        store_path.unlink()
    off = _realm(store_path, clock, login_throttle=None)
    off.create_org("acme")
    off.create_app("acme", "shop")
    off.create_user("acme", "shop", "alice", password=PASSWORD)
    _fail(off, times=30)
    assert off.password_token("acme", "shop", "alice", PASSWORD).principal.username == "alice"
    off.close()


@pytest.mark.parametrize(
    "options",
    [
        {"max_failures": 0},
        {"max_failures": True},
        {"window_ms": 0},
        {"first_lock_ms": -1},
        {"max_lock_ms": 86_400_001},
        {"first_lock_ms": 2_000, "max_lock_ms": 1_000},
    ],
)
def test_bad_throttle_settings_are_refused(options: dict[str, int]) -> None:
    with pytest.raises(ConfigError):
        LoginThrottle(**options)


def test_the_realm_refuses_a_throttle_of_another_type() -> None:
    with pytest.raises(ConfigError, match="LoginThrottle"):
        Realm(MemoryStore(), login_throttle=5)  # type: ignore[arg-type]


# -- over HTTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize(
    ("url", "username"), [("/acme/shop/token", "alice"), ("/management/token", "ann")]
)
def test_a_locked_account_is_429_with_retry_after(
    caller: Caller, world: World, url: str, username: str
) -> None:
    form = {"grant_type": "password", "username": username}
    for _ in range(5):
        wrong = caller.post(url, data={**form, "password": WRONG})
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"
    locked = caller.post(url, data={**form, "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "1"
    assert locked.json()["error"] == "too_many_requests"
    assert "www-authenticate" not in locked.headers
    assert locked.headers["cache-control"] == "no-store"
    world.clock.advance_ms(1_000)
    assert caller.post(url, data={**form, "password": PASSWORD}).status_code == 200
    assert not caller.called


def test_unknown_and_known_accounts_answer_alike_over_http(caller: Caller) -> None:
    answers = []
    for username in ("alice", "nosuch"):
        for _ in range(6):
            response = caller.post(
                "/acme/shop/token",
                data={"grant_type": "password", "username": username, "password": WRONG},
            )
            answers.append((response.status_code, response.json()["error"]))
    assert answers[:6] == answers[6:]
    assert [status for status, _ in answers[:6]] == [400] * 5 + [429]


# -- minimum password length (behaviour §1) ------------------------------------------------------


@pytest.mark.parametrize("password", ["", "short", "7 chars"])
def test_short_passwords_are_refused(realm: Realm, password: str) -> None:
    with pytest.raises(ConfigError, match="at least 8"):
        realm.create_user("acme", "shop", "bob", password=password)
    with pytest.raises(ConfigError, match="at least 8"):
        realm.update_user("acme", "shop", "alice", password=password)
    with pytest.raises(ConfigError, match="at least 8"):
        realm.create_admin("gus", password=password)


def test_the_minimum_length_is_configurable(clock: FakeClock) -> None:
    realm = Realm(MemoryStore(), clock=clock, min_password_length=12)
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    with pytest.raises(ConfigError, match="at least 12"):
        realm.create_user("acme", "shop", "bob", password="eleven-char")
    with pytest.raises(ConfigError):
        Realm(MemoryStore(), min_password_length=0)


def test_a_password_that_is_not_text_is_refused(realm: Realm) -> None:
    with pytest.raises(ConfigError, match="text"):
        realm.create_user("acme", "shop", "bob", password="long-enough-\ud800")


# -- the KDF off the loop (hole 5) ----------------------------------------------------------------


class GatedHasher(PasswordHasher):
    """A hasher whose checks wait for the test to open the gate."""

    opened: ClassVar[threading.Event] = threading.Event()
    entered: ClassVar[threading.Semaphore] = threading.Semaphore(0)
    finished: ClassVar[int] = 0
    threads: ClassVar[list[str]] = []

    def verify(self, password: str, encoded: str | None) -> bool:
        type(self).threads.append(threading.current_thread().name)
        type(self).entered.release()
        type(self).opened.wait(5)
        try:
            return super().verify(password, encoded)
        finally:
            type(self).finished += 1


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_a_burst_of_password_grants_does_not_delay_token_requests(
    store_kind: str, tmp_path: Path, clock: FakeClock
) -> None:
    store = MemoryStore() if store_kind == "memory" else SQLiteStore(tmp_path / "auth.db")
    realm = Realm(store, clock=clock, password_hasher=GatedHasher(n=16, r=1, p=1))
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    realm.grant("acme", "shop", "get:/books", role="default")
    creds = realm.create_credentials("acme", "shop")
    token = realm.client_token(creds.client_id, creds.client_secret).access_token
    for name in ("u1", "u2", "u3", "u4", "u5", "u6"):
        realm.create_user("acme", "shop", name, password=PASSWORD)
    GatedHasher.opened.clear()
    GatedHasher.finished = 0
    GatedHasher.threads.clear()
    app = AsgiAuth(make_asgi_inner([]), realm)

    def grant(name: str) -> Any:
        body = f"grant_type=password&username={name}&password=x".encode()
        scope = http_scope(
            "POST",
            "/acme/shop/token",
            headers=[("content-type", "application/x-www-form-urlencoded")],
        )
        return call_asgi(app, scope, [body])

    async def run() -> tuple[int, int, list[int]]:
        grants = [asyncio.ensure_future(grant(f"u{i}")) for i in range(1, 7)]
        # wait (off the loop) until the endpoint pool is busy with KDF runs
        await asyncio.to_thread(GatedHasher.entered.acquire)
        scope = http_scope(
            "GET", "/acme/shop/books", headers=[("Authorization", f"Bearer {token}")]
        )
        answer = await asyncio.wait_for(call_asgi(app, scope, [b""]), timeout=4)
        finished_before = GatedHasher.finished
        GatedHasher.opened.set()
        statuses = [(await done).status for done in grants]
        return answer.status, finished_before, statuses

    try:
        status, finished_before, statuses = asyncio.run(run())
    finally:
        GatedHasher.opened.set()
        realm.close()
    assert status == 200
    assert finished_before == 0, "the token request waited for the KDF"
    assert statuses == [400] * 6  # wrong passwords, answered once the KDF ran
    assert GatedHasher.threads
    assert all(name.startswith("baas-auth-kdf") for name in GatedHasher.threads)


# -- only failures count (behaviour §6.2) --------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "redis"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return make_realm_store(request.param, tmp_path, request)


def _seeded(realm: Realm | Any) -> Any:
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    realm.create_user("acme", "shop", "alice", password=PASSWORD)
    CountingHasher.checks = 0
    return realm


def test_concurrent_right_passwords_all_get_tokens(any_store: Store, clock: FakeClock) -> None:
    """32 grants with the right password at once: none is 429 for the others in flight."""
    realm = _seeded(Realm(any_store, clock=clock, password_hasher=CountingHasher(n=16, r=1, p=1)))
    granted: list[str] = []

    def grant(_: int) -> None:
        granted.append(realm.password_token("acme", "shop", "alice", PASSWORD).access_token)

    try:
        run_threads(32, grant)
    finally:
        realm.close()
    assert len(set(granted)) == 32


def test_threads_signing_in_again_and_again_are_never_throttled(
    store_path: Path | None, clock: FakeClock
) -> None:
    realm = _seeded(_realm(store_path, clock))

    def sign_in(_: int) -> None:
        for _ in range(40):
            realm.password_token("acme", "shop", "alice", PASSWORD)

    try:
        run_threads(8, sign_in)
    finally:
        realm.close()
    assert CountingHasher.checks == 320


class HeldHasher(PasswordHasher):
    """A counting hasher whose checks wait until the test releases them."""

    release: ClassVar[threading.Event] = threading.Event()
    entered: ClassVar[threading.Semaphore] = threading.Semaphore(0)
    checks: ClassVar[int] = 0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def verify(self, password: str, encoded: str | None) -> bool:
        with type(self).lock:
            type(self).checks += 1
        type(self).entered.release()
        type(self).release.wait(10)
        return super().verify(password, encoded)


@pytest.fixture
def held() -> Iterator[type[HeldHasher]]:
    HeldHasher.release.clear()
    HeldHasher.entered = threading.Semaphore(0)
    HeldHasher.checks = 0
    yield HeldHasher
    HeldHasher.release.set()


def _held_realm(store_path: Path | None, clock: FakeClock) -> Realm:
    store = MemoryStore() if store_path is None else SQLiteStore(store_path)
    return _seeded(Realm(store, clock=clock, password_hasher=HeldHasher(n=16, r=1, p=1)))


def _in_parallel(count: int, work: Any) -> tuple[list[threading.Thread], list[str]]:
    """Start ``work`` on ``count`` threads; each notes "token", "429" or "400"."""
    outcomes: list[str] = []

    def body() -> None:
        try:
            work()
            outcomes.append("token")
        except TooManyRequestsError:
            outcomes.append("429")
        except InvalidGrantError:
            outcomes.append("400")

    threads = [threading.Thread(target=body) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_right_passwords_wait_for_the_checks_in_flight_rather_than_429(
    store_path: Path | None, clock: FakeClock, held: type[HeldHasher]
) -> None:
    """With as many checks in flight as the budget allows, further right-password grants wait
    for them (no KDF of their own meanwhile), and all get tokens once they end."""
    realm = _held_realm(store_path, clock)
    threads, outcomes = _in_parallel(
        32, lambda: realm.password_token("acme", "shop", "alice", PASSWORD)
    )
    for _ in range(5):
        assert held.entered.acquire(timeout=10)
    assert outcomes == [], "nobody is refused while the first checks run"
    assert held.checks == 5
    held.release.set()
    for thread in threads:
        thread.join()
    realm.close()
    assert outcomes == ["token"] * 32


def test_parallel_guesses_wait_and_are_then_refused_without_a_check(
    store_path: Path | None, clock: FakeClock, held: type[HeldHasher]
) -> None:
    realm = _held_realm(store_path, clock)
    threads, outcomes = _in_parallel(
        32, lambda: realm.password_token("acme", "shop", "alice", WRONG)
    )
    for _ in range(5):
        assert held.entered.acquire(timeout=10)
    held.release.set()
    for thread in threads:
        thread.join()
    realm.close()
    assert held.checks == 5
    assert sorted(outcomes) == ["400"] * 5 + ["429"] * 27


def test_a_right_password_behind_failing_guesses_is_refused_once_they_lock(
    store_path: Path | None, clock: FakeClock, held: type[HeldHasher]
) -> None:
    """Waiting is no way around the budget: guesses in flight that fail lock the account for
    the right password that waited behind them."""
    realm = _held_realm(store_path, clock)
    guesses, outcomes = _in_parallel(
        5, lambda: realm.password_token("acme", "shop", "alice", WRONG)
    )
    for _ in range(5):
        assert held.entered.acquire(timeout=10)
    right, late = _in_parallel(1, lambda: realm.password_token("acme", "shop", "alice", PASSWORD))
    held.release.set()
    for thread in [*guesses, *right]:
        thread.join()
    realm.close()
    assert outcomes == ["400"] * 5
    assert late == ["429"]
    assert held.checks == 5


def test_a_check_that_never_ends_counts_as_a_failure_once_its_lease_runs_out(
    clock: FakeClock,
) -> None:
    """A process that dies while checking a password leaves its reservation behind: after the
    lease it is counted as a failure (never as a free check)."""
    realm = _seeded(_realm(None, clock))
    for _ in range(5):  # five checks started, whose process then vanished
        flow = flows.password_token(realm.state, "acme", "shop", "alice", WRONG, None)
        _run_until_the_kdf(realm, flow)
    clock.advance_ms(LoginThrottle().check_lease_ms + 1)
    assert _locked_for(realm) >= 1
    assert CountingHasher.checks == 0


def _run_until_the_kdf(realm: Realm, flow: Any) -> None:
    """Drive ``flow`` up to its password check, and abandon it there."""
    driver = Driver(realm.store)
    reply: object = None
    for _ in range(100):
        command = flow.send(reply)
        if isinstance(command, Offload):
            return
        reply = driver.execute(command)
    raise AssertionError("the flow never reached its password check")


def test_async_realm_concurrent_right_passwords_all_get_tokens(
    request: pytest.FixtureRequest, clock: FakeClock
) -> None:
    from baas_auth import AsyncRealm
    from baas_auth.stores.redis import AsyncRedisStore
    from tests.realm_facade import BlockingRealm

    server: RedisServer = request.getfixturevalue("redis_server")
    prefix = fresh_prefix()
    hasher = CountingHasher(n=16, r=1, p=1)
    facade = BlockingRealm(
        lambda: AsyncRealm(
            AsyncRedisStore(server.url, prefix=prefix), clock=clock, password_hasher=hasher
        )
    )
    _seeded(facade)
    realm = facade.inner

    async def burst(password: str) -> list[str]:
        async def one() -> str:
            try:
                return (await realm.password_token("acme", "shop", "alice", password)).access_token
            except TooManyRequestsError:
                return "429"
            except InvalidGrantError:
                return "400"

        return list(await asyncio.gather(*(one() for _ in range(32))))

    try:
        granted = facade.loop.run(burst(PASSWORD))
        assert "429" not in granted
        assert len(set(granted)) == 32
        CountingHasher.checks = 0
        guessed = facade.loop.run(burst(WRONG))
    finally:
        facade.close()
    assert CountingHasher.checks == 5
    assert sorted(guessed) == ["400"] * 5 + ["429"] * 27


def test_asgi_over_a_blocking_realm_concurrent_right_passwords(
    store_path: Path | None, clock: FakeClock
) -> None:
    realm = _seeded(_realm(store_path, clock))
    app = AsgiAuth(make_asgi_inner([]), realm)
    body = f"grant_type=password&username=alice&password={PASSWORD}".encode()

    async def burst() -> list[int]:
        def one() -> Any:
            scope = http_scope(
                "POST",
                "/acme/shop/token",
                headers=[("content-type", "application/x-www-form-urlencoded")],
            )
            return call_asgi(app, scope, [body])

        return [answer.status for answer in await asyncio.gather(*(one() for _ in range(32)))]

    try:
        statuses = asyncio.run(burst())
    finally:
        realm.close()
    assert statuses == [200] * 32


def test_counts_written_by_earlier_versions_still_count() -> None:
    """A store of an earlier version holds ``[failures, last_ms]``: read as such, and written
    back in that form while no check is in flight (so a process not yet upgraded reads it)."""
    old = Attempts.decode(b"[5, 1800000000000]")
    assert old == Attempts(5, 1_800_000_000_000)
    assert LoginThrottle().locked_for_ms(old, 1_800_000_000_500) == 500
    assert Attempts(2, 7).encode() == b"[2, 7]"
    assert Attempts(0, 0).encode() is None


def test_waiters_see_checks_of_other_processes_end(
    store_path: Path | None,
    clock: FakeClock,
    held: type[HeldHasher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process's grants wake nobody here: the waiting grants read the record again
    every few tens of milliseconds, and still all get tokens."""
    monkeypatch.setattr(drivers, "announce", lambda topic: None)
    realm = _held_realm(store_path, clock)
    threads, outcomes = _in_parallel(
        12, lambda: realm.password_token("acme", "shop", "alice", PASSWORD)
    )
    for _ in range(5):
        assert held.entered.acquire(timeout=10)
    held.release.set()
    for thread in threads:
        thread.join()
    realm.close()
    assert outcomes == ["token"] * 12


def test_two_realms_on_one_store_share_the_budget(tmp_path: Path, clock: FakeClock) -> None:
    """Two realms on one SQLite file (two processes, as far as the store can tell): 16
    concurrent right-password grants on each all get tokens."""
    path = tmp_path / "auth.db"
    first = _seeded(_realm(path, clock))
    second = _realm(path, clock)

    def grant(index: int) -> None:
        (first if index % 2 else second).password_token("acme", "shop", "alice", PASSWORD)

    try:
        run_threads(32, grant)
    finally:
        first.close()
        second.close()
    assert CountingHasher.checks == 32


# -- the throttle's turns, as pure decisions ------------------------------------------------------

NOW = 1_800_000_000_000


def _busy(throttle: LoginThrottle, checks: int) -> Attempts:
    """A state with ``checks`` checks in flight."""
    state = Attempts(0, 0)
    for index in range(checks):
        turn = throttle.take_turn(state, f"busy{index}", NOW)
        assert turn.check
        state = turn.state
    return state


def test_turns_are_taken_first_come_first_served() -> None:
    throttle = LoginThrottle()
    state = _busy(throttle, 5)
    for ticket in ("first", "second"):
        turn = throttle.take_turn(state, ticket, NOW)
        assert not turn.check
        assert not turn.locked_ms
        state = turn.state
    state = throttle.settle(state, "busy0", NOW, succeeded=True)  # one check ends well
    assert not throttle.take_turn(state, "second", NOW).check  # "first" is ahead of it
    late = throttle.take_turn(state, "late", NOW)
    assert not late.check  # nor may a newcomer jump the queue
    turn = throttle.take_turn(state, "first", NOW)
    assert turn.check
    assert [ticket for ticket, _ in turn.state.waiting] == ["second"]


def test_checks_in_flight_and_failures_share_the_budget() -> None:
    throttle = LoginThrottle()
    state = _busy(throttle, 3)
    for ticket in ("busy0", "busy1"):
        state = throttle.settle(state, ticket, NOW, succeeded=False)
    assert state.failures == 2
    assert len(state.checks) == 1
    state = throttle.take_turn(state, "a", NOW).state
    state = throttle.take_turn(state, "b", NOW).state  # 2 failures + 3 in flight: full
    assert not throttle.take_turn(state, "c", NOW).check
    state = throttle.settle(state, "a", NOW, succeeded=False)
    assert not throttle.take_turn(state, "c", NOW).check  # 3 failures + 2 in flight


def test_a_full_queue_refuses_newcomers() -> None:
    throttle = LoginThrottle()
    state = _busy(throttle, 5)
    for index in range(256):
        state = throttle.take_turn(state, f"w{index}", NOW).state
    assert throttle.take_turn(state, "one-more", NOW).locked_ms == 1_000
    assert not throttle.take_turn(state, "w0", NOW).locked_ms  # those in line keep waiting


def test_a_place_in_line_lapses_unless_renewed() -> None:
    throttle = LoginThrottle()
    state = throttle.take_turn(_busy(throttle, 5), "gone", NOW).state
    assert [ticket for ticket, _ in state.waiting] == ["gone"]
    later = throttle.take_turn(state, "next", NOW + WAITING_LEASE_MS + 1).state
    assert [ticket for ticket, _ in later.waiting] == ["next"]
