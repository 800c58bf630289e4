"""The values of the model: orgs, apps, users, credentials, principals, grants (behaviour §1).

All are frozen; none holds a secret except the two values handed out once at creation
(``ClientCredentials.client_secret`` and ``TokenGrant.access_token``), whose reprs hide them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "AdminUser",
    "App",
    "ClientCredentials",
    "ClientInfo",
    "Explanation",
    "Group",
    "ImportEntry",
    "ImportReport",
    "Org",
    "Principal",
    "PrincipalKind",
    "RefreshSettings",
    "Role",
    "SourcedRule",
    "TokenGrant",
    "TokenInfo",
    "User",
    "UserToken",
    "UserTokenKind",
]

PrincipalKind = Literal["guest", "app_user", "app_client", "org_client", "admin_user"]
UserTokenKind = Literal["reset", "activation", "confirmation"]


@dataclass(frozen=True, slots=True)
class Org:
    """An organization: it owns applications."""

    uuid: str
    name: str


@dataclass(frozen=True, slots=True)
class App:
    """An application of an organization; ``full_name`` is ``org/app``."""

    uuid: str
    org: str
    name: str
    access_token_ttl_ms: int | None = None
    """The app's ``accesstokenttl``: default and ceiling for its user tokens; 0 never expires."""
    refresh_token_ttl_ms: int | None = None
    """How long a refresh-token family of its users lives (None: no refresh tokens)."""
    refresh_grace_ms: int = 0
    """How long the immediately previous refresh token may be presented again."""

    @property
    def full_name(self) -> str:
        return f"{self.org}/{self.name}"


@dataclass(frozen=True, slots=True)
class RefreshSettings:
    """The realm's refresh-token setting for its admin users (an app's is on its ``App``)."""

    refresh_token_ttl_ms: int | None = None
    """How long a family lives from its password grant (None: admins get no refresh tokens)."""
    refresh_grace_ms: int = 0
    """How long the immediately previous refresh token may be presented again."""


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """A client_id and the secret shown once, at creation; ``app`` is None for org credentials."""

    client_id: str
    client_secret: str = field(repr=False)
    org: str = ""
    app: str | None = None


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Client credentials as they are listed: the client_id and whose it is, never a secret
    (``app`` is None for org credentials)."""

    client_id: str
    org: str
    app: str | None = None


@dataclass(frozen=True, slots=True)
class User:
    """An application user."""

    uuid: str
    username: str
    email: str | None = None
    activated: bool = True
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class AdminUser:
    """An admin user: org admin in each of ``orgs``."""

    uuid: str
    username: str
    email: str | None = None
    orgs: tuple[str, ...] = ()
    disabled: bool = False
    activated: bool = True
    """False until activated (by whoever approves new admins): it cannot sign in."""
    confirmed: bool = True
    """False until the admin confirms its address with a token: it cannot sign in."""


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of rules; ``inactivity_ms > 0`` drops it from tokens idle for longer."""

    name: str
    inactivity_ms: int = 0
    rules: tuple[str, ...] = ()
    uuid: str = field(default="", compare=False)
    """The role's uuid: the original system's for an imported role, a new one for a role made
    here (one stored by an earlier version has one derived from its app's uuid and its name).
    Roles are addressed by name or by uuid. Left out of equality, so values compared before
    uuids were shown compare as they did."""


@dataclass(frozen=True, slots=True)
class Group:
    """A group of users, named by a path such as ``/staff``."""

    path: str
    rules: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    uuid: str = field(default="", compare=False)
    """The group's uuid: the original system's for an imported group, a new one for a group
    made here (one stored by an earlier version has one derived from its app's uuid and its
    path). Groups are addressed by path or uuid. Left out of equality, as the role's."""


ImportOutcome = Literal["created", "unchanged", "skipped"]


@dataclass(frozen=True, slots=True)
class ImportEntry:
    """What an import did with one item: ``kind`` is organization, application, credentials,
    role, group, user, admin, permission, organization membership…; ``reason`` says why an
    item was skipped (or left unchanged)."""

    kind: str
    name: str
    outcome: ImportOutcome
    uuid: str | None = None
    where: str | None = None
    """The org, ``org/app``, or ``org/app`` and holder an item belongs to."""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The items of an import document, each created, unchanged or skipped (with a reason);
    ``dry_run``: nothing was written, the outcomes are what an import would do."""

    entries: tuple[ImportEntry, ...]
    dry_run: bool = False

    def _with(self, outcome: ImportOutcome) -> tuple[ImportEntry, ...]:
        return tuple(entry for entry in self.entries if entry.outcome == outcome)

    @property
    def created(self) -> tuple[ImportEntry, ...]:
        return self._with("created")

    @property
    def unchanged(self) -> tuple[ImportEntry, ...]:
        return self._with("unchanged")

    @property
    def skipped(self) -> tuple[ImportEntry, ...]:
        return self._with("skipped")


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who a request is, after authentication.

    ``org`` and ``app`` are lower-case names; an org client has no ``app``, an admin user has
    neither and lists its organizations in ``orgs``.
    """

    kind: PrincipalKind
    org: str | None = None
    app: str | None = None
    uuid: str | None = None
    username: str | None = None
    orgs: frozenset[str] = frozenset()
    token_id: str | None = field(default=None, repr=False, compare=False)
    """The stored id (a hash) of the token that authenticated the request, if any."""

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "guest"

    @property
    def display_name(self) -> str:
        return self.username or self.uuid or self.kind

    @property
    def identity(self) -> str:
        return self.uuid or ""

    def covers(self, org: str, app: str) -> bool:
        """Whether this principal belongs to (or administers) the application ``org/app``."""
        if self.kind == "admin_user":
            return org in self.orgs
        if self.kind == "org_client":
            return org == self.org
        return org == self.org and app == self.app


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A newly issued access token; ``expires_in`` is seconds, or None when it never expires."""

    access_token: str = field(repr=False)
    expires_in: int | None
    principal: Principal
    refresh_token: str | None = field(default=None, repr=False)
    """A refresh token, when the app has them switched on (behaviour §9)."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a valid token stands for, and when it was issued and expires (ms; None: never)."""

    principal: Principal
    issued_at_ms: int
    expires_at_ms: int | None


@dataclass(frozen=True, slots=True)
class SourcedRule:
    """A rule as it applies to a principal: its canonical text, and where it came from.

    ``source`` is ``"user"`` (the user's own rules), ``"role:NAME"`` (a role of the user, the
    ``default`` role of every signed-in user, or the ``guest`` role of anonymous requests),
    ``"group:PATH"`` (a group's own rules), ``"group:PATH role:NAME"`` (a role the user has
    through a group), or ``"own-entity"`` (the built-in ``get:/users/me``).
    """

    rule: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """Why ``Realm.permits`` answers as it does for one principal, method and path.

    ``reason`` is a stable code (``docs/observability.md`` lists them all). When a rule allowed
    the request, ``rule`` and ``source`` name the first one that did and ``matching`` lists every
    one that did; when none did, ``considered`` lists the rules that applied. ``lapsed`` names
    the roles this token lost to inactivity.
    """

    allowed: bool
    reason: str
    rule: str | None = None
    source: str | None = None
    verb: str | None = None
    """The rule verb the method is checked as (``HEAD`` is ``get``); None for a refused method."""
    matching: tuple[SourcedRule, ...] = ()
    considered: tuple[SourcedRule, ...] = ()
    lapsed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class UserToken:
    """A single-use token the realm hands to its ``on_user_token`` hook: deliver ``token`` to
    the account (by mail, say), which redeems it once before ``expires_at_ms``.

    ``kind`` is ``"reset"`` (a password reset), ``"activation"`` (activating an app user,
    or an admin user: for admins, deliver it to whoever approves new admins) or
    ``"confirmation"`` (an admin user confirming its address). ``org`` and ``app`` are None for
    an admin user. Only the hook ever sees ``token``: the store keeps its hash, and its repr
    hides it.
    """

    kind: UserTokenKind
    token: str = field(repr=False)
    uuid: str
    username: str
    email: str | None
    org: str | None = None
    app: str | None = None
    expires_at_ms: int

    @property
    def is_admin(self) -> bool:
        """Whether the account is an admin user (else an app user of ``org/app``)."""
        return self.app is None
