"""spaCy components for entity extraction, one per module. Importing this package registers them."""

from . import abbreviations, gazetteer, normaliser, tokenizer  # noqa: F401
