"""The evaluate stage: reports, bootstrap intervals, verdicts, spans and error kinds."""
