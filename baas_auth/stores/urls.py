"""Open a store from a URL: ``memory:``, ``sqlite:///relative.db``, ``sqlite:////abs.db``, ``redis://…``."""

from __future__ import annotations

from types import ModuleType
from urllib.parse import unquote, urlsplit

from baas_auth.errors import ConfigError
from baas_auth.stores.protocols import AsyncStore, Store

__all__ = ["open_async_store", "open_store"]

_REDIS_SCHEMES = ("redis", "rediss", "unix")


def open_store(url: str) -> Store:
    """The store a URL names; ``ConfigError`` for a URL of no known kind."""
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
        return SQLiteStore(path)
    if urlsplit(url).scheme in _REDIS_SCHEMES:
        return _redis_store(url)
    raise ConfigError("store URLs start with memory:, sqlite:/// or redis://")


def open_async_store(url: str) -> AsyncStore:
    """The async store a URL names: ``redis://``, ``rediss://`` or ``unix://``. Memory and
    SQLite stores do no network I/O: use ``Realm.open`` (the ASGI adapter keeps a blocking
    store's calls off the event loop)."""
    if urlsplit(url).scheme not in _REDIS_SCHEMES:
        raise ConfigError(
            "AsyncRealm.open takes redis://, rediss:// or unix:// URLs; for memory: and "
            "sqlite:/// use Realm.open (the ASGI adapter takes a Realm too)"
        )
    store: AsyncStore = _redis_module(url).AsyncRedisStore(url)
    return store


def _redis_store(url: str) -> Store:
    """A ``RedisStore`` for ``redis://``, ``rediss://`` and ``unix://`` URLs (the redis extra)."""
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
