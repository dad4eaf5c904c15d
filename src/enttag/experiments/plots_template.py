"""An HTML template for ``dvc plots`` that works offline: vega, vega-lite and vega-embed inlined.

DVC's default page loads the three libraries from a CDN, so its plots stay blank
without a network. ``enttag plots-template`` fetches the libraries with
``npm pack`` into a temporary folder, inlines their ``build/*.min.js`` files into a
page holding DVC's ``{plot_divs}`` placeholder (and, deliberately, not ``{scripts}``,
where DVC would insert its CDN tags), writes it outside git and points the local DVC
config at it (``plots.html_template`` in ``.dvc/config.local``), so a clone without
npm keeps DVC's default. Without npm it says so and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from enttag.atomic import write_text
from enttag.errors import EnttagError

PACKAGES = {"vega": "vega@5", "vega-lite": "vega-lite@5", "vega-embed": "vega-embed@6"}
DEFAULT_OUT = Path("dvc_plots_template/index.html")
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {{refresh_tag}}
    <title>DVC Plot</title>
{scripts}
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def inline_script(name: str, source: str) -> str:
    """A ``<script>`` element holding ``source``; refuses code DVC or the parser would mangle."""
    for placeholder in PLACEHOLDERS:
        if placeholder in source:
            raise EnttagError(f"{name} contains {placeholder}, which DVC would replace")
    escaped = source.replace("</script", "<\\/script")
    return f"<script>/* {name} */\n{escaped}\n</script>"


def template_html(sources: dict[str, str]) -> str:
    """The page, given the minified source of each library in load order."""
    scripts = "\n".join(inline_script(name, src) for name, src in sources.items())
    return PAGE.format(scripts=scripts)


def npm_pack(specs: Sequence[str], folder: Path) -> dict[str, Path]:
    """Download the package tarballs with ``npm pack`` into ``folder``, by package name."""
    result = subprocess.run(
        ["npm", "pack", "--json", *specs], cwd=folder, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise EnttagError(f"npm pack {' '.join(specs)} failed:\n{result.stderr.strip()}")
    return {p["name"]: folder / p["filename"] for p in json.loads(result.stdout)}


def min_js(tarball: Path, name: str) -> str:
    """``package/build/<name>.min.js`` of an npm tarball."""
    member = f"package/build/{name}.min.js"
    with tarfile.open(tarball) as tar:
        try:
            return tar.extractfile(member).read().decode("utf-8")
        except KeyError:
            raise EnttagError(f"{tarball.name} has no {member}") from None


def fetch_sources() -> dict[str, str]:
    """The minified libraries, in load order, via ``npm pack`` in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="enttag-npm-") as tmp:
        tarballs = npm_pack(list(PACKAGES.values()), Path(tmp))
        return {name: min_js(tarballs[name], name) for name in PACKAGES}


def configure_dvc(template: Path) -> None:
    """Point the local DVC config at ``template`` (relative to ``.dvc``, as DVC resolves it)."""
    setting = os.path.relpath(template.resolve(), Path(".dvc").resolve())
    cmd = ["dvc", "config", "--local", "plots.html_template", setting]
    if subprocess.run(cmd).returncode != 0:
        raise EnttagError(f"{' '.join(cmd)} failed")


HELP = "write an offline HTML template for dvc plots (vega inlined from npm)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"where to write the template (default {DEFAULT_OUT})",
    )


def run(args: argparse.Namespace) -> int:
    if shutil.which("npm") is None:
        print("npm not found: DVC keeps its default plots template (vega from a CDN)")
        return 0
    write_text(args.out, template_html(fetch_sources()))
    configure_dvc(args.out)
    print(f"wrote {args.out}; dvc plots now use it (.dvc/config.local plots.html_template)")
    return 0
