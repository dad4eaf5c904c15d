"""Classic baselines the fine-tuned encoder is compared with."""
