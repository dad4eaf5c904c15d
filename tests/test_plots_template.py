"""The offline plots template (rendering in Chromium: test_experiments.py)."""

from __future__ import annotations

import io
import tarfile

import pytest
from dvc_render.html import HTML
from dvc_render.vega import VegaRenderer

from enttag.cli import main
from enttag.errors import EnttagError
from enttag.experiments import plots_template
from enttag.experiments.plots_template import inline_script, min_js, template_html

SOURCES = {"vega": "var vega = 1;", "vega-lite": "var vl = '</script>';", "vega-embed": "ve();"}


def test_dvc_fills_the_template_without_its_cdn_scripts():
    page = (
        HTML(template_html(SOURCES))
        .with_scripts(VegaRenderer.SCRIPTS)
        .with_element('<div id="Loss"></div>')
        .embed()
    )
    assert '<div id="Loss"></div>' in page
    assert "cdn.jsdelivr" not in page and "{" + "scripts}" not in page
    positions = [page.index(src.replace("</script", "<\\/script")) for src in SOURCES.values()]
    assert positions == sorted(positions)  # vega, then vega-lite, then vega-embed
    assert page.count("</script>") == len(SOURCES)


def test_inline_script_refuses_a_placeholder_dvc_would_replace():
    with pytest.raises(EnttagError, match="plot_divs"):
        inline_script("vega", "x = '{plot_divs}';")


def tarball(tmp_path, members: dict[str, bytes]):
    path = tmp_path / "pkg-1.0.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_min_js_reads_the_build_file_of_an_npm_tarball(tmp_path):
    path = tarball(tmp_path, {"package/build/vega.min.js": b"ok();", "package/package.json": b"{}"})
    assert min_js(path, "vega") == "ok();"
    with pytest.raises(EnttagError, match="package/build/vega-lite.min.js"):
        min_js(path, "vega-lite")


def test_without_npm_dvc_keeps_its_default(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(plots_template.shutil, "which", lambda _: None)
    monkeypatch.setattr(plots_template, "configure_dvc", pytest.fail)
    out = tmp_path / "template.html"
    assert main(["plots-template", "-o", str(out)]) == 0
    assert not out.exists()
    assert "npm not found" in capsys.readouterr().out
