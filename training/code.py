"""Registers the custom tokenizer callback and components for `spacy train --code`."""
import pipeline.nlp.gazetteer  # noqa: F401
import pipeline.nlp.tokenizer  # noqa: F401
