"""Normalisation: our class labels, a canonical form and a source for every entity.

For each entity in `doc.ents` this component

1. maps the model's labels to the review's classes (Chemical -> DRUG, Disease -> DISEASE,
   Gene/Protein -> GENE); lexicon labels are already review classes;
2. records the source: "lexicon" when the lexicon ruler made the span (it sets `ent_id_` to the
   preferred term), otherwise "model";
3. picks the canonical form, first rule that applies:
   - a lexicon match: the lexicon's preferred term;
   - a model span whose text is a lexicon term or synonym of the same class: that preferred term;
   - a DRUG found in the drug dictionary saved with the model (gazetteer_features): the generic
     name behind the synonym or brand (Ketalar -> ketamine; esketamine has its own entry and stays);
   - otherwise the text itself, lower-cased unless a word has capitals after its first character
     (gene symbols and acronyms such as BDNF, mTOR or GluN2B keep their case), whitespace collapsed.

Canonical form and source are stored as `span._.canonical` and `span._.source` on the entities.
Limits: no concept ids (no UMLS/MeSH linking offline); diseases outside the lexicon are grouped by
surface form only, so "depressive disorder" and "depressive disorders" differ unless listed.
"""

import re

from spacy.language import Language
from spacy.tokens import Doc, Span

MODEL_LABELS = {"Chemical": "DRUG", "Disease": "DISEASE", "Gene/Protein": "GENE"}


def surface_canonical(text: str) -> str:
    """The fallback canonical form: whitespace collapsed; lower-cased unless it is a symbol."""
    text = re.sub(r"\s+", " ", text).strip()
    # A capital inside a word marks a symbol (BDNF, mTOR, GluN2B); title case ("Panic Disorders") does not.
    if any(c.isupper() for word in re.split(r"[\s\-/]", text) for c in word[1:]):
        return text
    return text.lower()


class Normaliser:
    """Relabels entities to review classes and sets their canonical form and source."""

    def __init__(self, nlp: Language, name: str = "normaliser"):
        self.nlp = nlp
        self.name = name
        self.lexicon: dict[tuple[str, str], str] = {}
        # Abstracts repeat their entities; tokenising each one again for the dictionary lookup
        # cost more than the rest of this component, so results are cached per (text, label).
        self._cache: dict[tuple[str, str], str] = {}
        for ext in ("canonical", "source"):
            if not Span.has_extension(ext):
                Span.set_extension(ext, default="")

    def set_lexicon(self, table: dict[tuple[str, str], str]) -> None:
        """Use (class, lower-cased form) -> preferred term, from lexicon.lookup_table."""
        self.lexicon = dict(table)
        self._cache = {}

    def _drug_generic(self, text: str) -> str | None:
        if "gazetteer_features" not in self.nlp.pipe_names:
            return None
        return self.nlp.get_pipe("gazetteer_features").canonical(text, "CHEM")

    def canonical(self, text: str, label: str) -> str:
        """The canonical form for a model mention `text` of review class `label`."""
        cached = self._cache.get((text, label))
        if cached is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            cached = self._cache[(text, label)] = self._canonical(text, label)
        return cached

    def _canonical(self, text: str, label: str) -> str:
        key = re.sub(r"\s+", " ", text).strip().lower()
        hit = self.lexicon.get((label, key))
        if hit:
            return hit
        if label == "DRUG":
            generic = self._drug_generic(text)
            if generic:
                return generic
        return surface_canonical(text)

    def __call__(self, doc: Doc) -> Doc:
        ents = []
        for ent in doc.ents:
            label = MODEL_LABELS.get(ent.label_, ent.label_)
            new = Span(doc, ent.start, ent.end, label=label)
            if ent.ent_id_:
                new._.source = "lexicon"
                new._.canonical = ent.ent_id_
            else:
                new._.source = "model"
                new._.canonical = self.canonical(ent.text, label)
            ents.append(new)
        doc.ents = ents
        return doc


@Language.factory("normaliser")
def make_normaliser(nlp: Language, name: str) -> Normaliser:
    return Normaliser(nlp, name)
