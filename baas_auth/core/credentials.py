"""Extraction of the one credential a request carries (behaviour §2), and query-string scrubbing.

Pure: takes a ``RequestInfo`` or query bytes, returns values or raises ``BadRequestError`` (400)
or ``AuthenticationError`` (401). No error message ever contains a token or a secret.
"""

from __future__ import annotations

import binascii
import re
from base64 import b64decode
from collections.abc import Callable, Iterator
from typing import Literal, NamedTuple
from urllib.parse import unquote_to_bytes

from baas_auth.core.credential_names import CREDENTIAL_PARAMS, OVERRIDE_HEADERS
from baas_auth.core.http import RequestInfo
from baas_auth.core.permissions import verb_for_method
from baas_auth.errors import AuthenticationError, BadRequestError, MethodNotAllowedError

__all__ = [
    "CREDENTIAL_PARAMS",  # re-exported from baas_auth.core.credential_names, where it is defined
    "BearerToken",
    "ClientSecretPair",
    "Credential",
    "check_method",
    "check_method_override",
    "extract_credential",
    "has_query_credentials",
    "parse_authorization",
    "parse_query",
    "scrub_query",
]


class BearerToken(NamedTuple):
    """An access token, from ``Authorization: Bearer`` or the ``access_token`` parameter.

    Immutable; a NamedTuple because one is built per request (see ``http.RequestInfo``).
    """

    token: str
    source: Literal["header", "query"]

    def __repr__(self) -> str:
        return f"BearerToken(source={self.source!r})"  # never the token


class ClientSecretPair(NamedTuple):
    """Client credentials, from ``client_id``/``client_secret`` parameters or a Basic header."""

    client_id: str
    client_secret: str
    source: Literal["query", "basic"]

    def __repr__(self) -> str:
        return f"ClientSecretPair(client_id={self.client_id!r}, source={self.source!r})"


Credential = BearerToken | ClientSecretPair

_OVERRIDE_HEADERS = frozenset(OVERRIDE_HEADERS)

# A query can only name a credential if one of these appears; `%` because any character of a
# name may be percent-encoded (`%61ccess_token`). Names are case-sensitive, as Python routers'.
_MAYBE_CREDENTIAL = re.compile(rb"access_token|client_id|client_secret|%")
_MAYBE_OVERRIDE = re.compile(rb"_method|%")
_SCHEME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_SPACE_TOKEN68 = re.compile(r" ([A-Za-z0-9._~+/-]+=*)")

_UNSUPPORTED_SCHEME = "Unsupported authorization scheme"


def _decode_component(raw: bytes) -> str:
    """Decode one query name or value: ``+`` is a space, then percent-decoding, then UTF-8."""
    if b"%" not in raw and b"+" not in raw:
        return raw.decode("utf-8", "replace")
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


def _split_parts(query_string: bytes) -> Iterator[tuple[bytes, str, bytes]]:
    """Yield ``(part, decoded name, raw value)`` of each ``&``-separated part, in order."""
    for part in query_string.split(b"&"):
        name, _, value = part.partition(b"=")
        yield part, _decode_component(name), value


def parse_query(query_string: bytes) -> list[tuple[str, str]]:
    """Decoded ``(name, value)`` pairs in order; blank values are kept, empty parts skipped."""
    return [
        (name, _decode_component(value)) for part, name, value in _split_parts(query_string) if part
    ]


def has_query_credentials(query_string: bytes) -> bool:
    """Whether any parameter is named ``access_token``, ``client_id`` or ``client_secret``."""
    if not _MAYBE_CREDENTIAL.search(query_string):
        return False
    return any(name in CREDENTIAL_PARAMS for _, name, _ in _split_parts(query_string))


def scrub_query(query_string: bytes) -> bytes:
    """Remove the credential parameters, leaving every other part byte-identical and in order.

    Returns ``query_string`` itself when it names no credential.
    """
    if not _MAYBE_CREDENTIAL.search(query_string):
        return query_string
    kept = [part for part, name, _ in _split_parts(query_string) if name not in CREDENTIAL_PARAMS]
    if len(kept) == query_string.count(b"&") + 1:
        return query_string
    return b"&".join(kept)


def _query_credentials(query_string: bytes) -> dict[str, str]:
    """The credential parameters of a query, each at most once and non-empty, else 400."""
    found: dict[str, str] = {}
    for _, name, raw_value in _split_parts(query_string):
        if name not in CREDENTIAL_PARAMS:
            continue
        if name in found:
            raise BadRequestError(f"The parameter {name} is given more than once")
        found[name] = _decode_component(raw_value)
        if not found[name]:
            raise BadRequestError(f"The parameter {name} is empty")
    return found


def _credential_from_query(found: dict[str, str], allow_query: bool) -> Credential | None:
    """Turn the query's credential parameters into a credential; refuse partial or mixed sets."""
    if not found:
        return None
    if not allow_query:
        raise BadRequestError("Credentials are not accepted in the query string")
    if ("client_id" in found) != ("client_secret" in found):
        raise BadRequestError("client_id and client_secret must be given together")
    if len(found) == 3:
        raise BadRequestError("More than one credential method was used")
    if "access_token" in found:
        return BearerToken(found["access_token"], "query")
    return ClientSecretPair(found["client_id"], found["client_secret"], "query")


def _parse_basic(token68: str) -> ClientSecretPair:
    """Decode ``base64(client_id:client_secret)``, split at the first ``:``."""
    try:
        decoded = b64decode(token68, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequestError("The Basic credentials are not valid base64 of UTF-8") from None
    client_id, colon, client_secret = decoded.partition(":")
    if not colon or not client_id or not client_secret:
        raise BadRequestError("The Basic credentials must be a non-empty id:secret pair")
    return ClientSecretPair(client_id, client_secret, "basic")


def parse_authorization(value: str) -> Credential:
    """Parse one Authorization value: Bearer or Basic; 400 if malformed, 401 if another scheme."""
    scheme = _SCHEME.match(value)
    if scheme is None:
        raise BadRequestError("The Authorization header is malformed")
    name = scheme.group().lower()
    if name not in ("bearer", "basic"):
        raise AuthenticationError(_UNSUPPORTED_SCHEME, challenge_error=None)
    credentials = _SPACE_TOKEN68.fullmatch(value, scheme.end())
    if credentials is None:
        raise BadRequestError(
            "The Authorization header must be the scheme, one space and a token68 value"
        )
    if name == "basic":
        return _parse_basic(credentials.group(1))
    return BearerToken(credentials.group(1), "header")


def extract_credential(
    request: RequestInfo,
    *,
    allow_query: bool = True,
    parse_authorization: Callable[[str], Credential] = parse_authorization,
) -> Credential | None:
    """The one credential of ``request``, or None when it carries none.

    Raises ``BadRequestError`` for a malformed or duplicated Authorization header, a bad or
    repeated credential parameter, more than one credential method, or any query credential
    when ``allow_query`` is false; ``AuthenticationError`` for an unsupported scheme.
    ``parse_authorization`` parses the header's value (the middleware's ``BearerHeaders``
    remembers it).
    """
    authorization = [value for key, value in request.headers if key == "authorization"]
    query = request.query_string
    if not authorization and not query:
        return None
    if len(authorization) > 1:
        raise BadRequestError("More than one Authorization header was sent")
    found = _query_credentials(query) if _MAYBE_CREDENTIAL.search(query) else {}
    from_query = _credential_from_query(found, allow_query)
    if not authorization:
        return from_query
    if from_query is not None:
        raise BadRequestError("More than one credential method was used")
    return parse_authorization(authorization[0])


def check_method(method: str) -> str:
    """The rule verb of ``method`` (case-sensitive); 405 for any method outside the seven."""
    verb = verb_for_method(method)
    if verb is None:
        raise MethodNotAllowedError()
    return verb


def check_method_override(request: RequestInfo) -> None:
    """Refuse (400) a method-override header or ``_method`` parameter: the verb checked must be
    the verb the app sees."""
    if any(key in _OVERRIDE_HEADERS for key, _ in request.headers):
        raise BadRequestError("Method override headers are not accepted")
    query = request.query_string
    if _MAYBE_OVERRIDE.search(query) and any(
        name == "_method" for _, name, _ in _split_parts(query)
    ):
        raise BadRequestError("The _method parameter is not accepted")
