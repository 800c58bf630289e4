"""The commands for app users and admin users: create, list, show, change, delete."""

from __future__ import annotations

import argparse

from baas_auth.cli.output import Output, as_object
from baas_auth.cli.prompts import add_password_options, read_password
from baas_auth.cli.registry import Commands, add_exist_ok, add_org_app, created_or_existing, where
from baas_auth.model import AdminUser, User
from baas_auth.realm import Realm

__all__ = ["register"]

_USER_CHANGES = {
    "disable-user": ("disable a user (its tokens stop working)", {"disabled": True}),
    "enable-user": ("enable a disabled user", {"disabled": False}),
    "deactivate-user": (
        "mark a user not activated (its tokens stop working)",
        {"activated": False},
    ),
    "activate-user": ("mark a user activated", {"activated": True}),
}
_ADMIN_CHANGES = {
    "disable-admin": ("disable an admin user (its tokens stop working)", {"disabled": True}),
    "enable-admin": ("enable a disabled admin user", {"disabled": False}),
}


def register(commands: Commands) -> None:
    _register_users(commands)
    _register_admins(commands)


def _register_users(commands: Commands) -> None:
    sub = commands.add("create-user", _create_user, "create an app user")
    add_org_app(sub)
    sub.add_argument("username")
    sub.add_argument("--email")
    sub.add_argument("--not-activated", action="store_true", help="create it not activated")
    add_password_options(sub, optional=True)
    add_exist_ok(sub)
    sub = commands.add("list-users", _list_users, "list the users of an application")
    add_org_app(sub)
    sub.add_argument("--limit", type=int, help="at most this many (1 to 1000), then a cursor")
    sub.add_argument("--cursor", help="the page after the one that printed this cursor")
    sub.add_argument("--prefix", help="only users whose username or email starts so")
    sub.add_argument("--state", choices=("active", "disabled", "unactivated"))
    text = "show a user: its roles, groups and rules, and every rule that applies to it"
    sub = commands.add("show-user", _show_user, text)
    add_org_app(sub)
    sub.add_argument("username", help="a username, an email or a uuid")
    sub = commands.add("set-password", _set_password, "set a user's password")
    add_org_app(sub)
    sub.add_argument("username")
    add_password_options(sub)
    for name, (text, change) in _USER_CHANGES.items():
        sub = commands.add(name, _change_user, text)
        add_org_app(sub)
        sub.add_argument("username")
        sub.set_defaults(change=change)
    sub = commands.add("delete-user", _delete_user, "delete a user; its tokens stop working")
    add_org_app(sub)
    sub.add_argument("username")
    text = "change a user's email (none: remove it); its tokens keep working"
    sub = commands.add("set-email", _set_email, text)
    add_org_app(sub)
    sub.add_argument("username")
    sub.add_argument("email", metavar="EMAIL|none")


def _register_admins(commands: Commands) -> None:
    sub = commands.add("create-admin", _create_admin, "create an admin user", creates=True)
    sub.add_argument("username")
    sub.add_argument("--email")
    sub.add_argument("--org", action="append", default=[], help="an org it administers")
    add_password_options(sub, optional=True)
    add_exist_ok(sub)
    commands.add("list-admins", _list_admins, "list the admin users")
    sub = commands.add("show-admin", _show_admin, "show an admin user")
    sub.add_argument("username")
    sub = commands.add("add-admin-to-org", _add_admin_to_org, "make an admin user admin of an org")
    sub.add_argument("username")
    sub.add_argument("org")
    sub = commands.add("set-admin-password", _set_admin_password, "set an admin user's password")
    sub.add_argument("username")
    add_password_options(sub)
    for name, (text, change) in _ADMIN_CHANGES.items():
        sub = commands.add(name, _change_admin, text)
        sub.add_argument("username")
        sub.set_defaults(change=change)
    text = "change an admin user's email (none: remove it); its tokens keep working"
    sub = commands.add("set-admin-email", _set_admin_email, text)
    sub.add_argument("username")
    sub.add_argument("email", metavar="EMAIL|none")
    text = "delete an admin user; its tokens stop working"
    sub = commands.add("delete-admin", _delete_admin, text)
    sub.add_argument("username")


# -- app users ------------------------------------------------------------------------------


def _create_user(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    def create() -> User:
        password = read_password(args, confirm=True)
        activated = not args.not_activated
        return realm.create_user(
            args.org, args.app, args.username, password=password, email=args.email,
            activated=activated,
        )

    user, created = created_or_existing(
        args, create, lambda: realm.get_user(args.org, args.app, args.username)
    )
    if created:
        sentence = f"created user {user.username} ({user.uuid}) in {where(args)}"
    else:
        sentence = f"user {user.username} exists in {where(args)}; nothing changed"
    out.done(sentence, {**as_object(user), "created": created})


def _list_users(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    columns = ("username", "email", "activated", "disabled", "uuid")
    filters = {"prefix": args.prefix, "state": args.state}
    if args.limit is None and args.cursor is None:
        users = [as_object(user) for user in realm.list_users(args.org, args.app, **filters)]
        out.table(users, columns, empty=f"no users in {where(args)}")
        return
    limit = 100 if args.limit is None else args.limit
    page, cursor = realm.list_users_page(
        args.org, args.app, limit=limit, cursor=args.cursor, **filters
    )
    rows = [as_object(user) for user in page]
    if out.json:  # a page is an object: the users and the cursor of the next page
        out.record({"users": rows, "cursor": cursor})
        return
    out.table(rows, columns, empty=f"no users in {where(args)}")
    out.text("last page" if cursor is None else f"next page: --cursor {cursor}")


def _show_user(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    org, app, name = args.org, args.app, args.username
    user = realm.get_user(org, app, name)
    roles, groups = realm.user_roles(org, app, name), realm.user_groups(org, app, name)
    known = {group.path.lower(): group.roles for group in realm.list_groups(org, app)}
    held = ["default", *roles, *(role for path in groups for role in known.get(path.lower(), ()))]
    limits = {role.name: role.inactivity_ms for role in realm.list_roles(org, app)}
    lapsing = {
        role: limits[role]
        for role in dict.fromkeys(held)
        if role != "default" and limits.get(role, 0) > 0
    }
    data = {
        **as_object(user),
        "roles": roles,
        "groups": groups,
        "rules": realm.user_rules(org, app, name),
        "effective_rules": realm.effective_rules(org, app, name),
        "lapsing_roles": lapsing,
    }
    after = [f"{role} (after {ms} ms idle)" for role, ms in lapsing.items()]
    out.record(data, shown={"lapsing_roles": after})


def _set_password(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    password = read_password(args, confirm=True)
    user = realm.update_user(args.org, args.app, args.username, password=password)
    out.done(f"set the password of {user.username} in {where(args)}", as_object(user))


def _change_user(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    user = realm.update_user(args.org, args.app, args.username, **args.change)
    state = "disabled" if user.disabled else "enabled"
    state += ", activated" if user.activated else ", not activated"
    out.done(f"user {user.username} in {where(args)}: {state}", as_object(user))


def _delete_user(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    realm.delete_user(args.org, args.app, args.username)
    data = {"deleted": args.username, "org": args.org, "app": args.app}
    out.done(f"deleted user {args.username} from {where(args)}", data)


def _set_email(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    user = realm.set_user_email(args.org, args.app, args.username, _email(args.email))
    sentence = f"user {user.username} in {where(args)}: email {user.email or 'none'}"
    out.done(sentence, as_object(user))


def _email(text: str) -> str | None:
    return None if text.lower() == "none" else text


# -- admin users ----------------------------------------------------------------------------


def _create_admin(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    def create() -> AdminUser:
        password = read_password(args, confirm=True)
        return realm.create_admin(args.username, password=password, orgs=args.org, email=args.email)

    admin, created = created_or_existing(args, create, lambda: realm.get_admin(args.username))
    orgs = ", ".join(admin.orgs) or "no organization"
    if created:
        sentence = f"created admin user {admin.username} ({admin.uuid}), admin of {orgs}"
    else:
        sentence = f"admin user {admin.username} exists, admin of {orgs}; nothing changed"
    out.done(sentence, {**as_object(admin), "created": created})


def _list_admins(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    admins = [as_object(admin) for admin in realm.list_admins()]
    columns = ("username", "email", "orgs", "disabled", "uuid")
    out.table(admins, columns, empty="no admin users")


def _show_admin(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    out.record(as_object(realm.get_admin(args.username)))


def _add_admin_to_org(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    admin = realm.add_admin_to_org(args.username, args.org)
    sentence = f"admin user {admin.username} is admin of {', '.join(admin.orgs)}"
    out.done(sentence, as_object(admin))


def _set_admin_password(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    password = read_password(args, confirm=True)
    admin = realm.update_admin(args.username, password=password)
    out.done(f"set the password of admin user {admin.username}", as_object(admin))


def _change_admin(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    admin = realm.update_admin(args.username, **args.change)
    state = "disabled" if admin.disabled else "enabled"
    out.done(f"admin user {admin.username}: {state}", as_object(admin))


def _set_admin_email(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    admin = realm.set_admin_email(args.username, _email(args.email))
    out.done(f"admin user {admin.username}: email {admin.email or 'none'}", as_object(admin))


def _delete_admin(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    admin = realm.get_admin(args.username)
    realm.delete_admin(admin.uuid)
    data = {"deleted": admin.username, "uuid": admin.uuid}
    out.done(f"deleted admin user {admin.username}", data)
