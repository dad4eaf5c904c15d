"""The documentation cannot drift from the code: params.yaml, the CLI, the README's links."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.process import subprocess_env

from enttag import cli
from enttag.docsite import hooks, reference
from enttag.params import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
# `section.key` as prose names a parameter; a further `.part` or a file suffix makes it a file
_MENTION = re.compile(
    r"(?<![\w/.-])(" + "|".join(SECTIONS) + r")\.([A-Za-z_]\w*)(?![\w-]*\.\w)(?!\w)"
)
_FILE_SUFFIXES = {"pkl", "onnx", "safetensors", "py", "json", "jsonl", "txt"}
NOT_PARAMS = {
    "data.text",  # Label Studio's task field (docs/tagging.md, docs/corpus-and-encoder.md)
    "evaluate.bootsrap",  # the misspelt key of a reliability-table row
}


def params_yaml_keys() -> set[str]:
    doc = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    return {f"{section}.{key}" for section, keys in doc.items() for key in keys}


def mentioned_params(markdown: str) -> set[str]:
    """Every ``section.key`` a Markdown text names, files and known non-keys left out."""
    found = {f"{m[1]}.{m[2]}" for m in _MENTION.finditer(markdown)}
    return {name for name in found - NOT_PARAMS if name.split(".")[1] not in _FILE_SUFFIXES}


def test_the_reference_holds_exactly_the_keys_of_params_yaml_and_the_code():
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    documented = [p.name for p in reference.read_params(text)]
    code = {f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in dataclasses.fields(cls)}
    assert len(documented) == len(set(documented))
    assert set(documented) == params_yaml_keys() == code
    page = reference.params_markdown(text)
    rows = re.findall(r"^\| `([\w.]+)` \|", page, flags=re.M)
    assert rows == documented
    assert (
        "| `train.ent_weight` | `1.0` | float, &gt; 0 | cross-entropy class weight of Ent |" in page
    )
    assert "| `prepare.max_dev` | `1000` | int or null, &gt; 0 |" in page
    assert (
        "| `data.format` | `conll` | str, one of conll, cluener, label-studio | conll (char&lt;TAB"
        in page
    )


def test_a_key_without_a_comment_or_an_unreadable_line_fails_the_reference():
    text = "train:\n  seed: 0   # seeds everything\n  epochs: 1\n"
    with pytest.raises(reference.ParamsReferenceError, match=r"params.yaml:3: train.epochs"):
        reference.read_params(text)
    with pytest.raises(reference.ParamsReferenceError, match="params.yaml:2: not a"):
        reference.read_params("train:\n- 1\n")


def test_a_key_the_code_no_longer_has_fails_the_reference():
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    text = text.replace("\ntrain:\n", "\ntrain:\n  old_knob: 3  # gone from enttag.params\n")
    with pytest.raises(reference.ParamsReferenceError, match="train.old_knob is not a key"):
        reference.params_markdown(text)


def test_every_parameter_the_readme_and_the_docs_name_exists():
    keys = params_yaml_keys()
    assert mentioned_params("set `train.ent_wieght=4`, not models/model.pkl or model.onnx") == {
        "train.ent_wieght"
    }
    for path in [ROOT / "README.md", *PAGES]:
        gone = mentioned_params(path.read_text(encoding="utf-8")) - keys
        assert not gone, f"{path.relative_to(ROOT)} names keys params.yaml no longer has: {gone}"


def test_the_generated_pages_keep_their_markers():
    assert hooks.PARAMS_MARKER in (ROOT / "docs/parameters.md").read_text(encoding="utf-8")
    assert hooks.CLI_MARKER in (ROOT / "docs/cli.md").read_text(encoding="utf-8")


def test_the_cli_reference_is_what_each_help_prints(monkeypatch, capsys):
    helps = reference.command_helps(cli.parser())
    assert set(helps) == {"enttag"} | {f"enttag {name}" for name in cli.COMMANDS}
    monkeypatch.setenv("COLUMNS", str(reference.HELP_COLUMNS))
    for command, text in helps.items():
        with pytest.raises(SystemExit):
            cli.main([*command.split()[1:], "--help"])
        assert capsys.readouterr().out == text
    page = reference.cli_markdown(cli.parser())
    assert page.count("```text") == len(helps) and "## `enttag predict`" in page


def test_links_become_site_paths():
    readme = "[a](docs/pipeline.md#the-model-file) ![p](plots/dev_scores.png) [w](https://dvc.org)"
    assert hooks.outside_files(readme, "") == {"plots/dev_scores.png"}
    assert hooks.site_links(readme, "", "index.md") == (
        "[a](pipeline.md#the-model-file) ![p](plots/dev_scores.png) [w](https://dvc.org)"
    )
    page = "![l](../benchmarks/results/low_data.png) [n](numbers.md#spans) [t](#top)"
    assert hooks.outside_files(page, "docs") == {"benchmarks/results/low_data.png"}
    assert hooks.site_links(page, "docs", "benchmarks.md") == (
        "![l](benchmarks/results/low_data.png) [n](numbers.md#spans) [t](#top)"
    )


def test_the_readme_is_a_landing_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    for page in PAGES:
        assert f"(docs/{page.name})" in readme, f"README does not link docs/{page.name}"


def test_the_headline_table_shows_the_committed_metrics():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- headline:start -->"), readme.index("<!-- headline:end -->")
    headline = readme[start:end].replace("\u2212", "-")  # the typographic minus reads as "-"
    assert "|---|" in headline
    metrics = json.loads((ROOT / "metrics/test.json").read_text(encoding="utf-8"))
    report = json.loads((ROOT / "metrics/test_report.json").read_text(encoding="utf-8"))
    shown = ["ent_precision", "ent_recall", "ent_f1", "ent_f1_lo", "ent_f1_hi", "span_f1"]
    shown += ["macro_f1", "baseline_ent_f1", "lift", "lift_lo", "lift_hi"]
    shown += ["entity_f1", "entity_f1_lo", "entity_f1_hi", "baseline_entity_f1"]
    shown += ["entity_lift", "entity_lift_lo", "entity_lift_hi"]
    values = {key: metrics[key] for key in shown}
    values |= {f"CRF {k}": report["baseline"][k] for k in ("ent_precision", "ent_recall")}
    values["CRF macro_f1"] = report["baseline"]["macro_f1"]
    for name, value in values.items():
        assert f"{value:.4f}" in headline, f"the README's headline lacks {name} {value:.4f}"
    assert f"beats_baseline: {metrics['beats_baseline']}" in headline


def test_the_site_builds_strict_and_its_pages_fetch_nothing(tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
        cwd=ROOT,
        env=subprocess_env(NO_MKDOCS_2_WARNING="1"),
        check=True,
    )
    pages = sorted(site.glob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "parameters.html", "cli.html"}
    for page in pages:
        fetched = re.findall(
            r'<(?:script|img|link)\b[^>]*\b(?:src|href)="(https?:[^"]+)"',
            page.read_text(encoding="utf-8"),
        )
        assert not fetched, f"{page.name} fetches {fetched}"
    assert (site / "plots/dev_scores.png").is_file()  # the README's picture, outside docs/
