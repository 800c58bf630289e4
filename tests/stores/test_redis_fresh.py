"""The Redis stores' exact change stamp (``_redis_fresh``), without a server: the reply parser,
the numbers offered, and single flight per arrival over threads and on an event loop.

The reads are fakes the test holds in the air (events, never sleeps): a request that arrives
while a read is in the air must never take that read's answer, only one sent after it arrived.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError

from baas_auth.errors import StoreError
from baas_auth.stores import _redis_fresh as fresh
from baas_auth.stores._redis_fresh import (
    INCOMPLETE,
    AsyncStampFlights,
    StampEpochs,
    StampFlights,
    parse_stamp_reply,
)

WAIT_S = 10.0
"""An upper bound on any wait for another thread: reached only when the code under test hangs."""


# -- the reply -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"$16\r\n1800000000000001\r\n", b"1800000000000001"),
        (b"$0\r\n\r\n", b""),
        (b"$-1\r\n", None),  # RESP2 nil
        (b"_\r\n", None),  # RESP3 null
        (b"$16\r\n18000000", INCOMPLETE),
        (b"$16", INCOMPLETE),
        (b"", INCOMPLETE),
    ],
)
def test_a_get_reply_is_read_whole(data: bytes, value: object) -> None:
    assert parse_stamp_reply(data) == value


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"-LOADING Redis is loading the dataset in memory\r\n", ResponseError),
        (b":12\r\n", InvalidResponse),  # not the reply of a GET
        (b"$2\r\n12\r\n$2\r\n13\r\n", InvalidResponse),  # two replies: the line is out of step
        (b"$2\r\n123\r\n", InvalidResponse),
        (b"$x\r\n", InvalidResponse),
    ],
)
def test_anything_else_is_an_error_that_drops_the_line(data: bytes, error: type) -> None:
    with pytest.raises(error):
        parse_stamp_reply(data)


# -- the numbers offered ---------------------------------------------------------------------------


def test_the_number_moves_whenever_the_stored_stamp_does_and_never_repeats() -> None:
    epochs = StampEpochs()
    first = epochs.seen(b"100")
    assert epochs.seen(b"100") == first
    second = epochs.seen(b"200")
    assert second not in (None, first)
    assert epochs.seen(b"100") not in (first, second), "a stamp restored is a new number"


def test_no_stored_stamp_is_no_number_and_a_failure_starts_a_new_one() -> None:
    epochs = StampEpochs()
    first = epochs.seen(b"100")
    assert epochs.seen(None) is None
    assert epochs.seen(b"0") is None
    assert epochs.seen(b"100") != first
    again = epochs.seen(b"100")
    epochs.forget()
    assert epochs.seen(b"100") != again
    with pytest.raises(StoreError):
        epochs.seen(b"garbage")


# -- single flight per arrival, threads -----------------------------------------------------------


class HeldReads:
    """A fake ``send``: each read answers the stored stamp of the moment it was sent (as the
    server does, which answers at once) but stays in the air until the test lands it: its
    answer may predate a write made before it lands. ``sent`` counts the reads sent."""

    def __init__(self) -> None:
        self.stored = b"1"
        self.sent = 0
        self.in_air = threading.Event()
        self._landing = threading.Semaphore(0)
        self.fail_next: Exception | None = None

    def send(self) -> bytes | None:
        self.sent += 1
        answer = self.stored
        self.in_air.set()
        assert self._landing.acquire(timeout=WAIT_S), "never landed"
        self.in_air.clear()
        failure, self.fail_next = self.fail_next, None
        if failure is not None:
            raise failure
        return answer

    def land(self) -> None:
        self.in_air.wait(WAIT_S)
        self._landing.release()


class Requests:
    """Threads that each read the stamp once; their answers (or errors) by name."""

    def __init__(self, read: Callable[[], int | None]) -> None:
        self.read = read
        self.answers: dict[str, int | StoreError | None] = {}
        self.threads: dict[str, threading.Thread] = {}

    def start(self, name: str) -> None:
        def run() -> None:
            try:
                self.answers[name] = self.read()
            except StoreError as error:
                self.answers[name] = error

        thread = threading.Thread(target=run, name=name)
        self.threads[name] = thread
        thread.start()

    def join(self, name: str) -> int | StoreError | None:
        self.threads[name].join(WAIT_S)
        assert not self.threads[name].is_alive(), f"{name} never got its answer"
        return self.answers[name]


class Watch:
    """What the flights' requests are doing: the reads opened (``opened``: requests that
    boarded a read not sent yet, one per read) and the requests waiting for one (``waiting``)."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.opened = 0
        self.waiting = 0

    def until(self, predicate: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, WAIT_S), "never happened"

    def count(self, what: str) -> None:
        with self.changed:
            setattr(self, what, getattr(self, what) + 1)
            self.changed.notify_all()


class CountingLock:
    """A flight's ``landed`` lock that tells the watch when a request starts waiting on it."""

    def __init__(self, inner: Any, watch: Watch) -> None:
        self.inner, self.watch = inner, watch

    def acquire(self) -> bool:
        self.watch.count("waiting")
        return bool(self.inner.acquire())

    def release(self) -> None:
        self.inner.release()


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Watch:
    seen = Watch()

    class WatchedFlight(fresh._Flight):
        def __init__(self, failures: int) -> None:
            super().__init__(failures)
            self.landed = CountingLock(self.landed, seen)  # type: ignore[assignment]
            seen.count("opened")

    monkeypatch.setattr(fresh, "_Flight", WatchedFlight)
    return seen


def test_a_request_arriving_while_a_read_is_in_the_air_never_takes_its_answer(
    watch: Watch,
) -> None:
    reads = HeldReads()
    flights = StampFlights(reads.send)
    requests = Requests(flights.read)
    requests.start("first")
    reads.in_air.wait(WAIT_S)
    requests.start("second")  # arrives while the first read is in the air
    watch.until(lambda: watch.opened == 1)  # it boarded the next read (the first sent alone)
    reads.stored = b"2"  # a write returns after "second" arrived, before the first read lands
    reads.land()  # the first read, sent before "second" arrived: its answer predates the write
    first = requests.join("first")
    reads.land()  # the read sent for "second"
    second = requests.join("second")
    assert reads.sent == 2
    assert first != second, "second took a read sent before it arrived"
    assert reads.stored == b"2"


def test_requests_arriving_together_share_one_read_sent_after_all_of_them(watch: Watch) -> None:
    reads = HeldReads()
    flights = StampFlights(reads.send)
    requests = Requests(flights.read)
    requests.start("leader")
    reads.in_air.wait(WAIT_S)
    for name in ("a", "b", "c"):
        requests.start(name)
    # One of them opened the next read (and waits to send it), two wait for its answer.
    watch.until(lambda: watch.opened == 1 and watch.waiting == 2)
    reads.stored = b"2"
    reads.land()
    requests.join("leader")
    reads.land()  # one read for a, b and c
    answers = {requests.join(name) for name in ("a", "b", "c")}
    assert reads.sent == 2
    assert len(answers) == 1
    assert None not in answers


def test_a_failed_read_is_a_store_error_for_everyone_aboard_and_those_waiting_behind(
    watch: Watch,
) -> None:
    reads = HeldReads()
    flights = StampFlights(reads.send)
    requests = Requests(flights.read)
    requests.start("first")
    reads.in_air.wait(WAIT_S)
    requests.start("behind")
    watch.until(lambda: watch.opened == 1)
    reads.fail_next = RedisConnectionError("Connection closed by server.")
    reads.land()
    first, behind = requests.join("first"), requests.join("behind")
    assert isinstance(first, StoreError)
    assert "change_stamp" in str(first)
    assert behind is first, "answered with the failure it waited on, not a second timeout"
    assert reads.sent == 1
    requests.start("later")  # after the failure: a read of its own
    reads.land()
    assert requests.join("later") not in (None, first)
    assert reads.sent == 2


def test_an_os_error_is_a_store_error_too() -> None:
    def refused() -> bytes | None:
        raise ConnectionRefusedError("refused")

    with pytest.raises(StoreError, match="change_stamp failed: refused"):
        StampFlights(refused).read()


# -- single flight per arrival, asyncio -----------------------------------------------------------


class HeldAsyncReads:
    """``HeldReads`` on an event loop."""

    def __init__(self) -> None:
        self.stored = b"1"
        self.sent = 0
        self.landing: list[asyncio.Future[None]] = []
        self.fail_next: Exception | None = None

    async def send(self) -> bytes | None:
        self.sent += 1
        answer = self.stored
        landing = asyncio.get_running_loop().create_future()
        self.landing.append(landing)
        await landing
        failure, self.fail_next = self.fail_next, None
        if failure is not None:
            raise failure
        return answer

    def land(self) -> None:
        self.landing.pop(0).set_result(None)


async def settle() -> None:
    """Let every task that can run, run (a bounded number of loop turns)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_async_a_request_arriving_while_a_read_is_in_the_air_never_takes_its_answer() -> None:
    async def scenario() -> None:
        reads = HeldAsyncReads()
        flights = AsyncStampFlights(reads.send)
        first = asyncio.ensure_future(flights.read())
        await settle()
        assert reads.sent == 1
        second = asyncio.ensure_future(flights.read())  # arrives while the read is in the air
        await settle()
        reads.stored = b"2"  # a write returns before the first read lands
        reads.land()
        await settle()
        assert first.done()
        assert not second.done()
        assert reads.sent == 2, "a read sent for the second request, after it arrived"
        third = asyncio.ensure_future(flights.read())  # boards nothing in the air: a new read
        await settle()
        reads.land()
        await settle()
        assert second.done()
        assert first.result() != second.result()
        reads.land()
        assert await third == second.result()
        assert reads.sent == 3

    asyncio.run(scenario())


def test_async_requests_arriving_together_share_one_read() -> None:
    async def scenario() -> None:
        reads = HeldAsyncReads()
        flights = AsyncStampFlights(reads.send)
        leader = asyncio.ensure_future(flights.read())
        await settle()
        aboard = [asyncio.ensure_future(flights.read()) for _ in range(5)]
        await settle()
        reads.land()
        await settle()
        reads.land()
        answers = {await request for request in aboard}
        assert answers == {await leader}
        assert reads.sent == 2

    asyncio.run(scenario())


def test_async_a_request_cancelled_while_it_waits_never_cancels_the_read() -> None:
    async def scenario() -> None:
        reads = HeldAsyncReads()
        flights = AsyncStampFlights(reads.send)
        alone = asyncio.ensure_future(flights.read())  # nothing in the air: reads inline
        await settle()
        cancelled, aboard = (asyncio.ensure_future(flights.read()) for _ in range(2))
        await settle()
        cancelled.cancel()
        await settle()
        reads.land()
        await settle()
        reads.land()  # the read sent for both: one of them gone, the other served
        assert await aboard is not None
        assert await alone is not None
        assert cancelled.cancelled()
        assert reads.sent == 2

    asyncio.run(scenario())


def test_async_a_request_cancelled_while_it_reads_alone_lets_the_next_read_go() -> None:
    async def scenario() -> None:
        reads = HeldAsyncReads()
        flights = AsyncStampFlights(reads.send)
        alone = asyncio.ensure_future(flights.read())
        await settle()
        behind = asyncio.ensure_future(flights.read())
        await settle()
        alone.cancel()  # its own read goes with it; the one behind is sent at once
        await settle()
        assert reads.sent == 2
        reads.landing.pop(0)  # the cancelled read never lands
        reads.land()
        assert await behind is not None

    asyncio.run(scenario())


def test_async_a_failed_read_fails_those_aboard_and_behind_then_reads_afresh() -> None:
    async def scenario() -> None:
        reads = HeldAsyncReads()
        flights = AsyncStampFlights(reads.send)
        first = asyncio.ensure_future(flights.read())
        await settle()
        behind = asyncio.ensure_future(flights.read())
        await settle()
        reads.fail_next = TimeoutError()
        reads.land()
        await settle()
        for request in (first, behind):
            with pytest.raises(StoreError, match="change_stamp"):
                await request
        assert reads.sent == 1
        later = asyncio.ensure_future(flights.read())
        await settle()
        reads.land()
        assert await later is not None
        assert reads.sent == 2

    asyncio.run(scenario())


def test_any_failure_of_the_read_is_a_store_error_for_every_request_waiting() -> None:
    """Not only redis-py's and the socket's errors: whatever breaks the read fails closed
    (503), and no request waits for an answer that never comes."""

    def broken() -> bytes | None:
        raise ValueError("a reply redis-py could not read")

    with pytest.raises(StoreError, match="could not read"):
        StampFlights(broken).read()

    async def scenario() -> None:
        reads = HeldAsyncReads()
        flights = AsyncStampFlights(reads.send)
        alone = asyncio.ensure_future(flights.read())
        await settle()
        aboard = [asyncio.ensure_future(flights.read()) for _ in range(2)]
        await settle()
        reads.land()
        await settle()
        reads.fail_next = ValueError("a reply redis-py could not read")
        reads.land()
        assert await alone is not None
        for request in aboard:
            with pytest.raises(StoreError, match="could not read"):
                await asyncio.wait_for(request, WAIT_S)

    asyncio.run(scenario())
