"""Hypothesis properties of the rule grammar and matcher, checked against a naive reference."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from baas_auth.core.permissions import VERBS, Rule, compile_rules
from baas_auth.errors import ConfigError

LITERALS = ["a", "b", "ab", "me", "ME", "alice", "Alice", "x.json", "ß", "ss", "$"]
WILDCARDS = ["*", "**", "?", "a*", "*b", "*.json", "?b", "a?", "${user}", "Me", "*ß"]
FRAGMENTS = ["*/**", "a?/**", "me/**", "**/*", "${user}/**"]  # combinations worth trying often
PATH_SEGMENTS = ["a", "b", "ab", "abb", "me", "Me", "alice", "ALICE", "u-1", "bob"]
PATH_SEGMENTS += ["x.json", ".json", "ß", "SS", "ss", "$", "*", "?", "${user}"]
IDENTITIES: list[tuple[str, ...]] = [(), ("alice",), ("u-1", "alice"), ("Alice",), ("",)]

verb_words = st.sampled_from([*VERBS, "*", "GET", "Put", "PATCH"])
segments = st.sampled_from(LITERALS + WILDCARDS + FRAGMENTS)
segment_lists = st.lists(segments, min_size=1, max_size=5)
# Every pattern starts with "/" (§5.1 rev 2); texts that do not are in the rejection tests.
patterns = st.one_of(
    st.sampled_from(["/**", "/", "/*"]),
    segment_lists.map(lambda s: "/" + "/".join(s)),
)


@st.composite
def rule_texts(draw: st.DrawFn) -> str:
    pad = draw(st.sampled_from(["", " ", "  "]))  # one draw: hypothesis draws are not cheap
    verbs = f"{pad},{pad}".join(draw(st.lists(verb_words, max_size=3)))
    items = f"{pad},{pad}".join(draw(st.lists(patterns, min_size=1, max_size=3)))
    if not verbs and draw(st.booleans()):
        return f"{pad}{items}{pad}"
    return f"{pad}{verbs}{pad}:{pad}{items}{pad}"


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
    assert all(pattern.startswith("/") for pattern in rule.patterns)


@given(st.text(alphabet="getpu*:/{}<>ab, ", max_size=16))
def test_accepted_rules_hold_no_placeholder(text: str) -> None:
    try:
        rule = Rule.parse(text)
    except ConfigError:
        return
    for pattern in rule.patterns:
        assert pattern.startswith("/")
        assert not set("<>:") & set(pattern)
        assert "{" not in pattern.replace("${user}", "")


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
            glob = "".join(
                "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in seg
            )
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


def instantiate(pattern: str, identity: Sequence[str], rng: random.Random) -> list[str]:
    """Path segments that likely match ``pattern``, with random case changes."""
    out: list[str] = []
    for seg in pattern.split("/")[1:] if pattern != "/" else []:
        if seg == "**":
            out += rng.choices(PATH_SEGMENTS, k=rng.randint(0, 2))
        elif seg in ("me", "${user}", "ME", "Me"):
            out.append(rng.choice([*[n for n in identity if n], "me", "ME", "bob"]))
        elif "*" in seg or "?" in seg:
            fills = {
                "*": lambda: "".join(rng.choices("aßSs", k=rng.randint(0, 2))),
                "?": lambda: rng.choice("aßS"),
            }
            out.append("".join(fills[c]() if c in fills else c for c in seg))
        else:
            out.append(seg)
    out = [rng.choice([s, s.upper(), s.lower()]) for s in out]
    return [s for s in out if s not in ("", ".", "..")]


# The reference is a backtracking regex: it is an oracle only while its inputs stay this small.
MAX_SEGMENTS = 8
MAX_SEGMENT_LENGTH = 8


def request_for(rules: list[Rule], rng: random.Random) -> tuple[str, str, tuple[str, ...]]:
    """A request aimed at one of the rules' patterns, sometimes knocked off by one segment."""
    identity = rng.choice(IDENTITIES)
    all_patterns = [p for rule in rules for p in rule.patterns]
    segs = instantiate(rng.choice(all_patterns), identity, rng)
    edit = rng.choice(["none", "none", "drop", "add", "random"])
    if edit == "drop" and segs:
        del segs[rng.randrange(len(segs))]
    elif edit == "add":
        segs.insert(rng.randint(0, len(segs)), rng.choice(PATH_SEGMENTS))
    elif edit == "random":
        segs = rng.choices(PATH_SEGMENTS, k=rng.randint(0, 4))
    segs = [seg[:MAX_SEGMENT_LENGTH] for seg in segs[:MAX_SEGMENTS]]
    return rng.choice(VERBS), "/" + "/".join(segs), identity


# Requests are derived from the rules (random paths almost never match a random rule) with a
# Random seeded by hypothesis: one draw instead of hundreds keeps this test fast.
@settings(max_examples=200)
@given(
    st.lists(rule_texts(), min_size=1, max_size=8),
    st.booleans(),
    st.integers(0, 2**32),
)
def test_matcher_equals_reference(texts: list[str], case_sensitive: bool, seed: int) -> None:
    rules = [Rule.parse(t) for t in texts]
    matcher = compile_rules(rules, case_sensitive=case_sensitive)
    rng = random.Random(seed)
    for _ in range(20):
        verb, path, identity = request_for(rules, rng)
        expected = reference_permits(rules, verb, path, identity, case_sensitive)
        assert matcher.permits(verb, path, identity) is expected, (verb, path, identity)
