"""Docs whose entities a test sets by hand, as the model would set them (for component tests)."""

import spacy

from pipeline.extraction.components.tokenizer import customize_tokenizer


def blank_nlp():
    """A blank English pipeline with the model's tokenizer: components run on its docs."""
    return customize_tokenizer(spacy.blank("en"))


def labelled(nlp, text: str, entities: list[tuple[str, str]]):
    """A doc of `text` whose entities are the first occurrence of each (text, label)."""
    doc = nlp.make_doc(text)
    spans = []
    for mention, label in entities:
        start = text.index(mention)
        span = doc.char_span(start, start + len(mention), label=label)
        assert span is not None, mention
        spans.append(span)
    doc.ents = spans
    return doc
