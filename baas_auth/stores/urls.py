"""Open a store from a URL: ``memory:``, ``sqlite:///relative.db``, ``sqlite:////abs.db``, ``redis://…``."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

from baas_auth.errors import ConfigError
from baas_auth.stores.protocols import AsyncStore, Store

__all__ = ["open_async_store", "open_store"]

_REDIS_SCHEMES = (
    "redis",
    "rediss",
    "unix",
    "redis+sentinel",
    "rediss+sentinel",
    "redis+cluster",
    "rediss+cluster",
)


def open_store(url: str, *, create: bool = True) -> Store:
    """The store a URL names; ``ConfigError`` for a URL of no known kind. With ``create``
    False, a SQLite file that does not exist is a ``ConfigError`` too (``Realm.open``: setting
    up a new store is an explicit act), rather than an empty file made on the spot."""
    if url == "memory:":
        from baas_auth.stores.memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite:///"):
        from baas_auth.stores.sqlite import SQLiteStore

        path = unquote(url[len("sqlite:///") :])
        if not path:
            raise ConfigError(
                "sqlite URLs name a file: sqlite:///auth.db or sqlite:////abs/auth.db"
            )
        if not create and not Path(path).exists():
            raise ConfigError(
                f"no realm at {path}: the file does not exist; "
                f"Realm.open({url!r}, create=True) makes a new realm there "
                f"(as does `baas-auth --realm {url} create-org NAME`)"
            )
        return SQLiteStore(path)
    if urlsplit(url).scheme in _REDIS_SCHEMES:
        return _redis_store(url)
    raise ConfigError(
        "store URLs start with memory:, sqlite:///, redis:// (rediss://, unix://,"
        " redis+sentinel://, redis+cluster://)"
    )


def open_async_store(url: str, *, create: bool = True) -> AsyncStore:
    """The async store a URL names: ``redis://``, ``rediss://``, ``unix://``, Sentinel's or
    a cluster's (``redis+sentinel://``, ``redis+cluster://``, docs/redis.md). Memory and
    SQLite stores do no network I/O: use ``Realm.open`` (the ASGI adapter keeps a blocking
    store's calls off the event loop). ``create`` is ``open_store``'s: a Redis server has no
    file to make, so it changes nothing here."""
    del create
    if urlsplit(url).scheme not in _REDIS_SCHEMES:
        raise ConfigError(
            "AsyncRealm.open takes redis://, rediss://, unix://, redis+sentinel:// or"
            " redis+cluster:// URLs; for memory: and "
            "sqlite:/// use Realm.open (the ASGI adapter takes a Realm too)"
        )
    store: AsyncStore = _redis_module(url).AsyncRedisStore(url)
    return store


def _redis_store(url: str) -> Store:
    """A ``RedisStore`` for a Redis URL of any form (the redis extra)."""
    store: Store = _redis_module(url).RedisStore(url)
    return store


def _redis_module(url: str) -> ModuleType:
    try:
        from baas_auth.stores import redis as redis_store
    except ImportError as exc:
        raise ConfigError(
            f"{urlsplit(url).scheme}:// URLs need the redis package: pip install 'baas-auth[redis]'"
        ) from exc
    return redis_store
