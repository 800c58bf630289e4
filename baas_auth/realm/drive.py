"""The blocking driver: runs a realm flow to its end over a ``Store``, slow work inline."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar, cast

from baas_auth.errors import StoreError
from baas_auth.realm.commands import Command, Flow, StoreCall
from baas_auth.stores.protocols import ChangeStamped, Store

__all__ = ["Driver", "no_stamp", "stamp_of"]

T = TypeVar("T")


def no_stamp() -> int | None:
    """The change stamp of a store that offers none: never known, so nothing is recalled."""
    return None


def stamp_of(store: object) -> Callable[[], int | None]:
    """The store's cheap freshness check (``ChangeStamped``), or ``no_stamp``."""
    return store.change_stamp if isinstance(store, ChangeStamped) else no_stamp


def stamp_is_exact(store: object) -> bool:
    """Whether the store's change stamp is read for every request, rather than offered from
    a window of bounded staleness (``max_staleness_ms``): only an exact stamp may stand in
    for a store read that would have found the store down."""
    return isinstance(store, ChangeStamped) and not getattr(store, "max_staleness_ms", 0)


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

    def start(self, flow: Flow[None]) -> None:
        """Run a realm's first flow at construction, unless the store is down: then the
        realm's first operation runs it (a worker must boot, and answer 503, meanwhile)."""
        with contextlib.suppress(StoreError):
            self.run(flow)

    def execute(self, command: Command) -> object:
        if isinstance(command, StoreCall):
            return getattr(self.store, command.method)(*command.args, **command.kwargs)
        return command.function(*command.args)
