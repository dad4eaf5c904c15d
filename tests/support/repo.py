"""A copy of the project in a temporary git repo, on the tiny corpus and encoder."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from .process import ROOT, run

PROJECT_FILES = [
    "dvc.yaml",
    "params.yaml",
    "pyproject.toml",
    "Makefile",
    "requirements.lock",
    "tools",
    ".gitignore",
    ".dvcignore",
    ".dvc/config",
    ".dvc/.gitignore",
    ".dvc/plots",
    "stages",
    "src",
]


def tiny_params(path: Path, corpus: Path, encoder: Path) -> None:
    params = yaml.safe_load(path.read_text())
    params["data"]["dir"] = str(corpus)
    params["prepare"].update(max_dev=None)
    params["model"].update(name=str(encoder), num_layers=None)
    params["tokenize"].update(max_length=32, stride=8)
    params["train"].update(
        max_steps=6, eval_every=3, log_every=1, batch_size=16, device="cpu", precision="fp32"
    )
    params["evaluate"].update(bootstrap=50, n_errors=5)
    # 6 steps teach the tiny encoder little: a fusion picks the CRF alone, and no training
    # param would move the shipped scores. tests/test_fusion.py turns it on.
    params["fuse"].update(kind="none")
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def make_repo(
    repo: Path,
    corpus: Path,
    encoder: Path,
    changes: dict[str, dict] | None = None,
    target: str = "plot",
) -> Path:
    """Copy the project into ``repo`` on the tiny inputs; commit, ``dvc repro``, commit.

    ``changes`` updates params sections after the tiny ones, e.g. ``{"tokenize": {...}}``;
    ``target`` is the last stage reproduced.
    """
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, repo / name)
    tiny_params(repo / "params.yaml", corpus, encoder)
    if changes:
        params = yaml.safe_load((repo / "params.yaml").read_text())
        for name, values in changes.items():
            params[name].update(values)
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "project"], repo)  # dvclive needs a commit to exist
    run(["dvc", "repro", target], repo)  # `plot`: every stage but `fetch` (MSRA not needed)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "baseline"], repo)
    return repo


def copy_repo(template: Path, dest: Path) -> Path:
    """A working copy of a reproduced repo (git history, DVC cache and outputs included)."""
    shutil.copytree(template, dest, symlinks=True, ignore=shutil.ignore_patterns("tmp"))
    return dest
