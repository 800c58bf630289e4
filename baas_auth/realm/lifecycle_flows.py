"""The end of a directory's records, as flows: deleting an org, an app or an admin user, and
moving an account's email claim; a page of an app's users.

Every record that goes is removed in one ``transact``, so the store's generation moves once and
every process refuses the tokens of what is gone at its next request (a token is honoured only
while its user, admin or client record exists). The token records themselves are dropped after
that write: if the process stops in between, the leftover records are refused all the same and
collected once they expire.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Literal

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.errors import ConfigError, ConflictError
from baas_auth.model import AdminUser, User
from baas_auth.realm.account_directory import _admin_value, _claims, _user_value
from baas_auth.realm.federated_users import admin_cutoff
from baas_auth.realm.lookups import admin_of, app_of, org_of, user_of
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, scan, transact
from baas_auth.realm.token_commands import delete_principal_tokens

__all__ = [
    "UserState",
    "delete_admin",
    "delete_app",
    "delete_org",
    "set_admin_email",
    "set_user_email",
    "users_page",
]

UserState = Literal["active", "disabled", "unactivated"]
_STATES = ("active", "disabled", "unactivated")
MAX_PAGE = 1000


# -- deleting -------------------------------------------------------------------------------


def delete_org(org: str) -> Flow[int]:
    """Delete an org with its apps, their roles, groups, users and credentials, and the org's
    own credentials; its admin users stay, no longer admins of it. Returns how many records
    went."""
    name = (yield from org_of(org)).name
    doomed = [record_keys.org_key(name)]
    for kind in ("app", "role", "group", "user", "userid"):
        doomed += [key for key, _ in (yield from scan(f"{kind}:{name}/"))]
    clients = yield from _clients(lambda client: client.org == name)
    admins = {}
    for _, raw in (yield from scan(record_keys.admin_prefix())):
        admin = rec.decode(rec.AdminRecord, raw)
        if name in admin.orgs:
            admin.orgs = [kept for kept in admin.orgs if kept != name]
            admins[record_keys.admin_key(admin.uuid)] = rec.encode(admin)
    doomed += [record_keys.client_key(client_id) for client_id in clients]
    yield from transact(put=admins, delete=doomed)
    yield from _drop_tokens(doomed, clients)
    return len(doomed)


def delete_app(org: str, app: str) -> Flow[int]:
    """Delete an app with its roles, groups, users and credentials. Returns how many records
    went."""
    found = yield from app_of(org, app)
    doomed = [record_keys.app_key(found.org, found.name)]
    for kind in ("role", "group", "user", "userid"):
        doomed += [key for key, _ in (yield from scan(f"{kind}:{found.org}/{found.name}:"))]
    clients = yield from _clients(
        lambda client: client.org == found.org and client.app == found.name
    )
    doomed += [record_keys.client_key(client_id) for client_id in clients]
    yield from transact(delete=doomed)
    yield from _drop_tokens(doomed, clients)
    return len(doomed)


def delete_admin(state: RealmState, name: str) -> Flow[None]:
    """Delete an admin user; its tokens stop working at once (its identity providers' too)."""
    admin = yield from admin_of(name)
    claims = _claims(admin.username, admin.email, admin.uuid, None)
    cutoff = admin_cutoff(state, admin.email)
    yield from transact(put=cutoff, delete=[record_keys.admin_key(admin.uuid), *claims])
    yield from delete_principal_tokens(record_keys.admin_principal_key(admin.uuid))


def _clients(keep: Callable[[rec.ClientRecord], bool]) -> Flow[list[str]]:
    rows = yield from scan(record_keys.client_prefix())
    found = [rec.decode(rec.ClientRecord, raw) for _, raw in rows]
    return [client.client_id for client in found if keep(client)]


def _drop_tokens(doomed: list[str], clients: list[str]) -> Flow[None]:
    """Drop the token records of the deleted users and clients (already refused)."""
    for key in doomed:
        if key.startswith("user:"):  # a user record's key is its principal key
            yield from delete_principal_tokens(key)
    for client_id in clients:
        yield from delete_principal_tokens(record_keys.client_principal_key(client_id))


# -- emails ---------------------------------------------------------------------------------


def set_user_email(org: str, app: str, name: str, email: str | None) -> Flow[User]:
    """Give a user a new email (None: none); the claims move in the same write as the record,
    a taken email is a ConflictError, and its tokens are untouched."""
    found = yield from app_of(org, app)
    user = yield from user_of(found, name)
    old = _claims(user.username, user.email, user.uuid, found)
    user.email = ids.email(email)
    new = _claims(user.username, user.email, user.uuid, found)
    record = {record_keys.user_key(found.org, found.name, user.uuid): rec.encode(user)}
    yield from _move_claims(old, new, record, user.email)
    return _user_value(user)


def set_admin_email(state: RealmState, name: str, email: str | None) -> Flow[AdminUser]:
    """Give an admin user a new email (None: none), as ``set_user_email`` does a user. Org-level
    provider tokens for the new address issued before are refused: they named whoever held it
    then, not this admin."""
    admin = yield from admin_of(name)
    previous = admin.email
    old = _claims(admin.username, admin.email, admin.uuid, None)
    admin.email = ids.email(email)
    new = _claims(admin.username, admin.email, admin.uuid, None)
    record = {record_keys.admin_key(admin.uuid): rec.encode(admin)}
    if admin.email is not None and ids.fold(admin.email) != ids.fold(previous or ""):
        record.update(admin_cutoff(state, admin.email))
    yield from _move_claims(old, new, record, admin.email)
    return _admin_value(admin)


def _move_claims(
    old: dict[str, bytes], new: dict[str, bytes], record: dict[str, bytes], email: str | None
) -> Flow[None]:
    create = {key: value for key, value in new.items() if key not in old}
    gone = [key for key in old if key not in new]
    if not (yield from transact(create=create, put=record, delete=gone)):
        raise ConflictError(f"the email {email!r} is already in use")


# -- a page of users ------------------------------------------------------------------------


def users_page(
    org: str,
    app: str,
    limit: int | None,
    cursor: str | None,
    prefix: str | None,
    state: str | None,
) -> Flow[tuple[list[User], str | None]]:
    """The app's users by username (ignoring case), those whose username or email starts with
    ``prefix`` (ignoring case) and in ``state``, after ``cursor``; at most ``limit`` of them,
    and the cursor of the next page (None on the last)."""
    if limit is not None and (isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE):
        raise ConfigError(f"limit is a whole number from 1 to {MAX_PAGE}")
    if state is not None and state not in _STATES:
        raise ConfigError(f"state is one of {', '.join(_STATES)}")
    after = None if cursor is None else _read_cursor(cursor)
    found = yield from app_of(org, app)
    rows = yield from scan(record_keys.user_prefix(found.org, found.name))
    users = sorted(
        (_user_value(rec.decode(rec.UserRecord, raw)) for _, raw in rows), key=_order
    )
    chosen = [
        user
        for user in users
        if (after is None or _order(user) > after)
        and _named(user, prefix)
        and (state is None or _state(user) == state)
    ]
    if limit is None or len(chosen) <= limit:
        return chosen, None
    page = chosen[:limit]
    return page, _write_cursor(_order(page[-1]))


def _order(user: User) -> tuple[str, str]:
    return user.username.lower(), user.uuid


def _named(user: User, prefix: str | None) -> bool:
    if not prefix:
        return True
    lowered = prefix.lower()
    return user.username.lower().startswith(lowered) or (
        user.email is not None and user.email.lower().startswith(lowered)
    )


def _state(user: User) -> str:
    if user.disabled:
        return "disabled"
    return "active" if user.activated else "unactivated"


def _write_cursor(order: tuple[str, str]) -> str:
    text = "\n".join(order).encode("utf-8")
    return base64.urlsafe_b64encode(text).decode("ascii").rstrip("=")


def _read_cursor(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        username, _, uuid = base64.urlsafe_b64decode(padded).decode("utf-8").partition("\n")
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise ConfigError("the cursor is not one this realm gave") from error
    if not uuid:
        raise ConfigError("the cursor is not one this realm gave")
    return username, uuid
