"""plot: PNGs of the loss curve, dev scores, the test confusion matrix and the dev PR curve,
and the entity view of test sentences (plots/errors_test.html, and as an image .svg)."""

import json
from pathlib import Path

from enttag.atomic import write_text
from enttag.experiments import plots
from enttag.experiments.entity_view import errors_page, errors_svg
from enttag.stage import run


def read_json(path: str):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def main() -> None:
    live, out = Path("dvclive/plots/metrics"), Path("plots")
    test, dev = read_json("metrics/test_report.json"), read_json("metrics/dev_report.json")
    plots.loss_curve(live, out / "loss.png")
    plots.dev_scores(live, out / "dev_scores.png", dev.get("baseline", {}).get("ent_f1"))
    plots.confusion_matrix(test["confusion"], out / "confusion_test.png", "Test confusion")
    threshold = test.get("at_dev_threshold", {}).get("threshold")
    plots.pr_curve(read_json("metrics/pr_dev.json"), threshold, out / "pr_dev.png")
    with open("metrics/view_test.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    write_text(out / "errors_test.html", errors_page(rows))
    write_text(out / "errors_test.svg", errors_svg(rows))


if __name__ == "__main__":
    run(main)
