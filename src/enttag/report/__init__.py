"""The evaluate stage: reports, bootstrap intervals, verdicts, spans, entities and error kinds."""
