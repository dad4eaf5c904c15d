"""The class-weight x head-learning-rate grid as DVC experiments, and a table to compare them.

``enttag sweep`` queues one experiment per grid point
(``dvc exp run --queue -n w10-h5e-3 -S ...``), runs the queue
(``dvc exp run --run-all``) and checks that every point finished. Run again after an
interruption, it queues only the points that have no finished, queued or running
experiment of that name on the current commit, so finished points are never re-run
(failed ones are queued again).

The original grid: Ent class weight 1 (no weighting), 10, 4 or 2 against O weight 1,
crossed with head learning rate 1e-3, 5e-3 or 1e-2; encoder learning rate 1e-5. Each
default can be replaced by an environment variable (what ``make sweep VAR=...`` sets):
SWEEP_WEIGHTS="1 10", SWEEP_HEAD_LRS="1e-3 1e-2", SWEEP_ENCODER_LR=1e-5,
SWEEP_SET="-S train.max_steps=5" (appended to every ``dvc exp run --queue``),
SWEEP_JOBS=1 (queue workers; more only helps with spare cores).

Repeats over seeds: ``enttag sweep --seeds 0 1 2`` (SWEEP_SEEDS="0 1 2") queues each
grid point once per ``train.seed``, named ``<point>-s<seed>``; with ``--seeds-only``
(SWEEP_SEEDS_ONLY=1) the grid is left out and the current params run once per seed,
named ``base-s<seed>``. ``enttag compare`` and ``enttag journal`` pool the runs that
differ only in the seed (:mod:`enttag.experiments.seeds`).

Spread over machines: ``enttag sweep --shard k/N`` (``make sweep SHARD=k/N``) queues
and runs only the k-th of N shares of the grid sorted by name (every N-th point from
the k-th), then ``dvc exp push <remote> <names>`` sends the finished points (git refs
to the git remote, cached outputs to the default DVC remote). ``enttag gather``
(``make gather``) then runs ``dvc exp pull <remote>``, which fetches every experiment
of the current commit, so ``enttag compare`` and ``enttag journal`` see the whole grid.
DVC's queue is single-host; the shards are how the work is spread.

``enttag compare`` runs one plain ``dvc exp show`` (:func:`compare_command`): the params
that vary across the runs (``--only-changed``), the headline test metrics (Ent
precision/recall/F1 and its interval, verdict, ``beats_baseline``, entity F1
and ``entity_beats_baseline``, and the encoder-alone keys of a fused model when
present), best Ent F1 first; then the seed groups, best mean first, each against the
best group by the hierarchical bootstrap (``worse``, ``better`` or ``not distinguishable
from best``, with the seeds it rests on), with their verdicts and ``beats_baseline``
counted over seeds.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from enttag.errors import EnttagError
from enttag.experiments.runs import (
    TEST_METRICS,
    Run,
    exp_show,
    runs_from_show,
    with_report,
)
from enttag.experiments.seeds import SEED_PARAM, group_lines, seed_groups

WEIGHTS = "1 10 4 2"
HEAD_LRS = "1e-3 5e-3 1e-2"
ENCODER_LR = "1e-5"
PENDING = ("queued", "running")
HEADLINE = (
    "ent_precision",
    "ent_recall",
    "ent_f1",
    "ent_f1_lo",
    "ent_f1_hi",
    "verdict",
    "beats_baseline",
    "entity_f1",
    "entity_beats_baseline",
    # a CRF+encoder fusion's encoder alone; columns only where metrics/test.json has them
    "encoder_ent_f1",
    "encoder_beats_baseline",
    "encoder_lift",
    "fused_minus_encoder",
)
# Columns a comparison leaves out: deps (paths: a "/") and every name without a dot, i.e.
# Created and the lean metrics other than HEADLINE (params are all "section.key").
NOT_COMPARED = r".*/|[^.]*$"


def check_number(text: str) -> None:
    """Grid values stay text (for names and -S) but must be numbers."""
    try:
        float(text)
    except ValueError:
        raise EnttagError(f"grid value {text!r} is not a number") from None


@dataclass(frozen=True)
class Point:
    """One grid point: the experiment name and its ``-S`` assignments."""

    name: str
    assignments: tuple[str, ...]


def grid(ent_weights: Sequence[str], head_lrs: Sequence[str], encoder_lr: str) -> list[Point]:
    """Every (Ent weight, head learning rate) pair, O weight 1, one encoder learning rate."""
    for value in (*ent_weights, *head_lrs, encoder_lr):
        check_number(value)
    return [
        Point(
            f"w{w}-h{h}",
            (
                f"train.ent_weight={w}",
                "train.o_weight=1",
                f"train.head_lr={h}",
                f"train.encoder_lr={encoder_lr}",
            ),
        )
        for w in ent_weights
        for h in head_lrs
    ]


def with_seeds(points: Sequence[Point], seeds: Sequence[str]) -> list[Point]:
    """Each point once per ``train.seed``, named ``<point>-s<seed>``."""
    for value in seeds:
        if not value.isdigit():
            raise EnttagError(f"seed {value!r} is not a non-negative integer")
    return [
        Point(f"{p.name}-s{s}", (*p.assignments, f"{SEED_PARAM}={s}"))
        for p in points
        for s in dict.fromkeys(seeds)
    ]


def shard(points: Sequence[Point], spec: str) -> list[Point]:
    """Share ``k/N`` of the grid: every N-th point of the name-sorted grid, from the k-th."""
    match = re.fullmatch(r"(\d+)/(\d+)", spec.strip())
    k, n = (int(match[1]), int(match[2])) if match else (0, 0)
    if not 1 <= k <= n:
        raise EnttagError(f"shard {spec!r} is not k/N with 1 <= k <= N (e.g. 1/2)")
    return sorted(points, key=lambda p: p.name)[k - 1 :: n]


def to_queue(points: Sequence[Point], runs: Sequence[Run]) -> list[Point]:
    """The points with no finished, queued or running experiment of that name."""
    taken = {r.name for r in runs if r.finished or r.state in PENDING}
    return [p for p in points if p.name not in taken]


def unfinished(points: Sequence[Point], runs: Sequence[Run]) -> list[str]:
    """Names of the points with no finished experiment."""
    done = {r.name for r in runs if r.finished}
    return [p.name for p in points if p.name not in done]


def queue_command(point: Point, extra: Sequence[str]) -> list[str]:
    """``dvc exp run --queue`` of one point, ``extra`` arguments last."""
    sets = [arg for assignment in point.assignments for arg in ("-S", assignment)]
    return ["dvc", "exp", "run", "--queue", "-n", point.name, *sets, *extra]


def compare_command(extra: Sequence[str]) -> list[str]:
    """``dvc exp show``: the params that vary, the headline test metrics, best Ent F1 first."""
    keep = rf"^(Experiment|({re.escape(TEST_METRICS)}:)?({'|'.join(HEADLINE)}))$"
    return [
        "dvc",
        "exp",
        "show",
        "--only-changed",
        "--drop",
        NOT_COMPARED,
        "--keep",
        keep,
        "--hide-workspace",
        "--sort-by",
        f"{TEST_METRICS}:ent_f1",
        "--sort-order",
        "desc",
        *extra,
    ]


def call(cmd: list[str]) -> None:
    """Run ``cmd`` with this Python's bin folder first on PATH (for DVC's queue workers)."""
    print("+", shlex.join(cmd), flush=True)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    if subprocess.run(cmd, env=env).returncode != 0:
        raise EnttagError(f"{shlex.join(cmd)} failed")


def sweep(
    points: Sequence[Point], extra: Sequence[str], jobs: int, push_to: str | None = None
) -> int:
    """Queue the missing points, run the queue, report the points that did not finish.

    With ``push_to`` (a git remote), the finished points are then sent there with
    ``dvc exp push``, their cached outputs to the default DVC remote.
    """
    runs = runs_from_show(exp_show())
    queue = to_queue(points, runs)
    for point in points:
        if point not in queue:
            print(f"{point.name}: already finished, queued or running; not queued again")
    for point in queue:
        call(queue_command(point, extra))
    call(["dvc", "exp", "run", "--run-all", "--jobs", str(jobs)])
    missing = unfinished(points, runs_from_show(exp_show()))
    finished = [p.name for p in points if p.name not in missing]
    if push_to and finished:
        call(["dvc", "exp", "push", push_to, *finished])
    if missing:
        print(
            f"not finished: {', '.join(missing)} (see dvc queue logs <name>); "
            "run the sweep again to retry the failed ones",
            file=sys.stderr,
        )
        return 1
    print(f"all {len(points)} grid points finished" + (f", pushed to {push_to}" if push_to else ""))
    return 0


def gather(remote: str) -> int:
    """Pull every experiment of the current commit from ``remote``; list what is here now."""
    call(["dvc", "exp", "pull", remote])  # HEAD's experiments by default, with their outputs
    runs = runs_from_show(exp_show())
    names = sorted(r.name for r in runs if r.finished and r.name != r.baseline)
    print(f"{len(names)} finished experiments of this commit: {', '.join(names) or '(none)'}")
    return 0


def compare(extra: Sequence[str]) -> int:
    """The table; then, unless a machine format was asked for, the runs pooled over seeds,
    each group against the best one, with its verdicts and beats_baseline over seeds."""
    call(compare_command(extra))
    if {"--json", "--csv"} & set(extra):
        return 0
    groups = seed_groups([with_report(r) for r in runs_from_show(exp_show()) if r.finished])
    if groups:
        print(
            "\nRuns that differ only in train.seed: test Ent F1 mean (min–max over seeds, n), "
            "best first;\neach against the best by a hierarchical bootstrap (seeds, then the "
            "same test sentences):"
        )
        print("\n".join(group_lines(groups)))
    return 0


HELP = (
    "queue the class-weight x head-lr grid (optionally once per seed) as DVC experiments "
    "and run them (resumable)"
)
COMPARE_HELP = (
    "dvc exp show of what varies, best Ent F1 first, then the runs pooled over seeds, each "
    "against the best; other arguments go to dvc exp show (e.g. --md)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``enttag sweep``: defaults from the SWEEP_* environment variables (``make sweep``)."""
    env = os.environ.get
    parser.add_argument("--ent-weights", nargs="+", default=env("SWEEP_WEIGHTS", WEIGHTS).split())
    parser.add_argument("--head-lrs", nargs="+", default=env("SWEEP_HEAD_LRS", HEAD_LRS).split())
    parser.add_argument("--encoder-lr", default=env("SWEEP_ENCODER_LR", ENCODER_LR))
    parser.add_argument(
        "--set",
        dest="extra",
        type=shlex.split,
        default=shlex.split(env("SWEEP_SET", "")),
        help='extra dvc exp run arguments, e.g. --set="-S train.max_steps=5"',
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        default=env("SWEEP_SEEDS", "").split(),
        help="run every point once per train.seed, named <point>-s<seed>",
    )
    parser.add_argument(
        "--seeds-only",
        action="store_true",
        default=env("SWEEP_SEEDS_ONLY", "") not in ("", "0"),
        help="no grid: the current params once per --seeds, named base-s<seed>",
    )
    parser.add_argument("--jobs", type=int, default=int(env("SWEEP_JOBS", "1")))
    parser.add_argument(
        "--shard",
        metavar="K/N",
        default=env("SWEEP_SHARD") or None,
        help="run only share K of N of the name-sorted grid, then dvc exp push it to --remote",
    )
    parser.add_argument(
        "--remote",
        default=env("SWEEP_REMOTE", "origin"),
        help="git remote a sharded sweep pushes to (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    if args.seeds_only and not args.seeds:
        raise EnttagError("--seeds-only needs --seeds (or SWEEP_SEEDS), e.g. --seeds 0 1 2")
    points = (
        [Point("base", ())]
        if args.seeds_only
        else grid(args.ent_weights, args.head_lrs, args.encoder_lr)
    )
    if args.seeds:
        points = with_seeds(points, args.seeds)
    if args.shard:
        points = shard(points, args.shard)
        print(f"shard {args.shard}: {', '.join(p.name for p in points) or '(no points)'}")
    try:
        return sweep(points, args.extra, args.jobs, args.remote if args.shard else None)
    except KeyboardInterrupt:
        print(
            "\nsweep: interrupted; started experiments go on in the background "
            "(dvc queue status). Run the sweep again to resume.",
            file=sys.stderr,
        )
        return 130


GATHER_HELP = "dvc exp pull every experiment of the current commit from a git remote"


def add_gather_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "remote", nargs="?", default="origin", help="git remote to pull from (default: %(default)s)"
    )


def run_gather(args: argparse.Namespace) -> int:
    return gather(args.remote)


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """``enttag compare`` takes no options of its own: the rest go to ``dvc exp show``."""


def run_compare(args: argparse.Namespace) -> int:
    return compare(args.extra_args)
