"""The blocking driver: runs a realm flow to its end over a ``Store``, slow work inline."""

from __future__ import annotations

import contextlib
from typing import TypeVar, cast

from baas_auth.errors import StoreError
from baas_auth.realm.commands import Command, Flow, StoreCall
from baas_auth.stores.protocols import Store

__all__ = ["Driver"]

T = TypeVar("T")


class Driver:
    """Sends each command of a flow to the store (or runs it, for ``Offload``) and the result
    back into the flow; an error is thrown into the flow, which may handle it."""

    __slots__ = ("store",)

    def __init__(self, store: Store) -> None:
        self.store = store

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
