"""Passwords and account states of app users and admin users, as flows: changing a password
(with the old one, checked like a password grant: the same KDF and the same throttle), resetting
it with a single-use token, activating and confirming accounts (``onetime`` makes the tokens).

A password set here revokes the account's tokens unless the realm keeps them
(``revoke_tokens_on_password_change``), and voids any reset token issued before.
"""

from __future__ import annotations

from dataclasses import dataclass

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.errors import InvalidGrantError, NotFoundError
from baas_auth.model import AdminUser, User, UserTokenKind
from baas_auth.realm import onetime
from baas_auth.realm.account_directory import (
    _admin_value,
    _hash_new_password,
    _user_value,
    check_new_password,
    send_admin_token,
)
from baas_auth.realm.lookups import admin_of, app_of, user_of
from baas_auth.realm.password_checks import account_key, check_password
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, put
from baas_auth.realm.token_commands import delete_principal_tokens

__all__ = [
    "Account",
    "activate_account",
    "admin_account",
    "change_password",
    "confirm_admin",
    "request_reset",
    "reset_password",
    "send_activation",
    "user_account",
]


@dataclass(slots=True)
class Account:
    """An app user (``app`` given) or an admin user, with where its records live."""

    record: rec.UserRecord | rec.AdminRecord
    app: rec.AppRecord | None

    @property
    def scope(self) -> str:
        """Where its tokens and failed logins are counted: ``org/app``, or ``admin``."""
        return onetime.ADMIN_SCOPE if self.app is None else f"{self.app.org}/{self.app.name}"

    @property
    def key(self) -> str:
        if self.app is None:
            return record_keys.admin_key(self.record.uuid)
        return record_keys.user_key(self.app.org, self.app.name, self.record.uuid)

    @property
    def tokens_key(self) -> str:
        if self.app is None:
            return record_keys.admin_principal_key(self.record.uuid)
        return record_keys.user_principal_key(self.app.org, self.app.name, self.record.uuid)

    def user(self) -> User:
        if not isinstance(self.record, rec.UserRecord):  # never: a caller mixed up kinds
            raise TypeError("not an app user")
        return _user_value(self.record)

    def admin(self) -> AdminUser:
        if not isinstance(self.record, rec.AdminRecord):  # never: a caller mixed up kinds
            raise TypeError("not an admin user")
        return _admin_value(self.record)


def user_account(org: str, app: str, name: str) -> Flow[Account]:
    found = yield from app_of(org, app)
    return Account((yield from user_of(found, name)), found)


def admin_account(name: str) -> Flow[Account]:
    return Account((yield from admin_of(name)), None)


def _redeemable(account: Flow[Account]) -> Flow[Account]:
    """The account a token is being redeemed for; an unknown one is refused exactly as a
    bad token is, so that these unauthenticated calls do not tell who exists."""
    try:
        return (yield from account)
    except NotFoundError:
        raise InvalidGrantError(onetime.REFUSED) from None


# -- passwords ------------------------------------------------------------------------------


def change_password(
    state: RealmState, account: Account, name: str, new: str, old: str | None
) -> Flow[None]:
    """Set a new password; with ``old``, only if it is the current one (InvalidGrantError; a
    TooManyRequestsError once the account is locked, as for password grants)."""
    check_new_password(state, new)
    if old is not None:
        counted = account_key(state, account.scope, name, account.record.uuid)
        yield from check_password(state, counted, old, account.record.password_hash)
    yield from _set_password(state, account, new)


def request_reset(state: RealmState, account: Account) -> Flow[None]:
    """Hand a reset token for ``account`` to the hook; it is void once the password changes."""
    binding = onetime.binding_of(account.record.password_hash)
    yield from onetime.issue(state, "reset", account.record, account.app, binding)


def reset_password(
    state: RealmState, account: Flow[Account], token: object, new: str
) -> Flow[None]:
    """Set a new password with a reset token (used up only when the password is acceptable)."""
    check_new_password(state, new)
    found = yield from _redeemable(account)
    binding = onetime.binding_of(found.record.password_hash)
    yield from onetime.redeem(state, token, "reset", found.scope, found.record.uuid, binding)
    yield from _set_password(state, found, new)


def _set_password(state: RealmState, account: Account, new: str) -> Flow[None]:
    account.record.password_hash = yield from _hash_new_password(state, new)
    yield from put(account.key, rec.encode(account.record))
    if state.settings.revoke_tokens_on_password_change:
        yield from delete_principal_tokens(account.tokens_key)


# -- activation and confirmation ------------------------------------------------------------


def send_activation(state: RealmState, account: Account) -> Flow[bool]:
    """Hand the token the account lacks to the hook (an admin's confirmation comes before its
    activation); False, and no token, when it lacks none."""
    if isinstance(account.record, rec.AdminRecord):
        return (yield from send_admin_token(state, account.record))
    if account.record.activated:
        return False
    yield from onetime.issue(state, "activation", account.record, account.app)
    return True


def activate_account(state: RealmState, account: Flow[Account], token: object) -> Flow[Account]:
    """Activate an app user or an admin user with its activation token."""
    found = yield from _redeemable(account)
    yield from _redeem(state, found, "activation", token)
    found.record.activated = True
    yield from put(found.key, rec.encode(found.record))
    return found


def confirm_admin(state: RealmState, account: Flow[Account], token: object) -> Flow[Account]:
    """Confirm an admin user with its confirmation token; one still unactivated then gets its
    activation token (for whoever approves new admins) through the hook."""
    found = yield from _redeemable(account)
    if not isinstance(found.record, rec.AdminRecord):  # never: callers pass an admin account
        raise InvalidGrantError(onetime.REFUSED)
    yield from _redeem(state, found, "confirmation", token)
    found.record.confirmed = True
    yield from put(found.key, rec.encode(found.record))
    if not found.record.activated and state.settings.on_user_token is not None:
        yield from onetime.issue(state, "activation", found.record, None)
    return found


def _redeem(state: RealmState, account: Account, kind: UserTokenKind, token: object) -> Flow[None]:
    yield from onetime.redeem(state, token, kind, account.scope, account.record.uuid)
