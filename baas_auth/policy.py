"""Which rules apply to an app user (behaviour §5.3): a union, minus roles dropped for inactivity.

A user's rules are the ``default`` role, its own rules, the rules of its roles, and the rules and
roles of its groups, plus ``get`` on its own entity. Roles with ``inactivity_ms > 0`` stop applying
to a token once the longest gap between two of its uses exceeds that. Does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from baas_auth.permissions import Matcher, Rule, RuleCache
from baas_auth.records import GroupRecord, RoleRecord, UserRecord

__all__ = ["OWN_ENTITY_RULE", "UserPolicy", "user_policy"]

OWN_ENTITY_RULE = Rule.parse("get:/users/me")
_DEFAULT_ROLE = "default"
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


def user_policy(
    user: UserRecord,
    roles: Mapping[str, RoleRecord],
    groups: Sequence[GroupRecord],
    compiler: RuleCache,
) -> UserPolicy:
    """Assemble a user's policy from its record, the app's roles and the user's groups.

    Roles that no longer exist are skipped; the ``default`` role never lapses.
    """

    def _parsed(texts: Iterable[str]) -> tuple[Rule, ...]:
        return tuple(compiler.parse(text) for text in texts)

    always: list[Rule] = [OWN_ENTITY_RULE, *_parsed(user.rules)]
    timed: list[tuple[int, tuple[Rule, ...]]] = []
    role_names = [_DEFAULT_ROLE, *user.roles]
    for group in groups:
        always.extend(_parsed(group.rules))
        role_names.extend(group.roles)
    for name in dict.fromkeys(role_names):  # each role once, in a stable order
        role = roles.get(name)
        if role is None:
            continue
        if role.inactivity_ms > 0 and name != _DEFAULT_ROLE:
            timed.append((role.inactivity_ms, _parsed(role.rules)))
        else:
            always.extend(_parsed(role.rules))
    return UserPolicy(tuple(always), tuple(timed), compiler)
