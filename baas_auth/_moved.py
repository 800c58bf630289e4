"""Old import paths of the modules that moved into ``core/``, ``middleware/`` or a new name:
each keeps working for one release, with a ``DeprecationWarning`` naming the new home.

An old path is a thin module that forwards attribute reads to its new home (or homes: the old
``records`` was split in three), so nothing is imported twice and no second copy of any state
exists. It is found only after every real module was looked for, so it costs nothing otherwise.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Sequence
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

__all__ = ["MOVED", "install"]

MOVED: dict[str, tuple[str, ...]] = {
    "baas_auth.api.credentials": ("baas_auth.api.client_credentials",),
    "baas_auth.cache_control": ("baas_auth.core.cache_control",),
    "baas_auth.cli.access": ("baas_auth.cli.access_cmds",),
    "baas_auth.cli.accounts": ("baas_auth.cli.account_cmds",),
    "baas_auth.cli.commands": ("baas_auth.cli.registry",),
    "baas_auth.cli.importing": ("baas_auth.cli.import_cmds",),
    "baas_auth.cli.tokens": ("baas_auth.cli.token_cmds",),
    "baas_auth.credentials": ("baas_auth.core.credentials",),
    "baas_auth.decision": ("baas_auth.middleware.decisions",),
    "baas_auth.endpoints": ("baas_auth.middleware.endpoints",),
    "baas_auth.events": ("baas_auth.middleware.events",),
    "baas_auth.gate": ("baas_auth.middleware.gate",),
    "baas_auth.globs": ("baas_auth.core.globs",),
    "baas_auth.hashing": ("baas_auth.core.hashing",),
    "baas_auth.http": ("baas_auth.core.http",),
    "baas_auth.import_document": ("baas_auth.core.import_document",),
    "baas_auth.integrations.guard": ("baas_auth.middleware.admission",),
    "baas_auth.legacy_hashes": ("baas_auth.core.legacy_hashes",),
    "baas_auth.names": ("baas_auth.core.credential_names",),
    "baas_auth.paths": ("baas_auth.core.paths",),
    "baas_auth.permissions": ("baas_auth.core.permissions",),
    "baas_auth.policy": ("baas_auth.core.policy",),
    "baas_auth.realm.access": ("baas_auth.realm.access_flows",),
    "baas_auth.realm.accounts": ("baas_auth.realm.account_flows",),
    "baas_auth.realm.commands": ("baas_auth.realm.store_commands",),
    "baas_auth.realm.drive": ("baas_auth.realm.drivers",),
    "baas_auth.realm.drive_async": ("baas_auth.realm.async_drivers",),
    "baas_auth.realm.imports": ("baas_auth.realm.import_flows",),
    "baas_auth.realm.tokens": ("baas_auth.realm.token_flows",),
    "baas_auth.recall": ("baas_auth.middleware.freshness",),
    "baas_auth.records": (
        "baas_auth.core.identifiers",
        "baas_auth.core.records",
        "baas_auth.core.record_keys",
    ),
    "baas_auth.responses": ("baas_auth.core.responses",),
    "baas_auth.routing": ("baas_auth.core.routing",),
    "baas_auth.rules": ("baas_auth.core.rules",),
    "baas_auth.throttle": ("baas_auth.core.throttle",),
    "baas_auth.tokens": ("baas_auth.core.tokens",),
    "baas_auth.wiring": ("baas_auth.middleware.wiring",),
}
"""Each old dotted path, and the module (or modules) that now hold what it held."""


class _MovedModules(MetaPathFinder, Loader):
    """Finds an old path and makes it a forwarding module, warning once per import."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return ModuleSpec(fullname, self)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None  # the default module object, filled in by exec_module

    def exec_module(self, module: ModuleType) -> None:
        homes = MOVED[module.__name__]
        warnings.warn(
            f"{module.__name__} moved to {' and '.join(homes)}; import from there "
            "(the old path will be removed in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        _forward(module, [importlib.import_module(home) for home in homes])


def _forward(module: ModuleType, homes: list[ModuleType]) -> None:
    def __getattr__(name: str) -> object:
        for home in homes:
            if hasattr(home, name):
                return getattr(home, name)
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

    module.__dict__["__getattr__"] = __getattr__  # PEP 562: read when an attribute is missing
    module.__dict__["__all__"] = [name for home in homes for name in getattr(home, "__all__", ())]


def install() -> None:
    """Put the finder last on ``sys.meta_path`` (once): real modules are always found first."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())
