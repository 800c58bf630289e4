"""MkDocs hook: links from a page to files of the repository outside ``docs/``.

Pages link to ``../examples/`` or ``../benchmarks/README.md`` so that they read well on a code
host. The site holds neither file, so MkDocs would report those links as broken. This hook
checks that each such target exists in the repository (a missing one is a warning, which fails
``mkdocs build --strict``) and rewrites the link: to ``repo_url`` when mkdocs.yml sets one,
otherwise to the path as code text (`examples/`), which the reader finds in the source tree.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.repo_links")

_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>\.\./[^)\s]+)\)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs_dir = Path(config["docs_dir"]).resolve()
    root = Path(config["config_file_path"]).resolve().parent
    page_dir = posixpath.dirname(page.file.src_uri)
    repo_url = (config.get("repo_url") or "").rstrip("/")

    def rewrite(match: re.Match[str]) -> str:
        target = match.group("target")
        path = target.partition("#")[0]
        resolved = (docs_dir / page_dir / path).resolve()
        try:
            relative = resolved.relative_to(root).as_posix()
        except ValueError:
            log.warning("%s: the link %s leaves the repository", page.file.src_uri, target)
            return match.group(0)
        if resolved.is_relative_to(docs_dir):
            return match.group(0)  # inside docs/: MkDocs checks it
        if not resolved.exists():
            log.warning(
                "%s: the link %s names no file in the repository", page.file.src_uri, target
            )
            return match.group(0)
        shown = relative + ("/" if resolved.is_dir() else "")
        if repo_url:
            kind = "tree" if resolved.is_dir() else "blob"
            return f"[{match.group('text')}]({repo_url}/{kind}/HEAD/{relative})"
        text = match.group("text")
        if text.strip("`") == shown or text.strip("`") == relative:
            return f"`{shown}`"
        return f"{text} (`{shown}` in the source tree)"

    out: list[str] = []
    fenced = False
    for line in markdown.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        out.append(line if fenced else _LINK.sub(rewrite, line))
    return "".join(out)
