"""Tagging text with a trained model: the Tagger, its backends, exports and `enttag predict`."""
