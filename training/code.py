"""Registers the custom tokenizer callback and components for `spacy train --code`."""

import pipeline.extraction.components.gazetteer  # noqa: F401
import pipeline.extraction.components.tokenizer  # noqa: F401
