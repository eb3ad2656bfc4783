"""Entity extraction: a spaCy pipeline built once, run over the sections of included records."""
from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Iterable, Iterator

import spacy
from spacy.language import Language

from .config import ExtractionConfig
from .errors import ConfigError
from .models import Mention, Record

log = logging.getLogger(__name__)


def load_lexicon(path: Path) -> list[dict]:
    """EntityRuler patterns from a lexicon file: one table per class, canonical term -> synonyms."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}. Fix the syntax at that line.") from None
    patterns = []
    for label, terms in data.items():
        if not isinstance(terms, dict):
            raise ConfigError(f'{path}: [{label}] must be a table of "canonical term" = [synonyms].')
        for canonical, synonyms in terms.items():
            if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
                raise ConfigError(f'{path}: [{label}] "{canonical}" must be a list of synonyms, '
                                  f'e.g. "{canonical}" = [] when it has none.')
            for text in [canonical, *synonyms]:
                patterns.append({"label": label, "pattern": text, "id": canonical})
    return patterns


def load_nlp(cfg: ExtractionConfig) -> Language:
    """A pipeline that splits sentences and matches the lexicons' terms, case-insensitively."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    patterns = [p for path in cfg.lexicons for p in load_lexicon(path)]
    ruler.add_patterns(patterns)
    log.info("entity ruler: %d patterns from %d lexicon files", len(patterns), len(cfg.lexicons))
    return nlp


def extract_mentions(nlp: Language, records: Iterable[Record], classes: Iterable[str]) -> Iterator[Mention]:
    """Mentions of the wanted classes, in record order, then section order, then offset."""
    wanted = set(classes)

    def sections() -> Iterator[tuple[str, tuple[str, str]]]:
        for record in records:
            for name, text in record.sections():
                yield text, (record.pmid, name)

    for doc, (pmid, section) in nlp.pipe(sections(), as_tuples=True, batch_size=64):
        sentence_starts = [s.start_char for s in doc.sents]
        for ent in doc.ents:
            if ent.label_ not in wanted:
                continue
            sentence = max(i for i, start in enumerate(sentence_starts) if start <= ent.start_char)
            yield Mention(pmid=pmid, section=section, sentence=sentence, start=ent.start_char,
                          end=ent.end_char, text=ent.text, label=ent.label_,
                          canonical=ent.ent_id_ or ent.text.lower(), source="lexicon")
