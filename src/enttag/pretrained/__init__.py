"""The encoder stage: a pretrained encoder folder from the hub, a local path or the built-in e5."""
