"""Which rules apply to an app user (behaviour §5.3): a union, minus roles dropped for inactivity.

A user's rules are the ``default`` role, its own rules, the rules of its roles, and the rules and
roles of its groups, plus ``get`` on its own entity. Roles with ``inactivity_ms > 0`` stop applying
to a token once the longest gap between two of its uses exceeds that. Each way a rule reaches the
user is a ``RuleSource``, which ``explain_rules`` names when it says why a request was allowed.
Does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from baas_auth.core.permissions import Matcher, Rule, RuleCache, rule_permits
from baas_auth.core.records import GroupRecord, RoleRecord, UserRecord
from baas_auth.model import Explanation, PrincipalKind, SourcedRule

__all__ = [
    "ALL_ACCESS_KINDS",
    "OWN_ENTITY",
    "OWN_ENTITY_RULE",
    "RuleSource",
    "UserPolicy",
    "explain_rules",
    "guest_sources",
    "rule_sources",
    "user_policy",
]

ALL_ACCESS_KINDS: frozenset[PrincipalKind] = frozenset({"app_client", "org_client", "admin_user"})
"""The principals that may do anything in the application they belong to (behaviour §5): its
clients, its organization's clients and admins. No rule is consulted for them."""

OWN_ENTITY_RULE = Rule.parse("get:/users/me")
OWN_ENTITY = "own-entity"
"""The source of ``OWN_ENTITY_RULE``, which every user has."""
_DEFAULT_ROLE = "default"
_GUEST_ROLE = "guest"
_NOTHING_LAPSED: frozenset[int] = frozenset()


@dataclass(slots=True)
class UserPolicy:
    """The rules of one user: those that always apply, and those of time-limited roles."""

    always: tuple[Rule, ...]
    timed: tuple[tuple[int, tuple[Rule, ...]], ...]
    """``(inactivity_ms, rules)`` for each role that lapses after that much inactivity."""
    compiler: RuleCache
    _matchers: dict[tuple[bool, frozenset[int]], Matcher] = field(default_factory=dict)

    @property
    def has_timed_roles(self) -> bool:
        return bool(self.timed)

    def matcher(self, inactive_ms: int | None, *, case_sensitive: bool) -> Matcher:
        """The compiled rules for a token whose longest idle gap is ``inactive_ms``."""
        if not self.timed:  # the common case: nothing can lapse
            cache_key = (case_sensitive, _NOTHING_LAPSED)
            found = self._matchers.get(cache_key)
            if found is not None:
                return found
        lapsed = frozenset(
            index
            for index, (limit, _) in enumerate(self.timed)
            if inactive_ms is not None and inactive_ms > limit
        )
        cache_key = (case_sensitive, lapsed)
        found = self._matchers.get(cache_key)
        if found is None:
            live = [rules for index, (_, rules) in enumerate(self.timed) if index not in lapsed]
            rules = [*self.always, *(rule for group in live for rule in group)]
            found = self.compiler.compile(rules, case_sensitive=case_sensitive)
            self._matchers[cache_key] = found
        return found


@dataclass(frozen=True, slots=True)
class RuleSource:
    """The rules that reach a user one way, named as ``SourcedRule.source`` names it."""

    name: str
    rules: tuple[Rule, ...]
    role: str | None = None
    lapses_after_ms: int = 0
    """More than 0 for a role that stops applying to a token idle for longer than that."""


def rule_sources(
    user: UserRecord,
    roles: Mapping[str, RoleRecord],
    groups: Sequence[GroupRecord],
    parse: Callable[[str], Rule],
) -> tuple[RuleSource, ...]:
    """Every way a rule reaches ``user``, in a stable order: its own entity, its own rules, its
    groups' rules, then each role once (``default``, its own, its groups'). A role it has both
    itself and through a group is named as its own. Roles that no longer exist are skipped;
    the ``default`` role never lapses."""

    def _parsed(texts: Iterable[str]) -> tuple[Rule, ...]:
        return tuple(parse(text) for text in texts)

    sources = [RuleSource(OWN_ENTITY, (OWN_ENTITY_RULE,)), RuleSource("user", _parsed(user.rules))]
    ways = {name: f"role:{name}" for name in (_DEFAULT_ROLE, *user.roles)}
    for group in groups:
        sources.append(RuleSource(f"group:{group.path}", _parsed(group.rules)))
        for name in group.roles:
            ways.setdefault(name, f"group:{group.path} role:{name}")
    for name, way in ways.items():
        role = roles.get(name)
        if role is None:
            continue
        lapses = role.inactivity_ms if role.inactivity_ms > 0 and name != _DEFAULT_ROLE else 0
        sources.append(RuleSource(way, _parsed(role.rules), name, lapses))
    return tuple(sources)


def guest_sources(
    roles: Mapping[str, RoleRecord], parse: Callable[[str], Rule]
) -> tuple[RuleSource, ...] | None:
    """The rules of anonymous requests (the ``guest`` role); None when the app has no guest."""
    guest = roles.get(_GUEST_ROLE)
    if guest is None:
        return None
    return (RuleSource(f"role:{_GUEST_ROLE}", tuple(parse(t) for t in guest.rules), _GUEST_ROLE),)


def user_policy(
    user: UserRecord,
    roles: Mapping[str, RoleRecord],
    groups: Sequence[GroupRecord],
    compiler: RuleCache,
) -> UserPolicy:
    """Assemble a user's policy from its record, the app's roles and the user's groups."""
    sources = rule_sources(user, roles, groups, compiler.parse)
    always = tuple(rule for s in sources if not s.lapses_after_ms for rule in s.rules)
    timed = tuple((s.lapses_after_ms, s.rules) for s in sources if s.lapses_after_ms)
    return UserPolicy(always, timed, compiler)


def explain_rules(
    sources: Sequence[RuleSource],
    verb: str,
    path: str,
    identity: Sequence[str],
    inactive_ms: int | None,
    *,
    case_sensitive: bool,
) -> Explanation:
    """Which rules of ``sources`` allow ``verb`` on the checked ``path`` for ``identity``, for a
    token whose longest idle gap is ``inactive_ms``.

    Each rule is tested alone with the matcher's own code (``rule_permits``): slower than the
    compiled set ``UserPolicy.matcher`` serves requests with, and the same answer, since a
    compiled set allows exactly what one of its rules allows.
    """
    live = [s for s in sources if not _lapsed(s, inactive_ms)]
    lapsed = [s for s in sources if _lapsed(s, inactive_ms)]
    lapsed_roles = tuple(s.role or s.name for s in lapsed)

    def _allowing(group: Sequence[RuleSource]) -> tuple[SourcedRule, ...]:
        return tuple(
            SourcedRule(str(rule), source.name)
            for source in group
            for rule in source.rules
            if rule_permits(rule, verb, path, identity, case_sensitive=case_sensitive)
        )

    matching = _allowing(live)
    if matching:
        first = matching[0]
        reason = "own-entity" if first.source == OWN_ENTITY else "rule"
        return Explanation(
            allowed=True,
            reason=reason,
            rule=first.rule,
            source=first.source,
            verb=verb,
            matching=matching,
            lapsed=lapsed_roles,
        )
    considered = tuple(SourcedRule(str(rule), s.name) for s in live for rule in s.rules)
    would = _allowing(lapsed)
    return Explanation(
        allowed=False,
        reason="role-lapsed" if would else "no-rule-matched",
        rule=would[0].rule if would else None,
        source=would[0].source if would else None,
        verb=verb,
        considered=considered,
        lapsed=lapsed_roles,
    )


def _lapsed(source: RuleSource, inactive_ms: int | None) -> bool:
    # The very test of UserPolicy.matcher: a gap longer than the limit, not equal to it.
    limit = source.lapses_after_ms
    return limit > 0 and inactive_ms is not None and inactive_ms > limit
