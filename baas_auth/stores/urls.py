"""Open a store from a URL: ``memory:``, ``sqlite:///relative.db``, ``sqlite:////abs.db``, ``redis://…``."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from baas_auth.errors import ConfigError
from baas_auth.stores.protocols import Store

__all__ = ["open_store"]


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
    if urlsplit(url).scheme in ("redis", "rediss", "unix"):
        return _redis_store(url)
    raise ConfigError("store URLs start with memory:, sqlite:/// or redis://")


def _redis_store(url: str) -> Store:
    """A ``RedisStore`` for ``redis://``, ``rediss://`` and ``unix://`` URLs (the redis extra)."""
    try:
        from baas_auth.stores.redis import RedisStore
    except ImportError as exc:
        raise ConfigError(
            f"{urlsplit(url).scheme}:// URLs need the redis package: pip install 'baas-auth[redis]'"
        ) from exc
    return RedisStore(url)
