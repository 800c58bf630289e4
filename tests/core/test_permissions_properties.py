"""Hypothesis properties of the rule grammar and matcher, checked against a naive reference."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hypothesis import assume, given
from hypothesis import strategies as st

from baas_auth.errors import ConfigError
from baas_auth.permissions import VERBS, Rule, compile_rules

LITERALS = ["a", "b", "ab", "me", "ME", "alice", "Alice", "x.json", "ß", "ss", "$"]
WILDCARDS = ["*", "**", "?", "a*", "*b", "*.json", "?b", "a?", "${user}", "Me", "*ß"]
PATH_SEGMENTS = ["a", "b", "ab", "abb", "me", "Me", "alice", "ALICE", "u-1", "bob"]
PATH_SEGMENTS += ["x.json", ".json", "ß", "SS", "ss", "$", "*", "?", "${user}"]
IDENTITIES: list[tuple[str, ...]] = [(), ("alice",), ("u-1", "alice"), ("Alice",), ("",)]

verb_words = st.sampled_from([*VERBS, "*", "GET", "Put", "PATCH"])
segments = st.sampled_from(LITERALS + WILDCARDS)
paths = st.lists(st.sampled_from(PATH_SEGMENTS), max_size=5).map(lambda s: "/" + "/".join(s))


@st.composite
def patterns(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["*", "/", "**"]))
    body = "/".join(draw(st.lists(segments, min_size=1, max_size=5)))
    return body if draw(st.booleans()) else "/" + body


@st.composite
def rule_texts(draw: st.DrawFn) -> str:
    spaces = st.sampled_from(["", " ", "  "])
    pad = [draw(spaces) for _ in range(2)]
    verbs = ",".join(f"{draw(spaces)}{v}{draw(spaces)}" for v in draw(st.lists(verb_words)))
    items = ",".join(f"{draw(spaces)}{p}{draw(spaces)}" for p in draw(st.lists(patterns(), min_size=1, max_size=3)))
    if not verbs and draw(st.booleans()):
        return f"{pad[0]}{items}{pad[1]}"
    return f"{pad[0]}{verbs}:{items}{pad[1]}"


@given(rule_texts())
def test_canonical_text_round_trips(text: str) -> None:
    rule = Rule.parse(text)
    assert Rule.parse(str(rule)) == rule
    assert str(Rule.parse(str(rule))) == str(rule)


@given(st.text(max_size=30))
def test_arbitrary_text_parses_or_raises_config_error(text: str) -> None:
    try:
        rule = Rule.parse(text)
    except ConfigError:
        return
    assert Rule.parse(str(rule)) == rule


free_segments = st.text(alphabet="ab.*?-_%", max_size=4)


@given(st.lists(free_segments, max_size=5), st.sampled_from(VERBS))
def test_a_double_star_only_allows_paths_under_a(segs: list[str], verb: str) -> None:
    matcher = compile_rules([Rule.parse("*:/a/**")])
    path = "/" + "/".join(segs)
    if matcher.permits(verb, path):
        assert path.split("/")[1] == "a"


UNSAFE = ["", ".", ".."]


@given(
    st.lists(st.sampled_from(["a", "b"]), max_size=3),
    st.sampled_from(["*", "**", ".*", "*.", ".?", "?", "*?"]),
    st.lists(st.sampled_from(["a", "b"]), max_size=3),
    st.sampled_from(UNSAFE),
)
def test_wildcards_never_match_unsafe_segments(
    before: list[str], wildcard: str, after: list[str], unsafe: str
) -> None:
    matcher = compile_rules([Rule.parse("/" + "/".join([*before, wildcard, *after]))])
    path = "/" + "/".join([*before, unsafe, *after])
    assume(path != "/")  # an empty segment alone is the canonical root
    for verb in VERBS:
        assert not matcher.permits(verb, path)


def reference_regex(pattern: str, names: Sequence[str]) -> re.Pattern[str]:
    """Whole-path regex of one pattern; the path "/" is matched as the empty string."""
    parts = []
    for seg in pattern.split("/")[1:] if pattern != "/" else []:
        if seg == "**":
            parts.append("(?:/[^/]+)*")
        elif seg == "*":
            parts.append("/[^/]+")
        elif seg in ("me", "${user}"):
            alternatives = "|".join(re.escape(n) for n in [*names, "me"]) if names else "(?!)"
            parts.append(f"/(?:{alternatives})")
        else:
            glob = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in seg)
            parts.append("/" + glob)
    return re.compile("".join(parts), re.DOTALL)


def reference_permits(
    rules: list[Rule], verb: str, path: str, identity: Sequence[str], case_sensitive: bool
) -> bool:
    fold = (lambda s: s) if case_sensitive else str.casefold
    names = [fold(n) for n in identity if n]
    subject = "" if path == "/" else fold(path)
    for rule in rules:
        if verb not in rule.verbs and not (verb == "patch" and "put" in rule.verbs):
            continue
        if any(reference_regex(fold(p), names).fullmatch(subject) for p in rule.patterns):
            return True
    return False


@given(
    st.lists(rule_texts(), max_size=8),
    st.lists(st.tuples(st.sampled_from(VERBS), paths, st.sampled_from(IDENTITIES)), max_size=10),
    st.booleans(),
)
def test_matcher_equals_reference(
    texts: list[str], requests: list[tuple[str, str, tuple[str, ...]]], case_sensitive: bool
) -> None:
    rules = [Rule.parse(t) for t in texts]
    matcher = compile_rules(rules, case_sensitive=case_sensitive)
    for verb, path, identity in requests:
        expected = reference_permits(rules, verb, path, identity, case_sensitive)
        assert matcher.permits(verb, path, identity) is expected, (verb, path, identity)
