"""Characters to token ids, windows over long sentences, the tokenized store, batching."""
