"""End to end: `make sweep` (resumed), `make journal`, `make compare` and the offline plots
template, on one temporary repo with the tiny corpus and encoder (see test_pipeline.py).

The sweep runs a 2x2 grid in two goes: the 1x2 half first, then the whole grid, which
must queue only the missing half.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.process import make, run
from support.repo import copy_repo

from enttag.experiments.runs import ranked, runs_from_show

pytestmark = pytest.mark.slow

GRID = ["w1-h1e-3", "w1-h1e-2", "w10-h1e-3", "w10-h1e-2"]
SWEEP_ENV = {"SWEEP_HEAD_LRS": "1e-3 1e-2", "SWEEP_SET": "-S train.max_steps=4"}


def exp_revs(repo: Path) -> dict[str, str]:
    show = json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout)
    return {r.name: r.rev for r in runs_from_show(show) if r.finished}


@pytest.fixture(scope="module")
def repo(tmp_path_factory, reproduced_template) -> Path:
    return copy_repo(reproduced_template, tmp_path_factory.mktemp("experiments") / "repo")


@pytest.fixture(scope="module")
def swept(repo) -> dict:
    """The 1x2 half of the grid, then the whole 2x2; the second sweep's output."""
    make(repo, "sweep", SWEEP_WEIGHTS="1", **SWEEP_ENV)
    first = exp_revs(repo)
    out = make(repo, "sweep", SWEEP_WEIGHTS="1 10", **SWEEP_ENV)
    return {"first": first, "second": exp_revs(repo), "out": out}


def test_sweep_resumes_without_rerunning(swept):
    assert set(swept["first"]) == {"main", "w1-h1e-3", "w1-h1e-2"}
    assert set(swept["second"]) == {"main", *GRID}
    for name in ("w1-h1e-3", "w1-h1e-2"):  # same commits: not run again
        assert swept["second"][name] == swept["first"][name]
        assert f"{name}: already finished" in swept["out"]
    queued = re.findall(r"dvc exp run --queue -n (\S+)", swept["out"])
    assert queued == ["w10-h1e-3", "w10-h1e-2"]
    assert "-S train.max_steps=4" in swept["out"]
    assert "all 4 grid points finished" in swept["out"]


def table_rows(journal: str) -> list[list[str]]:
    lines = [line for line in journal.splitlines() if re.match(r"\| \d+ \|", line)]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_journal_has_every_grid_run_best_first(repo, swept):
    make(repo, "journal")
    journal = (repo / "EXPERIMENTS.md").read_text(encoding="utf-8")
    rows = table_rows(journal)
    names = [re.match(r"\[(.+?)\]", row[1]).group(1) for row in rows]
    assert sorted(names) == sorted(["main", *GRID])
    f1s = [float(row[5].split()[0]) for row in rows]
    assert f1s == sorted(f1s, reverse=True)
    assert rows[0][-1] == "best"
    paired = r"(not distinguishable from best|worse): [+-]\d\.\d{4} \[-?\d\.\d{4}, -?\d\.\d{4}\]"
    assert all(re.fullmatch(paired, row[-1]) for row in rows[1:])  # counts from each commit
    w10 = rows[names.index("w10-h1e-2")]
    assert "`train.ent_weight=10`" in w10[2] and "`train.max_steps=4`" in w10[2]
    assert rows[names.index("main")][2] == "(baseline)"
    assert re.fullmatch(r"0\.\d{4} \[0\.\d{4}, 0\.\d{4}\]", w10[5])  # CI from the exp commit
    for name in names:
        section = journal.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert "weighted avg" in section and "**Verdict:**" in section
        assert "| dev-tuned |" in section
        png = repo / "journal" / f"{name}-loss.png"
        assert f"](journal/{png.name})" in section
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (repo / "journal" / f"{name}-errors_test.jsonl").stat().st_size > 0


def test_journal_agrees_with_dvc_exp_show(repo, swept, tmp_path):
    make(repo, "journal")  # not relying on the test above having written it
    saved = tmp_path / "exp_show.json"
    saved.write_text(run(["dvc", "exp", "show", "--json"], repo).stdout)
    runs = ranked(runs_from_show(json.loads(saved.read_text())))
    committed = json.loads(run(["git", "show", f"{runs[0].rev}:metrics/test.json"], repo).stdout)
    assert runs[0].test == committed  # lean metrics: flat scalars, nothing dropped by DVC
    journal = (repo / "EXPERIMENTS.md").read_text(encoding="utf-8")
    names = [re.match(r"\[(.+?)\]", row[1]).group(1) for row in table_rows(journal)]
    f1 = {  # each run's test Ent F1 as committed in its own git commit, not via DVC
        r.name: json.loads(run(["git", "show", f"{r.rev}:metrics/test_report.json"], repo).stdout)[
            "Ent"
        ]["f1-score"]
        for r in runs
    }
    assert [r.ent_f1 for r in runs] == pytest.approx([f1[r.name] for r in runs])
    assert names == [r.name for r in runs]
    assert [f1[n] for n in names] == sorted(f1.values(), reverse=True)


def test_compare_keeps_varying_params_and_headline_metrics(repo, swept):
    out = make(repo, "compare")
    header = next(line for line in out.splitlines() if line.startswith("| Experiment"))
    header = [cell.strip() for cell in header.strip("|").split("|")]
    for column in (
        "train.ent_weight",
        "train.head_lr",
        "train.max_steps",
        "train.encoder_lr",
        "ent_precision",
        "ent_recall",
        "ent_f1",
        "verdict",
    ):
        assert column in header
    assert "ent_f1_lo" in header and "ent_f1_hi" in header
    assert "train.seed" not in header and "mcc" not in header and "Created" not in header
    assert "macro_f1" not in header  # make compare leaves it out, to fit 200 columns
    assert all(name in out for name in GRID)


class CanvasFinder(HTMLParser):
    """Counts <canvas>/<svg> elements inside the element with id ``target``."""

    def __init__(self, target: str):
        super().__init__()
        self.target, self.depth, self.drawn = target, 0, 0

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
            self.drawn += tag in ("canvas", "svg")
        elif dict(attrs).get("id") == self.target:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1


@pytest.mark.network  # make plots-template fetches vega from the npm registry
@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium not installed (Debian: apt-get install -y chromium)",
)
@pytest.mark.skipif(
    shutil.which("npm") is None,
    reason="npm not installed: make plots-template needs it to fetch vega",
)
def test_loss_plot_of_two_experiments_renders_offline(repo, swept, tmp_path):
    make(repo, "plots-template")
    assert "html_template" in (repo / ".dvc/config.local").read_text()
    run(
        ["dvc", "plots", "diff", "w1-h1e-3", "w10-h1e-2", "--targets", "Loss", "-o", "dvc_plots"],
        repo,
    )
    page = repo / "dvc_plots/index.html"
    assert "cdn.jsdelivr" not in page.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--virtual-time-budget=5000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    finder = CanvasFinder("Loss")
    finder.feed(dom)
    assert finder.drawn >= 1, "the Loss view drew nothing offline"
