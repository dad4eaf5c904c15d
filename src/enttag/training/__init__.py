"""The train stage: the loop, its checkpoints and resume, and data parallelism."""
