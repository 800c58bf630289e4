"""Tokens, passwords and account states of users over HTTP (rows of the management API): the
original system's ``/users/{user}/token``, ``/users/{user}/password``, ``/users/resetpw``,
``/users/{user}/resetpw``, ``/users/{user}/activate`` and ``/users/{user}/reactivate`` of an
app, and the admin users' ``/management/users/…`` twins (with ``/confirm``).

Answers are JSON, never the original's HTML forms. The calls that anyone may make (starting a
reset, asking for an activation token again) answer alike whether the account exists or not;
redeeming a token answers one refusal for every way a token or an account can be wrong.
"""

from __future__ import annotations

from baas_auth.api.shapes import user_entity
from baas_auth.api.table import Access, ApiCall, ApiResult, ApiRow, Area
from baas_auth.core.credentials import parse_query
from baas_auth.errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    IllegalArgumentError,
    NotFoundError,
    ResourceNotFoundError,
)
from baas_auth.middleware.endpoint_bodies import parse_ttl, token_body
from baas_auth.realm import flows, lifecycle_flows
from baas_auth.realm.store_commands import Flow

__all__ = ["ROWS"]

_SENT = {"message": "If the account exists, a token is on its way"}
_PASSWORDS = frozenset({"oldpassword", "newpassword"})


# -- parameters and callers -------------------------------------------------------------------


def _text(call: ApiCall, name: str) -> str | None:
    """A string parameter; None when absent or empty."""
    value = call.arg(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"The parameter {name!r} must be a string")
    return value


def _new_password(call: ApiCall) -> str:
    """``newpassword``, from the body only: a password in a URL ends up in access logs."""
    sent = {name for name, _ in parse_query(call.request.query_string)}
    if sent & _PASSWORDS:
        raise BadRequestError("Passwords are not accepted in the URI; send them in the body")
    return _required(call, "newpassword")


def _required(call: ApiCall, name: str) -> str:
    value = _text(call, name)
    if value is None:
        raise BadRequestError(f"{name} is required")
    return value


def _is_admin_area(call: ApiCall) -> bool:
    """Whether the row is served under ``/management`` (its accounts are admin users)."""
    return call.app is None


def _subject(call: ApiCall) -> str:
    """The ``{user}`` segment, with ``me`` standing for the calling app user (or, under
    ``/management``, admin user)."""
    name = call.params["user"]
    own_kind = "admin_user" if _is_admin_area(call) else "app_user"
    if name.lower() == "me" and call.principal.kind == own_kind:
        return call.principal.uuid or name
    return name


def _require_hook(call: ApiCall) -> None:
    """Starting a reset or an activation needs the realm's hook; said the same for every
    account, so it tells nothing of who exists."""
    if call.state.settings.on_user_token is None:
        raise ResourceNotFoundError("This realm delivers no account tokens (no on_user_token)")


def _check_own_admin(call: ApiCall) -> Flow[None]:
    """Behaviour §6.1: ``/management/users/{admin}`` is for that admin user itself."""
    principal = call.principal
    if not principal.is_authenticated:
        raise AuthenticationError("No admin identity for the request")
    if principal.kind != "admin_user" or not (
        yield from flows.is_self(principal, call.params["user"])
    ):
        raise ForbiddenError("An admin user may change only its own password")


# -- a token minted for a user ----------------------------------------------------------------


def mint_token(call: ApiCall) -> Flow[ApiResult]:
    """``GET /users/{user}/token?ttl=``: for the app's clients and admins only (``admin``
    access), as the original, which refused app users lest they lengthen their own tokens."""
    ttl = parse_ttl(call.arg("ttl"))
    grant = yield from flows.user_token(call.state, call.org, call.app or "", _subject(call), ttl)
    return ApiResult(fields=(yield from token_body(grant)))


# -- passwords --------------------------------------------------------------------------------


def set_password(call: ApiCall) -> Flow[ApiResult]:
    """``PUT|POST …/users/{user}/password`` {"oldpassword", "newpassword"}: the account itself
    gives its old password; the app's clients and admins set a user's without it."""
    new = _new_password(call)
    if _is_admin_area(call):
        yield from _check_own_admin(call)
        current = _required(call, "oldpassword")
        yield from flows.change_admin_password(call.state, _subject(call), new, current)
        return ApiResult()
    own = call.principal.kind == "app_user"  # "self" access: it is the user named
    old = _required(call, "oldpassword") if own else None
    yield from flows.change_user_password(
        call.state, call.org, call.app or "", _subject(call), new, old
    )
    return ApiResult()


def start_reset(call: ApiCall) -> Flow[ApiResult]:
    """``POST …/users/resetpw`` {"email"} (or {"username"}): hand a reset token to the hook;
    the same answer whether the account exists or not."""
    _require_hook(call)
    name = _text(call, "email") or _required(call, "username")
    yield from _request_reset(call, name)
    return ApiResult(data=_SENT)


def resetpw(call: ApiCall) -> Flow[ApiResult]:
    """``POST …/users/{user}/resetpw``: with {"token", "newpassword"} set the password;
    without a token, start a reset for that account (as ``start_reset``)."""
    token = _text(call, "token")
    if token is None:
        _require_hook(call)
        yield from _request_reset(call, call.params["user"])
        return ApiResult(data=_SENT)
    new = _new_password(call)
    name = call.params["user"]
    if _is_admin_area(call):
        yield from flows.reset_admin_password(call.state, name, token, new)
    else:
        yield from flows.reset_password(call.state, call.org, call.app or "", name, token, new)
    return ApiResult()


def _request_reset(call: ApiCall, name: str) -> Flow[None]:
    try:
        if _is_admin_area(call):
            yield from flows.request_admin_password_reset(call.state, name)
        else:
            yield from flows.request_password_reset(call.state, call.org, call.app or "", name)
    except NotFoundError:  # said to no one: the answer is the same
        return


# -- emails ---------------------------------------------------------------------------------


def set_email(call: ApiCall) -> Flow[ApiResult]:
    """``PUT /users/{user}/email`` {"email": …} (null or empty: none): the user itself, or the
    app's clients and admins. The app's ``PUT /users/{user}`` stays the wrapped app's (it
    holds the user's other properties); this path changes only what the realm keeps. A taken
    email is 400 ``duplicate_unique_property_exists``, a malformed one 400."""
    unknown = sorted(set(call.args) - {"email"})
    if unknown or "email" not in call.args:
        raise IllegalArgumentError('Send {"email": …} (null removes it), and nothing else')
    user = yield from lifecycle_flows.set_user_email(
        call.org, call.app or "", _subject(call), _text(call, "email")
    )
    return ApiResult(entities=[user_entity(user)])


# -- activation and confirmation --------------------------------------------------------------


def activate(call: ApiCall) -> Flow[ApiResult]:
    """``GET|POST …/users/{user}/activate?token=``: activate the account with its token."""
    token, name = _required(call, "token"), call.params["user"]
    if _is_admin_area(call):
        admin = yield from flows.activate_admin(call.state, name, token)
        return ApiResult(data={"activated": admin.activated, "confirmed": admin.confirmed})
    yield from flows.activate_user(call.state, call.org, call.app or "", name, token)
    return ApiResult(data={"activated": True})


def confirm(call: ApiCall) -> Flow[ApiResult]:
    """``GET|POST /management/users/{user}/confirm?token=``: confirm an admin user; one that
    still awaits activation says so (``activated`` false)."""
    token = _required(call, "token")
    admin = yield from flows.confirm_admin(call.state, call.params["user"], token)
    return ApiResult(data={"activated": admin.activated, "confirmed": admin.confirmed})


def reactivate(call: ApiCall) -> Flow[ApiResult]:
    """``GET …/users/{user}/reactivate``: hand the account's missing activation (or, for an
    admin, confirmation) token to the hook again; the same answer for every account."""
    _require_hook(call)
    name = call.params["user"]
    try:
        if _is_admin_area(call):
            yield from flows.send_admin_activation(call.state, name)
        else:
            yield from flows.send_activation(call.state, call.org, call.app or "", name)
    except NotFoundError:  # said to no one: the answer is the same
        pass
    return ApiResult(data=_SENT)


def _rows(where: Area) -> tuple[ApiRow, ...]:
    """The rows an app's users and the admin users share."""
    # Under /management there are no app rules to consult: set_password checks the admin.
    own: Access = "self" if where == "app" else "anyone"
    password, reset = "set user password", "reset user password"
    return (
        ApiRow("PUT", "/users/{user}/password", set_password, own, where, password),
        ApiRow("POST", "/users/{user}/password", set_password, own, where, password),
        ApiRow("POST", "/users/resetpw", start_reset, "anyone", where, reset),
        ApiRow("POST", "/users/{user}/resetpw", resetpw, "anyone", where, reset),
        ApiRow("GET", "/users/{user}/activate", activate, "anyone", where, "activate user"),
        ApiRow("POST", "/users/{user}/activate", activate, "anyone", where, "activate user"),
        ApiRow("GET", "/users/{user}/reactivate", reactivate, "anyone", where, "reactivate user"),
    )


ROWS: tuple[ApiRow, ...] = (
    ApiRow("GET", "/users/{user}/token", mint_token, "admin", "app", "get user token"),
    # Other methods on this path stay the wrapped app's (it may keep an ``email`` property).
    ApiRow("PUT", "/users/{user}/email", set_email, "self", "app", "update user", False),
    *_rows("app"),
    *_rows("management"),
    ApiRow("GET", "/users/{user}/confirm", confirm, "anyone", "management", "confirm user"),
    ApiRow("POST", "/users/{user}/confirm", confirm, "anyone", "management", "confirm user"),
)
