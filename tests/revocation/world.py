"""The realm every history starts from, the writes a history makes, and the random histories.

Everything here is symbolic and seeded: a ``History`` is a pure function of its seed and
scenario, so a failure is reproduced by its seed alone. Tokens are named ``alice#2`` (the third
token issued to alice); a request is a caller (a token name, ``alice#2~refresh`` for the refresh
token issued with it, presented as a Bearer credential, or ``guest``) and an app-relative path.
Refresh tokens are on for the app's users and the admin: a ``refresh`` write presents the refresh
token issued with one token (``alice#2>alice#5``: the one issued with ``alice#2``, the new access
token named ``alice#5``), and presenting one spent before is a replay, which ends the family.
``perform`` turns one symbolic write into ``Realm`` calls; the checker runs it on a realm
of its own thread, and the writer process (``writer_process``) on a realm of its own process.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from baas_auth import AuthError, ConfigError, Realm

ORG, APP = "acme", "shop"
PASSWORD = "correct horse battery"
USERS = ("alice", "bob", "carol")
PRINCIPALS = (*USERS, "client", "ann")
ADMIN = "ann"
GROUP = "/staff"
REFRESH_TTL_MS = 86_400_000
REFRESHING = (*USERS, "ann")
"""The principals whose tokens come with a refresh token (a client's never do)."""
PATHS = ("/books/1", "/notes/1", "/pub/1", "/open/1")

RULE_TEXT = {
    "role:editor": "get:/books/**",
    "role:reader": "get:/notes/**",
    "role:default": "get:/pub/**",
    "role:guest": "get:/open/**",
    "user:bob": "get:/books/**",
    f"group:{GROUP}": "get:/books/**",
}
"""Every rule of the realm, by holder: each can be revoked and granted again."""

ROLE_RULES = {"editor": "get:/books/**", "reader": "get:/notes/**"}
"""The roles a history may delete and create again (with their rule)."""

ASSIGNMENTS = ("editor>user:alice", "reader>group:" + GROUP, "reader>user:bob")
"""Role assignments a history may take back and make again."""

MEMBERS = ("carol", "alice")
"""Users a history may take out of the group and put back."""

StepKind = Literal["write", "tick", "snapshot", "restart"]


@dataclass(frozen=True)
class Write:
    """One change of the realm: ``op`` on ``target`` (a token name for ``issue``), with the
    life of the token for ``issue`` (0: the realm's maximum)."""

    op: str
    target: str = ""
    ttl_ms: int = 0

    def __str__(self) -> str:
        ttl = f" ttl={self.ttl_ms}ms" if self.ttl_ms else ""
        return f"{self.op}({self.target}){ttl}"


@dataclass(frozen=True)
class Request:
    """A GET of ``/acme/shop{path}`` by ``caller`` (a token name, or ``guest``)."""

    caller: str
    path: str

    def __str__(self) -> str:
        return f"GET {self.path} as {self.caller}"


@dataclass(frozen=True)
class Step:
    """One change (a write elsewhere, the clock moving, or, on Redis, a snapshot or a restart
    from it), and the requests each worker sends meanwhile (``rounds[w]`` for worker w)."""

    kind: StepKind
    write: Write | None
    tick_ms: int
    rounds: tuple[tuple[Request, ...], ...]

    def describe(self) -> str:
        change = str(self.write) if self.kind == "write" else self.kind
        if self.kind == "tick":
            change = f"tick +{self.tick_ms}ms"
        sent = " | ".join(", ".join(map(str, round_)) or "-" for round_ in self.rounds)
        return f"{change:<36} while: {sent}"


@dataclass(frozen=True)
class History:
    """A seeded history: the adapter it is served by, the window (0: none), and its steps."""

    seed: int
    adapter: str
    window_ms: int
    steps: tuple[Step, ...]

    def requests(self) -> set[Request]:
        return {request for step in self.steps for round_ in step.rounds for request in round_}


@dataclass
class Names:
    """What the symbolic names stand for now: token strings, and the app's client credentials."""

    tokens: dict[str, str] = field(default_factory=dict)
    client_id: str | None = None
    client_secret: str | None = None
    refresh: dict[str, str] = field(default_factory=dict)
    """The refresh token issued with each named access token (kept once spent: a replay)."""
    family: dict[str, str] = field(default_factory=dict)
    """The family of each token issued with a refresh token: the name of its grant's token."""
    spent: set[str] = field(default_factory=set)
    """The tokens whose refresh token was presented and granted: presenting it again is a replay."""
    ended: set[str] = field(default_factory=set)
    """The families the model says have ended (a replay, revoke-all, disabling, deleting or a
    new password): none of their tokens may be admitted, none of their refresh tokens granted."""
    model: bool = True
    """Whether the model holds: not on a store restored from an older snapshot, which forgets."""

    def as_json(self) -> dict[str, object]:
        client = [self.client_id, self.client_secret]
        families = {"family": self.family, "spent": sorted(self.spent), "ended": sorted(self.ended)}
        return {
            "tokens": self.tokens, "client": client, "refresh": self.refresh, **families,
            "model": self.model,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Names:
        client = data["client"]
        return cls(
            dict(data["tokens"]), client[0], client[1], dict(data.get("refresh", {})),
            dict(data.get("family", {})), set(data.get("spent", ())),
            set(data.get("ended", ())), bool(data.get("model", True)),
        )  # fmt: skip

    def update(self, other: Names) -> None:
        """Take what a write elsewhere (the writer process) named and learned."""
        self.tokens.update(other.tokens)
        self.client_id, self.client_secret = other.client_id, other.client_secret
        self.refresh.update(other.refresh)
        self.family.update(other.family)
        self.spent |= other.spent
        self.ended |= other.ended

    def must_refuse(self, caller: str) -> bool:
        """Whether the model says the caller's token is of a family that has ended."""
        family = self.family.get(caller.partition("~")[0])
        return self.model and family is not None and family in self.ended

    def end_families_of(self, principal: str) -> None:
        """Every family of ``principal`` so far ends (its account changed)."""
        self.ended |= {f for f in self.family.values() if f.partition("#")[0] == principal}

    def bearer(self, caller: str) -> str | None:
        """The token a caller presents: an access token, or ``…~refresh``, a refresh token."""
        name, _, kind = caller.partition("~")
        return self.refresh.get(name) if kind == "refresh" else self.tokens.get(name)


# -- the realm at the start of every history ------------------------------------------------------


def seed_realm(realm: Realm, names: Names) -> None:
    """acme/shop (locked roles): alice holds ``editor`` (books), bob a rule of his own (books)
    and ``reader`` (notes), carol is in ``/staff`` (books, and ``reader`` through the group);
    ``default`` gives /pub, ``guest`` /open; admin ann of acme; app credentials; one token each."""
    realm.create_org(ORG)
    realm.create_app(ORG, APP, roles="locked")
    for user in USERS:
        realm.create_user(ORG, APP, user, password=PASSWORD)
    for role in ROLE_RULES:
        realm.create_role(ORG, APP, role)
    realm.create_group(ORG, APP, GROUP)
    for holder, rule in RULE_TEXT.items():
        _change_rule(realm, holder, rule, add=True)
    for assignment in ASSIGNMENTS:
        _change_assignment(realm, assignment, add=True)
    realm.add_to_group(ORG, APP, GROUP, "carol")
    realm.create_admin(ADMIN, password=PASSWORD, orgs=[ORG])
    realm.set_refresh_token_ttl(ORG, APP, REFRESH_TTL_MS)
    realm.set_admin_refresh_token_ttl(REFRESH_TTL_MS)
    creds = realm.create_credentials(ORG, APP)
    names.client_id, names.client_secret = creds.client_id, creds.client_secret
    for principal in PRINCIPALS:
        perform(realm, Write("issue", f"{principal}#0"), names)


# -- the writes -----------------------------------------------------------------------------------


def perform(realm: Realm, write: Write, names: Names) -> None:
    """Make ``write`` through ``realm``, updating ``names`` (a new token, new credentials). A
    write the realm refuses in its present state (a user already deleted, a token for a disabled
    user) changes nothing, as it would for any caller."""
    with contextlib.suppress(AuthError, ConfigError):
        _perform(realm, write, names)


def _perform(realm: Realm, write: Write, names: Names) -> None:
    op, target = write.op, write.target
    if op == "issue":
        _issue(realm, target, write.ttl_ms, names)
    elif op == "revoke_token":
        token = names.tokens.get(target)
        if token is not None:
            realm.revoke_token(token)
    elif op == "revoke_user_tokens":
        realm.revoke_user_tokens(ORG, APP, target)
        names.end_families_of(target)
    elif op == "revoke_admin_tokens":
        realm.revoke_admin_tokens(ADMIN)
        names.end_families_of(ADMIN)
    elif op in ("disable", "enable"):
        realm.update_user(ORG, APP, target, disabled=op == "disable")
        if op == "disable":
            names.end_families_of(target)
    elif op in ("deactivate", "activate"):
        realm.update_user(ORG, APP, target, activated=op == "activate")
    elif op == "delete_user":
        realm.delete_user(ORG, APP, target)
        names.end_families_of(target)
    elif op == "create_user":
        realm.create_user(ORG, APP, target, password=PASSWORD)
    elif op == "change_password":
        realm.change_user_password(ORG, APP, target, PASSWORD)
        names.end_families_of(target)
    elif op in ("revoke_rule", "grant_rule"):
        _change_rule(realm, target, RULE_TEXT[target], add=op == "grant_rule")
    elif op in ("unassign_role", "assign_role"):
        _change_assignment(realm, target, add=op == "assign_role")
    elif op == "delete_role":
        realm.delete_role(ORG, APP, target)
    elif op == "create_role":
        realm.create_role(ORG, APP, target)
        realm.grant(ORG, APP, ROLE_RULES[target], role=target)
    elif op in ("remove_from_group", "add_to_group"):
        _change_membership(realm, target, add=op == "add_to_group")
    elif op in ("regenerate_credentials", "delete_credentials", "create_credentials"):
        _change_credentials(realm, op, names)
    elif op == "retire_key":
        retire_current_key(realm)
    elif op == "refresh":
        _refresh(realm, target, names)
    elif op == "unrelated":
        realm.create_user(ORG, APP, target, password=PASSWORD)
    else:
        raise ValueError(f"unknown write {op!r}")


def _issue(realm: Realm, name: str, ttl_ms: int, names: Names) -> None:
    principal = name.split("#")[0]
    if principal == "client":
        if names.client_id is None or names.client_secret is None:
            return
        grant = realm.client_token(names.client_id, names.client_secret, ttl_ms=ttl_ms)
    elif principal == ADMIN:
        grant = realm.admin_token(ADMIN, PASSWORD, ttl_ms=ttl_ms)
    else:
        grant = realm.password_token(ORG, APP, principal, PASSWORD, ttl_ms=ttl_ms)
    names.tokens[name] = grant.access_token
    if grant.refresh_token is not None:
        names.refresh[name] = grant.refresh_token
        names.family[name] = name


def _refresh(realm: Realm, target: str, names: Names) -> None:
    """Present the refresh token issued with ``source``; a new access token is ``new``. One
    spent before is a replay: refused, and its whole family ends. A refresh granted while
    introspection calls the refresh token inactive is a hole (two paths disagreeing)."""
    source, new = target.split(">")
    presented = names.refresh.get(source)
    if presented is None:
        return
    admin = source.startswith(ADMIN + "#")
    tenant = {"org": ORG} if admin else {"org": ORG, "app": APP}
    active = realm.introspect(presented, **tenant).get("active") is True
    family = names.family[source]
    replay = source in names.spent
    try:
        if admin:
            grant = realm.refresh_admin_token(presented)
        else:
            grant = realm.refresh_token(ORG, APP, presented)
    except AuthError:
        if replay:
            names.ended.add(family)
        raise
    if not active:
        raise AssertionError(f"refresh({target}) granted for a refresh token not active")
    if names.model and (replay or family in names.ended):
        raise AssertionError(f"refresh({target}) granted in a family that has ended")
    names.spent.add(source)
    names.tokens[new] = grant.access_token
    names.family[new] = family
    if grant.refresh_token is not None:
        names.refresh[new] = grant.refresh_token


def _holder(holder: str) -> dict[str, str]:
    kind, name = holder.split(":", 1)
    return {kind: name}


def _change_rule(realm: Realm, holder: str, rule: str, *, add: bool) -> None:
    if add:
        realm.grant(ORG, APP, rule, **_holder(holder))
    else:
        realm.revoke_grant(ORG, APP, rule, **_holder(holder))


def _change_assignment(realm: Realm, assignment: str, *, add: bool) -> None:
    role, holder = assignment.split(">")
    if add:
        realm.assign_role(ORG, APP, role, **_holder(holder))
    else:
        realm.unassign_role(ORG, APP, role, **_holder(holder))


def _change_membership(realm: Realm, user: str, *, add: bool) -> None:
    if add:
        realm.add_to_group(ORG, APP, GROUP, user)
    else:
        realm.remove_from_group(ORG, APP, GROUP, user)


def _change_credentials(realm: Realm, op: str, names: Names) -> None:
    if op == "create_credentials":
        if names.client_id is None:
            creds = realm.create_credentials(ORG, APP)
            names.client_id, names.client_secret = creds.client_id, creds.client_secret
        return
    if names.client_id is None:
        return
    if op == "regenerate_credentials":
        names.client_secret = realm.regenerate_credentials(names.client_id).client_secret
    else:
        realm.delete_credentials(names.client_id)
        names.client_id = names.client_secret = None


def retire_current_key(realm: Realm) -> None:
    """Rotate, then retire the key every token so far was signed with."""
    if realm.keys is None:  # loaded by the first operation
        realm.list_orgs()
    keys = realm.keys
    assert keys is not None
    old = keys.current.kid
    realm.rotate_signing_key()
    realm.retire_signing_key(old)


# -- random histories -----------------------------------------------------------------------------

DECISIVE = (
    "revoke_token",
    "revoke_user_tokens",
    "revoke_admin_tokens",
    "disable",
    "deactivate",
    "delete_user",
    "change_password",
    "revoke_rule",
    "unassign_role",
    "delete_role",
    "remove_from_group",
    "regenerate_credentials",
    "delete_credentials",
    "retire_key",
    "refresh",
)
"""Writes that can turn an admission into a refusal (behaviour §3, §5.3, §7; a refresh that is
a replay ends its family, §9)."""

RESTORING = (
    "enable",
    "activate",
    "create_user",
    "grant_rule",
    "assign_role",
    "create_role",
    "add_to_group",
    "create_credentials",
    "unrelated",
)
"""Writes that undo them (or change nothing decisive), so that histories come back and forth."""


@dataclass(frozen=True)
class Shape:
    """What a scenario lets its histories hold."""

    workers: int
    adapters: tuple[str, ...]
    windows: tuple[int, ...] = (0,)
    rollback: bool = False
    retire_keys: bool = True
    min_steps: int = 6
    max_steps: int = 14


@dataclass(frozen=True)
class _Planned:
    """A step before its details are drawn: ``quiet`` sends no request, ``decisive`` draws a
    write that can refuse, ``past_window`` a tick longer than the window."""

    kind: StepKind
    quiet: bool = False
    decisive: bool = False
    past_window: bool = False


class _Generator:
    """Draws one history; keeps which token names exist so far (requests use only those)."""

    def __init__(self, seed: int, shape: Shape) -> None:
        self.rng = random.Random(seed)
        self.shape = shape
        self.issued = dict.fromkeys(PRINCIPALS, 1)  # principal -> tokens issued (#0 at seeding)
        self.unrelated = 0
        # Most requests come from a few: a decision is remembered from its second sight on,
        # and recalled from its third.
        self.hot = [self._request(0) for _ in range(self.rng.randint(3, 7))]

    def history(self, seed: int) -> History:
        rng, shape = self.rng, self.shape
        adapter = rng.choice(shape.adapters)
        window_ms = rng.choice(shape.windows)
        plan = self._rollback_plan(window_ms) if shape.rollback else self._plan(window_ms)
        steps = tuple(self._step(index, planned, window_ms) for index, planned in enumerate(plan))
        return History(seed, adapter, window_ms, steps)

    def _plan(self, window_ms: int) -> list[_Planned]:
        count = self.rng.randint(self.shape.min_steps, self.shape.max_steps)
        return [_Planned(self._kind(window_ms)) for _ in range(count)]

    def _rollback_plan(self, window_ms: int) -> list[_Planned]:
        """A few steps; a snapshot; a few writes, their decisions remembered; a restart from the
        snapshot; then, twice, a few writes while nothing is asked (a request would replace
        what was remembered), each run followed by the window passing and requests again: the
        writes bring the stamp back to values the process remembered decisions under."""
        rng = self.rng
        plan = [_Planned(self._kind(window_ms)) for _ in range(rng.randint(0, 2))]
        plan.append(_Planned("snapshot"))
        plan += [_Planned("write") for _ in range(rng.randint(1, 3))]
        plan.append(_Planned("restart", quiet=True))
        for _ in range(2):
            plan += [_Planned("write", quiet=True, decisive=True) for _ in range(rng.randint(1, 3))]
            plan.append(_Planned("tick", past_window=True))
            plan += [_Planned(self._kind(window_ms)) for _ in range(rng.randint(0, 1))]
        return plan

    def _kind(self, window_ms: int) -> StepKind:
        return "tick" if self.rng.random() < (0.3 if window_ms else 0.15) else "write"

    def _step(self, index: int, planned: _Planned, window_ms: int) -> Step:
        rounds = tuple(self._round(index) for _ in range(self.shape.workers))
        if planned.quiet:
            rounds = tuple(() for _ in rounds)
        write: Write | None = None
        tick_ms = 0
        if planned.kind == "write":
            write = self._write(planned.decisive)
        elif planned.kind == "tick":
            low = window_ms + 1 if planned.past_window else 1
            tick_ms = self.rng.randint(low, 2 * window_ms if window_ms else 800)
        return Step(planned.kind, write, tick_ms, rounds)

    def _round(self, index: int) -> tuple[Request, ...]:
        return tuple(self._pick(index) for _ in range(self.rng.randint(1, 4)))

    def _pick(self, index: int) -> Request:
        return self.rng.choice(self.hot) if self.rng.random() < 0.7 else self._request(index)

    def _request(self, index: int) -> Request:
        rng = self.rng
        caller = rng.choice((*PRINCIPALS, "guest"))
        if caller != "guest":
            latest = self.issued[caller] - 1
            caller = f"{caller}#{rng.choice((0, latest, max(0, latest - 1)))}"
            if caller.partition("#")[0] in REFRESHING and rng.random() < 0.1:
                caller += "~refresh"  # never a Bearer credential, whatever was remembered
        # A path of this step only: a known token on a path never seen (the cache states of
        # behaviour §7).
        path = rng.choice((*PATHS, f"/books/n{index}"))
        return Request(caller, path)

    def _write(self, decisive: bool = False) -> Write:
        rng = self.rng
        roll = 0.5 if decisive else rng.random()
        if roll < 0.25:
            principal = rng.choice(PRINCIPALS)
            name = f"{principal}#{self.issued[principal]}"
            self.issued[principal] += 1
            if rng.random() < 0.5:  # the new token becomes one of the requests sent most
                slot = rng.randrange(len(self.hot))
                self.hot[slot] = Request(name, self.hot[slot].path)
            return Write("issue", name, rng.choice((0, 0, 0, 1000)))
        if roll < 0.4:
            return self._refresh()
        op = rng.choice(DECISIVE if roll < 0.7 else RESTORING)
        if op == "retire_key" and not self.shape.retire_keys:
            op = "revoke_token"
        if op == "refresh":
            return self._refresh()
        return Write(op, self._target(op))

    def _refresh(self) -> Write:
        """A refresh with the refresh token of one of a principal's tokens: its latest (a
        rotation, mostly) or an older one (often spent: a replay)."""
        rng = self.rng
        principal = rng.choice(REFRESHING)
        latest = self.issued[principal] - 1
        source = f"{principal}#{rng.choice((latest, latest, rng.randrange(latest + 1)))}"
        new = f"{principal}#{self.issued[principal]}"
        self.issued[principal] += 1
        if rng.random() < 0.5:  # the refreshed token becomes one of the requests sent most
            slot = rng.randrange(len(self.hot))
            self.hot[slot] = Request(new, self.hot[slot].path)
        return Write("refresh", f"{source}>{new}")

    def _target(self, op: str) -> str:
        rng = self.rng
        if op == "revoke_token":
            principal = rng.choice(PRINCIPALS)
            return f"{principal}#{rng.randrange(self.issued[principal])}"
        if op in ("revoke_rule", "grant_rule"):
            return rng.choice(tuple(RULE_TEXT))
        if op in ("unassign_role", "assign_role"):
            return rng.choice(ASSIGNMENTS)
        if op in ("delete_role", "create_role"):
            return rng.choice(tuple(ROLE_RULES))
        if op in ("remove_from_group", "add_to_group"):
            return rng.choice(MEMBERS)
        if op == "unrelated":
            self.unrelated += 1
            return f"extra{self.unrelated}"
        if op in ("revoke_admin_tokens", "retire_key") or op.endswith("_credentials"):
            return ""
        return rng.choice(USERS)


def generate(seed: int, shape: Shape) -> History:
    """The history of ``seed`` (the same one on every machine and Python version)."""
    return _Generator(seed, shape).history(seed)
