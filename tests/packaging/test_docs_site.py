"""The documentation site stays whole: every page is in mkdocs.yml's nav and in README's
Documentation section, every public name has a place in the API reference, and CI keeps
building the site and the packages. (The build itself runs in .ci/run: ``mkdocs build
--strict`` checks links, anchors and docstrings.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import baas_auth

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NAV_ENTRY = re.compile(r"^\s*-\s+(?:.*?:\s+)?([\w./-]+\.md)\s*$", re.MULTILINE)
DIRECTIVE = re.compile(r"^::: ([\w.]+)\s*$", re.MULTILINE)


def _pages() -> set[str]:
    return {
        path.relative_to(DOCS).as_posix()
        for path in DOCS.rglob("*.md")
        if not path.relative_to(DOCS).parts[0].startswith(("_", "."))
    }


def _nav() -> list[str]:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:") : config.index("\n\n", config.index("\nnav:"))]
    return NAV_ENTRY.findall(nav)


def _directives() -> set[str]:
    found: set[str] = set()
    for page in (DOCS / "reference").glob("*.md"):
        found.update(DIRECTIVE.findall(page.read_text(encoding="utf-8")))
    return found


def test_every_page_is_in_the_nav_once() -> None:
    nav = _nav()
    assert sorted(nav) == sorted(set(nav)), "a page is listed twice in mkdocs.yml's nav"
    assert set(nav) == _pages()


def test_readme_lists_every_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Documentation") :]
    missing = [
        page
        for page in _pages()
        if not page.startswith("reference/") and f"(docs/{page})" not in section
    ]
    assert not missing, f"README's Documentation section does not link {missing}"
    assert "mkdocs serve" in section


def test_every_public_name_is_in_the_api_reference() -> None:
    directives = _directives()
    missing = []
    for name in baas_auth.__all__:
        if name.startswith("__"):
            continue
        module = getattr(baas_auth, name).__module__
        if f"baas_auth.{name}" not in directives and module not in directives:
            missing.append(name)
    assert not missing, f"no `::: baas_auth.NAME` in docs/reference/ for {missing}"


def test_public_modules_are_in_the_api_reference() -> None:
    modules = {
        "baas_auth.wsgi",
        "baas_auth.asgi",
        "baas_auth.errors",
        "baas_auth.stores.redis",
        "baas_auth.integrations",
        *(
            f"baas_auth.integrations.{path.stem}"
            for path in (ROOT / "baas_auth" / "integrations").glob("*.py")
            if path.stem in {"fastapi", "starlette", "flask", "django", "django_rest"}
        ),
    }
    assert modules - _directives() == set()


def test_ci_builds_the_site_and_the_packages() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert any(req.startswith("mkdocs>=") for req in extras["docs"])
    assert any(req.startswith("build>=") for req in extras["dev"])
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for step in (
        '-e ".[dev,docs]"',
        "mkdocs build --strict",
        "python -m build",
        "dist/*.whl",
        ".ci/smoke_demo.py",
        "mypy --strict baas_auth examples",
    ):
        assert step in script, f".ci/run lost its step {step!r}"
