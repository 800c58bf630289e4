"""Reading a Redis store's URL when the store is made, so that a wrong option fails at once.

redis-py hands a query option it does not parse itself to the connection as a string, so a
misspelt ``socket_timout`` or a store option it does not know (``prefix``) became a
``TypeError`` at the first command, far from the cause. Here every option is checked when the
realm is opened: the store's own (``prefix``, ``max_staleness_ms``) are taken out, redis-py's
are checked by its own parsers, and anything else is a ``ConfigError`` naming the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qsl, urlencode, urlsplit

from redis.connection import URL_QUERY_ARGUMENT_PARSERS

from baas_auth.errors import ConfigError

__all__ = ["STALENESS_OPTION", "RedisUrl", "read_redis_url"]

PREFIX_OPTION = "prefix"
STALENESS_OPTION = "max_staleness_ms"

_CONNECTION_OPTIONS = frozenset(
    {
        "db",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "socket_read_size",
        "health_check_interval",
        "max_connections",
        "timeout",
        "protocol",
        "client_name",
        "username",
        "password",
    }
)
"""redis-py options a URL may carry for any scheme (each a number, a flag or plain text)."""

_TLS_OPTIONS = frozenset(
    {
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_check_hostname",
        "ssl_min_version",
        "ssl_ciphers",
        "ssl_validate_ocsp",
        "ssl_validate_ocsp_stapled",
    }
)
"""redis-py's TLS options: only a ``rediss://`` URL makes a TLS connection that takes them."""

_REFUSED = {
    "decode_responses": "the store reads bytes; a client that decodes replies breaks it",
    "retry_on_timeout": "the store never retries, so no call waits longer than its timeout",
    "retry_on_error": "the store never retries, so no call waits longer than its timeout",
}
"""Options redis-py would take that the store cannot work with, and why."""

_CERT_REQS = ("none", "optional", "required")


@dataclass(frozen=True, slots=True)
class RedisUrl:
    """A store URL read: what redis-py is given, and the store's own options (None: not given)."""

    for_redis: str
    prefix: str | None
    max_staleness_ms: int | None


def read_redis_url(url: str) -> RedisUrl:
    """The URL checked option by option; ``ConfigError`` names the first wrong one."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    _refuse_repeats([name for name, _ in pairs])
    ours = {name: value for name, value in pairs if name in (PREFIX_OPTION, STALENESS_OPTION)}
    theirs = [(name, value) for name, value in pairs if name not in ours]
    for name, value in theirs:
        _check_option(name, value, tls=parts.scheme == "rediss")
    staleness = ours.get(STALENESS_OPTION)
    base = url.partition("?")[0]  # as given: urlunsplit would turn unix:///x into unix:/x
    return RedisUrl(
        f"{base}?{urlencode(theirs)}" if theirs else base,
        ours.get(PREFIX_OPTION),
        None if staleness is None else _staleness(staleness),
    )


def _refuse_repeats(names: list[str]) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"the Redis URL gives {repeated[0]} more than once; give it once")


def _check_option(name: str, value: str, *, tls: bool) -> None:
    if name in _REFUSED:
        raise ConfigError(f"{name} in a Redis URL: {_REFUSED[name]}; leave it out")
    if name in _TLS_OPTIONS and not tls:
        raise ConfigError(f"{name} applies to TLS connections: use a rediss:// URL")
    if name not in _CONNECTION_OPTIONS | _TLS_OPTIONS:
        raise ConfigError(_unknown(name, tls=tls))
    _check_value(name, value)


def _unknown(name: str, *, tls: bool) -> str:
    ours = {PREFIX_OPTION, STALENESS_OPTION}
    known = sorted(_CONNECTION_OPTIONS | ours | (_TLS_OPTIONS if tls else set()))
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"{name!r} is not an option of a Redis store URL; {hint}the options: {', '.join(known)}"


def _check_value(name: str, value: str) -> None:
    parse = cast("Callable[[str], object] | None", URL_QUERY_ARGUMENT_PARSERS.get(name))
    try:
        parsed = parse(value) if parse is not None else value
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name}={value!r} in the Redis URL: {exc}") from None
    if name == "protocol" and parsed not in (2, 3):
        raise ConfigError(f"protocol={value!r} in the Redis URL: 2 or 3")
    if name == "ssl_cert_reqs" and value not in _CERT_REQS:
        choices = ", ".join(_CERT_REQS)
        raise ConfigError(f"ssl_cert_reqs={value!r} in the Redis URL: one of {choices}")


def _staleness(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise ConfigError(f"{STALENESS_OPTION} in a Redis URL is one whole number of milliseconds")
    return int(value)
