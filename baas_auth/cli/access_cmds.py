"""The commands for roles, groups and rules: who holds which rule, role and membership."""

from __future__ import annotations

import argparse

from baas_auth.cli.output import Output, as_object
from baas_auth.cli.registry import (
    Commands,
    add_exist_ok,
    add_org_app,
    add_target,
    created_or_existing,
    target_of,
    where,
)
from baas_auth.realm import Realm

__all__ = ["register"]


def register(commands: Commands) -> None:
    _register_roles(commands)
    _register_rules(commands)
    _register_groups(commands)


def _register_roles(commands: Commands) -> None:
    sub = commands.add("create-role", _create_role, "create a role")
    add_org_app(sub)
    sub.add_argument("name")
    sub.add_argument("--inactivity-ms", type=int, default=0, help="0: it never lapses")
    add_exist_ok(sub)
    sub = commands.add("list-roles", _list_roles, "list the roles of an application")
    add_org_app(sub)
    sub = commands.add("show-role", _show_role, "show a role and its rules")
    add_org_app(sub)
    sub.add_argument("name", help="the role's name or uuid")
    text = "delete a role (deleting guest makes the app refuse anonymous requests)"
    sub = commands.add("delete-role", _delete_role, text)
    add_org_app(sub)
    sub.add_argument("name")


def _register_rules(commands: Commands) -> None:
    for name, handler, text in (
        ("grant", _grant, "grant a rule such as get,put:/books/**"),
        ("revoke-grant", _revoke_grant, "take a rule back"),
    ):
        sub = commands.add(name, handler, text)
        add_org_app(sub)
        sub.add_argument("rule")
        add_target(sub, ("role", "user", "group"))
    for name, handler, text in (
        ("assign-role", _assign_role, "give a role to a user or a group"),
        ("unassign-role", _unassign_role, "take a role from a user or a group"),
    ):
        sub = commands.add(name, handler, text)
        add_org_app(sub)
        sub.add_argument("role")
        add_target(sub, ("user", "group"))


def _register_groups(commands: Commands) -> None:
    sub = commands.add("create-group", _create_group, "create a group")
    add_org_app(sub)
    sub.add_argument("path", help="such as /staff")
    add_exist_ok(sub)
    sub = commands.add("list-groups", _list_groups, "list the groups of an application")
    add_org_app(sub)
    sub = commands.add("show-group", _show_group, "show a group: its rules, roles and members")
    add_org_app(sub)
    sub.add_argument("path", help="the group's path (such as /staff) or uuid")
    sub = commands.add("delete-group", _delete_group, "delete a group")
    add_org_app(sub)
    sub.add_argument("path")
    for name, handler, text in (
        ("add-to-group", _add_to_group, "add a user to a group"),
        ("remove-from-group", _remove_from_group, "take a user out of a group"),
    ):
        sub = commands.add(name, handler, text)
        add_org_app(sub)
        sub.add_argument("path")
        sub.add_argument("username")


# -- roles ----------------------------------------------------------------------------------


def _create_role(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    role, created = created_or_existing(
        args,
        lambda: realm.create_role(args.org, args.app, args.name, inactivity_ms=args.inactivity_ms),
        lambda: realm.get_role(args.org, args.app, args.name),
    )
    if created:
        sentence = f"created role {role.name} in {where(args)}"
    else:
        sentence = f"role {role.name} exists in {where(args)}; nothing changed"
    out.done(sentence, {**as_object(role), "created": created})


def _list_roles(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    roles = [as_object(role) for role in realm.list_roles(args.org, args.app)]
    columns = ("name", "inactivity_ms", "rules", "uuid")
    out.table(roles, columns, empty=f"no roles in {where(args)}")


def _show_role(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    out.record(as_object(realm.get_role(args.org, args.app, args.name)))


def _delete_role(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    realm.delete_role(args.org, args.app, args.name)
    data = {"deleted": args.name, "org": args.org, "app": args.app}
    out.done(f"deleted role {args.name} from {where(args)}", data)


# -- rules and roles ------------------------------------------------------------------------


def _described(args: argparse.Namespace) -> tuple[str, dict[str, object]]:
    """The target (``role editor in acme/shop``) and its JSON fields."""
    kind, name = next(iter(target_of(args).items()))
    return f"{kind} {name} in {where(args)}", {"org": args.org, "app": args.app, kind: name}


def _grant(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    rule = realm.grant(args.org, args.app, args.rule, **target_of(args))
    target, data = _described(args)
    out.done(f"granted {rule} to {target}", {"rule": rule, **data})


def _revoke_grant(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    changed = realm.revoke_grant(args.org, args.app, args.rule, **target_of(args))
    target, data = _described(args)
    if changed:
        sentence = f"revoked {args.rule} from {target}"
    else:
        sentence = f"{target} did not hold {args.rule}; nothing changed"
    out.done(sentence, {"rule": args.rule, **data, "changed": changed})


def _assign_role(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    realm.assign_role(args.org, args.app, args.role, **target_of(args))
    target, data = _described(args)
    out.done(f"assigned role {args.role} to {target}", {"role": args.role, **data})


def _unassign_role(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    changed = realm.unassign_role(args.org, args.app, args.role, **target_of(args))
    target, data = _described(args)
    if changed:
        sentence = f"took role {args.role} from {target}"
    else:
        sentence = f"{target} did not have role {args.role}; nothing changed"
    out.done(sentence, {"role": args.role, **data, "changed": changed})


# -- groups ---------------------------------------------------------------------------------


def _create_group(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    group, created = created_or_existing(
        args,
        lambda: realm.create_group(args.org, args.app, args.path),
        lambda: realm.get_group(args.org, args.app, args.path),
    )
    if created:
        sentence = f"created group {group.path} in {where(args)}"
    else:
        sentence = f"group {group.path} exists in {where(args)}; nothing changed"
    out.done(sentence, {**as_object(group), "created": created})


def _list_groups(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    groups = [as_object(group) for group in realm.list_groups(args.org, args.app)]
    columns = ("path", "roles", "rules", "uuid")
    out.table(groups, columns, empty=f"no groups in {where(args)}")


def _show_group(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    group = realm.get_group(args.org, args.app, args.path)
    members = [
        user.username
        for user in realm.list_users(args.org, args.app)
        if group.path.lower()
        in (path.lower() for path in realm.user_groups(args.org, args.app, user.uuid))
    ]
    out.record({**as_object(group), "members": members})


def _delete_group(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    realm.delete_group(args.org, args.app, args.path)
    data = {"deleted": args.path, "org": args.org, "app": args.app}
    out.done(f"deleted group {args.path} from {where(args)}", data)


def _add_to_group(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    realm.add_to_group(args.org, args.app, args.path, args.username)
    data = {"group": args.path, "user": args.username, "org": args.org, "app": args.app}
    out.done(f"added {args.username} to {args.path} in {where(args)}", data)


def _remove_from_group(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    changed = realm.remove_from_group(args.org, args.app, args.path, args.username)
    if changed:
        sentence = f"took {args.username} out of {args.path} in {where(args)}"
    else:
        sentence = f"{args.username} was not in {args.path}; nothing changed"
    data = {"group": args.path, "user": args.username, "org": args.org, "app": args.app}
    out.done(sentence, {**data, "changed": changed})
