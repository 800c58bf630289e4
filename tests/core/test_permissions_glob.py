"""The in-segment glob matcher (behaviour §5.1): the pieces between ``*``, never backtracking."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baas_auth.core.globs import Glob
from baas_auth.core.permissions import Rule, compile_rules

# (glob, segment, expected)
GLOB_CASES = [
    # a literal prefix, then anything
    ("ab*", "ab", True),
    ("ab*", "abc", True),
    ("ab*", "a", False),
    ("ab*", "xab", False),
    ("x*", "x", True),
    ("x*", "xyz", True),
    ("x*", "y", False),
    ("x*", "", False),
    # a literal suffix
    ("*.json", "a.json", True),
    ("*.json", ".json", True),
    ("*.json", "json", False),
    ("*.json", "a.jsonx", False),
    # middle pieces, placed leftmost
    ("a*b*c", "abc", True),
    ("a*b*c", "aXbYc", True),
    ("a*b*c", "abcbc", True),
    ("a*b*c", "acb", False),
    ("*ab*ab*", "abab", True),
    ("*ab*ab*", "aba", False),
    ("*aab*", "aaab", True),
    ("*-*-*.pdf", "a-b-c.pdf", True),
    ("*-*-*.pdf", "--.pdf", True),
    ("*-*-*.pdf", "a-b.pdf", False),
    ("*.*.*.*.json", "a.b.c.d.json", True),
    ("*.*.*.*.json", "....json", True),
    ("*.*.*.*.json", "a.b.c.json", False),
    ("*x*", "x", True),
    ("*x*", "abc", False),
    # the last piece must come after the middle ones, not overlap them
    ("*ab*b", "ab", False),
    ("*ab*b", "abb", True),
    # first and last pieces must not overlap
    ("a*a", "a", False),
    ("a*a", "aa", True),
    ("a*a", "aba", True),
    ("ab*ba", "aba", False),
    ("ab*ba", "abba", True),
    # "?" inside pieces
    ("a?c", "abc", True),
    ("a?c", "ac", False),
    ("a?c", "abbc", False),
    ("*?.json", ".json", False),
    ("*?.json", "a.json", True),
    ("*a?c*", "xxabcxx", True),
    ("*a?c*", "xxacxx", False),
    ("*a?c*", "aac", True),
    ("x*?", "x", False),
    ("x*?", "xy", True),
    ("*?-?*", "a-b", True),
    ("*?-?*", "-b", False),
    ("?*?", "a", False),
    ("?*?", "ab", True),
    ("a?b", "a\nb", True),
    # globs of "?" only: a fixed length
    ("?", "a", True),
    ("?", "", False),
    ("?", "ab", False),
    ("???", "abc", True),
    ("???", "ab", False),
    ("???", "abcd", False),
    # other characters are literal, never regex syntax
    ("a.c", "abc", False),
    ("a.c", "a.c", True),
    ("[ab]*", "[ab]x", True),
    ("[ab]*", "ax", False),
    ("(x)?", "(x)y", True),
    ("$?^*", "$a^", True),
    ("a+*", "aa", False),
]


@pytest.mark.parametrize(
    ("glob", "segment", "expected"),
    GLOB_CASES,
    ids=[f"{g} {'~' if e else '!~'} {s!r}" for g, s, e in GLOB_CASES],
)
def test_glob(glob: str, segment: str, expected: bool) -> None:
    assert Glob(glob)(segment) is expected


@pytest.mark.parametrize(
    ("glob", "segment", "expected"),
    [case for case in GLOB_CASES if case[1] and "\n" not in case[1] and "?" not in case[1]],
)
def test_glob_through_the_matcher(glob: str, segment: str, expected: bool) -> None:
    matcher = compile_rules([Rule.parse(f"get:/d/{glob}")])
    assert matcher.permits("get", f"/d/{segment}") is expected


def reference(glob: str) -> re.Pattern[str]:
    """The glob as a backtracking regex: fine as an oracle on inputs this small."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), re.DOTALL)


@settings(max_examples=500)
@given(st.text(alphabet="ab.*?", max_size=8), st.text(alphabet="ab.\n", max_size=10))
def test_glob_equals_regex_fullmatch(glob: str, segment: str) -> None:
    expected = reference(glob).fullmatch(segment) is not None
    assert Glob(glob)(segment) is expected
