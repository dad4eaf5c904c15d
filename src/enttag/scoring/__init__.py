"""Scores, spans, thresholds, bootstrap intervals, verdicts and the evaluate stage."""
