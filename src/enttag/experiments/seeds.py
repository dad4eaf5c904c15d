"""Runs that differ only in ``train.seed``, pooled: how much a retrain moves the score.

A seed group is the finished runs of one baseline commit whose params differ only in
``train.seed``; it holds one run per distinct seed (the commit and an experiment with
the very same params are one run twice, counted once). A group shows its mean test Ent
F1, the min–max over its seeds and n.

Groups are compared by a hierarchical bootstrap of the mean Ent F1 difference
(:func:`~enttag.report.bootstrap.pooled_f1_diff`: seeds of each group drawn with
replacement, then the same test sentences for every run) over the per-sentence counts
each run committed; the answer is ``yes``, ``no`` or ``not distinguishable``. Between
two single runs that is the paired bootstrap, labelled :data:`SINGLE`. The verdict
against chance and ``beats_baseline`` are evaluate's, one per run; a group's says how
many of its seeds gave each answer, next to the mean and min–max of the runs' lifts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from enttag.experiments.runs import Run
from enttag.report.bootstrap import pooled_f1_diff

SEED_PARAM = "train.seed"
SINGLE = "one run each: retrain noise not measured"
N_BOOT, SEED = 1000, 0  # the bootstrap against the best (as evaluate's defaults)
STANDING = {"no": "worse", "not distinguishable": "not distinguishable from best", "yes": "better"}


def ci(interval: list[float] | None) -> str:
    return f"[{interval[0]:.4f}, {interval[1]:.4f}]" if interval else "[n/a]"


@dataclass(frozen=True)
class Group:
    """Finished runs that differ only in their training seed, one per seed."""

    name: str
    runs: tuple[Run, ...]

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def mean(self) -> float:
        return sum(r.ent_f1 for r in self.runs) / self.n

    @property
    def seeds(self) -> list[Any]:
        return [r.params.get(SEED_PARAM) for r in self.runs]

    def spread(self) -> str:
        """Mean Ent F1, its min–max over seeds and n."""
        if self.n == 1:
            return f"{self.mean:.4f} (n=1)"
        f1s = [r.ent_f1 for r in self.runs]
        return f"{self.mean:.4f} (min–max {min(f1s):.4f}–{max(f1s):.4f}, n={self.n})"


def point_name(name: str) -> str:
    """A run's name without the sweep's ``-s<seed>`` suffix."""
    return re.sub(r"-s\d+$", "", name)


def same(value: Any) -> str:
    """A param value as a group key: 4 and 4.0 (YAML int or float) are one value."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return repr(float(value)) if number else repr(value)


def seed_groups(runs: list[Run]) -> list[Group]:
    """The finished runs grouped by everything but ``train.seed``, each by seed; best mean
    Ent F1 first. Of two runs of one seed in a group, the one listed first is kept."""
    members: dict[tuple, dict[Any, Run]] = {}
    for r in runs:
        if r.finished:
            rest = tuple(sorted((k, same(v)) for k, v in r.changed.items() if k != SEED_PARAM))
            members.setdefault((r.baseline, rest), {}).setdefault(r.params.get(SEED_PARAM), r)
    groups = []
    for by_seed in members.values():
        ordered = [r for _, r in sorted(by_seed.items(), key=lambda i: str(i[0]).zfill(20))]
        names = dict.fromkeys(point_name(r.name) for r in ordered)
        groups.append(Group(" / ".join(names), tuple(ordered)))
    return sorted(groups, key=lambda g: g.mean, reverse=True)


def versus(group: Group, best: Group, n_boot: int = N_BOOT, seed: int = SEED) -> str:
    """``group`` against the best group: the pooled Ent F1 difference and what it rests on."""
    if group is best:
        return "best"
    counts = [[r.counts for r in g.runs] for g in (group, best)]
    if any(c is None for side in counts for c in side):
        return "n/a (no per-sentence counts)"
    if len({c.shape for side in counts for c in side}) > 1:
        return "n/a (other test sentences)"
    d = pooled_f1_diff(*counts, n_boot=n_boot, seed=seed)
    basis = SINGLE if group.n == best.n == 1 else f"{group.n} vs {best.n} seeds"
    return f"{STANDING[d['beats']]}: {d['ent_f1_diff']:+.4f} {ci(d['ci'])} ({basis})"


def tally(group: Group, key: str) -> str:
    """Each run's ``key`` of metrics/test.json, counted over the group's seeds."""
    counts = Counter(str(r.test.get(key, "n/a")) for r in group.runs)
    if group.n == 1:
        return f"{next(iter(counts))} (1 seed)"
    return ", ".join(f"{v} in {c}" for v, c in counts.most_common()) + f" of {group.n} seeds"


def lift_spread(group: Group) -> str:
    """The runs' paired Ent F1 lift over the baseline: mean and min–max over seeds."""
    lifts = [r.test["lift"] for r in group.runs if "lift" in r.test]
    if len(lifts) < group.n:
        return ""
    mean = sum(lifts) / len(lifts)
    if group.n == 1:
        return f", lift {mean:+.4f}"
    return f", lift mean {mean:+.4f} (min–max {min(lifts):+.4f}–{max(lifts):+.4f})"


def group_lines(groups: list[Group]) -> list[str]:
    """One line per group for the terminal: spread, standing, verdict, beats baseline."""
    width = max(len(g.name) for g in groups)
    return [
        f"  {g.name:<{width}}  {g.spread()}  {versus(g, groups[0])}; "
        f"verdict: {tally(g, 'verdict')}; beats baseline: {tally(g, 'beats_baseline')}"
        + lift_spread(g)
        for g in groups
    ]


def group_table(groups: list[Group]) -> str:
    """The groups as a Markdown table, best mean first."""
    lines = [
        "| Group | Seeds | Ent F1 mean (min–max, n) | Verdict | Beats baseline "
        "| vs best group (pooled over seeds) |",
        "|---|---|---|---|---|---|",
    ]
    for g in groups:
        seeds = ", ".join(str(s) for s in g.seeds)
        lines.append(
            f"| {g.name} | {seeds} | {g.spread()} | {tally(g, 'verdict')} "
            f"| {tally(g, 'beats_baseline')}{lift_spread(g)} | {versus(g, groups[0])} |"
        )
    return "\n".join(lines) + "\n"
