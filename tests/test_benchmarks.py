"""The training benchmarks run end to end on the reproduced tiny repo (not timed here)."""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from support.process import ROOT, run

pytestmark = pytest.mark.slow


def test_low_data_trains_both_systems_per_size(tiny_repo):
    script = ROOT / "benchmarks" / "low_data.py"
    run(
        [sys.executable, str(script), "--sizes", "24", "48", "--epochs", "1", "--out", "out"],
        tiny_repo,
    )
    result = json.loads((tiny_repo / "out/low_data.json").read_text())
    assert [r["train_sentences"] for r in result["rows"]] == [24, 48]
    for r in result["rows"]:
        for system in ("crf", "encoder"):
            lo, hi = r[system]["ent_f1_ci"]
            assert 0.0 <= lo <= r[system]["ent_f1"] <= hi <= 1.0
        assert r["encoder_minus_crf"]["beats"] in ("yes", "no", "not distinguishable")
    assert (tiny_repo / "out/low_data.png").stat().st_size > 0
    assert "| 48 |" in (tiny_repo / "out/low_data.md").read_text()


def test_ablation_runs_each_variant_once_and_pairs_them(tiny_repo):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "ablation.py"), "--work", "abl"]
    cmd += ["--out", "out", "--variant", "ref:", "frozen:train.freeze_layers=1"]
    run(cmd, tiny_repo)
    rows = json.loads((tiny_repo / "out/ablation.json").read_text())
    assert [r["variant"] for r in rows] == ["ref", "frozen"]
    assert rows[0]["diff_to_first"] == 0.0 and rows[0]["diff_to_first_ci"] == [0.0, 0.0]
    params = yaml.safe_load((tiny_repo / "abl/frozen/params.yaml").read_text())
    assert params["train"]["freeze_layers"] == 1
    reference = json.loads((tiny_repo / "abl/ref/metrics/test.json").read_text())
    assert rows[0]["test_ent_f1"] == reference["ent_f1"]
    again = run(cmd, tiny_repo)
    assert again.stdout.count("finished run found, not run again") == 2
