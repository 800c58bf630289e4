"""Refusing, when a realm is made, what is not a store it can drive, naming the fix (behaviour
§6.3): a URL where a store object belongs, an object lacking store methods, a blocking store given
to ``AsyncRealm`` or a coroutine store given to ``Realm``.
"""

from __future__ import annotations

import inspect

from baas_auth.errors import ConfigError

__all__ = ["check_store"]


def check_store(store: object, protocol: type) -> None:
    """Refuse what is not a store of ``protocol``, naming the fix (behaviour §6.3)."""
    if isinstance(store, str):
        raise ConfigError(
            f"a realm takes a store object; for a URL write {_opener(protocol)}({store!r})"
        )
    if not isinstance(store, protocol):
        members = [name for name, member in vars(protocol).items() if callable(member)]
        missing = [
            name
            for name in members
            if not name.startswith("_") and not callable(getattr(store, name, None))
        ]
        raise ConfigError(
            f"{type(store).__name__} is not a baas_auth store (see baas_auth.stores."
            f"{protocol.__name__}); it lacks {', '.join(missing)}"
        )
    wants_async = protocol.__name__ == "AsyncStore"
    if inspect.iscoroutinefunction(getattr(store, "get", None)) != wants_async:
        realm, other = ("AsyncRealm", "Realm") if wants_async else ("Realm", "AsyncRealm")
        raise ConfigError(
            f"{type(store).__name__} is a {'blocking' if wants_async else 'coroutine'} store: "
            f"{realm} cannot drive it; use {other}({type(store).__name__}(...))"
        )


def _opener(protocol: type) -> str:
    return "AsyncRealm.open" if protocol.__name__ == "AsyncStore" else "Realm.open"
