"""Two machines sharing one project: a bare git repo as the shared git remote, a local
folder as the DVC remote, two clones of the tiny pipeline.

Machine one is a copy of the reproduced tiny repo that pushed its commit and its cached
outputs; machine two is a fresh ``git clone`` + ``dvc pull``. The round trip must re-run
nothing on machine two; a sweep sharded over both, pushed by each and gathered by one,
must show the whole grid on the gathering machine.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from support.process import make, run
from support.repo import copy_repo

from enttag.experiments.runs import runs_from_show

pytestmark = pytest.mark.slow

TEXT = "张伟在北京大学工作。"
SWEEP_ENV = {
    "SWEEP_WEIGHTS": "1 10",
    "SWEEP_HEAD_LRS": "1e-3 1e-2",
    "SWEEP_SET": "-S train.max_steps=2",
}
SHARDS = {"1/2": {"w1-h1e-2", "w10-h1e-2"}, "2/2": {"w1-h1e-3", "w10-h1e-3"}}


def finished(repo: Path) -> dict[str, dict]:
    """Name -> (rev, test metrics) of every finished experiment of HEAD (baseline left out)."""
    show = json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout)
    return {r.name: (r.rev, r.test) for r in runs_from_show(show) if r.finished and r.changed}


@pytest.fixture(scope="module")
def machines(tmp_path_factory, reproduced_template) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("machines")
    shared, storage = root / "shared.git", root / "storage"
    run(["git", "init", "-q", "--bare", "-b", "main", str(shared)], root)
    one = copy_repo(reproduced_template, root / "one")
    run(["git", "remote", "add", "origin", str(shared)], one)
    run(["dvc", "remote", "add", "-d", "storage", str(storage)], one)
    run(["git", "commit", "-qam", "DVC remote"], one)
    run(["git", "push", "-q", "origin", "main"], one)
    run(["dvc", "push"], one)
    two = root / "two"
    run(["git", "clone", "-q", str(shared), str(two)], root)
    run(["dvc", "pull", "--with-deps", "plot"], two)  # the tiny repo never ran `fetch`
    return one, two


def test_a_fresh_clone_pulls_the_outputs_reruns_nothing_and_predicts(machines):
    one, two = machines
    out = run(["dvc", "repro", "plot"], two).stdout  # every stage but `fetch`, as on one
    assert "Running stage" not in out, out
    assert "Data and pipelines are up to date." in out
    assert (two / "models/model.pkl").read_bytes() == (one / "models/model.pkl").read_bytes()
    tagged = [run(["enttag", "predict", TEXT], m).stdout for m in (one, two)]
    assert tagged[0] == tagged[1] and tagged[1].startswith(TEXT)


def test_a_sweep_sharded_over_two_machines_gathers_into_one_grid(machines):
    one, two = machines
    with ThreadPoolExecutor(2) as pool:  # both machines sweep at the same time
        jobs = {
            m: pool.submit(make, m, "sweep", f"SHARD={k}", **SWEEP_ENV)
            for m, k in zip(machines, SHARDS, strict=True)
        }
        out = {m: job.result() for m, job in jobs.items()}
    ran = {m: finished(m) for m in machines}
    for m, names in zip(machines, SHARDS.values(), strict=True):
        assert set(ran[m]) == names  # each machine ran its share only
        assert f"dvc exp push origin {' '.join(sorted(names))}" in out[m]
    assert "dvc exp run --queue -n" in out[one] and "-S train.max_steps=2" in out[one]

    gathered = make(two, "gather")
    assert "4 finished experiments of this commit" in gathered
    grid = finished(two)
    assert set(grid) == set().union(*SHARDS.values())
    for name, (rev, test) in grid.items():  # the very runs the machines made, with metrics
        assert rev == {**ran[one], **ran[two]}[name][0]
        assert 0.0 <= test["ent_f1"] <= 1.0 and test["verdict"] in {
            "learned",
            "chance",
            "collapsed",
        }
        lock = yaml.safe_load(run(["git", "show", f"{rev}:dvc.lock"], two).stdout)
        md5 = next(
            o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.pkl"
        )
        assert (two / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).is_file()  # outputs pulled too

    compare = make(two, "compare")
    assert all(name in compare for name in grid)
    make(two, "journal")
    journal = (two / "EXPERIMENTS.md").read_text(encoding="utf-8")
    for name in grid:
        assert f"| [{name}](#{name})" in journal
        assert f"\n## {name}\n" in journal
