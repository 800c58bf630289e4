"""Plain values that cross the adapter boundary: ``RequestInfo`` in, ``Response`` out.

Adapters build a RequestInfo from an environ or scope; the core never sees either. Does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Headers", "RequestInfo", "Response"]

Headers = tuple[tuple[str, str], ...]
"""Header fields in arrival order, names lower-cased, values decoded as latin-1."""


class RequestInfo(NamedTuple):
    """What authentication and authorization need to know of one request.

    Immutable. A NamedTuple rather than a frozen dataclass: one is built per request, and a
    frozen dataclass costs several times as much to construct.
    """

    method: str
    """The method exactly as sent (case-sensitive: ``get`` is not ``GET``)."""
    path: str
    """The route path: what the inner app's router dispatches on, decoded to ``str``."""
    raw_path: bytes | None = None
    """The path part of the raw request target, where the server provides one."""
    query_string: bytes = b""
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class Response:
    """A complete answer the middleware sends instead of calling the inner app."""

    status: int
    headers: Headers
    body: bytes
