"""The tagger network (encoder plus a linear or CRF head), its model file, batched inference."""
