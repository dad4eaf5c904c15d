"""MkDocs hooks (``mkdocs.yml``: ``hooks:``) that assemble the site from the repository.

- The start page is ``README.md`` itself, its links to ``docs/`` pages made site-relative.
- Files outside ``docs/`` that a page or the README links to (the committed PNGs under
  ``plots/`` and ``benchmarks/results/``) are added to the site at their repository path.
- ``<!-- generated: params.yaml -->`` and ``<!-- generated: enttag --help -->`` in a page
  become the parameter and the CLI reference (:mod:`enttag.docsite.reference`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from enttag.docsite import reference

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

DOCS = "docs"
START_PAGE = "index.md"
PARAMS_MARKER = "<!-- generated: params.yaml -->"
CLI_MARKER = "<!-- generated: enttag --help -->"
_LINK = re.compile(r"(\]\()([^)\s]+)(\))")
_EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|#|/)", re.I)


def _root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).parent


def _base(src_uri: str) -> str:
    """The repository folder of the docs page ``src_uri``."""
    return posixpath.dirname(posixpath.join(DOCS, src_uri))


def _targets(markdown: str, base: str) -> list[tuple[str, str]]:
    """(link as written, repository path it points to) for each relative link of a page at
    ``base`` (``""`` for README.md, ``"docs"`` for a docs page)."""
    out = []
    for match in _LINK.finditer(markdown):
        target = match.group(2).split("#")[0]
        if target and not _EXTERNAL.match(target):
            out.append((match.group(2), posixpath.normpath(posixpath.join(base, target))))
    return out


def outside_files(markdown: str, base: str) -> set[str]:
    """Repository files outside ``docs/`` that a page at ``base`` links to."""
    return {path for _, path in _targets(markdown, base) if not path.startswith(DOCS + "/")}


def site_links(markdown: str, base: str, page_uri: str) -> str:
    """Rewrite a page's relative links from repository paths to site paths, where a file
    ``docs/X`` is at ``X`` and any other repository file at its own path."""

    def one(match: re.Match) -> str:
        written = match.group(2)
        path, _, anchor = written.partition("#")
        if not path or _EXTERNAL.match(path):
            return match.group(0)
        repo = posixpath.normpath(posixpath.join(base, path))
        site = repo.removeprefix(DOCS + "/")
        link = posixpath.relpath(site, posixpath.dirname(page_uri) or ".")
        return match.group(1) + link + ("#" + anchor if anchor else "") + match.group(3)

    return _LINK.sub(one, markdown)


def _generated(root: Path) -> dict[str, Callable[[], str]]:
    from enttag.cli import parser

    return {
        PARAMS_MARKER: lambda: reference.params_markdown(
            (root / "params.yaml").read_text(encoding="utf-8")
        ),
        CLI_MARKER: lambda: reference.cli_markdown(parser()),
    }


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add README.md as the start page and the repository files the pages link to."""
    from mkdocs.structure.files import File

    root = _root(config)
    readme = (root / "README.md").read_text(encoding="utf-8")
    files.append(File.generated(config, START_PAGE, content=readme))
    wanted = outside_files(readme, "")
    for page in files.documentation_pages():
        if page.abs_src_path:
            text = Path(page.abs_src_path).read_text(encoding="utf-8")
            wanted |= outside_files(text, _base(page.src_uri))
    for path in sorted(wanted):
        if (root / path).is_file():  # a missing one stays a broken link: --strict fails
            files.append(File.generated(config, path, abs_src_path=str(root / path)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Site-relative links; the generated references in place of their markers."""
    uri = page.file.src_uri
    markdown = site_links(markdown, "" if uri == START_PAGE else _base(uri), uri)
    for marker, make in _generated(_root(config)).items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown
