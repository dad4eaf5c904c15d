"""plot: PNGs of the loss curve, dev scores, the test confusion matrix and the dev PR curve."""

import json
from pathlib import Path

from enttag.experiments import plots
from enttag.stage import run


def main() -> None:
    live, out = Path("dvclive/plots/metrics"), Path("plots")
    test = json.loads(Path("metrics/test_report.json").read_text(encoding="utf-8"))
    plots.loss_curve(live, out / "loss.png")
    plots.dev_scores(live, out / "dev_scores.png")
    plots.confusion_matrix(test["confusion"], out / "confusion_test.png", "Test confusion")
    threshold = test.get("at_dev_threshold", {}).get("threshold")
    points = json.loads(Path("metrics/pr_dev.json").read_text(encoding="utf-8"))
    plots.pr_curve(points, threshold, out / "pr_dev.png")


if __name__ == "__main__":
    run(main)
