"""Reading a Redis store's URL when the store is made, so that a wrong option fails at once.

redis-py hands a query option it does not parse itself to the connection as a string, so a
misspelt ``socket_timout`` or a store option it does not know (``prefix``) became a
``TypeError`` at the first command, far from the cause. Here every option is checked when the
realm is opened: the store's own (``prefix``, ``max_staleness_ms``) are taken out, redis-py's
are checked by its own parsers, and anything else is a ``ConfigError`` naming the fix.

redis-py reads no URL for Sentinel or Cluster; the forms read here are the ones Flask-Redis
and ``redis-sentinel-url`` use: ``redis+sentinel://h1:26379,h2:26379/service/db`` and
``redis+cluster://h1:7000,h2:7001`` (``rediss+…``: TLS to the data servers), each host a node
the client starts from.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit

from redis.connection import URL_QUERY_ARGUMENT_PARSERS

from baas_auth.errors import ConfigError

__all__ = ["STALENESS_OPTION", "RedisUrl", "Topology", "read_redis_url"]

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

TopologyKind = Literal["sentinel", "cluster"]

_TOPOLOGY_SCHEMES: dict[str, tuple[TopologyKind, bool]] = {
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
"""The schemes of the URLs that name several servers: their kind, and whether data is TLS."""

_DEFAULT_PORTS: dict[TopologyKind, int] = {"sentinel": 26379, "cluster": 6379}

_EXAMPLES: dict[TopologyKind, str] = {
    "sentinel": "redis+sentinel://h1:26379,h2:26379/SERVICE/0",
    "cluster": "redis+cluster://h1:7000,h2:7001",
}

_SENTINEL_OPTIONS = frozenset({"sentinel_username", "sentinel_password"})
"""Credentials for the sentinels themselves (the URL's user and password are the servers')."""

_NOT_FOR_TOPOLOGIES = {
    "db": {
        "sentinel": "the database goes in the path: redis+sentinel://h:26379/SERVICE/DB",
        "cluster": "a cluster has database 0 only; leave db out",
    },
    "max_connections": {
        "sentinel": "redis-py's Sentinel pool refuses calls beyond it at once (a 503 with the"
        " servers idle); leave it out",
        "cluster": "redis-py's cluster pools refuse calls beyond it at once (a 503 with the"
        " servers idle); leave it out",
    },
    "timeout": {
        "sentinel": "it is the wait for a free pooled connection, which a Sentinel pool does"
        " not do; use socket_timeout",
        "cluster": "it is the wait for a free pooled connection, which a cluster pool does"
        " not do; use socket_timeout",
    },
}
"""Plain-URL options a Sentinel or Cluster URL refuses, with the fix."""


@dataclass(frozen=True, slots=True)
class Topology:
    """Several servers named by one URL: the nodes a client starts from, and its options.

    ``options`` are redis-py keyword arguments for the data connections (parsed values), and
    ``sentinel_options`` those of the connections to the sentinels."""

    kind: TopologyKind
    nodes: tuple[tuple[str, int], ...]
    service: str
    tls: bool
    options: dict[str, object]
    sentinel_options: dict[str, object]


@dataclass(frozen=True, slots=True)
class RedisUrl:
    """A store URL read: what redis-py is given, and the store's own options (None: not given).

    ``topology`` is set for a Sentinel or Cluster URL, which redis-py cannot read itself
    (``for_redis`` is then empty)."""

    for_redis: str
    prefix: str | None
    max_staleness_ms: int | None
    topology: Topology | None = None


def read_redis_url(url: str) -> RedisUrl:
    """The URL checked option by option; ``ConfigError`` names the first wrong one."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    _refuse_repeats([name for name, _ in pairs])
    ours = {name: value for name, value in pairs if name in (PREFIX_OPTION, STALENESS_OPTION)}
    theirs = [(name, value) for name, value in pairs if name not in ours]
    staleness_given = ours.get(STALENESS_OPTION)
    staleness = None if staleness_given is None else _staleness(staleness_given)
    prefix = ours.get(PREFIX_OPTION)
    if parts.scheme in _TOPOLOGY_SCHEMES:
        topology = _read_topology(parts, theirs, *_TOPOLOGY_SCHEMES[parts.scheme])
        return RedisUrl("", prefix, staleness, topology)
    for name, value in theirs:
        _check_option(name, value, tls=parts.scheme == "rediss")
    base = url.partition("?")[0]  # as given: urlunsplit would turn unix:///x into unix:/x
    return RedisUrl(f"{base}?{urlencode(theirs)}" if theirs else base, prefix, staleness)


def _read_topology(
    parts: SplitResult, options: list[tuple[str, str]], kind: TopologyKind, tls: bool
) -> Topology:
    """A Sentinel or Cluster URL: its nodes, service, database and every option checked."""
    userinfo, _, hosts = parts.netloc.rpartition("@")
    nodes = tuple(_node(host, kind) for host in hosts.split(","))
    service, db = _path(parts.path, kind)
    data: dict[str, object] = {} if db is None else {"db": db}
    sentinels: dict[str, object] = {}
    for name, value in [*_credentials(userinfo), *options]:
        _check_topology_option(name, value, kind=kind, tls=tls)
        if name in data:
            raise ConfigError(f"the Redis URL gives {name} twice (in the URL and its query)")
        if name in _SENTINEL_OPTIONS:
            sentinels[name.removeprefix("sentinel_")] = value
        else:
            data[name] = _parsed(name, value)
    return Topology(kind, nodes, service, tls, data, sentinels)


def _node(text: str, kind: TopologyKind) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port``: one server the client starts from."""
    example = _EXAMPLES[kind]
    host, port = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif ":" in text:
        host, _, port = text.rpartition(":")
    if not host:
        raise ConfigError(f"a {kind} URL names its servers, host:port each: {example}")
    if not port:
        return unquote(host), _DEFAULT_PORTS[kind]
    if not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536:
        raise ConfigError(f"{port!r} is not a port, in the {kind} URL's servers: {example}")
    return unquote(host), int(port)


def _path(path: str, kind: TopologyKind) -> tuple[str, int | None]:
    """A Sentinel URL's ``/service[/db]``; a Cluster URL's (empty, or database 0)."""
    segments = [unquote(part) for part in path.strip("/").split("/")] if path.strip("/") else []
    if kind == "cluster":
        if segments not in ([], ["0"]):
            raise ConfigError(f"a cluster has database 0 only: {_EXAMPLES['cluster']}")
        return "", None
    if not segments or len(segments) > 2 or not segments[0]:
        raise ConfigError(
            "a sentinel URL names the service the sentinels watch, and a database if not 0:"
            f" {_EXAMPLES['sentinel']}"
        )
    if len(segments) == 1:
        return segments[0], None
    if not re.fullmatch(r"[0-9]{1,5}", segments[1]):
        raise ConfigError(f"{segments[1]!r} is not a database number, in the sentinel URL's path")
    return segments[0], int(segments[1])


def _credentials(userinfo: str) -> list[tuple[str, str]]:
    """The user and password of a URL's ``user:password@``, as options (none: left out)."""
    if not userinfo:
        return []
    user, colon, password = userinfo.partition(":")
    found = [("username", unquote(user))] if user else []
    return found + ([("password", unquote(password))] if colon else [])


def _check_topology_option(name: str, value: str, *, kind: TopologyKind, tls: bool) -> None:
    if name in _NOT_FOR_TOPOLOGIES:
        raise ConfigError(f"{name} in a {kind} URL: {_NOT_FOR_TOPOLOGIES[name][kind]}")
    if name in _SENTINEL_OPTIONS:
        if kind != "sentinel":
            raise ConfigError(f"{name} applies to redis+sentinel:// URLs only; leave it out")
        return
    _check_option(name, value, tls=tls, kind=kind)


def _parsed(name: str, value: str) -> object:
    """An option's value as redis-py's URL parser makes it (checked before)."""
    parse = cast("Callable[[str], object] | None", URL_QUERY_ARGUMENT_PARSERS.get(name))
    return parse(value) if parse is not None else value


def _refuse_repeats(names: list[str]) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"the Redis URL gives {repeated[0]} more than once; give it once")


def _check_option(name: str, value: str, *, tls: bool, kind: TopologyKind | None = None) -> None:
    if name in _REFUSED:
        raise ConfigError(f"{name} in a Redis URL: {_REFUSED[name]}; leave it out")
    if name in _TLS_OPTIONS and not tls:
        raise ConfigError(f"{name} applies to TLS connections: use a rediss:// URL")
    if name not in _CONNECTION_OPTIONS | _TLS_OPTIONS:
        raise ConfigError(_unknown(name, tls=tls, kind=kind))
    _check_value(name, value)


def _unknown(name: str, *, tls: bool, kind: TopologyKind | None) -> str:
    ours = {PREFIX_OPTION, STALENESS_OPTION}
    known_here = _CONNECTION_OPTIONS - set(_NOT_FOR_TOPOLOGIES) if kind else _CONNECTION_OPTIONS
    sentinels = _SENTINEL_OPTIONS if kind == "sentinel" else set()
    known = sorted(known_here | ours | sentinels | (_TLS_OPTIONS if tls else set()))
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
