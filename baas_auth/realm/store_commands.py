"""What a realm flow asks its driver to do: store commands, CPU-heavy work to run off the loop,
and waiting for another flow of the process to change a record (the wake-ups of ``drivers``).

A flow is a generator: it yields a command and receives the command's result (or has the
command's exception thrown into it), and finally returns its own value. Each store operation is
a frozen ``StoreCommand[T]`` whose ``run``/``run_async`` make the one call of the ``Store`` or
``AsyncStore`` protocol it stands for, so mypy checks each method's name and arguments here, and
each command's arguments where a flow builds it. ``ask(command)`` is the one-yield flow that
carries ``T`` to the flow: ``raw = yield from get(key)``. Nothing below the drivers does I/O
(httpx's auth flows and h11's "return NEED_DATA instead of reading" are the models).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar, TypeVarTuple

from baas_auth.stores.protocols import AsyncStore, Store

__all__ = [
    "Announce",
    "Command",
    "Create",
    "Delete",
    "Flow",
    "Generation",
    "Get",
    "GetMany",
    "Listen",
    "NetworkCall",
    "Offload",
    "Pause",
    "Put",
    "Scan",
    "StoreCommand",
    "Transact",
    "announce",
    "ask",
    "create",
    "delete",
    "generation",
    "get",
    "get_many",
    "listen",
    "network_call",
    "offload",
    "pause",
    "put",
    "scan",
    "transact",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Args = TypeVarTuple("Args")


class StoreCommand(Generic[T_co]):
    """One call of the store protocol, answering ``T_co``: ``run`` makes it on a blocking
    ``Store``, ``run_async`` on an ``AsyncStore`` (it returns the store's awaitable, so that
    a driver awaits the store itself, with no coroutine of its own in between)."""

    __slots__ = ()

    def run(self, store: Store) -> T_co:
        raise NotImplementedError

    def run_async(self, store: AsyncStore) -> Awaitable[T_co]:
        raise NotImplementedError


# -- the store commands: one per method of the store protocols --------------------------------


@dataclass(frozen=True, slots=True)
class Get(StoreCommand[bytes | None]):
    key: str

    def run(self, store: Store) -> bytes | None:
        return store.get(self.key)

    def run_async(self, store: AsyncStore) -> Awaitable[bytes | None]:
        return store.get(self.key)


@dataclass(frozen=True, slots=True)
class GetMany(StoreCommand[list[bytes | None]]):
    keys: Sequence[str]

    def run(self, store: Store) -> list[bytes | None]:
        return store.get_many(self.keys)

    def run_async(self, store: AsyncStore) -> Awaitable[list[bytes | None]]:
        return store.get_many(self.keys)


@dataclass(frozen=True, slots=True)
class Put(StoreCommand[None]):
    key: str
    value: bytes

    def run(self, store: Store) -> None:
        store.put(self.key, self.value)

    def run_async(self, store: AsyncStore) -> Awaitable[None]:
        return store.put(self.key, self.value)


@dataclass(frozen=True, slots=True)
class Create(StoreCommand[bool]):
    key: str
    value: bytes

    def run(self, store: Store) -> bool:
        return store.create(self.key, self.value)

    def run_async(self, store: AsyncStore) -> Awaitable[bool]:
        return store.create(self.key, self.value)


@dataclass(frozen=True, slots=True)
class Delete(StoreCommand[bool]):
    key: str

    def run(self, store: Store) -> bool:
        return store.delete(self.key)

    def run_async(self, store: AsyncStore) -> Awaitable[bool]:
        return store.delete(self.key)


@dataclass(frozen=True, slots=True)
class Transact(StoreCommand[bool]):
    create: Mapping[str, bytes] | None = None
    put: Mapping[str, bytes] | None = None
    delete: Sequence[str] = ()

    def run(self, store: Store) -> bool:
        return store.transact(create=self.create, put=self.put, delete=self.delete)

    def run_async(self, store: AsyncStore) -> Awaitable[bool]:
        return store.transact(create=self.create, put=self.put, delete=self.delete)


@dataclass(frozen=True, slots=True)
class Scan(StoreCommand[list[tuple[str, bytes]]]):
    prefix: str

    def run(self, store: Store) -> list[tuple[str, bytes]]:
        return store.scan(self.prefix)

    def run_async(self, store: AsyncStore) -> Awaitable[list[tuple[str, bytes]]]:
        return store.scan(self.prefix)


@dataclass(frozen=True, slots=True)
class Generation(StoreCommand[int]):
    def run(self, store: Store) -> int:
        return store.generation()

    def run_async(self, store: AsyncStore) -> Awaitable[int]:
        return store.generation()


# -- the other commands -----------------------------------------------------------------------


class Offload(NamedTuple):
    """Run ``function(*args)``, pure CPU work such as the password KDF, where it blocks no one:
    inline for a blocking driver, on a worker thread for an event loop's."""

    function: Callable[..., object]
    args: tuple[object, ...]


class Listen(NamedTuple):
    """Start listening for announcements of ``topic`` in this process; the reply is a waker
    to ``Pause`` on (the flow holds it; it stops listening when the flow drops it)."""

    topic: str


class Pause(NamedTuple):
    """Wait until ``waker`` is woken (or was, since the last pause), or ``timeout_ms``."""

    waker: object
    timeout_ms: int


class Announce(NamedTuple):
    """Wake the flows of this process listening for ``topic``."""

    topic: str


class NetworkCall(NamedTuple):
    """Work that may wait on the network (an identity provider's keys): a blocking driver
    calls ``blocking()``; an event-loop driver awaits ``awaited()``, which keeps any wait off
    the loop's thread (behaviour §8)."""

    blocking: Callable[[], Any]
    awaited: Callable[[], Awaitable[Any]]


Command = StoreCommand[Any] | Offload | Listen | Pause | Announce | NetworkCall

Flow = Generator[Command, Any, T]
"""A flow returning ``T``: it yields commands and is sent their results."""


def ask(command: StoreCommand[T]) -> Flow[T]:
    """The flow of one store command: its result, typed as the command says (the drivers
    send back what ``run``/``run_async`` answered)."""
    result: T = yield command
    return result


def offload(function: Callable[[*Args], T], *args: *Args) -> Flow[T]:
    """``function(*args)`` run where it blocks no one (mypy checks the arguments)."""
    result: T = yield Offload(function, args)
    return result


def listen(topic: str) -> Flow[object]:
    waker: object = yield Listen(topic)
    return waker


def pause(waker: object, timeout_ms: int) -> Flow[None]:
    yield Pause(waker, timeout_ms)


def announce(topic: str) -> Flow[None]:
    yield Announce(topic)


# -- one flow per store command, as the flows spell them (each is ``ask``'s generator, no more) --


def network_call(
    blocking: Callable[[], T], awaited: Callable[[], Awaitable[T]]
) -> Flow[T]:
    """``blocking()`` on a blocking driver, ``await awaited()`` on an event loop."""
    result: T = yield NetworkCall(blocking, awaited)
    return result


def get(key: str) -> Flow[bytes | None]:
    return ask(Get(key))


def get_many(keys: Sequence[str]) -> Flow[list[bytes | None]]:
    return ask(GetMany(keys))


def put(key: str, value: bytes) -> Flow[None]:
    return ask(Put(key, value))


def create(key: str, value: bytes) -> Flow[bool]:
    return ask(Create(key, value))


def delete(key: str) -> Flow[bool]:
    return ask(Delete(key))


def transact(
    *,
    create: Mapping[str, bytes] | None = None,
    put: Mapping[str, bytes] | None = None,
    delete: Sequence[str] = (),
) -> Flow[bool]:
    return ask(Transact(create, put, delete))


def scan(prefix: str) -> Flow[list[tuple[str, bytes]]]:
    return ask(Scan(prefix))


def generation() -> Flow[int]:
    return ask(Generation())


