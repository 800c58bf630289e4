"""Key sets fetched from a real loopback HTTP server: rotation, the cooldown under a storm of
unknown kids, last good keys kept, 503 for a provider never reached, one fetch at a time, and
async callers that never fetch on the event loop. A fake clock; no sleeps."""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

import pytest

from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.core.jwt_tokens import UnknownKeyIdError
from baas_auth.errors import MalformedTokenError, StoreError
from baas_auth.federation.jwks_fetch import MAX_JWKS_BYTES, JWKSFetchError, fetch_jwks
from baas_auth.federation.key_sets import KeySetUnavailableError, ProviderKeys
from baas_auth.federation.verifier import ProviderTokens
from tests.conftest import FakeClock
from tests.federation.kit import (
    AUDIENCE,
    ISSUER,
    NOW,
    Answer,
    KeyServer,
    jwks,
    key_server,
    rsa_key,
    sign,
)

OLD = rsa_key("old")
NEW = rsa_key("new")


@pytest.fixture
def server():
    with key_server() as running:
        running.serve(jwks(OLD))
        yield running


def provider(server: KeyServer, **changes: Any) -> IdentityProvider:
    settings: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": server.url}
    settings.update(changes)
    return IdentityProvider(**settings)


def tokens(server: KeyServer, clock: FakeClock, **changes: Any) -> ProviderTokens:
    return ProviderTokens([provider(server, **changes)], clock=clock, wall_clock=lambda: NOW)


def test_keys_are_fetched_once_then_cached(server: KeyServer, clock: FakeClock):
    verifier = tokens(server, clock)
    for _ in range(5):
        assert verifier.verify(sign(OLD, "RS256")).subject == "alice"
    assert len(server.hits) == 1


def test_rotation_is_picked_up_on_an_unknown_kid_after_the_cooldown(server, clock):
    verifier = tokens(server, clock)
    verifier.verify(sign(OLD, "RS256"))
    server.serve(jwks(OLD, NEW))
    clock.advance_ms(30_000)
    assert verifier.verify(sign(NEW, "RS256")).subject == "alice"
    assert len(server.hits) == 2
    assert verifier.verify(sign(NEW, "RS256")).subject == "alice"
    assert len(server.hits) == 2


def test_within_the_cooldown_an_unknown_kid_is_refused_without_a_fetch(server, clock):
    verifier = tokens(server, clock)
    verifier.verify(sign(OLD, "RS256"))
    server.serve(jwks(OLD, NEW))
    clock.advance_ms(29_000)
    with pytest.raises(UnknownKeyIdError):
        verifier.verify(sign(NEW, "RS256"))
    assert len(server.hits) == 1


def test_a_storm_of_random_kids_fetches_at_most_once_per_cooldown(server, clock):
    verifier = tokens(server, clock, cooldown_s=30)
    verifier.verify(sign(OLD, "RS256"))
    rng = random.Random(7)
    for step in range(600):  # 600 tokens over 120 s: four cooldowns
        clock.now = 1_800_000_000.0 + step * 0.2
        token = sign(NEW, "RS256", kid=f"kid-{rng.randrange(10**9)}")
        with pytest.raises(UnknownKeyIdError):
            verifier.verify(token)
    assert 1 + 3 <= len(server.hits) <= 1 + 4


def test_last_good_keys_are_kept_while_the_server_fails(server, clock):
    verifier = tokens(server, clock)
    verifier.verify(sign(OLD, "RS256"))
    answers = [Answer(500, b"boom"), Answer(200, b"<html>not json</html>"),
               Answer(200, b'{"keys": []}'), Answer(200, b'{"keys": [{"kty": "oct"}]}'),
               Answer(200, b"[1]"), Answer(200, b"{" * 300_000)]
    for answer in answers:
        server.answer = answer
        clock.advance_ms(400_000)  # past the cooldown and the age at which keys are refreshed
        assert verifier.verify(sign(OLD, "RS256")).subject == "alice"
        with pytest.raises(UnknownKeyIdError):
            verifier.verify(sign(NEW, "RS256"))
    assert len(server.hits) == 1 + len(answers)


def test_a_stale_key_set_is_refreshed_so_withdrawn_keys_stop_verifying(server, clock):
    verifier = tokens(server, clock)
    verifier.verify(sign(OLD, "RS256"))
    server.serve(jwks(NEW))
    clock.advance_ms(300_000)
    with pytest.raises(UnknownKeyIdError):
        verifier.verify(sign(OLD, "RS256"))
    assert verifier.verify(sign(NEW, "RS256")).subject == "alice"


def test_a_provider_never_reached_is_503_and_retried_only_after_the_cooldown(server, clock):
    server.answer = Answer(500, b"down")
    verifier = tokens(server, clock)
    for _ in range(3):
        with pytest.raises(KeySetUnavailableError) as refused:
            verifier.verify(sign(OLD, "RS256"))
        assert isinstance(refused.value, StoreError)
        assert (refused.value.status_code, refused.value.error) == (503, "service_unavailable")
    assert len(server.hits) == 1
    server.serve(jwks(OLD))
    clock.advance_ms(30_000)
    assert verifier.verify(sign(OLD, "RS256")).subject == "alice"
    assert len(server.hits) == 2


def test_a_provider_on_a_closed_port_is_503(clock):
    with key_server() as gone:
        url = gone.url
    verifier = ProviderTokens(
        [IdentityProvider(issuer=ISSUER, audience=AUDIENCE, jwks_url=url)], clock=clock
    )
    with pytest.raises(KeySetUnavailableError):
        verifier.verify(sign(OLD, "RS256"))


def test_an_unknown_issuer_is_a_plain_401(server, clock):
    verifier = tokens(server, clock)
    with pytest.raises(MalformedTokenError) as refused:
        verifier.verify(sign(OLD, "RS256", {"iss": "https://elsewhere", "aud": AUDIENCE}))
    assert type(refused.value) is MalformedTokenError
    assert server.hits == []


class CountingLock:
    """A lock that counts the callers that reached it (holding or waiting)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.arrived = 0
        self.changed = threading.Condition()

    def __enter__(self) -> bool:
        with self.changed:
            self.arrived += 1
            self.changed.notify_all()
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def acquire(self, blocking: bool = True) -> bool:
        return self._lock.acquire(blocking)

    def release(self) -> None:
        self._lock.release()


def test_eight_concurrent_first_requests_make_exactly_one_fetch(server, clock):
    keys = ProviderKeys(provider(server), clock=clock)
    lock = CountingLock()
    keys._flight = lock  # type: ignore[assignment]
    server.hold = threading.Event()
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(keys.keys())) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert server.wait_for_hits(1)
    with lock.changed:  # every thread is now holding or waiting for the single flight
        assert lock.changed.wait_for(lambda: lock.arrived == 8, timeout=10)
    server.hold.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 8
    assert len({id(result) for result in results}) == 1
    assert len(server.hits) == 1
    assert keys.fetches == 1


def test_the_async_entry_fetches_off_the_loop_and_shares_the_single_flight(server, clock):
    fetch_threads: list[int] = []

    def recording_fetch(url: str, timeout_s: float) -> object:
        fetch_threads.append(threading.get_ident())
        return fetch_jwks(url, timeout_s)

    verifier = ProviderTokens([provider(server)], fetch=recording_fetch, clock=clock,
                              wall_clock=lambda: NOW)
    server.hold = threading.Event()

    async def main() -> tuple[int, list[object]]:
        calls = [asyncio.ensure_future(verifier.verify_async(sign(OLD, "RS256")))
                 for _ in range(8)]
        # The loop keeps running while the fetch is held: this coroutine releases it.
        await asyncio.to_thread(server.wait_for_hits, 1)
        server.hold.set()
        return threading.get_ident(), list(await asyncio.gather(*calls))

    loop_thread, verified = asyncio.run(main())
    assert len(verified) == 8
    assert fetch_threads
    assert loop_thread not in fetch_threads
    assert len(server.hits) == 1


def test_async_unknown_kids_in_the_cooldown_use_no_thread_and_no_fetch(server, clock):
    verifier = tokens(server, clock)
    verifier.verify(sign(OLD, "RS256"))
    key_set = verifier.key_set(ISSUER)
    assert key_set is not None

    async def storm() -> int:
        refused = 0
        for i in range(50):
            try:
                await verifier.verify_async(sign(OLD, "RS256", kid=f"random-{i}"))
            except UnknownKeyIdError:
                refused += 1
        return refused

    assert asyncio.run(storm()) == 50
    assert len(server.hits) == 1


def test_the_fetch_refuses_plain_http_beyond_loopback_redirects_and_big_bodies(server):
    with pytest.raises(JWKSFetchError, match="https"):
        fetch_jwks("http://idp.example.com/certs", 1)
    server.answer = Answer(302, b"", {"Location": "http://127.0.0.1:1/elsewhere"})
    with pytest.raises(JWKSFetchError, match="redirect"):
        fetch_jwks(server.url, 5)
    server.answer = Answer(200, b'{"keys": [], "pad": "' + b"x" * MAX_JWKS_BYTES + b'"}')
    with pytest.raises(JWKSFetchError, match="larger"):
        fetch_jwks(server.url, 5)
    assert len(server.hits) == 2


def test_inline_keys_never_fetch(clock):
    inline = IdentityProvider(issuer=ISSUER, audience=AUDIENCE, jwks=jwks(OLD))
    verifier = ProviderTokens([inline], clock=clock, wall_clock=lambda: NOW,
                              fetch=lambda url, timeout: pytest.fail("fetched"))
    assert verifier.verify(sign(OLD, "RS256")).subject == "alice"
    with pytest.raises(UnknownKeyIdError):
        verifier.verify(sign(NEW, "RS256"))


def test_async_callers_use_a_stale_set_in_place_while_the_cooldown_runs(server, clock,
                                                                       monkeypatch):
    verifier = tokens(server, clock)
    verifier.verify(sign(OLD, "RS256"))
    server.answer = Answer(500, b"down")
    clock.advance_ms(300_000)  # stale: the next caller refreshes, and the refresh fails
    assert verifier.verify(sign(OLD, "RS256")).subject == "alice"
    hops: list[object] = []
    real_to_thread = asyncio.to_thread

    async def counting_to_thread(func, /, *args, **kwargs):
        hops.append(func)
        return await real_to_thread(func, *args, **kwargs)

    monkeypatch.setattr("baas_auth.federation.key_sets.asyncio.to_thread", counting_to_thread)

    async def requests() -> None:
        for _ in range(20):
            await verifier.verify_async(sign(OLD, "RS256"))

    asyncio.run(requests())
    assert hops == []
    assert len(server.hits) == 2
    clock.advance_ms(30_000)  # the cooldown is over: one caller tries again, in a thread
    asyncio.run(requests())
    assert len(hops) == 1
    assert len(server.hits) == 3


def test_async_callers_of_a_provider_never_reached_get_503_without_a_thread(server, clock,
                                                                           monkeypatch):
    server.answer = Answer(500, b"down")
    verifier = tokens(server, clock)
    hops: list[object] = []
    real_to_thread = asyncio.to_thread

    async def counting_to_thread(func, /, *args, **kwargs):
        hops.append(func)
        return await real_to_thread(func, *args, **kwargs)

    monkeypatch.setattr("baas_auth.federation.key_sets.asyncio.to_thread", counting_to_thread)

    async def requests() -> int:
        refused = 0
        for _ in range(10):
            try:
                await verifier.verify_async(sign(OLD, "RS256"))
            except KeySetUnavailableError:
                refused += 1
        return refused

    assert asyncio.run(requests()) == 10
    assert len(hops) == 1  # the first attempt, in a thread; then the cooldown answers
    assert len(server.hits) == 1
