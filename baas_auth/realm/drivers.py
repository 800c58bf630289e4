"""The blocking driver: runs a realm flow to its end over a ``Store``, slow work inline; and the
process's wake-ups of flows waiting for another flow to change a record (``Listen``, ``Pause``,
``Announce``), which both drivers share.

A password grant that waits for the checks in flight on its account (behaviour §6.2) reads the
account's record again when another grant of this process announces that it changed it, or
after a short pause (another process's changes are seen only by reading). Listeners are held
weakly: a flow that ends, however it ends, takes its listener with it.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable
from typing import NoReturn, Protocol, TypeVar, cast, runtime_checkable

from baas_auth.errors import StoreError
from baas_auth.realm.store_commands import (
    Announce,
    Command,
    Flow,
    Listen,
    NetworkCall,
    Offload,
    Pause,
    StoreCommand,
)
from baas_auth.stores.protocols import ChangeStamped, Store

__all__ = [
    "AS_IS",
    "AsIs",
    "Driver",
    "Serve",
    "Served",
    "ThreadWaker",
    "Waker",
    "announce",
    "listen",
    "no_stamp",
    "stamp_of",
]

T = TypeVar("T")
K_contra = TypeVar("K_contra", contravariant=True)
T_co = TypeVar("T_co", covariant=True)
K = TypeVar("K")


class Served(Protocol[K_contra, T_co]):
    """One request of a middleware, as a realm's driver serves it (``Realm.serve``): the
    flow that decides it, written once, and what the driver needs around it. The shape of
    httpx's ``Auth``: one flow, each driver running it its own way."""

    @property
    def remembers(self) -> bool:
        """Whether answers are remembered under the store's change stamp: then the driver
        reads the stamp first, and gives ``recall``'s answer when there is one."""

    def recall(self, key: K_contra, stamp: int) -> T_co | None:
        """The answer remembered for ``key`` under ``stamp``, or None."""

    def flow(self, key: K_contra, stamp: int | None) -> Flow[T_co]:
        """The flow that answers ``key``, under ``stamp`` (None: not read, or none offered)."""

    def refuse(self, error: StoreError) -> T_co:
        """The answer when the stamp could not be read (the store is down: 503)."""


def no_stamp() -> int | None:
    """The change stamp of a store that offers none: never known, so nothing is recalled."""
    return None


def stamp_of(store: object) -> Callable[[], int | None]:
    """The store's cheap freshness check (``ChangeStamped``), or ``no_stamp``."""
    return store.change_stamp if isinstance(store, ChangeStamped) else no_stamp


@runtime_checkable
class StampWindowed(Protocol):
    """A store that may offer its change stamp from a window of bounded staleness
    (``RedisStore(max_staleness_ms=…)``; 0: read for every request)."""

    @property
    def max_staleness_ms(self) -> int: ...


def stamp_is_exact(store: object) -> bool:
    """Whether the store's change stamp is read for every request, rather than offered from
    a window of bounded staleness (``max_staleness_ms``): only an exact stamp may stand in
    for a store read that would have found the store down."""
    if not isinstance(store, ChangeStamped):
        return False
    return not (isinstance(store, StampWindowed) and store.max_staleness_ms)


class Serve(Protocol):
    """``Driver.serve``, as ``Realm.serve`` hands it out."""

    def __call__(self, served: Served[K, T], key: K) -> T: ...


class AsIs:
    """A flow served as it is (``Realm.serve(AS_IS, flow)``): an endpoint's answer, a
    websocket handshake, a check at construction. Never remembered, so no stamp is read."""

    remembers = False

    def recall(self, key: Flow[T], stamp: int) -> T | None:
        return None

    def flow(self, key: Flow[T], stamp: int | None) -> Flow[T]:
        return key

    def refuse(self, error: StoreError) -> NoReturn:
        raise error  # never: no stamp is read for a flow served as it is


AS_IS = AsIs()


class Driver:
    """Sends each command of a flow to the store (or runs it, for ``Offload``) and the result
    back into the flow; an error is thrown into the flow, which may handle it. ``stamp`` is
    the store's freshness check, for the adapters' cache of admitted requests."""

    __slots__ = ("stamp", "store")

    def __init__(self, store: Store) -> None:
        self.store = store
        self.stamp = stamp_of(store)

    def run(self, flow: Flow[T]) -> T:
        reply: object = None
        failure: Exception | None = None
        while True:
            try:
                command = flow.send(reply) if failure is None else flow.throw(failure)
            except StopIteration as done:
                return cast(T, done.value)
            reply, failure = None, None
            try:
                reply = self.execute(command)
            except Exception as error:  # handed to the flow: it decides, never this loop
                failure = error

    def serve(self, served: Served[K, T], key: K) -> T:
        """Answer one request: its remembered answer while the store's change stamp is the
        one it was made under, else its flow run to the end."""
        stamp = None
        if served.remembers:
            try:
                stamp = self.stamp()
            except StoreError as error:  # the check is a store read (Redis): it fails closed
                return served.refuse(error)
            if stamp is not None:
                answer = served.recall(key, stamp)
                if answer is not None:
                    return answer
        return self.run(served.flow(key, stamp))

    def start(self, flow: Flow[None]) -> None:
        """Run a realm's first flow at construction, unless the store is down: then the
        realm's first operation runs it (a worker must boot, and answer 503, meanwhile)."""
        with contextlib.suppress(StoreError):
            self.run(flow)

    def execute(self, command: Command) -> object:
        if isinstance(command, StoreCommand):
            return command.run(self.store)
        if isinstance(command, Offload):
            return command.function(*command.args)
        if isinstance(command, NetworkCall):
            return command.blocking()
        return wait_or_wake(command, ThreadWaker)


def wait_or_wake(command: Listen | Pause | Announce, make: Callable[[], Waker]) -> object:
    """Listening, pausing (blocking this thread) and announcing: the wake-ups below."""
    if isinstance(command, Listen):
        waker = make()
        listen(command.topic, waker)
        return waker
    if isinstance(command, Announce):
        announce(command.topic)
        return None
    if not isinstance(command.waker, ThreadWaker):  # never: made by this driver
        raise TypeError("a pause on a waker of another driver")
    command.waker.wait(command.timeout_ms)
    return None


# -- wake-ups ---------------------------------------------------------------------------------

_SWEEP_AT = 1024  # topics kept before the ones nobody listens to any more are dropped

_lock = threading.Lock()
_listeners: dict[str, weakref.WeakSet[Waker]] = {}


class Waker:
    """Something a flow waits on; ``wake`` may be called from any thread."""

    __slots__ = ("__weakref__",)

    def wake(self) -> None:
        raise NotImplementedError


class ThreadWaker(Waker):
    """For a flow run on a blocking thread."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def wake(self) -> None:
        self._event.set()

    def wait(self, timeout_ms: int) -> None:
        """Until woken (or already woken since the last wait), or ``timeout_ms``."""
        self._event.wait(timeout_ms / 1000)
        self._event.clear()


def listen(topic: str, waker: Waker) -> None:
    """Have ``waker`` woken by every ``announce(topic)`` from now on, while it lives."""
    with _lock:
        if len(_listeners) >= _SWEEP_AT:
            for idle in [name for name, found in _listeners.items() if not found]:
                del _listeners[idle]
        _listeners.setdefault(topic, weakref.WeakSet()).add(waker)


def announce(topic: str) -> None:
    """Wake every live listener of ``topic`` in this process."""
    with _lock:
        found = list(_listeners.get(topic, ()))
        if not found:
            _listeners.pop(topic, None)
    for waker in found:
        waker.wake()
