"""Why a provider token is or is not accepted for an app, for people (``baas-auth check``):
which provider its ``iss`` picks (the app's, else the org's for admin users), which checks it
passed and which refused it, whom it stands for and how that was found, and the rule that
decides a request. Never on the request path; it creates nothing (a user the provider would
provision is described, not made)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.core.jwt_parts import peek_issuer
from baas_auth.core.jwt_tokens import CHECKS, VerifiedClaims, verify_provider_token
from baas_auth.errors import AuthError, InvalidTokenError
from baas_auth.federation.key_sets import ProviderKeys
from baas_auth.model import Explanation, Principal
from baas_auth.realm.explain import explain
from baas_auth.realm.federated_users import federated_admin, federated_caller
from baas_auth.realm.identity_provider_flows import provider_from_record
from baas_auth.realm.lookups import app_of
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, network_call, scan
from baas_auth.realm.views import fresh_view

__all__ = ["ProviderTokenCheck", "check_provider_token"]

_ADMINS_ONLY = "an org-level provider signs in admin users on /management only, not on app paths"


@dataclass(frozen=True, slots=True)
class ProviderTokenCheck:
    """What ``check_provider_token`` found; ``refused`` is None when the token is accepted."""

    issuer: str | None
    """The token's ``iss`` as written (unverified)."""
    provider: str | None
    """Which provider it picked: ``app acme/shop`` or ``org acme`` (admin users); None: none."""
    passed: tuple[str, ...]
    """The checks it passed, in order (``jwt_tokens.CHECKS``)."""
    refused: str | None
    """Why it is refused (the check that refused it, or the local reason), or None."""
    principal: Principal | None = None
    found_as: str | None = None
    """``local user``, ``visitor``, ``would be provisioned``, ``admin user by email``."""
    claims: VerifiedClaims | None = None
    explanation: Explanation | None = None
    """The decision for the request asked about, once the token is accepted."""


def check_provider_token(
    state: RealmState,
    token: str,
    org: str,
    app: str,
    method: str,
    path: str,
    case_sensitive: bool,
) -> Flow[ProviderTokenCheck]:
    found = yield from app_of(org, app)
    org, app = found.org, found.name
    issuer = peek_issuer(token)
    picked = yield from _provider(org, app, issuer)
    if picked is None:
        refusal = f"no identity provider of {org}/{app} (nor of {org}) has this issuer"
        return ProviderTokenCheck(issuer, None, (), refusal)
    where, provider = picked
    keys = ProviderKeys(provider)  # fetched for this check alone (the CLI's own process)
    key_set = yield from network_call(keys.keys, keys.keys_async)
    passed: list[str] = []
    try:
        claims = verify_provider_token(token, provider, key_set, now=state.now_ms() / 1000,
                                       passed=passed)
    except InvalidTokenError as error:  # an expiry too
        step = CHECKS[len(passed)] if len(passed) < len(CHECKS) else "?"
        return ProviderTokenCheck(issuer, where, tuple(passed), f"{step}: {error.error}")
    return (yield from _caller(
        state, ProviderTokenCheck(issuer, where, tuple(passed), None, claims=claims),
        org, app, provider, claims, method, path, case_sensitive,
    ))


def _provider(
    org: str, app: str, issuer: str | None
) -> Flow[tuple[str, IdentityProvider] | None]:
    """The app's provider of ``issuer``, else the org's (for admin users), else None."""
    if issuer is None:
        return None
    for owner, where in ((app, f"app {org}/{app}"), (None, f"org {org}")):
        rows = yield from scan(record_keys.identity_provider_prefix(org, owner))
        for _, raw in rows:
            provider = provider_from_record(rec.decode(rec.IdentityProviderRecord, raw))
            if provider.issuer == issuer:
                return where, provider
    return None


def _caller(
    state: RealmState,
    checked: ProviderTokenCheck,
    org: str,
    app: str,
    provider: IdentityProvider,
    claims: VerifiedClaims,
    method: str,
    path: str,
    case_sensitive: bool,
) -> Flow[ProviderTokenCheck]:
    view = yield from fresh_view(state)
    visitor = None
    groups: tuple[rec.GroupRecord, ...] = ()
    try:
        if checked.provider is not None and checked.provider.startswith("org "):
            principal = yield from federated_admin(view, [org], claims)
            return replace(checked, principal=principal, found_as="admin user by email",
                           refused=_ADMINS_ONLY)
        else:
            caller = yield from federated_caller(
                state, view, org, app, provider, claims, create=False
            )
            principal, found_as = caller.principal, caller.found_as
            visitor, groups = caller.visitor, caller.groups
    except AuthError as error:
        refusal = f"local control: {error.error} (disabled, deleted, revoked or unknown)"
        return replace(checked, refused=refusal)
    record = None if visitor is None else (visitor, groups)
    explained = yield from explain(
        state, principal, method, path, org, app, case_sensitive, visitor=record
    )
    return replace(checked, principal=principal, found_as=found_as, explanation=explained)
