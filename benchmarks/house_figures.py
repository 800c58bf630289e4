"""The house in figures: how wide the package is, how long its pieces are, and how far one
request walks through it, for the working tree and (with ``--before REV``) a past revision.

    python benchmarks/house_figures.py --before 686f62b          # static figures and the walk
    python benchmarks/house_figures.py --before 686f62b --suite  # and the test suite's times

Figures: modules directly in ``baas_auth/``; modules over 300 lines; module names used for two
different things; function length (lines, median and p90); a first WSGI request with a bearer
token (Python calls inside the package, files visited, and hops from one file to another); with
``--suite``, the time to collect and to run README's test command (working tree only).
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONG_MODULE = 300

WALK = r'''
import json, sys
from pathlib import Path
from baas_auth import MemoryStore, Realm
from baas_auth.wsgi import AuthMiddleware

realm = Realm(MemoryStore())
realm.create_org("acme")
realm.create_app("acme", "shop")
realm.create_user("acme", "shop", "alice", password="correct horse battery")
token = realm.password_token("acme", "shop", "alice", "correct horse battery").access_token

def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

app = AuthMiddleware(inner, realm, application="acme/shop")
environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/users/me", "QUERY_STRING": "",
           "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
           "wsgi.url_scheme": "http", "HTTP_AUTHORIZATION": "Bearer " + token}
package = str(Path(sys.modules["baas_auth"].__file__).parent)
calls, files, hops, last = 0, set(), 0, None

def profile(frame, event, arg):
    global calls, hops, last
    if event != "call" or not frame.f_code.co_filename.startswith(package):
        return
    calls += 1
    name = frame.f_code.co_filename
    files.add(name)
    if last is not None and name != last:
        hops += 1
    last = name

def walk():
    global calls, files, hops, last
    calls, files, hops, last = 0, set(), 0, None
    status = []
    sys.setprofile(profile)
    b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    sys.setprofile(None)
    return {"calls": calls, "files": len(files), "hops": hops, "status": status[0]}

first = walk()
again = walk()
print(json.dumps({**first, "calls, the same request again": again["calls"],
                  "files, the same request again": again["files"]}))
'''
"""Run in a child process against one tree: the public API only, so it runs on any revision."""


def modules(tree: Path) -> list[Path]:
    return sorted(p for p in (tree / "baas_auth").rglob("*.py"))


def function_lengths(paths: list[Path]) -> list[int]:
    lengths = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lengths.append((node.end_lineno or node.lineno) - node.lineno + 1)
    return lengths


def reused_names(tree: Path, paths: list[Path]) -> list[str]:
    stems = Counter(p.stem for p in paths if p.stem != "__init__")
    return sorted(stem for stem, count in stems.items() if count > 1)


def static_figures(tree: Path) -> dict[str, object]:
    paths = modules(tree)
    long = [p for p in paths if len(p.read_text().splitlines()) > LONG_MODULE]
    lengths = function_lengths(paths)
    return {
        "modules": len(paths),
        "top-level modules": len(list((tree / "baas_auth").glob("*.py"))),
        f"modules over {LONG_MODULE} lines": len(long),
        "module names used twice": len(reused_names(tree, paths)),
        "function lines, median": statistics.median(lengths),
        "function lines, p90": statistics.quantiles(lengths, n=10)[-1],
        "lines": sum(len(p.read_text().splitlines()) for p in paths),
    }


def request_walk(tree: Path) -> dict[str, object]:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(  # run in the tree: "-c" puts the working folder first on sys.path
        [sys.executable, "-c", WALK], capture_output=True, text=True, env=env, check=True, cwd=tree
    )
    walk: dict[str, object] = json.loads(out.stdout)
    return {f"first bearer request, {key}": value for key, value in walk.items()}


def suite_times(tree: Path) -> dict[str, object]:
    began = time.perf_counter()
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    subprocess.run([*run, "--co"], cwd=tree, capture_output=True, check=True)
    collected = time.perf_counter() - began
    began = time.perf_counter()
    done = subprocess.run(run, cwd=tree, capture_output=True, text=True)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "?"
    return {
        "suite collection, s": round(collected, 1),
        "suite run, s": round(time.perf_counter() - began, 1),
        "suite result": summary,
    }


def checkout(revision: str, into: Path) -> Path:
    """The package of ``revision``, unpacked into ``into`` (nothing else of it is needed)."""
    archive = subprocess.run(
        ["git", "archive", revision, "baas_auth"], cwd=ROOT, capture_output=True, check=True
    )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def figures(tree: Path, with_suite: bool) -> dict[str, object]:
    found = {**static_figures(tree), **request_walk(tree)}
    if with_suite:
        found.update(suite_times(tree))
    return found


def print_details(tree: Path, title: str) -> None:
    paths = modules(tree)
    long = {p.relative_to(tree / "baas_auth"): len(p.read_text().splitlines()) for p in paths}
    over = sorted((lines, str(name)) for name, lines in long.items() if lines > LONG_MODULE)
    listed = ", ".join(f"{name} ({lines})" for lines, name in over[::-1])
    print(f"\n{title}: over {LONG_MODULE} lines: {listed}")
    print(f"{title}: names used twice: " + (", ".join(reused_names(tree, paths)) or "none"))


def print_table(columns: dict[str, dict[str, object]]) -> None:
    names = list(next(iter(columns.values())))
    for extra in columns.values():
        names += [name for name in extra if name not in names]
    width = max(len(name) for name in names)
    print(f"{'':{width}}  " + "  ".join(f"{title:>14}" for title in columns))
    for name in names:
        cells = [str(column.get(name, "-")) for column in columns.values()]
        print(f"{name:{width}}  " + "  ".join(f"{cell:>14}" for cell in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", metavar="REV", help="a git revision to compare with")
    parser.add_argument("--suite", action="store_true", help="also time the test suite (slow)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    columns: dict[str, dict[str, object]] = {}
    trees: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as scratch:
        if args.before:
            trees[f"before {args.before}"] = checkout(args.before, Path(scratch))
        trees["now"] = ROOT
        for title, tree in trees.items():
            columns[title] = figures(tree, args.suite and tree == ROOT)
        if args.json:
            print(json.dumps(columns, indent=2))
            return
        print_table(columns)
        for title, tree in trees.items():
            print_details(tree, title)


if __name__ == "__main__":
    main()
