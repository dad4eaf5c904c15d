"""The tagger network, its training loop, batched inference and the Tagger API."""
