"""The identity providers an app (or an org, for its admin users) trusts, kept as directory
records so every process sharing the store sees them (behaviour §8).

Adding one is a directory write: it changes the store's generation, so every process decides
its next request afresh. The provider is validated (``IdentityProvider``) before anything is
written; a stored provider that no longer validates is a corrupted store (``StoreError``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.errors import ConfigError, ConflictError, NotFoundError, StoreError
from baas_auth.realm.lookups import app_of, org_of
from baas_auth.realm.store_commands import Flow, delete, get, scan, transact

__all__ = [
    "add_identity_provider",
    "identity_providers",
    "provider_from_record",
    "provider_settings",
    "remove_identity_provider",
]


def add_identity_provider(
    org: str, app: str | None, settings: Mapping[str, Any]
) -> Flow[IdentityProvider]:
    """Keep a new provider for ``org``/``app``; ConflictError when its issuer is there. An
    org-level provider (``app`` None) names admin users by an email address: left at ``sub``,
    its ``username_claim`` is ``email``."""
    provider = IdentityProvider(**provider_settings(settings, org_level=app is None))
    org_name, app_name = yield from _owner(org, app)
    record = rec.IdentityProviderRecord(org_name, app_name, provider.issuer, _settings(provider))
    key = record_keys.identity_provider_key(org_name, app_name, provider.issuer)
    if not (yield from transact(create={key: rec.encode(record)})):
        raise ConflictError(f"an identity provider with the issuer {provider.issuer!r} exists")
    return provider


def provider_settings(settings: Mapping[str, Any], *, org_level: bool) -> dict[str, Any]:
    """``settings`` as kept: an org-level provider names admin users by an email address, so
    its ``username_claim``, left at ``sub``, is ``email``."""
    if org_level and settings.get("username_claim", "sub") == "sub":
        return {**settings, "username_claim": "email"}
    return dict(settings)


def identity_providers(org: str, app: str | None) -> Flow[list[IdentityProvider]]:
    """The providers of ``org``/``app``, by issuer."""
    org_name, app_name = yield from _owner(org, app)
    rows = yield from scan(record_keys.identity_provider_prefix(org_name, app_name))
    records = [rec.decode(rec.IdentityProviderRecord, raw) for _, raw in rows]
    providers = [provider_from_record(record) for record in records]
    return sorted(providers, key=lambda provider: provider.issuer)


def remove_identity_provider(org: str, app: str | None, issuer: str) -> Flow[None]:
    """Forget a provider: its tokens are refused from the next request on, in every process."""
    org_name, app_name = yield from _owner(org, app)
    key = record_keys.identity_provider_key(org_name, app_name, issuer)
    if (yield from get(key)) is None or not (yield from delete(key)):
        raise NotFoundError(f"no identity provider with the issuer {issuer!r}")


def provider_from_record(record: rec.IdentityProviderRecord) -> IdentityProvider:
    """The provider a record keeps, or StoreError when it does not make a valid one."""
    try:
        settings = json.loads(record.settings)
        if not isinstance(settings, dict):
            raise TypeError("not an object")
        return IdentityProvider(**settings)
    except (ValueError, TypeError, RecursionError, ConfigError):
        raise StoreError("a stored identity provider is not valid") from None


def _owner(org: str, app: str | None) -> Flow[tuple[str, str | None]]:
    """The canonical org and app names (NotFoundError when either does not exist)."""
    if app is None:
        return (yield from org_of(org)).name, None
    found = yield from app_of(org, app)
    return found.org, found.name


def _settings(provider: IdentityProvider) -> str:
    return json.dumps(provider.as_dict(), separators=(",", ":"), sort_keys=True)
