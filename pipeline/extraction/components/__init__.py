"""spaCy components for entity extraction, one per module. Importing this package registers them."""

from . import abbreviations, gazetteer, gene_names, normaliser, tokenizer  # noqa: F401
