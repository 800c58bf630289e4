"""The Redis stores' exact change stamp: a GET of the stamp key sent after the request arrived.

A decision may be given again from the adapters' memory only under a stamp read *for* the
request at hand, that is a read sent after it arrived (behaviour §7: a revocation that returned
before a request began applies to it). Reads are shared the one way that keeps this ("single
flight per arrival"): a request that arrives while a read is in the air does not take that
read's answer, which may predate it; it boards the next read, sent as soon as the one in the
air is back, and every request aboard takes that answer. So a process keeps at most one stamp
read in the air per store, however many requests it serves at once, and no request is answered
on a read sent before it arrived.

The read is the cheapest redis-py allows (docs/performance.md: its command layer costs several
times the round trip): one connection of the client's own pool (its settings, authentication,
TLS) is kept for it, the command packed once, and the reply read straight off that connection's
socket (sync) or stream (asyncio). A client whose connections are not of that kind (a cluster
client) is asked through ``execute_command``.

The value offered is not the stored number but a number of this process's own (``StampEpochs``)
that changes whenever the stored one does, in either direction: a stamp brought back by a
restore, or a failover to a replica that lagged, is a new number here, so that nothing
remembered under it before is given again. So is the first stamp after a failed read.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import select
import socket
import threading
from collections.abc import Awaitable, Callable
from types import EllipsisType
from typing import Any, Final, cast

import redis
import redis.asyncio
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError

from baas_auth.errors import StoreError

__all__ = [
    "AsyncStampFlights",
    "StampEpochs",
    "StampFlights",
    "async_stamp_line",
    "parse_stamp_reply",
    "sync_stamp_line",
]

INCOMPLETE: Final = ...
"""What ``parse_stamp_reply`` answers while the reply has not all arrived."""

_CHUNK = 4096
_STAMP_READ = "change_stamp"


def store_error(exc: BaseException) -> StoreError:
    """A failed stamp read as the store's failure (the adapters answer 503)."""
    if isinstance(exc, StoreError):
        return exc
    return StoreError(f"Redis store: {_STAMP_READ} failed: {exc}")


# -- the reply ------------------------------------------------------------------------------------


def parse_stamp_reply(data: bytes) -> bytes | EllipsisType | None:
    """The value of a GET reply (RESP2 or RESP3: a bulk string, or nil), ``INCOMPLETE`` while
    bytes are missing. Anything else (an error reply, a reply of another type, bytes past the
    one reply) raises a redis-py error: the connection is then dropped, never read again."""
    end = data.find(b"\r\n")
    if end < 0:
        return INCOMPLETE
    kind, head = data[:1], data[1:end]
    if kind == b"$":
        if head == b"-1":
            return _alone(None, data, end + 2)
        if not head.isdigit():
            raise InvalidResponse("Redis store: a malformed reply to the stamp read")
        start = end + 2
        stop = start + int(head)
        if len(data) < stop + 2:
            return INCOMPLETE
        if data[stop : stop + 2] != b"\r\n":
            raise InvalidResponse("Redis store: a malformed reply to the stamp read")
        return _alone(data[start:stop], data, stop + 2)
    if kind == b"_" and end == 1:
        return _alone(None, data, 3)
    if kind == b"-":
        raise ResponseError(head.decode("utf-8", "replace"))
    raise InvalidResponse("Redis store: an unexpected reply to the stamp read")


def _alone(value: bytes | None, data: bytes, length: int) -> bytes | None:
    if len(data) != length:  # one command sent, one reply expected: the line is out of step
        raise InvalidResponse("Redis store: more than one reply to the stamp read")
    return value


def _closed_by_server() -> RedisConnectionError:
    return RedisConnectionError("Connection closed by server.")


# -- the number offered ---------------------------------------------------------------------------


class StampEpochs:
    """Stored stamps as this process's own numbers: a new number (never offered before) each
    time the stored value differs from the last one read, and after every failure. None while
    the store holds no stamp (a prefix never written by this version, or data lost): a value
    that may come back must not let a decision remembered under it be given again.

    Not thread-safe on its own: the flights call it one read at a time."""

    __slots__ = ("_epoch", "_last")

    def __init__(self) -> None:
        self._last: bytes | None = None
        self._epoch = 0

    def seen(self, stored: bytes | None) -> int | None:
        if stored is None or stored == b"0":
            self._last = None
            return None
        if not stored.isdigit():
            raise StoreError("Redis store: the change stamp is not a number")
        if stored != self._last:
            self._last = stored
            self._epoch += 1
        return self._epoch

    def forget(self) -> None:
        """After a failure: whatever is read next starts a new number."""
        self._last = None


# -- single flight per arrival, threads -----------------------------------------------------------


class _Flight:
    """One stamp read and the requests aboard it; ``landed`` is held until its answer is in."""

    __slots__ = ("error", "failures", "landed", "stamp")

    def __init__(self, failures: int) -> None:
        self.failures = failures  # the flights' failure count when this one opened
        self.stamp: int | None = None
        self.error: StoreError | None = None
        self.landed = threading.Lock()
        self.landed.acquire()


class StampFlights:
    """The exact stamp read, shared by the threads of one process (``read``).

    ``send`` makes one round trip and returns the stored stamp (bytes, or None when absent);
    it is called by one thread at a time, and its own timeout bounds the wait of the
    requests aboard the read behind it."""

    __slots__ = ("_air", "_boarding", "_epochs", "_failure", "_failures", "_send", "_state")

    def __init__(self, send: Callable[[], bytes | None]) -> None:
        self._send = send
        self._state = threading.Lock()  # guards _boarding and _failures
        self._air = threading.Lock()  # held while a read is in the air
        self._boarding: _Flight | None = None  # the next read, not sent yet
        self._failures = 0
        self._failure: StoreError | None = None
        self._epochs = StampEpochs()

    def read(self) -> int | None:
        """The stamp, as read by a GET sent after this call began; ``StoreError`` if the read
        failed (or the read in the air when it began failed after that)."""
        if self._boarding is None and self._air.acquire(blocking=False):
            # Nothing in the air, nobody waiting: send at once, alone (nobody can board a read
            # that is already sent). The common case of a process serving one request at once.
            try:
                stamp, error = self._send_once()
            finally:
                self._air.release()
            if error is not None:
                raise error
            return stamp
        with self._state:
            flight = self._boarding
            lead = flight is None
            if flight is None:
                flight = self._boarding = _Flight(self._failures)
        if lead:
            self._fly(flight)
        else:
            flight.landed.acquire()  # until the leader has the answer
            flight.landed.release()
        if flight.error is not None:
            raise flight.error
        return flight.stamp

    def _fly(self, flight: _Flight) -> None:
        try:
            with self._air:
                with self._state:
                    self._boarding = None  # sent from here on: later arrivals take the next
                    failed_ahead = self._failures != flight.failures
                if failed_ahead:
                    # The read in the air when these requests arrived has failed since: the
                    # store failed while they waited, and they answer so (503) at once,
                    # rather than wait a second timeout.
                    flight.error = self._failure
                else:
                    flight.stamp, flight.error = self._send_once()
        finally:
            flight.landed.release()

    def _send_once(self) -> tuple[int | None, StoreError | None]:
        """One read (the caller holds ``_air``): the stamp, or the failure."""
        try:
            return self._epochs.seen(self._send()), None
        except Exception as exc:  # whatever failed, the check did: fail closed (503)
            error = store_error(exc)
            self._epochs.forget()
            with self._state:
                self._failures += 1
                self._failure = error
            return None, error


# -- single flight per arrival, asyncio -----------------------------------------------------------


class AsyncStampFlights:
    """``StampFlights`` for one event loop. A request that finds nothing in the air reads
    inline; the others board a read that is a task of its own, so that a request cancelled
    while it waits never cancels the read others wait for."""

    __slots__ = ("_boarding", "_epochs", "_send", "_tail")

    def __init__(self, send: Callable[[], Awaitable[bytes | None]]) -> None:
        self._send = send
        self._boarding: list[asyncio.Future[int | None]] | None = None  # the next read's
        # Done with the failure (or None) of the last read in the air or waiting to be sent;
        # None when there is none.
        self._tail: asyncio.Future[StoreError | None] | None = None
        self._epochs = StampEpochs()

    async def read(self) -> int | None:
        """The stamp, as read by a GET sent after this call began; ``StoreError`` if the read
        failed (or the read in the air when it began failed after that)."""
        loop = asyncio.get_running_loop()
        if self._tail is None:
            return await self._read_alone(loop)
        seat: asyncio.Future[int | None] = loop.create_future()
        boarding = self._boarding
        if boarding is None:  # a read is in the air: the next one, sent once it is back
            boarding = self._boarding = []
            self._tail = loop.create_task(self._fly(boarding, self._tail))
        boarding.append(seat)
        return await seat

    async def _read_alone(self, loop: asyncio.AbstractEventLoop) -> int | None:
        """Nothing in the air, nobody waiting: this request reads, inline (no task)."""
        tail: asyncio.Future[StoreError | None] = loop.create_future()
        self._tail = tail
        failure: StoreError | None = None
        try:
            return self._epochs.seen(await self._send())
        except Exception as exc:  # whatever failed, the check did: fail closed (503)
            failure = store_error(exc)
            self._epochs.forget()
            if failure is exc:
                raise
            raise failure from exc
        finally:  # cancelled too: the read behind then sends its own
            if self._tail is tail:
                self._tail = None
            if not tail.done():
                tail.set_result(failure)

    async def _fly(
        self,
        boarding: list[asyncio.Future[int | None]],
        ahead: asyncio.Future[StoreError | None],
    ) -> StoreError | None:
        """Send once the read ahead is back; answer everyone aboard. Never raises: returns
        the failure of the read it sent, for the read behind it."""
        failed_ahead = await ahead
        if self._boarding is boarding:
            self._boarding = None  # sent from here on: later arrivals take the next
        stamp: int | None = None
        error = failed_ahead  # see StampFlights._fly: the store failed while they waited
        sent_error: StoreError | None = None
        if error is None:
            try:
                stamp = self._epochs.seen(await self._send())
            except Exception as exc:  # every seat must be answered: fail closed (503)
                error = sent_error = store_error(exc)
                self._epochs.forget()
        if self._tail is asyncio.current_task():
            self._tail = None
        for seat in boarding:
            if seat.done():  # its request was cancelled
                continue
            if error is None:
                seat.set_result(stamp)
            else:
                seat.set_exception(error)
        return sent_error


# -- the connections ------------------------------------------------------------------------------


def _pooled(pool: Any) -> Any:
    """A connection of redis-py's pool (``get_connection`` takes no command name since 5.3,
    and warns when given one; older versions need it)."""
    parameter = inspect.signature(pool.get_connection).parameters.get("command_name")
    if parameter is not None and parameter.default is inspect.Parameter.empty:
        return pool.get_connection("GET")
    return pool.get_connection()


class _SyncLine:
    """One connection of a ``redis.Redis`` client's pool, kept for stamp reads (one at a
    time: ``StampFlights`` sends one read at a time). A read is ``send`` then ``receive``,
    so that a caller may have another line's command in the air meanwhile."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self._pool = client.connection_pool
        self._key = key
        self._connection: Any = None
        self._pid = 0
        self._packed = b""
        self._idle = select.poll()  # polls the socket for a close while idle
        self._polled: socket.socket | None = None  # the socket registered with _idle
        self._sent_on: socket.socket | None = None  # None: sent through the command layer

    def read(self) -> bytes | None:
        self.send()
        return cast("bytes | None", self.receive())

    def send(self) -> None:
        """Send the read's command(s), connected first if need be."""
        connection = self._held()
        try:
            sock = self._sent_on = self._socket(connection)
            if sock is None:  # a connection of another kind: its own command layer
                connection.send_packed_command([self._packed], check_health=False)
            else:
                sock.sendall(self._packed)
        except BaseException:
            connection.disconnect()  # its state is unknown: the next read connects again
            raise

    def receive(self) -> Any:
        """The reply to what ``send`` sent, parsed by ``_parse``."""
        connection = self._connection
        try:
            sock = self._sent_on
            if sock is None:
                return self._parse_responses(connection)
            return _read_reply(sock.recv, self._parse)
        except BaseException:
            connection.disconnect()
            raise

    def _parse(self, data: bytes) -> Any:
        return parse_stamp_reply(data)

    def _parse_responses(self, connection: Any) -> Any:
        return connection.read_response()

    def _socket(self, connection: Any) -> socket.socket | None:
        """The connection's socket, connected; connected again first if the server closed it
        while it was idle (a restart: it then reads as ready, with nothing sent), as
        redis-py's pool does before it hands a connection out."""
        sock: socket.socket | None = getattr(connection, "_sock", None)
        if sock is not None and sock is self._polled and self._idle.poll(0):
            connection.disconnect()
            sock = None
        if sock is None:
            connection.connect()
            sock = getattr(connection, "_sock", None)
        if sock is not None and sock is not self._polled:
            self._idle = select.poll()
            self._idle.register(sock, select.POLLIN | select.POLLPRI)
            self._polled = sock
        return sock

    def _held(self) -> Any:
        connection = self._connection
        if connection is None or self._pid != os.getpid():
            # First read, or in a process forked since: the parent's connection is its own.
            connection = self._connection = _pooled(self._pool)
            self._pid = os.getpid()
            self._packed = self._pack(connection)
        return connection

    def _pack(self, connection: Any) -> bytes:
        return b"".join(connection.pack_command("GET", self._key))

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self._pid == os.getpid():
            connection.disconnect()
            self._pool.release(connection)


def _read_reply(recv: Callable[[int], bytes], parse: Callable[[bytes], Any]) -> Any:
    data = recv(_CHUNK)
    while True:
        if not data:
            raise _closed_by_server()
        value = parse(data)
        if value is not INCOMPLETE:
            return value
        data += recv(_CHUNK)


class _AsyncLine:
    """``_SyncLine`` for a ``redis.asyncio.Redis`` client: the connection's stream, read until
    the reply is whole, within the connection's own ``socket_timeout``.

    The timeout is kept by one watchdog timer per line rather than a timer per read (a timer
    armed and cancelled for every read cost more than the rest of the read): it wakes at most
    once per timeout while reads go on, and drops the connection under a read older than it,
    which then fails as a timeout."""

    def __init__(self, client: redis.asyncio.Redis, key: str) -> None:
        self._pool = client.connection_pool
        self._key = key
        self._connection: Any = None
        self._packed = b""
        self._sent_at: float | None = None  # on the loop's clock; None: no read in the air
        self._watchdog: asyncio.TimerHandle | None = None
        self._expired = False  # the watchdog dropped the connection under the read in the air

    async def read(self) -> bytes | None:
        await self.send()
        return cast("bytes | None", await self.receive())

    async def send(self) -> None:
        """Send the read's command(s), connected first if need be."""
        connection = self._connection
        if connection is None:
            connection = self._connection = await _pooled(self._pool)
            self._packed = self._pack(connection)
        try:
            if _closed_while_idle(connection):  # a restart: as redis-py's pool checks
                await connection.disconnect(nowait=True)
            if not connection.is_connected:
                await connection.connect()
            writer = getattr(connection, "_writer", None)
            if writer is None or getattr(connection, "_reader", None) is None:
                # A connection of another kind: its own command layer, and its own timeouts.
                await connection.send_packed_command([self._packed], check_health=False)
                return
            writer.write(self._packed)
            timeout = connection.socket_timeout
            if timeout is not None:
                self._watch(timeout)
        except BaseException:
            await connection.disconnect(nowait=True)
            raise

    async def receive(self) -> Any:
        """The reply to what ``send`` sent, parsed by ``_parse``."""
        connection = self._connection
        try:
            reader = getattr(connection, "_reader", None)
            if reader is None or getattr(connection, "_writer", None) is None:
                async with asyncio.timeout(connection.socket_timeout):
                    return await self._parse_responses(connection)
            data = await reader.read(_CHUNK)
            while True:
                if not data:
                    raise self._lost()
                value = self._parse(data)
                if value is not INCOMPLETE:
                    return value
                data += await reader.read(_CHUNK)
        except BaseException:
            await connection.disconnect(nowait=True)
            raise
        finally:
            self._sent_at = None

    def _pack(self, connection: Any) -> bytes:
        return b"".join(connection.pack_command("GET", self._key))

    def _parse(self, data: bytes) -> Any:
        return parse_stamp_reply(data)

    async def _parse_responses(self, connection: Any) -> Any:
        return await connection.read_response()

    def _watch(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self._sent_at = loop.time()
        self._expired = False
        if self._watchdog is None:
            self._watchdog = loop.call_later(timeout, self._check, loop, timeout)

    def _check(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._watchdog = None
        sent_at = self._sent_at
        if sent_at is None:  # nothing in the air: asleep until the next read
            return
        left = sent_at + timeout - loop.time()
        if left > 0:
            self._watchdog = loop.call_later(left, self._check, loop, timeout)
            return
        writer = getattr(self._connection, "_writer", None)
        if writer is not None:
            self._expired = True
            writer.transport.abort()  # the read in the air ends now, as a timeout

    def _lost(self) -> Exception:
        if self._expired:
            return TimeoutError("Timeout reading the change stamp")
        return _closed_by_server()

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.disconnect(nowait=True)
            await self._pool.release(connection)


def _closed_while_idle(connection: Any) -> bool:
    reader, writer = getattr(connection, "_reader", None), getattr(connection, "_writer", None)
    if reader is None or writer is None:
        return False
    return bool(reader.at_eof() or writer.is_closing())


class _SyncCommands:
    """The stamp read through the client's command layer (cluster clients)."""

    def __init__(self, client: Any, key: str) -> None:
        self._client, self._key = client, key

    def read(self) -> bytes | None:
        return cast("bytes | None", self._client.execute_command("GET", self._key))

    def close(self) -> None:
        return None


class _ClusterLine:
    """The stamp read off a connection of the cluster node that serves its slot, as ``_SyncLine``
    reads it from one server: redis-py's cluster command layer costs about as much again as the
    round trip. The node is the one the client's slot table names. A redirection (the slot
    moved: an error reply, an answer rather than a wait) is followed through the client's
    command layer, which updates that table; after any other failure the next read goes through
    it too, so a node replaced in a failover is found again."""

    def __init__(self, client: Any, key: str) -> None:
        self._client, self._key = client, key
        self._commands = _SyncCommands(client, key)
        self._line: _SyncLine | None = None

    def read(self) -> bytes | None:
        line = self._line
        if line is None:
            value = self._commands.read()
            self._line = self._node_line()
            return value
        try:
            return line.read()
        except ResponseError:
            self._drop()
            return self._commands.read()
        except BaseException:
            self._drop()
            raise

    def _node_line(self) -> _SyncLine | None:
        node = self._client.get_node_from_key(self._key)
        connection = getattr(node, "redis_connection", None)
        return _SyncLine(connection, self._key) if type(connection) is redis.Redis else None

    def _drop(self) -> None:
        line, self._line = self._line, None
        if line is not None:
            line.close()

    def close(self) -> None:
        self._drop()


class _AsyncCommands:
    def __init__(self, client: Any, key: str) -> None:
        self._client, self._key = client, key

    async def read(self) -> bytes | None:
        return cast("bytes | None", await self._client.execute_command("GET", self._key))

    async def close(self) -> None:
        return None


SyncLine = _SyncLine | _ClusterLine | _SyncCommands
AsyncLine = _AsyncLine | _AsyncCommands


def sync_stamp_line(client: object, key: str) -> SyncLine:
    """How a ``RedisStore`` reads its stamp: off a connection of its own, where it can."""
    if type(client) is redis.Redis:  # a subclass may route commands its own way
        return _SyncLine(client, key)
    if type(client) is RedisCluster:
        return _ClusterLine(client, key)
    return _SyncCommands(client, key)


def async_stamp_line(client: object, key: str) -> AsyncLine:
    """``sync_stamp_line`` for an ``AsyncRedisStore``."""
    if type(client) is redis.asyncio.Redis:
        return _AsyncLine(client, key)
    return _AsyncCommands(client, key)
