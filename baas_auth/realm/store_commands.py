"""What a realm flow asks its driver to do: store calls, CPU-heavy work to run off the loop, and
waiting for another flow of the process to change a record (the wake-ups of ``drive``).

A flow is a generator: it yields a command and receives the command's result (or has the
command's exception thrown into it), and finally returns its own value. Each helper below is a
one-yield flow for one store method, so flows read ``raw = yield from get(key)``: the store
protocol's types reach the flow, and nothing below the drivers does I/O (httpx's auth flows and
h11's "return NEED_DATA instead of reading" are the models). Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from baas_auth.stores.protocols import TokenLookup

__all__ = [
    "Announce",
    "Command",
    "Flow",
    "Listen",
    "Offload",
    "Pause",
    "StoreCall",
    "announce",
    "create",
    "delete",
    "delete_principal_tokens",
    "delete_token",
    "generation",
    "get",
    "get_many",
    "get_token",
    "get_transient",
    "listen",
    "offload",
    "pause",
    "purge_expired",
    "put",
    "put_token",
    "scan",
    "swap_transient",
    "touch_token",
    "transact",
]

T = TypeVar("T")

_NO_KEYWORDS: Mapping[str, object] = {}


class StoreCall(NamedTuple):
    """Call ``method`` of the store (sync or async) with these arguments."""

    method: str
    args: tuple[object, ...] = ()
    kwargs: Mapping[str, object] = _NO_KEYWORDS


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


Command = StoreCall | Offload | Listen | Pause | Announce

Flow = Generator[Command, Any, T]
"""A flow returning ``T``: it yields commands and is sent their results."""


def offload(function: Callable[..., T], *args: object) -> Flow[T]:
    result: T = yield Offload(function, args)
    return result


def listen(topic: str) -> Flow[object]:
    waker: object = yield Listen(topic)
    return waker


def pause(waker: object, timeout_ms: int) -> Flow[None]:
    yield Pause(waker, timeout_ms)


def announce(topic: str) -> Flow[None]:
    yield Announce(topic)


def _store(method: str, *args: object, **kwargs: object) -> StoreCall:
    return StoreCall(method, args, kwargs or _NO_KEYWORDS)


def get(key: str) -> Flow[bytes | None]:
    found: bytes | None = yield _store("get", key)
    return found


def get_many(keys: Sequence[str]) -> Flow[list[bytes | None]]:
    found: list[bytes | None] = yield _store("get_many", keys)
    return found


def put(key: str, value: bytes) -> Flow[None]:
    yield _store("put", key, value)


def create(key: str, value: bytes) -> Flow[bool]:
    created: bool = yield _store("create", key, value)
    return created


def delete(key: str) -> Flow[bool]:
    deleted: bool = yield _store("delete", key)
    return deleted


def transact(
    *,
    create: Mapping[str, bytes] | None = None,
    put: Mapping[str, bytes] | None = None,
    delete: Sequence[str] = (),
) -> Flow[bool]:
    done: bool = yield _store("transact", create=create, put=put, delete=delete)
    return done


def scan(prefix: str) -> Flow[list[tuple[str, bytes]]]:
    found: list[tuple[str, bytes]] = yield _store("scan", prefix)
    return found


def generation() -> Flow[int]:
    current: int = yield _store("generation")
    return current


def put_token(
    token_id: str,
    principal_key: str,
    record: bytes,
    *,
    created_ms: int,
    expires_at_ms: int | None,
) -> Flow[None]:
    yield _store(
        "put_token",
        token_id,
        principal_key,
        record,
        created_ms=created_ms,
        expires_at_ms=expires_at_ms,
    )


def get_token(token_id: str) -> Flow[TokenLookup]:
    found: TokenLookup = yield _store("get_token", token_id)
    return found


def touch_token(token_id: str, now_ms: int) -> Flow[int | None]:
    inactive: int | None = yield _store("touch_token", token_id, now_ms)
    return inactive


def delete_token(token_id: str) -> Flow[bool]:
    deleted: bool = yield _store("delete_token", token_id)
    return deleted


def delete_principal_tokens(principal_key: str) -> Flow[int]:
    deleted: int = yield _store("delete_principal_tokens", principal_key)
    return deleted


def purge_expired(now_ms: int) -> Flow[int]:
    purged: int = yield _store("purge_expired", now_ms)
    return purged


def get_transient(key: str) -> Flow[bytes | None]:
    found: bytes | None = yield _store("get_transient", key)
    return found


def swap_transient(
    key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
) -> Flow[bool]:
    swapped: bool = yield _store("swap_transient", key, expected, new, expires_at_ms=expires_at_ms)
    return swapped
