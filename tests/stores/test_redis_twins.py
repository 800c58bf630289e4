"""RedisStore and AsyncRedisStore are twins over one sans-I/O layout; these tests keep them so.

No server needed: the signatures are compared with the protocols, the method bodies with each
other (``async``/``await`` stripped), and the layout's pure parts are checked directly.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap

import pytest

from baas_auth.errors import StoreError
from baas_auth.stores import AsyncStore, Store
from baas_auth.stores._redis_layout import RedisLayout, has_hash_tag, upper_bound
from baas_auth.stores.protocols import AsyncTokenTransfer, TokenTransfer
from baas_auth.stores.redis import AsyncRedisStore, RedisStore

# Methods whose bodies differ by more than async/await: the client they make or close, and
# the SCAN of token keys (an ``async for`` over the client's iterator).
DIFFERENT_BODIES = {"__init__", "close", "_token_ids"}


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_the_twins_have_the_protocols_methods_and_signatures() -> None:
    sync, asynchronous = _public_methods(RedisStore), _public_methods(AsyncRedisStore)
    protocol = {**_public_methods(Store), **_public_methods(TokenTransfer)}
    async_protocol = {**_public_methods(AsyncStore), **_public_methods(AsyncTokenTransfer)}
    assert sync.keys() == asynchronous.keys() == protocol.keys()
    for name, signature in sync.items():
        assert inspect.iscoroutinefunction(getattr(AsyncRedisStore, name)), name
        assert not inspect.iscoroutinefunction(getattr(RedisStore, name)), name
        assert signature == asynchronous[name], name
        assert signature == protocol[name], name
        assert asynchronous[name] == async_protocol[name], name


class _StripAsync(ast.NodeTransformer):
    """``async def`` becomes ``def`` and ``await x`` becomes ``x``."""

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        return ast.copy_location(ast.FunctionDef(**fields), node)

    def visit_Await(self, node: ast.Await) -> ast.expr:
        self.generic_visit(node)
        return node.value


def _bodies(cls: type) -> dict[str, str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    stripped = _StripAsync().visit(tree)
    (class_def,) = stripped.body
    return {
        node.name: ast.dump(node)
        for node in class_def.body
        if isinstance(node, ast.FunctionDef) and node.name not in DIFFERENT_BODIES
    }


def test_the_twins_have_the_same_bodies_but_for_async_and_await() -> None:
    sync, asynchronous = _bodies(RedisStore), _bodies(AsyncRedisStore)
    assert sync.keys() == asynchronous.keys()
    for name in sync:
        assert sync[name] == asynchronous[name], name


def test_the_layout_does_not_import_redis() -> None:
    code = (
        "import sys; import baas_auth.stores._redis_layout, baas_auth.stores.urls;"
        " print('redis' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize(
    ("prefix", "tagged"),
    [
        ("{baas}:", True),
        ("app:{baas}:", True),
        ("{b}", True),
        ("{baas}}", True),
        ("baas:", False),
        ("{}baas:", False),  # an empty tag does not count: the whole key is hashed
        ("baas:{", False),  # closes only in each key's own part
        ("}{baas:", False),
        ("", False),
    ],
)
def test_hash_tag(prefix: str, tagged: bool) -> None:
    assert has_hash_tag(prefix) is tagged


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [(b"", None), (b"a", b"b"), (b"a\xff", b"b"), (b"\xff\xff", None), ("ü".encode(), b"\xc3\xbd")],
)
def test_upper_bound(prefix: bytes, bound: bytes | None) -> None:
    assert upper_bound(prefix) == bound


def test_replies_of_the_wrong_shape_are_store_errors() -> None:
    layout = RedisLayout("p:")
    for call, reply in [
        (layout.get("k"), "text"),
        (layout.get_token("t"), [b"record"]),
        (layout.generation(), b"not a number"),
        (layout.scan(""), [b"key"]),
        (layout.touch_token("t", 1), 1.5),
    ]:
        with pytest.raises(StoreError, match="unexpected reply"):
            call.read(reply)


def test_absent_replies_read_as_none_in_both_protocols() -> None:
    layout = RedisLayout("p:")
    for absent in (None, False):  # a nil, or a Lua false under RESP3
        assert layout.get_token("t").read([absent, absent, absent]) == ((None, 0), 0)
        assert layout.touch_token("t", 1).read(absent) is None
