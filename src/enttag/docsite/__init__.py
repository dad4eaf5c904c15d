"""The documentation site: its MkDocs hooks and generated reference pages."""
