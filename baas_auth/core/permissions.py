"""Permission rules (behaviour §5.1) compiled into a segment trie, and the cache of compiled sets.

The rule grammar is in ``baas_auth.core.rules`` (``Rule`` is re-exported here). A path that is not
canonical (an empty, ``.`` or ``..`` segment, or no leading ``/``) is never permitted. Matching
never backtracks: its cost is linear in the path for a given rule set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from baas_auth.core.globs import Glob
from baas_auth.core.rules import (
    SELF_SEGMENTS,
    UNSAFE_SEGMENTS,
    VERB_BITS,
    VERBS,
    Rule,
    verb_for_method,
)

__all__ = [
    "ALL_ACCESS",
    "EMPTY_MATCHER",
    "VERBS",
    "Matcher",
    "Rule",
    "RuleCache",
    "compile_rules",
    "rule_permits",
    "verb_for_method",
]

_UNSAFE_SET = frozenset(UNSAFE_SEGMENTS)
_SegmentTest = Callable[[str], bool]
_GlobEdges = tuple[tuple[_SegmentTest, "_Node"], ...]
_WILDCARD_CHARS = re.compile(r"[*?]")


class _Node:
    """A trie node: its edges by segment kind and the verbs of patterns ending here."""

    __slots__ = (
        "closure",
        "closure_accepts",
        "double_star",
        "glob_map",
        "globs",
        "literal",
        "loop",
        "mask",
        "plain",
        "reach",
        "self_edge",
        "star",
    )

    def __init__(self, *, loop: bool = False) -> None:
        self.literal: dict[str, _Node] = {}
        self.star: _Node | None = None
        self.glob_map: dict[str, _Node] = {}  # merged by segment text while building
        # Globs indexed by their literal prefix, by prefix length: many rules like /item7.* must
        # not turn into a scan of every glob.
        self.globs: tuple[tuple[int, dict[str, _GlobEdges]], ...] = ()
        self.self_edge: _Node | None = None
        self.double_star: _Node | None = None
        self.loop = loop  # reached through "**": consumes any further segment and stays
        self.mask = 0
        self.reach = 0  # verbs allowed anywhere at or below this node, to prune dead states
        self.closure: tuple[_Node, ...] = (self,)
        self.closure_accepts = 0  # verbs for which the closure holds a terminal "**"
        self.plain = True

    def child(self, segment: str, key: str) -> _Node:
        """The child for ``segment``; ``key`` is it as compared (casefolded if insensitive)."""
        if segment == "**":
            self.double_star = self.double_star or _Node(loop=True)
            return self.double_star
        if segment == "*":
            self.star = self.star or _Node()
            return self.star
        if key in SELF_SEGMENTS:
            self.self_edge = self.self_edge or _Node()
            return self.self_edge
        table = self.glob_map if "*" in segment or "?" in segment else self.literal
        return table.setdefault(key, _Node())

    def children(self) -> list[_Node]:
        edges = (self.star, self.self_edge, self.double_star)
        return [*self.literal.values(), *self.glob_map.values(), *(n for n in edges if n)]

    def freeze(self) -> None:
        """Precompute the walk data; the "**" child must be frozen first."""
        self.globs = _index_globs(self.glob_map)
        self.plain = not (
            self.loop or self.star or self.globs or self.self_edge or self.double_star
        )
        if self.double_star is not None:  # "**" also matches zero segments
            self.closure = (self, *self.double_star.closure)
        self.closure_accepts = 0
        for node in self.closure:
            if node.loop:
                self.closure_accepts |= node.mask


def _index_globs(glob_map: dict[str, _Node]) -> tuple[tuple[int, dict[str, _GlobEdges]], ...]:
    by_length: dict[int, dict[str, _GlobEdges]] = {}
    for text, node in glob_map.items():
        prefix = _WILDCARD_CHARS.split(text, maxsplit=1)[0]
        by_prefix = by_length.setdefault(len(prefix), {})
        by_prefix[prefix] = (*by_prefix.get(prefix, ()), (Glob(text), node))
    return tuple(sorted(by_length.items()))


def _freeze_all(root: _Node) -> None:
    order, pending = [], [root]
    while pending:  # iterative: a long pattern must not hit the recursion limit
        node = pending.pop()
        order.append(node)
        pending.extend(node.children())
    for node in reversed(order):
        node.freeze()


class Matcher:
    """A compiled set of rules; immutable, safe to share between threads."""

    __slots__ = ("_case_sensitive", "_root", "_size")

    def __init__(self, root: _Node, size: int, *, case_sensitive: bool) -> None:
        self._root = root
        self._size = size
        self._case_sensitive = case_sensitive

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"<Matcher entries={self._size} case_sensitive={self._case_sensitive}>"

    def permits(self, verb: str, path: str, identity: Sequence[str] = ()) -> bool:
        """Whether some rule allows ``verb`` on the canonical route ``path`` for ``identity``."""
        bit = VERB_BITS.get(verb, 0)
        segments = _path_segments(path)
        if not bit & self._root.reach or segments is None:
            return False
        if not self._case_sensitive:
            segments = [segment.casefold() for segment in segments]
        node, index = self._root, 0
        while node.plain and index < len(segments):  # fast path: literal edges only
            found = node.literal.get(segments[index])
            if found is None:
                return False
            node, index = found, index + 1
        if node.closure_accepts & bit:
            return True  # a "**" that ends a pattern takes every remaining segment
        caller = _Caller(identity, self._case_sensitive)
        states: Iterable[_Node] = node.closure
        for segment in segments[index:]:
            states = _step(states, segment, caller, bit)
            if not states:
                return False
            if any(state.loop and state.mask & bit for state in states):
                return True
        return any(state.mask & bit for state in states)


class _Caller:
    """The caller's names for ``me``/``${user}`` segments, worked out only if a walk meets one."""

    __slots__ = ("_case_sensitive", "_identity", "_names")

    def __init__(self, identity: Sequence[str], case_sensitive: bool) -> None:
        # A bare string is one name, never its characters one by one.
        self._identity = (identity,) if isinstance(identity, str) else identity
        self._case_sensitive = case_sensitive
        self._names: frozenset[str] | None = None

    def is_named(self, segment: str) -> bool:
        if self._names is None:
            exact = self._case_sensitive
            names = {name if exact else name.casefold() for name in self._identity if name}
            # An empty identity (a guest) matches no me/${user} segment, not even "me".
            self._names = frozenset({*names, "me"}) if names else frozenset()
        return segment in self._names


def _path_segments(path: str) -> list[str] | None:
    if path == "/":
        return []
    head, _, rest = path.partition("/")
    segments = rest.split("/")
    if head or not _UNSAFE_SET.isdisjoint(segments):
        return None
    return segments


def _step(states: Iterable[_Node], segment: str, caller: _Caller, bit: int) -> set[_Node]:
    """One NFA step: every state reachable from ``states`` by consuming ``segment``."""
    following: set[_Node] = set()
    for node in states:
        if not node.reach & bit:
            continue
        if node.loop:
            following.add(node)
        found = node.literal.get(segment)
        if found is not None:
            following.update(found.closure)
        if node.plain:
            continue
        if node.star is not None:
            following.update(node.star.closure)
        if node.self_edge is not None and caller.is_named(segment):
            following.update(node.self_edge.closure)
        for length, by_prefix in node.globs:
            for matches, target in by_prefix.get(segment[:length], ()):
                if matches(segment):
                    following.update(target.closure)
    return following


def compile_rules(rules: Iterable[Rule], *, case_sensitive: bool = True) -> Matcher:
    """Compile rules into one Matcher; duplicated segments and wildcards share trie nodes."""
    root, size = _Node(), 0
    for rule in rules:
        mask = sum(VERB_BITS[verb] for verb in rule.verbs)
        if "put" in rule.verbs:
            mask |= VERB_BITS["patch"]  # Usergrid has no patch verb: put covers PATCH
        for pattern in rule.patterns:
            node = root
            root.reach |= mask
            for segment in pattern[1:].split("/") if pattern != "/" else ():
                key = segment if case_sensitive else segment.casefold()
                node = node.child(segment, key)
                node.reach |= mask
            node.mask |= mask
            size += 1
    _freeze_all(root)
    return Matcher(root, size, case_sensitive=case_sensitive)


def rule_permits(
    rule: Rule, verb: str, path: str, identity: Sequence[str] = (), *, case_sensitive: bool = True
) -> bool:
    """Whether ``rule`` alone allows ``verb`` on ``path``: a matcher of that one rule, so the
    walk is the very one requests get. Compiles on every call: for explaining, not serving."""
    return compile_rules((rule,), case_sensitive=case_sensitive).permits(verb, path, identity)


EMPTY_MATCHER: Matcher = compile_rules(())
ALL_ACCESS: Matcher = compile_rules([Rule.parse("*:/**")])


class RuleCache:
    """Parsed rules and compiled matchers, remembered by content.

    Any directory write starts a new snapshot of the directory; the rule sets it holds rarely
    change with it, so their compiled matchers are kept here, keyed by the rules themselves,
    and a large rule set is not compiled again because some unrelated user was created.
    Bounded: a full table is emptied and refilled on demand.
    """

    __slots__ = ("_limit", "_matchers", "_rules")

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._rules: dict[str, Rule] = {}
        self._matchers: dict[tuple[frozenset[Rule], bool], Matcher] = {}

    def parse(self, text: str) -> Rule:
        found = self._rules.get(text)
        if found is None:
            if len(self._rules) >= self._limit * 16:
                self._rules.clear()
            found = self._rules[text] = Rule.parse(text)
        return found

    def compile(self, rules: Iterable[Rule], *, case_sensitive: bool) -> Matcher:
        key = (frozenset(rules), case_sensitive)
        found = self._matchers.get(key)
        if found is None:
            if len(self._matchers) >= self._limit:
                self._matchers.clear()
            found = compile_rules(key[0], case_sensitive=case_sensitive)
            self._matchers[key] = found
        return found
