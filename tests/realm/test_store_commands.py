"""Store commands are typed: each is a frozen dataclass whose ``run``/``run_async`` make one call
of the ``Store``/``AsyncStore`` protocol, so mypy refuses a misspelt method, a wrong argument,
or a flow that takes a command's result for another type (and slow work offloaded with
arguments its function does not take). Each command makes the same call on
both protocols, and the drivers reach the store only through the commands (no ``getattr``)."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from mypy import api as mypy_api

from baas_auth.realm import store_commands, token_commands
from baas_auth.realm.store_commands import StoreCommand
from baas_auth.stores.protocols import AsyncStore, Store

REALM = Path(__file__).resolve().parents[2] / "baas_auth" / "realm"

SNIPPET = """\
from collections.abc import Awaitable
from baas_auth.realm.store_commands import Flow, Get, StoreCommand, ask, get_tokn, offload
from baas_auth.realm.token_commands import GetToken
from baas_auth.stores.protocols import AsyncStore, Store

def flow() -> Flow[int]:
    lookup = yield from ask(GetToken(42))
    raw: int = yield from ask(Get("k"))
    size = yield from offload(len, 3)
    return lookup.generation + raw + size

class Misspelt(StoreCommand[bytes | None]):
    def run(self, store: Store) -> bytes | None:
        return store.gett("k")

    def run_async(self, store: AsyncStore) -> Awaitable[bytes | None]:
        return store.get("k", 1)
"""
"""Each error on its own line: 2 a misspelt helper, 7 a wrong argument type, 8 a result taken
for another type, 9 slow work offloaded with a wrong argument, 14 a misspelt store method, 17 a
wrong number of arguments."""


def test_mypy_refuses_a_misspelt_or_mistyped_command(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    out, err, status = mypy_api.run(
        [
            str(snippet),
            "--strict",
            "--no-incremental",
            "--no-error-summary",
            "--follow-imports=silent",
        ]
    )
    errors = {int(line.split(":")[1]): line for line in out.splitlines() if ": error:" in line}
    assert sorted(errors) == [2, 7, 8, 9, 14, 17], out + err
    assert '"get_tokn"' in errors[2]
    assert '"GetToken" has incompatible type "int"; expected "str"' in errors[7]
    assert 'expression has type "bytes | None", variable has type "int"' in errors[8]
    assert '"offload" has incompatible type' in errors[9]
    assert '"Store" has no attribute "gett"' in errors[14]
    assert 'Too many arguments for "get" of "AsyncStore"' in errors[17]
    assert status == 1


SAMPLES: list[StoreCommand[object]] = [
    store_commands.Get("k"),
    store_commands.GetMany(["a", "b"]),
    store_commands.Put("k", b"v"),
    store_commands.Create("k", b"v"),
    store_commands.Delete("k"),
    store_commands.Transact(create={"a": b"1"}, put={"b": b"2"}, delete=["c"]),
    store_commands.Scan("p/"),
    store_commands.Generation(),
    token_commands.PutToken("t", "user/1", b"r", created_ms=1, expires_at_ms=None),
    token_commands.GetToken("t"),
    token_commands.TouchToken("t", 5),
    token_commands.DeleteToken("t"),
    token_commands.DeletePrincipalTokens("user/1"),
    token_commands.PurgeExpired(5),
    token_commands.GetTransient("k"),
    token_commands.SwapTransient("k", None, b"n", expires_at_ms=9),
]

Call = tuple[str, tuple[object, ...], dict[str, object]]


class _Recording:
    """Records the one call made on it; sync, or answering a coroutine (``awaited``)."""

    def __init__(self, awaited: bool) -> None:
        self.calls: list[Call] = []
        self.awaited = awaited

    def __getattr__(self, name: str) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            self.calls.append((name, args, kwargs))
            return self._answer() if self.awaited else name

        return call

    async def _answer(self) -> str:
        return self.calls[-1][0]


def test_every_store_method_has_one_command_and_a_sample() -> None:
    """``close`` aside: the realm never closes its store from a flow."""
    modules = (store_commands, token_commands)
    commands = {
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, StoreCommand) and value is not StoreCommand
    }
    assert {type(sample) for sample in SAMPLES} == commands
    exported = {name for module in modules for name in module.__all__}
    assert {c.__name__ for c in commands} <= exported
    called = set()
    for sample in SAMPLES:
        recording = _Recording(awaited=False)
        sample.run(recording)  # type: ignore[arg-type]
        called.add(recording.calls[0][0])
    protocol = {name for name, member in vars(Store).items() if not name.startswith("_")}
    assert called == {name for name in protocol if callable(getattr(Store, name))} - {"close"}
    for command in commands:
        assert dataclasses.is_dataclass(command)
        assert command.__dataclass_params__.frozen, command
        assert "__slots__" in vars(command), command


@pytest.mark.parametrize("command", SAMPLES, ids=lambda c: type(c).__name__)
def test_each_command_makes_the_same_call_on_both_protocols(command: StoreCommand[object]) -> None:
    blocking, awaited = _Recording(awaited=False), _Recording(awaited=True)
    answer = command.run(blocking)  # type: ignore[arg-type]
    pending = command.run_async(awaited)  # type: ignore[arg-type]
    assert isinstance(pending, Awaitable)
    assert asyncio.run(_wait(pending)) == blocking.calls[0][0]
    assert blocking.calls == awaited.calls
    assert len(blocking.calls) == 1
    name = blocking.calls[0][0]
    assert callable(getattr(Store, name))
    assert callable(getattr(AsyncStore, name))
    assert answer in (name, None)  # put and put_token answer nothing


async def _wait(pending: Awaitable[object]) -> object:
    return await pending


@pytest.mark.parametrize("module", ["drivers", "async_drivers"])
def test_the_drivers_never_look_a_store_method_up_by_name(module: str) -> None:
    tree = ast.parse((REALM / f"{module}.py").read_text())
    looked_up = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"getattr", "hasattr"}
    ]
    assert looked_up == [], f"baas_auth/realm/{module}.py calls getattr at lines {looked_up}"
