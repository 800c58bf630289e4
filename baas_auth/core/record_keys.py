"""Where each record lives in a store: key names and prefixes, written once for every store.

Keys are built from lower-cased names (org, app and user names are case-insensitive), so a
lookup is one ``get``. Pure.
"""

from __future__ import annotations

import hashlib

from baas_auth.core.identifiers import fold
from baas_auth.core.records import TokenRecord


def org_key(org: str) -> str:
    return f"org:{org}"


def org_prefix() -> str:
    return "org:"


def app_key(org: str, app: str) -> str:
    return f"app:{org}/{app}"


def app_prefix(org: str) -> str:
    return f"app:{org}/"


def role_key(org: str, app: str, role: str) -> str:
    return f"role:{org}/{app}:{role}"


def role_prefix(org: str, app: str) -> str:
    return f"role:{org}/{app}:"


def group_key(org: str, app: str, path: str) -> str:
    return f"group:{org}/{app}:{path.lower()}"


def group_prefix(org: str, app: str) -> str:
    return f"group:{org}/{app}:"


def user_key(org: str, app: str, user_uuid: str) -> str:
    return f"user:{org}/{app}:{user_uuid}"


def user_prefix(org: str, app: str) -> str:
    return f"user:{org}/{app}:"


def user_id_key(org: str, app: str, name: str) -> str:
    """The claim of a username or an email in an app: it holds the uuid of the one user."""
    return f"userid:{org}/{app}:{fold(name)}"


def admin_key(admin_uuid: str) -> str:
    return f"admin:{admin_uuid}"


def admin_prefix() -> str:
    return "admin:"


def admin_id_key(name: str) -> str:
    """The claim of an admin username or email: it holds the uuid of the one admin user."""
    return f"adminid:{fold(name)}"


def client_key(client_id: str) -> str:
    return f"client:{client_id}"


def client_prefix() -> str:
    return "client:"


def identity_provider_prefix(org: str, app: str | None) -> str:
    """The providers of an app, or (``app`` None) of an org's admin users."""
    return f"idp:{org}:" if app is None else f"idp:{org}/{app}:"


def identity_provider_key(org: str, app: str | None, issuer: str) -> str:
    """One provider, by a digest of its exact issuer (an issuer is a URL of any length)."""
    digest = hashlib.sha256(issuer.encode("utf-8")).hexdigest()[:32]
    return identity_provider_prefix(org, app) + digest


def federation_cutoff_key(org: str, app: str, name: str) -> str:
    """When an app user was last disabled, deleted or had all its tokens revoked (ms): its
    identity providers' tokens issued before then are refused (behaviour §8)."""
    return f"fedcut:{org}/{app}:{fold(name)}"


def admin_federation_cutoff_key(email: str) -> str:
    """When the admin user of this email was last disabled, deleted, had all its tokens
    revoked or was given the address (ms): org-level providers' tokens for it issued before
    then are refused (behaviour §8)."""
    return f"fedcutadmin:{fold(email)}"


def identity_providers_prefix() -> str:
    """Every identity provider, of every app and every org."""
    return "idp:"


def principal_key(record: TokenRecord) -> str:
    """The index under which a principal's tokens are kept, for revoke-all."""
    if record.kind == "app_user":
        return user_principal_key(record.org or "", record.app or "", record.subject)
    if record.kind == "admin_user":
        return admin_principal_key(record.subject)
    return client_principal_key(record.subject)


def user_principal_key(org: str, app: str, user_uuid: str) -> str:
    return f"user:{org}/{app}:{user_uuid}"


def admin_principal_key(admin_uuid: str) -> str:
    return f"admin:{admin_uuid}"


def client_principal_key(client_id: str) -> str:
    return f"client:{client_id}"
