"""Every cache of one middleware's request path, each with its key, its bound and what ends it.

- ``parsed``: what the store-free checks made of a request (route, credential, query without
  credentials), by ``RequestInfo``; never stale (a pure function of the request).
- ``bearer_headers``: the bearer token parsed from an Authorization value, by that value; never
  stale (a pure function of the value).
- ``admitted`` and ``refused``: a decision, by the adapter's request key; end with the store's
  change stamp and with the expiry written in the token the decision rests on.
- ``tokens``: whom a valid token stands for, by the token; ends with the store's change stamp
  and with the token's expiry.
- ``clients``: a client authenticated by its secret for the introspection and revocation
  endpoints, by its client id and the tenant it called; holds a keyed digest of the secret
  (the key is random, made per process), never the secret, compared in constant time; ends
  with the store's change stamp.
- ``introspected``: the rendered answer for an active access token, by the tenant and the
  token; ends with the store's change stamp and with the token's expiry.
- ``answered``: the same answers, by a keyed digest of everything of the introspection request
  the answer depends on (its org and app, query, Authorization and Content-Type headers and
  body: the client's credentials among them, so only the same client with the same secret
  finds it); ends as ``introspected``. A repeated request is answered before its body is
  parsed or its client looked at.

Every table holds at most ``CACHE_SIZE`` entries and is emptied when full. Nothing that carries a
client secret is kept (a Basic header, a request with a secret in its query). The realm's own
caches on the path (verified tokens in the key ring, the snapshot of records) live with the
realm (``realm/keys.py``, ``realm/cache.py``); docs/design.md lists all of them.

A decision is remembered with the store's change stamp read before it began (behaviour §7's
per-request freshness check): it is given again only while the stamp read for the new request
is the same, so a change made anywhere, by any process, sends the next request to a full
decision. Only decisions that rest on nothing else are remembered (the gate decides which).
A token's validity is remembered the same way, apart from the requests it came with: a known
token on a path never seen costs no store read, only the rules (and, where the store's stamp
may be stale, it is not remembered at all).

Pure: no I/O, no clock (the caller passes the time).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Hashable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from baas_auth.core.credentials import BearerToken, Credential, parse_authorization
from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.jwt_tokens import UnknownKeyIdError
from baas_auth.core.routing import Route
from baas_auth.core.tokens import UnknownKeyError
from baas_auth.errors import AuthError
from baas_auth.middleware.decisions import Admit
from baas_auth.model import Principal

if TYPE_CHECKING:
    from baas_auth.api.table import Match

__all__ = [
    "CACHE_SIZE",
    "Admitted",
    "BearerHeaders",
    "CacheFigures",
    "Freshness",
    "KnownClient",
    "KnownToken",
    "Parsed",
    "Refused",
    "may_remember_refusal",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

CACHE_SIZE = 4096
"""Entries per table."""


class Parsed(NamedTuple):
    """What the checks that need no store made of a request (the ``parsed`` table)."""

    route: Route
    credential: Credential | None
    preflight: bool
    query_string: bytes
    api: Match | tuple[str, ...] | None = None
    """The management API's row for the request, or the methods it takes on a path it owns
    (a 405); None when the API does not serve it. Matched once, carried to the answer."""


class Admitted(NamedTuple):
    """An admission, the stamp it was made under, and its token's expiry (None: never, or no
    token)."""

    stamp: int
    expires_at_ms: int | None
    admit: Admit
    request: RequestInfo
    route: Route


class Refused(NamedTuple):
    """A refusal, the stamp it was made under, who was refused (None: not known yet), and the
    expiry written in the token it found valid (None: never, or it rests on no valid token):
    once the token has expired, the answer is 401 ``expired_token``, not this one."""

    stamp: int
    error: AuthError
    request: RequestInfo
    route: Route | None
    principal: Principal | None
    expires_at_ms: int | None = None


class KnownToken(NamedTuple):
    """Whom a valid token stands for, the stamp its store record was read under, and the
    expiry written in it (None: never)."""

    stamp: int
    principal: Principal
    expires_at_ms: int | None


class KnownClient(NamedTuple):
    """A client authenticated by its secret, the stamp that held then, and a keyed digest of
    the secret it presented (``secret_digest``): never the secret itself."""

    stamp: int
    digest: bytes
    principal: Principal


class Introspected(NamedTuple):
    """An introspection answer for an active token, the stamp it was found under, and the
    expiry written in the token (None: never): at it the answer is ``{"active": false}``."""

    stamp: int
    expires_at_ms: int | None
    response: Response


class CacheFigures(NamedTuple):
    """How many entries each cache of a middleware's request path holds (a testing and
    monitoring view: ``AuthMiddleware.cache_figures()``)."""

    parsed: int
    bearer_headers: int
    admitted: int
    refused: int
    tokens: int
    clients: int = 0
    introspected: int = 0
    answered: int = 0


_DIGEST_KEY = os.urandom(32)
"""The key of ``secret_digest``: made per process, so a digest kept in memory says nothing
outside it (and a secret cannot be tried against it offline)."""


def request_digest(parts: tuple[str | bytes | None, ...]) -> bytes:
    """A keyed digest of a request's parts: what ``answered`` is keyed by. The parts' ``repr``
    tells each apart from the next, and None from every text (it reads back as one tuple)."""
    return _keyed_digest(repr(parts))


def secret_digest(secret: str) -> bytes:
    """A keyed digest of a presented client secret: what ``clients`` keeps and compares."""
    return _keyed_digest(secret)


def _keyed_digest(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, key=_DIGEST_KEY, digest_size=32).digest()


def may_remember_refusal(error: Exception) -> bool:
    """Whether a refusal rests on the request and the store alone. Not a store failure (503:
    the next request must try the store again), and not a key id the ring does not know: the
    ring reloads at most once a second, so that refusal may not hold a second later. Nor a
    key id an identity provider's keys lack (``UnknownKeyIdError``): its keys are fetched
    again once the cooldown ends, with no change to the store's stamp."""
    return isinstance(error, AuthError) and not isinstance(
        error, UnknownKeyError | UnknownKeyIdError
    )


class BearerHeaders:
    """Bearer credentials by the Authorization value they were parsed from: a client sends
    the same header with every path, and parsing it is a pure function of the value. Basic
    credentials are parsed every time and never kept, so that no secret lingers in memory."""

    __slots__ = ("_parsed",)

    def __init__(self) -> None:
        self._parsed: dict[str, BearerToken] = {}

    def __len__(self) -> int:
        return len(self._parsed)

    def holds(self, text: str) -> bool:
        """Whether ``text`` appears in any value kept (tests: no secret lingers)."""
        return text in repr(self._parsed)

    def parse(self, value: str) -> Credential:
        known = self._parsed.get(value)
        if known is not None:
            return known
        credential = parse_authorization(value)
        if isinstance(credential, BearerToken):
            _bounded(self._parsed)[value] = credential
        return credential


class Freshness:
    """The caches of one middleware (the list above). The gate reads ``admitted`` itself, on
    its hottest path, and checks the stamp and the expiry."""

    __slots__ = (
        "admitted", "answered", "bearer_headers", "clients", "introspected", "parsed", "refused",
        "tokens",
    )  # fmt: skip

    def __init__(self) -> None:
        self.parsed: dict[RequestInfo, Parsed] = {}
        self.bearer_headers = BearerHeaders()
        self.admitted: dict[Hashable, Admitted] = {}
        self.refused: dict[Hashable, Refused] = {}
        self.tokens: dict[str, KnownToken] = {}
        self.clients: dict[tuple[str, str | None, str | None], KnownClient] = {}
        self.introspected: dict[tuple[str, str | None, str], Introspected] = {}
        self.answered: dict[bytes, Introspected] = {}

    def figures(self) -> CacheFigures:
        return CacheFigures(
            len(self.parsed),
            len(self.bearer_headers),
            len(self.admitted),
            len(self.refused),
            len(self.tokens),
            len(self.clients),
            len(self.introspected),
            len(self.answered),
        )

    def holds(self, text: str) -> bool:
        """Whether ``text`` appears in anything remembered: a test that no secret lingers."""
        tables = (
            self.parsed, self.admitted, self.refused, self.tokens, self.clients,
            self.introspected, self.answered,
        )  # fmt: skip
        return self.bearer_headers.holds(text) or any(text in repr(t) for t in tables)

    def remember_parsed(self, request: RequestInfo, parsed: Parsed) -> None:
        """Keep what the store-free checks made of ``request``, unless it carries a secret:
        a credential other than a bearer token, or, for an endpoint or the management API
        (which read their credentials later, so ``parsed`` has none), an Authorization value
        other than Bearer or a query that may name a secret."""
        if parsed.credential is not None and not isinstance(parsed.credential, BearerToken):
            return
        if parsed.route.endpoint is not None and _may_carry_secret(request):
            masked = _masked(request)
            if masked is not None:
                _bounded(self.parsed)[masked] = parsed
            return
        _bounded(self.parsed)[request] = parsed

    def parsed_masked(self, request: RequestInfo) -> Parsed | None:
        """What ``remember_parsed`` kept of an endpoint's request whose Authorization value
        it kept only as a keyed digest (a client's Basic credentials), else None."""
        masked = _masked(request)
        return None if masked is None else self.parsed.get(masked)

    def known_token(self, token: str, stamp: int | None, now_ms: int) -> KnownToken | None:
        """The token's validity as read under ``stamp``, unless it has expired since."""
        return _current(self.tokens.get(token), stamp, now_ms)

    def remember_token(self, token: str, entry: KnownToken) -> None:
        _bounded(self.tokens)[token] = entry

    def known_client(
        self, key: tuple[str, str | None, str | None], secret: str, stamp: int
    ) -> Principal | None:
        """The client ``key`` (its id, the org and app it called) authenticated under
        ``stamp`` with this same ``secret`` (compared in constant time), else None."""
        entry = self.clients.get(key)
        if entry is None or entry.stamp != stamp:
            return None
        if not hmac.compare_digest(entry.digest, secret_digest(secret)):
            return None
        return entry.principal

    def remember_client(
        self, key: tuple[str, str | None, str | None], secret: str, stamp: int, found: Principal
    ) -> None:
        _bounded(self.clients)[key] = KnownClient(stamp, secret_digest(secret), found)

    def introspection(
        self, key: tuple[str, str | None, str], stamp: int, now_ms: int
    ) -> Response | None:
        """The answer found for a token (by its tenant and the token) under ``stamp``,
        unless the token has expired since."""
        entry = _current(self.introspected.get(key), stamp, now_ms)
        return None if entry is None else entry.response

    def remember_introspection(
        self, key: tuple[str, str | None, str], fingerprint: bytes | None, entry: Introspected
    ) -> None:
        """Keep an answer by its tenant and token, and by the request's ``fingerprint``
        (``request_digest``; None: not by the request)."""
        _bounded(self.introspected)[key] = entry
        if fingerprint is not None:
            _bounded(self.answered)[fingerprint] = entry

    def answer(self, fingerprint: bytes, stamp: int, now_ms: int) -> Response | None:
        """The answer given to the same request under ``stamp``, unless its token has
        expired since."""
        entry = _current(self.answered.get(fingerprint), stamp, now_ms)
        return None if entry is None else entry.response

    def refusal(self, key: Hashable, stamp: int | None, now_ms: int) -> Refused | None:
        """The refusal made under ``stamp``, unless its token has expired since."""
        return _current(self.refused.get(key), stamp, now_ms)

    def remember_admission(self, key: Hashable, entry: Admitted) -> None:
        _bounded(self.admitted)[key] = entry
        self.refused.pop(key, None)

    def remember_refusal(self, key: Hashable, entry: Refused) -> None:
        _bounded(self.refused)[key] = entry
        self.admitted.pop(key, None)

    def refused_under(
        self,
        recall: tuple[int, Hashable] | None,
        error: Exception,
        request: RequestInfo,
        route: Route | None,
        principal: Principal | None = None,
        expires_at_ms: int | None = None,
    ) -> None:
        """Remember a refusal under ``recall`` (its stamp and key; None: not to be remembered)
        when it rests on the request and the store alone (``may_remember_refusal``)."""
        if recall is not None and isinstance(error, AuthError) and may_remember_refusal(error):
            stamp, key = recall
            self.remember_refusal(
                key, Refused(stamp, error, request, route, principal, expires_at_ms)
            )


E = TypeVar("E", KnownToken, Refused, Introspected)


def _current(entry: E | None, stamp: int | None, now_ms: int) -> E | None:
    """``entry`` if it was made under ``stamp`` and its token has not expired since."""
    if entry is None or entry.stamp != stamp:
        return None
    expires = entry.expires_at_ms
    return entry if expires is None or now_ms < expires else None


_SECRET_WORDS = (b"secret", b"password", b"%")
"""What a query naming a secret parameter holds (``%``: a name may be percent-encoded)."""


def _may_carry_secret(request: RequestInfo) -> bool:
    """Whether a request holds a client secret or a password in its Authorization value or
    its query (the body is never part of the key)."""
    return _query_may_name_secret(request) or any(
        _secret_authorization(name, value) for name, value in request.headers
    )


def _masked(request: RequestInfo) -> RequestInfo | None:
    """``request`` with each Authorization value other than Bearer replaced by a keyed digest
    of it; None when it has none, or when its query may name a secret (never kept)."""
    if _query_may_name_secret(request):
        return None
    masked = False
    headers = []
    for name, value in request.headers:
        if _secret_authorization(name, value):
            value = "masked " + request_digest((value,)).hex()
            masked = True
        headers.append((name, value))
    return request._replace(headers=tuple(headers)) if masked else None


def _query_may_name_secret(request: RequestInfo) -> bool:
    query = request.query_string.lower()
    return any(word in query for word in _SECRET_WORDS)


def _secret_authorization(name: str, value: str) -> bool:
    """An Authorization value other than a bearer token: a client's Basic credentials."""
    return name == "authorization" and value[:7].lower() != "bearer "


def _bounded(table: dict[K, V]) -> dict[K, V]:
    if len(table) >= CACHE_SIZE:
        table.clear()
    return table
