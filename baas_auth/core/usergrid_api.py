"""What the original's REST API adds to a conversion of its export files: the uuids of orgs and
apps, their client credentials, an app's ``accesstokenttl``, the rules of each role and who is
in each group, which ``ExportApp`` and ``ExportAdmins`` do not write.

The shell asks the paths named here (``org_paths`` first, then ``app_paths`` of the converted
document) and passes the answers back, each a parsed JSON body or an ``ApiFailure``; the
answers' shapes are those of the original's responses: ``{"organization": {"uuid"…}}``,
``{"data": {"org/app": uuid}}`` for an org's apps, ``{"credentials": {"client_id",
"client_secret"}}``, ``{"entities": [{"uuid", "accesstokenttl"…}]}`` for an app or a group's
users, ``{"data": [rule…]}`` for a role's permissions. An answer of another shape is reported,
not used. Pure.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from baas_auth.core.usergrid_entities import Data, LeftOut

__all__ = ["ApiFailure", "api_uuids", "app_paths", "complete", "org_paths"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
Answers = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class ApiFailure:
    """A path the API did not answer with a body (not found, refused): why, for the report,
    and the HTTP status if there was one."""

    reason: str
    status: int = 0

    @property
    def refused(self) -> bool:
        return self.status in (401, 403)


def _segment(name: str) -> str:
    return quote(name, safe="")


def org_paths(org: str) -> list[str]:
    """What to ask of an org: itself (its uuid), its credentials, its apps (their uuids)."""
    base = f"/management/orgs/{_segment(org)}"
    return [base, f"{base}/credentials", f"{base}/apps"]


def api_uuids(orgs: Sequence[str], answers: Answers) -> dict[str, str]:
    """The uuids the API gives each org and ``org/app``, by lower-case name."""
    found: dict[str, str] = {}
    for org in orgs:
        base = f"/management/orgs/{_segment(org)}"
        uuid = _get(answers.get(base), "organization", "uuid")
        if _is_uuid(uuid):
            found[org.lower()] = str(uuid).lower()
        apps = _get(answers.get(f"{base}/apps"), "data")
        for name, app_uuid in (apps.items() if isinstance(apps, dict) else ()):
            if _is_uuid(app_uuid) and "/" in name:
                found[name.lower()] = str(app_uuid).lower()
    return found


def _apps(document: Data) -> list[tuple[Data, Data, str]]:
    """Each app of the document with its org and ``/org/app`` base path."""
    found = []
    for org in _list(document.get("organizations")):
        for app in _list(org.get("applications")):
            base = "/" + "/".join(_segment(part) for part in str(app["name"]).split("/", 1))
            found.append((org, app, base))
    return found


def app_paths(document: Data) -> list[str]:
    """What to ask of each app of the converted document: itself (``accesstokenttl``), its
    credentials, each role's permissions, each group's users."""
    paths = []
    for _, app, base in _apps(document):
        paths += [base, f"{base}/credentials"]
        paths += [f"{base}/roles/{_segment(str(role['name']))}/permissions"
                  for role in _list(app.get("roles"))]
        paths += [f"{base}/groups/{group['uuid']}/users"
                  for group in _list(app.get("groups")) if group.get("uuid")]
    return paths


def complete(
    document: Data, left_out: Sequence[LeftOut], answers: Answers
) -> tuple[Data, tuple[LeftOut, ...]]:
    """The document with what the answers add, and what is still left out (what the API
    supplied is no longer listed; what it failed to answer is, with the path)."""
    document = copy.deepcopy(document)
    done: set[tuple[str, str]] = set()
    failures: list[LeftOut] = []
    for org in _list(document.get("organizations")):
        name = str(org["name"])
        path = f"/management/orgs/{_segment(name)}/credentials"
        if _credentials_into(org, answers.get(path), path, failures):
            done.add(("credentials", name.lower()))
    for _, app, base in _apps(document):
        name = str(app["name"]).lower()
        ttl = _get(answers.get(base), "entities", 0, "accesstokenttl")
        if isinstance(ttl, int) and not isinstance(ttl, bool) and ttl >= 0:
            app["accesstokenttl"] = ttl
        path = f"{base}/credentials"
        if _credentials_into(app, answers.get(path), path, failures) and "accesstokenttl" in app:
            done.add(("credentials", name))
        if _rules_into(app, base, answers, failures):
            done.add(("role permissions", name))
        if _members_into(app, base, answers, failures):
            done.add(("group memberships", name))
    kept = [item for item in left_out if (item.kind, item.name.lower()) not in done]
    return document, (*kept, *failures)


def _credentials_into(item: Data, answer: object, path: str, failures: list[LeftOut]) -> bool:
    pair = _get(answer, "credentials")
    if isinstance(pair, dict) and all(isinstance(pair.get(k), str)
                                      for k in ("client_id", "client_secret")):
        item["credentials"] = [{"client_id": pair["client_id"],
                                "client_secret": pair["client_secret"]}]
        return True
    failures.append(_failure(path, answer, "client credentials"))
    return False


def _rules_into(app: Data, base: str, answers: Answers, failures: list[LeftOut]) -> bool:
    complete_ = True
    for role in _list(app.get("roles")):
        path = f"{base}/roles/{_segment(str(role['name']))}/permissions"
        rules = _get(answers.get(path), "data")
        if isinstance(rules, list) and all(isinstance(rule, str) for rule in rules):
            role["permissions"] = list(dict.fromkeys([*_strings(role.get("permissions")),
                                                      *rules]))
        else:
            failures.append(_failure(path, answers.get(path), "the role's rules"))
            complete_ = False
    return complete_


def _members_into(app: Data, base: str, answers: Answers, failures: list[LeftOut]) -> bool:
    users = {str(user.get("uuid", "")).lower(): user for user in _list(app.get("users"))}
    complete_ = True
    for group in _list(app.get("groups")):
        path = f"{base}/groups/{group.get('uuid')}/users"
        members = _get(answers.get(path), "entities")
        if not isinstance(members, list):
            failures.append(_failure(path, answers.get(path), "the group's users"))
            complete_ = False
            continue
        for member in members:
            user = users.get(str(_get(member, "uuid")).lower())
            if user is not None:
                groups = _strings(user.get("groups"))
                user["groups"] = list(dict.fromkeys([*groups, str(group["path"])]))
    return complete_


def _failure(path: str, answer: object, what: str) -> LeftOut:
    why = answer.reason if isinstance(answer, ApiFailure) else (
        "not asked" if answer is None else "an answer of another shape")
    return LeftOut("api", f"GET {path}", f"{what}: {why}")


def _get(value: object, *keys: str | int) -> object:
    for key in keys:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and len(value) > key else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value


def _list(value: object) -> list[Data]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _is_uuid(value: object) -> bool:
    return isinstance(value, str) and _UUID.fullmatch(value) is not None
