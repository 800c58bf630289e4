"""The flows that join several subject modules (a realm's first flow, the writes that set up a
store holding no realm, the signing keys, the password and activation flows of accounts), and
every other flow of a realm under one name, as the management API and older imports use them.
``Realm`` and ``AsyncRealm`` import each flow from the module that writes it (``directory``,
``grants``, ``reads``, ``token_flows``, …): a new operation need not be listed here.
"""

from __future__ import annotations

from collections.abc import Sequence

from baas_auth.errors import ConfigError
from baas_auth.model import AdminUser, ImportReport, Org, Principal, User
from baas_auth.realm import account_directory, account_flows, directory, import_flows
from baas_auth.realm.access_flows import guest, is_self, permits
from baas_auth.realm.access_flows import manages_org as _manages_org
from baas_auth.realm.account_directory import (
    add_admin_to_org,
    create_user,
    delete_user,
    get_admin,
    get_user,
    update_admin,
    update_user,
)
from baas_auth.realm.directory import (
    RolesPreset,
    create_app,
    create_credentials,
    delete_credentials,
    get_app,
    get_org,
    list_apps,
    regenerate_credentials,
    set_access_token_ttl,
)
from baas_auth.realm.explain import explain
from baas_auth.realm.grants import (
    change_membership,
    change_roles,
    change_rules,
    create_group,
    create_role,
    delete_group,
    delete_role,
    get_role,
    list_roles,
)
from baas_auth.realm.keys import load_key_ring, retire_key, rotate_key
from baas_auth.realm.marker import open_realm, set_up_realm
from baas_auth.realm.members import group_users, role_groups, role_users
from baas_auth.realm.reads import (
    effective_rules,
    get_group,
    holds_role,
    list_admins,
    list_credentials,
    list_groups,
    list_orgs,
    list_users,
    user_groups,
    user_roles,
    user_rules,
)
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.token_checks import (
    authenticate_client,
    revoke_admin_tokens,
    revoke_token,
    revoke_user_tokens,
    token_info,
)
from baas_auth.realm.token_commands import purge_expired as _purge_expired
from baas_auth.realm.token_flows import admin_token, client_token, password_token, user_token
from baas_auth.realm.views import fresh_view

__all__ = [
    "RolesPreset",
    "activate_admin",
    "activate_user",
    "add_admin_to_org",
    "admin_token",
    "authenticate_client",
    "change_admin_password",
    "change_membership",
    "change_roles",
    "change_rules",
    "change_user_password",
    "client_token",
    "confirm_admin",
    "create_admin",
    "create_app",
    "create_credentials",
    "create_group",
    "create_org",
    "create_role",
    "create_user",
    "delete_credentials",
    "delete_group",
    "delete_role",
    "delete_user",
    "effective_rules",
    "explain",
    "get_admin",
    "get_app",
    "get_group",
    "get_org",
    "get_role",
    "get_user",
    "group_users",
    "guest",
    "holds_role",
    "import_identities",
    "is_self",
    "list_admins",
    "list_apps",
    "list_credentials",
    "list_groups",
    "list_orgs",
    "list_roles",
    "list_users",
    "manages_org",
    "password_token",
    "permits",
    "purge_expired",
    "regenerate_credentials",
    "request_admin_password_reset",
    "request_password_reset",
    "reset_admin_password",
    "reset_password",
    "retire_signing_key",
    "revoke_admin_tokens",
    "revoke_token",
    "revoke_user_tokens",
    "role_groups",
    "role_users",
    "rotate_signing_key",
    "send_activation",
    "send_admin_activation",
    "set_access_token_ttl",
    "start",
    "token_info",
    "update_admin",
    "update_user",
    "user_groups",
    "user_roles",
    "user_rules",
    "user_token",
]


def start(state: RealmState) -> Flow[None]:
    """A realm's first flow: serve the realm its store holds (``marker.open_realm``)."""
    yield from open_realm(state)


def create_org(state: RealmState, name: str) -> Flow[Org]:
    """Create an organization; the first one sets up a store that holds no realm yet."""
    yield from set_up_realm(state)
    return (yield from directory.create_org(name))


def create_admin(
    state: RealmState,
    username: str,
    password: str | None,
    orgs: Sequence[str],
    email: str | None,
    activated: bool = True,
    confirmed: bool = True,
) -> Flow[AdminUser]:
    """Create an admin user; the first one sets up a store that holds no realm yet."""
    yield from set_up_realm(state)
    flow = account_directory.create_admin(
        state, username, password, orgs, email, activated, confirmed
    )
    return (yield from flow)


def import_identities(
    state: RealmState, document: object, dry_run: bool, require_strong: bool
) -> Flow[ImportReport]:
    """Import a document; one that writes sets up a store that holds no realm yet."""
    if not dry_run:
        yield from set_up_realm(state)
    return (yield from import_flows.import_identities(state, document, dry_run, require_strong))


def rotate_signing_key(state: RealmState) -> Flow[str]:
    yield from set_up_realm(state)
    if state.keys is None:
        raise ConfigError("the realm's keys are not loaded")
    kid = yield from rotate_key(state.keys, state.now_ms())
    state.keys = yield from load_key_ring(state.settings.signing_keys, state.keys)
    return kid


def retire_signing_key(state: RealmState, kid: str) -> Flow[None]:
    yield from set_up_realm(state)
    if state.keys is None:
        raise ConfigError("the realm's keys are not loaded")
    yield from retire_key(state.keys, kid)
    state.keys = yield from load_key_ring(state.settings.signing_keys, state.keys)


def manages_org(state: RealmState, principal: Principal, org: str) -> Flow[bool]:
    view = yield from fresh_view(state)
    return (yield from _manages_org(view, principal, org))


def purge_expired(state: RealmState) -> Flow[int]:
    return (yield from _purge_expired(state.now_ms()))


# -- passwords, activation and confirmation (``accounts``) -----------------------------------


def change_user_password(
    state: RealmState, org: str, app: str, name: str, new: str, old: str | None
) -> Flow[User]:
    account = yield from account_flows.user_account(org, app, name)
    yield from account_flows.change_password(state, account, name, new, old)
    return account.user()


def change_admin_password(
    state: RealmState, name: str, new: str, old: str | None
) -> Flow[AdminUser]:
    account = yield from account_flows.admin_account(name)
    yield from account_flows.change_password(state, account, name, new, old)
    return account.admin()


def request_password_reset(state: RealmState, org: str, app: str, name: str) -> Flow[None]:
    account = yield from account_flows.user_account(org, app, name)
    yield from account_flows.request_reset(state, account)


def request_admin_password_reset(state: RealmState, name: str) -> Flow[None]:
    yield from account_flows.request_reset(state, (yield from account_flows.admin_account(name)))


def reset_password(
    state: RealmState, org: str, app: str, name: str, token: str, new: str
) -> Flow[None]:
    account = account_flows.user_account(org, app, name)
    yield from account_flows.reset_password(state, account, token, new)


def reset_admin_password(state: RealmState, name: str, token: str, new: str) -> Flow[None]:
    yield from account_flows.reset_password(state, account_flows.admin_account(name), token, new)


def send_activation(state: RealmState, org: str, app: str, name: str) -> Flow[bool]:
    account = yield from account_flows.user_account(org, app, name)
    return (yield from account_flows.send_activation(state, account))


def send_admin_activation(state: RealmState, name: str) -> Flow[bool]:
    account = yield from account_flows.admin_account(name)
    return (yield from account_flows.send_activation(state, account))


def activate_user(state: RealmState, org: str, app: str, name: str, token: str) -> Flow[User]:
    account = account_flows.user_account(org, app, name)
    return (yield from account_flows.activate_account(state, account, token)).user()


def activate_admin(state: RealmState, name: str, token: str) -> Flow[AdminUser]:
    account = account_flows.admin_account(name)
    return (yield from account_flows.activate_account(state, account, token)).admin()


def confirm_admin(state: RealmState, name: str, token: str) -> Flow[AdminUser]:
    account = account_flows.admin_account(name)
    return (yield from account_flows.confirm_admin(state, account, token)).admin()
