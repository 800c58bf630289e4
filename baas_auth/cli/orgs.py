"""The commands for organizations, applications and client credentials."""

from __future__ import annotations

import argparse
import sys

from baas_auth.cli.output import Output, as_object
from baas_auth.cli.registry import (
    Commands,
    add_exist_ok,
    add_org_app,
    add_refresh_ttl_arguments,
    created_or_existing,
    refresh_sentence,
    ttl_value,
)
from baas_auth.model import ClientCredentials
from baas_auth.realm import Realm
from baas_auth.realm.directory import RolesPreset

__all__ = ["register"]


def register(commands: Commands) -> None:
    sub = commands.add("create-org", _create_org, "create an organization", creates=True)
    sub.add_argument("name")
    add_exist_ok(sub)
    commands.add("list-orgs", _list_orgs, "list the organizations")
    sub = commands.add("show-org", _show_org, "show an organization, its apps and admins")
    sub.add_argument("org")
    text = "delete an organization and everything in it (apps, users, roles, groups, credentials)"
    sub = commands.add("delete-org", _delete_org, text + "; their tokens stop working")
    sub.add_argument("org")
    _register_apps(commands)
    _register_credentials(commands)


def _register_apps(commands: Commands) -> None:
    sub = commands.add("create-app", _create_app, "create an application")
    add_org_app(sub)
    sub.add_argument(
        "--roles",
        choices=("locked", "usergrid", "sandbox"),
        default="locked",
        help="locked (default): its roles start with no rules; usergrid: the original "
        "system's rules (signed-in users may do anything); sandbox: open to everyone",
    )
    # 0.1 spelled the (then optional) least-privilege start this way; it is now the default.
    sub.add_argument(
        "--locked", action="store_const", const="locked", dest="roles", help=argparse.SUPPRESS
    )
    sub.add_argument("--ttl-ms", type=int, help="its accesstokenttl (0: tokens never expire)")
    add_exist_ok(sub)
    sub = commands.add("list-apps", _list_apps, "list the applications of an organization")
    sub.add_argument("org")
    sub = commands.add("show-app", _show_app, "show an application: ttl, roles, groups, users")
    add_org_app(sub)
    text = "delete an application with its users, roles, groups and credentials"
    sub = commands.add("delete-app", _delete_app, text + "; their tokens stop working")
    add_org_app(sub)
    text = "set an app's accesstokenttl: MS (0: its user tokens never expire) or none"
    for name in ("ttl", "set-ttl"):
        sub = commands.add(name, _set_ttl, text)
        add_org_app(sub)
        sub.add_argument("ttl", metavar="MS|none", type=ttl_value)
    text = "switch an app's refresh tokens on (MS: how long a family lives) or off (none or 0)"
    sub = commands.add("set-refresh-ttl", _set_refresh_ttl, text)
    add_org_app(sub)
    add_refresh_ttl_arguments(sub)


def _register_credentials(commands: Commands) -> None:
    text = "create org credentials, or app credentials with APP; prints the secret once"
    sub = commands.add("create-credentials", _create_credentials, text)
    sub.add_argument("org")
    sub.add_argument("app", nargs="?")
    text = "list the client_ids of an organization and its apps, or of one app (no secrets)"
    sub = commands.add("list-credentials", _list_credentials, text)
    sub.add_argument("org")
    sub.add_argument("app", nargs="?")
    text = "give a client_id a new secret (its tokens stop working); prints it once"
    sub = commands.add("regenerate-credentials", _regenerate, text)
    sub.add_argument("client_id")
    sub.add_argument(
        "--keep-tokens", action="store_true", help="tokens issued with the old secret stay valid"
    )
    text = "delete client credentials; every token issued to them stops working"
    sub = commands.add("delete-credentials", _delete_credentials, text)
    sub.add_argument("client_id")


# -- organizations --------------------------------------------------------------------------


def _create_org(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    org, created = created_or_existing(
        args, lambda: realm.create_org(args.name), lambda: realm.get_org(args.name)
    )
    if created:
        sentence = f"created organization {org.name} ({org.uuid}) and its app {org.name}/sandbox"
    else:
        sentence = f"organization {org.name} exists ({org.uuid}); nothing changed"
    out.done(sentence, {**as_object(org), "created": created})


def _list_orgs(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    orgs = [as_object(org) for org in realm.list_orgs()]
    out.table(orgs, ("name", "uuid"), empty="no organizations")


def _show_org(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    org = realm.get_org(args.org)
    apps = [app.name for app in realm.list_apps(org.name)]
    admins = [admin.username for admin in realm.list_admins() if org.name in admin.orgs]
    out.record({**as_object(org), "apps": apps, "admins": admins})


def _delete_org(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    name = realm.get_org(args.org).name
    count = realm.delete_org(name)
    sentence = f"deleted organization {name} and everything in it ({count} records)"
    out.done(sentence, {"deleted": name, "records": count})


# -- applications ---------------------------------------------------------------------------


def _delete_app(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    app = realm.get_app(args.org, args.app)
    count = realm.delete_app(app.org, app.name)
    sentence = f"deleted application {app.full_name} and everything in it ({count} records)"
    data = {"deleted": app.full_name, "org": app.org, "app": app.name, "records": count}
    out.done(sentence, data)


def _create_app(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    roles: RolesPreset = args.roles
    app, created = created_or_existing(
        args,
        lambda: realm.create_app(args.org, args.app, roles=roles, access_token_ttl_ms=args.ttl_ms),
        lambda: realm.get_app(args.org, args.app),
    )
    if created:
        sentence = f"created application {app.full_name} ({app.uuid})"
    else:
        sentence = f"application {app.full_name} exists ({app.uuid}); nothing changed"
    out.done(sentence, {**as_object(app), "created": created})


def _list_apps(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    apps = [as_object(app) for app in realm.list_apps(args.org)]
    columns = ("name", "access_token_ttl_ms", "refresh_token_ttl_ms", "uuid")
    out.table(apps, columns, empty=f"no applications in {args.org}")


def _show_app(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    app = realm.get_app(args.org, args.app)
    roles = [role.name for role in realm.list_roles(app.org, app.name)]
    groups = [group.path for group in realm.list_groups(app.org, app.name)]
    users = len(realm.list_users(app.org, app.name))
    clients = [info.client_id for info in realm.list_credentials(app.org, app.name)]
    details = {"roles": roles, "groups": groups, "users": users, "credentials": clients}
    out.record({**as_object(app), **details})


def _set_ttl(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    app = realm.set_access_token_ttl(args.org, args.app, args.ttl)
    shown = "removed" if app.access_token_ttl_ms is None else f"{app.access_token_ttl_ms} ms"
    out.done(f"accesstokenttl of {app.full_name}: {shown}", as_object(app))


def _set_refresh_ttl(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    app = realm.set_refresh_token_ttl(args.org, args.app, args.ttl, grace_ms=args.grace_ms)
    shown = refresh_sentence(app.refresh_token_ttl_ms, app.refresh_grace_ms)
    out.done(f"refresh tokens of {app.full_name}: {shown}", as_object(app))


# -- credentials ----------------------------------------------------------------------------


def _create_credentials(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    _show_secret(out, realm.create_credentials(args.org, args.app))


def _list_credentials(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    found = [as_object(info) for info in realm.list_credentials(args.org, args.app)]
    scope = args.org if args.app is None else f"{args.org}/{args.app}"
    out.table(found, ("client_id", "org", "app"), empty=f"no credentials in {scope}")


def _regenerate(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    creds = realm.regenerate_credentials(args.client_id, revoke_tokens=not args.keep_tokens)
    _show_secret(out, creds)


def _delete_credentials(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    realm.delete_credentials(args.client_id)
    out.done(f"deleted credentials {args.client_id}", {"deleted": args.client_id})


def _show_secret(out: Output, creds: ClientCredentials) -> None:
    out.record(
        {
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "org": creds.org,
            "app": creds.app,
        }
    )
    if not out.json:
        print("Keep the client_secret now: it is never shown again.", file=sys.stderr)
