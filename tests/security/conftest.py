"""The adapter fixtures (a seeded realm, both adapters around a recording inner app), so that
every security regression runs on WSGI and ASGI, and on both stores where a store is involved."""

from __future__ import annotations

from tests.adapters.conftest import adapter, caller, make, single, store_kind, world

__all__ = ["adapter", "caller", "make", "single", "store_kind", "world"]
