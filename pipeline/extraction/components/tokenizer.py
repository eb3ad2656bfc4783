"""Biomedical tokenisation: spaCy's English rules plus splits inside chemical and gene names.

Corpus mentions often end or start inside what spaCy's English tokenizer keeps as one token:
"FK506-induced", "Ca2+/calmodulin", "(S)-ketamine/placebo", "5-HT(1A)". A span that does not
start and end on token boundaries can never be predicted, so the trained model's tokenizer splits
on hyphens, slashes, plus signs, brackets, commas, colons and semicolons wherever they occur
inside a token. The splits are serialised with the model (tokenizer file), so loading the model
needs no code from here; `customize_tokenizer` is called once, when training initialises.
"""

from __future__ import annotations

import spacy
from spacy.language import Language
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

# Characters that separate name parts inside a token. Each becomes its own token.
_SPLIT_CHARS = r"\-\u2010\u2011\u2012\u2013\u2014/+\(\)\[\]\{\},:;=<>~'\"\u00b1\u00b7\u2032\u2019*%"
EXTRA_INFIXES = (rf"[{_SPLIT_CHARS}]",)
EXTRA_PREFIXES = (rf"[{_SPLIT_CHARS}]",)
EXTRA_SUFFIXES = (rf"[{_SPLIT_CHARS}]", r"\.")


def customize_tokenizer(nlp: Language) -> Language:
    """Give `nlp` the biomedical splitting rules (in place) and return it."""
    defaults = nlp.Defaults
    nlp.tokenizer.infix_finditer = compile_infix_regex(tuple(defaults.infixes) + EXTRA_INFIXES).finditer
    nlp.tokenizer.prefix_search = compile_prefix_regex(tuple(defaults.prefixes) + EXTRA_PREFIXES).search
    nlp.tokenizer.suffix_search = compile_suffix_regex(tuple(defaults.suffixes) + EXTRA_SUFFIXES).search
    # Tokenizer exceptions such as "e.g." or "a.m." stay whole only when they need no splitting;
    # special cases containing our split characters (":)", "o_O") would undo the rules above.
    nlp.tokenizer.rules = {
        k: v for k, v in nlp.tokenizer.rules.items() if not any(c in k for c in "-/+()[]{},:;=<>~'\"*%")
    }
    return nlp


@spacy.registry.callbacks("pipeline.biomedical_tokenizer.v1")
def make_customizer():
    """The `[initialize.before_init]` callback the training config names."""
    return customize_tokenizer
