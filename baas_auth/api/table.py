"""The management API's routing table: rows of (method, path pattern) -> handler flow.

A row names where it is served (``app``: under ``/{org}/{app}``, or the single app's root;
``management``: under ``/management``), who may call it (``Access``), and the Usergrid
``action`` its answer reports. Patterns are whole segments, literal or ``{name}``; matching
is exact and case-sensitive, except the spellings the original's clients use: under
``/management`` ``orgs``/``organizations`` and ``apps``/``applications`` (any case), and after
the first segment of an app path ``user`` for ``users`` and ``group`` for ``groups`` (the
Usergrid SDK names a link by the entity's singular type). Rules are checked against the
row's own spelling (``Match.path``), so an alias never slips past a rule.

A ``{name+}`` segment is a group's path, which may hold slashes (``/groups/{group+}/users``
serves ``/groups/staff/managers/users``). Where it ends is decided by the path alone, the same
for every row, so no two rows can read one path two ways: it takes the segment after the
literal before it, then every following segment up to the first that is a sub-resource of a
group (the literals, and their aliases, that follow a ``{name+}`` in any row: ``users``,
``roles``, ``permissions``); at the end of a pattern it takes the rest. As the original's
``groups`` service reads a path. A group whose path holds such a segment
(``/staff/users``) is reached by its uuid. Other modules add rows by listing them in
``baas_auth.api.rows``.
Does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from baas_auth.core.http import RequestInfo
from baas_auth.errors import BadRequestError
from baas_auth.model import Principal
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow

__all__ = [
    "Access",
    "ApiCall",
    "ApiResult",
    "ApiRow",
    "Area",
    "Handler",
    "Match",
    "RouteTable",
]

Area = Literal["app", "management"]

Access = Literal["rules", "explicit", "self", "admin", "org_admin", "anyone"]
"""Who may call a row, beyond what ``baas_auth.api.authorize`` says of each:

- ``rules``: whoever the app's rules allow (clients and admins of the app always);
- ``explicit``: clients and admins, or a caller granted the exact path by a rule without
  wildcards (a write that hands out privileges: ``/**`` or ``/users/me/**`` is not enough);
- ``self``: the app user named by the ``{user}`` segment (``me``, its name, email or uuid),
  or the app's clients and admins; under ``/management``, the admin user it names, only;
- ``admin``: clients and admins of the app only, whatever the rules say;
- ``org_admin``: admin users and clients of the ``{org}`` segment's organization (every
  management row but ``self`` and ``anyone`` is judged so);
- ``anyone``: no check here (the handler decides, e.g. with a one-time token).
"""

_MANAGEMENT_ALIASES: Mapping[str, frozenset[str]] = {
    "orgs": frozenset({"orgs", "organizations"}),
    "apps": frozenset({"apps", "applications"}),
}
_LINK_ALIASES: Mapping[str, frozenset[str]] = {
    "users": frozenset({"users", "user"}),
    "groups": frozenset({"groups", "group"}),
}


class ApiCall(NamedTuple):
    """What a handler is given: the realm, the caller, the addressed app, the parameters."""

    state: RealmState
    principal: Principal
    org: str
    """The addressed organization's name (resolved from a uuid where one was given)."""
    app: str | None
    """The addressed application's name; None for an organization-level row."""
    params: Mapping[str, str]
    """The ``{name}`` segments of the pattern, as sent."""
    args: Mapping[str, tuple[object, ...]]
    """Query and body parameters, each with every value it was sent with."""
    request: RequestInfo

    def arg(self, name: str) -> object | None:
        """The one value of a parameter (None when absent); BadRequestError when repeated."""
        values = self.args.get(name, ())
        if len(values) > 1:
            raise BadRequestError(f"The parameter {name[:40]!r} was sent more than once")
        return values[0] if values else None


class ApiResult(NamedTuple):
    """A handler's answer: the parts of a Usergrid ApiResponse it fills in."""

    entities: list[dict[str, object]] | None = None
    data: object | None = None
    fields: Mapping[str, object] = {}
    """Further top-level fields (``credentials``, …)."""
    status: int = 200


Handler = Callable[[ApiCall], Flow[ApiResult]]


@dataclass(frozen=True, slots=True)
class ApiRow:
    """One endpoint: ``method`` on ``pattern`` in ``area``, answered by ``handler``."""

    method: str
    pattern: str
    handler: Handler = field(compare=False)
    access: Access = "rules"
    area: Area = "app"
    action: str | None = None
    """The ``action`` of the answer; None: the method in lower case, as Usergrid's services."""
    owns_path: bool = True
    """Whether another method on this path is 405 (True), or goes to the wrapped app (False,
    for paths the wrapped app also serves, such as the app root)."""

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(part for part in self.pattern.split("/") if part)

    @property
    def answer_action(self) -> str:
        return self.action or self.method.lower()


class Match(NamedTuple):
    """A row that serves the request, and its ``{name}`` segments."""

    row: ApiRow
    params: dict[str, str]

    @property
    def path(self) -> str:
        """The path in the row's own spelling (``/roles/r/users/u`` for ``/roles/r/user/u``):
        what the rules are checked against."""
        return self.path_with(self.params)

    def path_with(self, params: Mapping[str, str]) -> str:
        """The row's path with ``params`` in its ``{name}`` segments (a role or a group named
        by its uuid instead of its name, or the other way round)."""
        parts = [params[_param(part)] if _param(part) else part for part in self.row.segments]
        return "/" + "/".join(parts)


class RouteTable:
    """The rows of the management API; answers which row serves a method and a path."""

    def __init__(self, rows: Iterable[ApiRow]) -> None:
        self.rows = tuple(rows)
        self.stops = _stops(self.rows)
        seen: set[tuple[str, str, Area]] = set()
        for row in self.rows:
            _check_paths(row)
            key = (row.method, "/".join(_shape(row.segments)), row.area)
            if key in seen:
                raise ValueError(f"two rows for {row.method} {row.pattern} ({row.area})")
            seen.add(key)

    def match(self, area: Area, method: str, path: str) -> Match | None:
        """The row for ``method`` on ``path`` (route path relative to the area)."""
        segments = _split(path)
        for row in self.rows:
            if row.area == area and row.method == method:
                params = _match(row.segments, segments, area, self.stops)
                if params is not None:
                    return Match(row, params)
        return None

    def allowed(self, area: Area, path: str) -> tuple[str, ...]:
        """The methods served on ``path``, when it is one the API owns; else ``()``."""
        segments = _split(path)
        found = [
            row
            for row in self.rows
            if row.area == area and _match(row.segments, segments, area, self.stops) is not None
        ]
        if not any(row.owns_path for row in found):
            return ()
        return tuple(dict.fromkeys(row.method for row in found))


def _split(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _shape(segments: Iterable[str]) -> list[str]:
    return ["{}" if part.startswith("{") else part for part in segments]


def _param(part: str) -> str:
    """The parameter a pattern segment names (``group`` for ``{group+}``), else ``""``."""
    if part.startswith("{") and part.endswith("}"):
        return part[1:-1].rstrip("+")
    return ""


def _check_paths(row: ApiRow) -> None:
    """A ``{name+}`` ends its pattern or comes before a literal (where it stops): one before
    another parameter could not say where it ends."""
    parts = row.segments
    for index, part in enumerate(parts[:-1]):
        if part.endswith("+}") and parts[index + 1].startswith("{"):
            raise ValueError(
                f"{row.pattern}: a {{name+}} segment must end the pattern or come before a literal"
            )


def _stops(rows: Iterable[ApiRow]) -> frozenset[str]:
    """The segments that end a ``{name+}`` path: every literal (and its aliases) that follows
    one in a row."""
    found: set[str] = set()
    for row in rows:
        parts = row.segments
        for index, part in enumerate(parts[:-1]):
            if part.endswith("+}") and not parts[index + 1].startswith("{"):
                following = parts[index + 1]
                found.update(_LINK_ALIASES.get(following, frozenset({following})))
    return frozenset(found)


def _match(
    pattern: tuple[str, ...], segments: list[str], area: Area, stops: frozenset[str]
) -> dict[str, str] | None:
    spans = any(part.endswith("+}") for part in pattern)
    if len(segments) < len(pattern) or (not spans and len(segments) != len(pattern)):
        return None  # most rows, told at once (a request's first sight runs every row)
    params: dict[str, str] = {}
    position = 0
    for index, expected in enumerate(pattern):
        if position >= len(segments):
            return None
        name = _param(expected)
        if expected.endswith("+}"):
            end = _path_end(segments, position, last=index == len(pattern) - 1, stops=stops)
            params[name] = "/".join(segments[position:end])
            position = end
        elif name:
            params[name] = segments[position]
            position += 1
        elif _literal_matches(expected, segments[position], area, first=index == 0):
            position += 1
        else:
            return None
    return params if position == len(segments) else None


def _path_end(segments: list[str], start: int, *, last: bool, stops: frozenset[str]) -> int:
    """Where a ``{name+}`` path that starts at ``start`` ends (exclusive): the end of the
    path when the pattern ends with it; else the first sub-resource segment after ``start``."""
    if last:
        return len(segments)
    end = start + 1
    while end < len(segments) and segments[end] not in stops:
        end += 1
    return end


def _literal_matches(expected: str, given: str, area: Area, *, first: bool) -> bool:
    if area == "management":  # behaviour §6.1: the management spellings ignore case
        return given.casefold() in _MANAGEMENT_ALIASES.get(expected, frozenset({expected}))
    if first:  # ``/user/…`` at the top is the wrapped app's (its own collection alias)
        return given == expected
    return given in _LINK_ALIASES.get(expected, frozenset({expected}))
