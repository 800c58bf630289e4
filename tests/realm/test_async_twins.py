"""``Realm`` and ``AsyncRealm`` are twins: one is the other with ``async``/``await`` stripped.

Mechanical, from the source: ``sync.py`` and ``aio.py`` are parsed with ``ast``; the async side
is desugared (``async def`` → ``def``, ``await x`` → ``x``, ``async with``/``for`` → ``with``/
``for``) and each method is compared with ``ast.dump`` — docstrings included. Only ``__init__``
and ``open`` may differ, and only as asserted here: the store protocol and opener, the class in
``open``'s return type, ``open``'s docstring (the URLs each accepts), and the sync realm loading
its keys at once (``self._start()`` ending ``__init__``; the async one starts at its first
operation). The class docstrings differ only in the ``store:`` entry; the module headers only by
the renames in ``RENAMES``. A method added to one class only, a drifted body or docstring, or an
``await`` missing from the async side fails; the mutation tests at the end prove the checker
sees each of those.
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from baas_auth.errors import ConfigError
from baas_auth.realm import AsyncRealm, Realm
from baas_auth.stores.urls import open_async_store, open_store

REALM = Path(__file__).resolve().parents[2] / "baas_auth" / "realm"
SYNC_SOURCE = (REALM / "sync.py").read_text()
AIO_SOURCE = (REALM / "aio.py").read_text()

CONSTRUCTION = ("__init__", "open")
_EAGER_START = "self._driver.start(flows.start(self.state))"
"""How Realm.__init__ ends: it starts at once, unless the store is down (then its first
operation starts it, as AsyncRealm's always does)."""
"""The methods that may differ (each exactly as ``_expected_twin`` says)."""

RENAMES = {
    "Realm": "AsyncRealm",
    "Store": "AsyncStore",
    "open_store": "open_async_store",
    "Driver": "AsyncDriver",
    "baas_auth.realm.drivers": "baas_auth.realm.async_drivers",
}
"""How a name of the sync module is spelled in the async one (imports, ``__all__``, the class
name, and inside ``__init__``/``open``); nowhere else may a name differ."""

NOT_COROUTINES = {"__init__", "__repr__", "open"}
"""The AsyncRealm methods that are not ``async def`` (besides properties)."""


# -- the transformations ------------------------------------------------------------------------


class _Desugar(ast.NodeTransformer):
    """``async def`` → ``def``, ``await x`` → ``x``, ``async with``/``for`` → ``with``/``for``."""

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        return ast.copy_location(ast.FunctionDef(**fields), node)

    def visit_Await(self, node: ast.Await) -> ast.expr:
        self.generic_visit(node)
        return node.value

    def visit_AsyncWith(self, node: ast.AsyncWith) -> ast.With:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        return ast.copy_location(ast.With(**fields), node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.For:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        return ast.copy_location(ast.For(**fields), node)


class _Rename(ast.NodeTransformer):
    """Spell the sync module's names as the async module does (``RENAMES``)."""

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = RENAMES.get(node.id, node.id)
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.ImportFrom:
        node.module = RENAMES.get(node.module or "", node.module)
        for alias in node.names:
            alias.name = RENAMES.get(alias.name, alias.name)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.name = RENAMES.get(node.name, node.name)
        node.bases = [self.visit(base) for base in node.bases]
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        return node  # the body is compared method by method, not renamed

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if isinstance(node.value, str) and node.value in RENAMES:  # __all__
            node.value = RENAMES[node.value]
        return node


def _docstring_node(body: list[ast.stmt]) -> ast.Constant | None:
    first = body[0] if body else None
    value = first.value if isinstance(first, ast.Expr) else None
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value
    return None


def _dump(node: ast.AST) -> str:
    return ast.dump(node, include_attributes=False, indent=1)


def _dump_all(nodes: list[ast.expr] | list[ast.keyword]) -> list[str]:
    return [_dump(node) for node in nodes]


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    found = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    assert len(found) == 1, f"one class {name} at the top of its module"
    return found[0]


Method = ast.FunctionDef | ast.AsyncFunctionDef


def _methods(cls: ast.ClassDef) -> dict[str, Method]:
    return {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


_STORE_ENTRY = re.compile(r"^( +)store: .*?(?=^\1\w+: )", re.MULTILINE | re.DOTALL)


def _without_store_entry(docstring: str) -> str:
    """A class docstring with its ``store:`` argument entry cut out."""
    return _STORE_ENTRY.sub(r"\1store: …\n", docstring, count=1)


def _expected_twin(name: str, sync: Method) -> Method:
    """The async twin of a construction method, as the sync one predicts it (desugared)."""
    twin: Method = _Rename().visit(copy.deepcopy(sync))
    if name == "__init__":
        last = twin.body[-1]
        assert _dump(last) == _dump(ast.parse(_EAGER_START).body[0]), (
            "Realm.__init__ ends by loading the keys (the sync realm starts at once)"
        )
        twin.body = twin.body[:-1]  # AsyncRealm starts at its first operation
    return twin


def _without_docstring(node: Method) -> Method:
    clone = copy.deepcopy(node)
    if _docstring_node(clone.body) is not None:
        clone.body = clone.body[1:]
    return clone


# -- the checker ----------------------------------------------------------------------------------


def _awaitable_call(node: ast.Call, coroutines: set[str]) -> bool:
    """Whether a call in AsyncRealm returns an awaitable: ``self.<async method>(…)``,
    ``self._driver.run(…)`` or ``self.store.<anything>(…)``."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return False
    target = func.value
    if _is_self(target):
        return func.attr in coroutines
    on_self = isinstance(target, ast.Attribute) and _is_self(target.value)
    if on_self and isinstance(target, ast.Attribute):
        return (target.attr, func.attr) == ("_driver", "run") or target.attr == "store"
    return False


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _await_problems(cls: ast.ClassDef) -> list[str]:
    """Stripping ``await`` hides a forgotten one: every awaitable call in AsyncRealm must be
    awaited where it is made, and nothing else awaited."""
    coroutines = {n.name for n in cls.body if isinstance(n, ast.AsyncFunctionDef)}
    awaited = {id(n.value) for n in ast.walk(cls) if isinstance(n, ast.Await)}
    problems = []
    for node in ast.walk(cls):
        if isinstance(node, ast.Await) and not (
            isinstance(node.value, ast.Call) and _awaitable_call(node.value, coroutines)
        ):
            problems.append(f"line {node.lineno}: awaits something that is not a coroutine call")
        if not isinstance(node, ast.Call) or id(node) in awaited:
            continue
        if _awaitable_call(node, coroutines):
            problems.append(f"line {node.lineno}: {ast.unparse(node)} is not awaited")
    return problems


def twin_differences(sync_source: str, aio_source: str) -> list[str]:
    """Every way the two modules differ beyond what twins may (empty: they are twins)."""
    sync_tree, aio_tree = ast.parse(sync_source), ast.parse(aio_source)
    problems: list[str] = []

    for node in ast.walk(sync_tree):
        if isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncWith, ast.AsyncFor)):
            problems.append(f"sync.py line {node.lineno}: async code in the blocking realm")

    sync_cls, aio_cls = _class(sync_tree, "Realm"), _class(aio_tree, "AsyncRealm")
    problems += [f"aio.py {p}" for p in _await_problems(aio_cls)]
    desugared = _Desugar().visit(copy.deepcopy(aio_cls))

    # The module around the class: the same statements, spelled with RENAMES; docstrings free.
    def header(tree: ast.Module, rename: bool) -> list[str]:
        statements = [s for s in tree.body if not isinstance(s, ast.ClassDef)]
        if _docstring_node(statements) is not None:
            statements = statements[1:]
        if rename:
            statements = [_Rename().visit(copy.deepcopy(s)) for s in statements]
        return [_dump(s) for s in statements]

    if header(sync_tree, rename=True) != header(aio_tree, rename=False):
        problems.append("the modules' imports or other top-level statements differ")
    if len([s for s in aio_tree.body if isinstance(s, ast.ClassDef)]) != 1:
        problems.append("aio.py defines another class")

    # The class statement and its non-method statements (the docstring first of them).
    renamed = _Rename().visit(copy.deepcopy(sync_cls))
    for part in ("bases", "keywords", "decorator_list"):
        if _dump_all(getattr(renamed, part)) != _dump_all(getattr(desugared, part)):
            problems.append(f"the classes' {part} differ")
    sync_doc, aio_doc = ast.get_docstring(sync_cls), ast.get_docstring(desugared)
    if sync_doc is None or aio_doc is None:
        problems.append("a realm class has no docstring")
    elif _without_store_entry(sync_doc) != _without_store_entry(aio_doc):
        problems.append("the class docstrings differ beyond the store argument")

    def others(cls: ast.ClassDef) -> list[str]:
        body = cls.body[1:] if _docstring_node(cls.body) is not None else cls.body
        methods = (ast.FunctionDef, ast.AsyncFunctionDef)
        return [_dump(s) for s in body if not isinstance(s, methods)]

    if others(sync_cls) != others(desugared):
        problems.append("the classes' attributes (non-method statements) differ")

    # Method by method, docstrings included.
    sync_methods, aio_methods = _methods(sync_cls), _methods(desugared)
    for name in sorted(set(sync_methods) ^ set(aio_methods)):
        where = "Realm" if name in sync_methods else "AsyncRealm"
        problems.append(f"{name} is a method of {where} only")
    shared = set(sync_methods) & set(aio_methods)
    if [n for n in sync_methods if n in shared] != [n for n in aio_methods if n in shared]:
        problems.append("the methods are not in the same order")
    for name in sorted(set(sync_methods) & set(aio_methods)):
        sync_method, aio_method = sync_methods[name], aio_methods[name]
        if name in CONSTRUCTION:
            expected = _expected_twin(name, sync_method)
            if name == "open":  # its docstring names the URLs each opener takes: checked below
                expected, aio_method = _without_docstring(expected), _without_docstring(aio_method)
            if _dump(expected) != _dump(aio_method):
                problems.append(f"{name} differs beyond what construction may")
        elif _dump(sync_method) != _dump(aio_method):
            problems.append(f"{name} differs (code or docstring)")
    return problems


# -- the twins ------------------------------------------------------------------------------------


def test_realm_and_async_realm_are_twins() -> None:
    assert twin_differences(SYNC_SOURCE, AIO_SOURCE) == []


def test_the_construction_methods_differ_exactly_as_allowed() -> None:
    sync_cls = _class(ast.parse(SYNC_SOURCE), "Realm")
    aio_cls = _Desugar().visit(_class(ast.parse(AIO_SOURCE), "AsyncRealm"))
    sync_methods, aio_methods = _methods(sync_cls), _methods(aio_cls)
    for name in CONSTRUCTION:
        # They do differ (else they would be held to the plain rule), and the prediction of the
        # async one from the sync one is what makes them equal.
        assert _dump(sync_methods[name]) != _dump(aio_methods[name])
        predicted = _expected_twin(name, sync_methods[name])
        if name == "open":
            predicted = _without_docstring(predicted)
            aio_methods[name] = _without_docstring(aio_methods[name])
        assert _dump(predicted) == _dump(aio_methods[name])
    # The sync realm starts at once, the async one at its first operation.
    assert ast.unparse(sync_methods["__init__"].body[-1]) == _EAGER_START
    assert "_start" not in ast.unparse(aio_methods["__init__"])


_URL_LITERAL = re.compile(r"``([a-z]+):[^`]*``")


def test_each_open_names_exactly_the_urls_it_takes() -> None:
    """``open``'s docstrings differ: each lists the URL schemes its opener accepts."""
    named = {
        cls: set(_URL_LITERAL.findall(inspect.getdoc(cls.open) or ""))
        for cls in (Realm, AsyncRealm)
    }
    assert named[Realm] == {"memory", "sqlite", "redis", "rediss", "unix"}
    assert named[AsyncRealm] == {"redis", "rediss", "unix"}
    examples = {
        "memory": "memory:",
        "sqlite": "sqlite:///x.db",
        "redis": "redis://h:1/0",
        "rediss": "rediss://h:1/0",
        "unix": "unix:///r.sock",
    }
    for scheme, url in examples.items():
        for cls, opener in ((Realm, open_store), (AsyncRealm, open_async_store)):
            if scheme in named[cls]:
                continue  # accepted ones are opened by tests/realm/test_persistence.py et al.
            with pytest.raises(ConfigError):
                opener(url)


def _members(cls: type) -> dict[str, object]:
    return {
        name: inspect.getattr_static(cls, name)
        for name in vars(cls)
        if not (name.startswith("__") and name.endswith("__")) or name in NOT_COROUTINES
    }


def test_the_same_public_names() -> None:
    def public(cls: type) -> set[str]:
        return {name for name in dir(cls) if not name.startswith("_")}

    assert public(Realm) == public(AsyncRealm)
    assert set(_members(Realm)) == set(_members(AsyncRealm))


def _signature(member: object) -> inspect.Signature:
    if isinstance(member, property):
        assert member.fget is not None
        return inspect.signature(member.fget)
    if isinstance(member, (classmethod, staticmethod)):
        return inspect.signature(member.__func__)
    assert callable(member)
    return inspect.signature(member)


def test_the_same_signatures() -> None:
    sync_members, aio_members = _members(Realm), _members(AsyncRealm)
    for name, member in sync_members.items():
        sync_signature, aio_signature = _signature(member), _signature(aio_members[name])
        if name == "__init__":
            store = sync_signature.parameters["store"]
            assert store.annotation == "Store"
            assert aio_signature.parameters["store"].annotation == "AsyncStore"
            sync_signature = sync_signature.replace(
                parameters=[
                    p.replace(annotation="AsyncStore") if p.name == "store" else p
                    for p in sync_signature.parameters.values()
                ]
            )
        if name == "open":
            assert (sync_signature.return_annotation, aio_signature.return_annotation) == (
                "Realm",
                "AsyncRealm",
            )
            sync_signature = sync_signature.replace(return_annotation="AsyncRealm")
        assert sync_signature == aio_signature, name
        assert type(member) is type(aio_members[name]), f"{name}: method, property or classmethod"


def test_async_realm_methods_are_coroutines_and_realm_methods_are_not() -> None:
    for name, member in _members(AsyncRealm).items():
        if isinstance(member, property):
            assert member.fget is not None
            assert not inspect.iscoroutinefunction(member.fget), name
        elif name in NOT_COROUTINES:
            function = member.__func__ if isinstance(member, classmethod) else member
            assert not inspect.iscoroutinefunction(function), name
        else:
            assert inspect.iscoroutinefunction(member), f"AsyncRealm.{name} is not async def"
    for name, member in _members(Realm).items():
        function = member.__func__ if isinstance(member, classmethod) else member
        function = function.fget if isinstance(function, property) else function
        assert not inspect.iscoroutinefunction(function), f"Realm.{name} is async"
    assert isinstance(inspect.getattr_static(AsyncRealm, "open"), classmethod)


# -- the checker sees drift (mutations of the real sources) --------------------------------------


def _mutate_class(source: str, name: str, change: Callable[[ast.ClassDef], None]) -> str:
    tree = ast.parse(source)
    change(_class(tree, name))
    return ast.unparse(ast.fix_missing_locations(tree))


def _add_method(code: str) -> Callable[[ast.ClassDef], None]:
    return lambda cls: cls.body.append(ast.parse(code).body[0])


def _edit_method(name: str, edit: Callable[[Method], None]) -> Callable[[ast.ClassDef], None]:
    return lambda cls: edit(_methods(cls)[name])


def _set_docstring(text: str) -> Callable[[Method], None]:
    def edit(method: Method) -> None:
        docstring = _docstring_node(method.body)
        assert docstring is not None
        docstring.value = text

    return edit


def _drop_await(method: Method) -> None:
    (ret,) = [s for s in method.body if isinstance(s, ast.Return)]
    assert isinstance(ret.value, ast.Await)
    ret.value = ret.value.value


def _drop_last_statement(method: Method) -> None:
    method.body = method.body[:-1]


def _swap_first_methods(cls: ast.ClassDef) -> None:
    first = next(i for i, n in enumerate(cls.body) if isinstance(n, ast.FunctionDef))
    cls.body[first], cls.body[first + 1] = cls.body[first + 1], cls.body[first]


MUTATIONS: dict[str, tuple[str, Callable[[ast.ClassDef], None], str]] = {
    "method-in-async-only": (
        "aio",
        _add_method("async def extra(self) -> int:\n    return 1"),
        "extra is a method",
    ),
    "method-in-sync-only": ("sync", _add_method("def extra(self) -> int:\n    return 1"), "extra"),
    "docstring-drift": (
        "aio",
        _edit_method("revoke_token", _set_docstring("Revoke a token.")),
        "revoke_token differs",
    ),
    "body-drift": (
        "sync",
        _edit_method("get_org", lambda m: setattr(m.body[0], "value", ast.Constant(None))),
        "get_org differs",
    ),
    "await-forgotten": ("aio", _edit_method("get_org", _drop_await), "is not awaited"),
    "async-in-sync": (
        "sync",
        _add_method("async def extra(self) -> None:\n    pass"),
        "async code in the blocking realm",
    ),
    "init-drift": (
        "aio",
        _edit_method("__init__", _drop_last_statement),
        "__init__ differs beyond what construction may",
    ),
    "class-docstring-drift": (
        "aio",
        lambda cls: setattr(cls.body[0], "value", ast.Constant("Another docstring.")),
        "class docstrings differ",
    ),
    "order": ("aio", _swap_first_methods, "not in the same order"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_checker_sees_drift(mutation: str) -> None:
    side, change, expected = MUTATIONS[mutation]
    sync_source, aio_source = SYNC_SOURCE, AIO_SOURCE
    if side == "sync":
        sync_source = _mutate_class(sync_source, "Realm", change)
    else:
        aio_source = _mutate_class(aio_source, "AsyncRealm", change)
    found = twin_differences(sync_source, aio_source)
    assert any(expected in problem for problem in found), found


def test_the_checker_accepts_reformatted_twins() -> None:
    """Layout never matters: the unparsed (reformatted) sources are twins still."""
    assert (
        twin_differences(ast.unparse(ast.parse(SYNC_SOURCE)), ast.unparse(ast.parse(AIO_SOURCE)))
        == []
    )
