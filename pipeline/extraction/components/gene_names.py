"""Gene names the model calls chemicals or diseases: relabelled Gene/Protein (and the reverse).

The NER learns genes from BioRED alone, and many gene products are in the drug dictionary whose
feature it reads (`BDNF`, `IL-6`, `TNF`), so it calls a good share of them Chemical (issue 18: of
the gene mentions the model missed on BioRED dev, half were found as a Chemical or a Disease).
This component, right after the model's `ner`, relabels a Chemical or Disease entity as
Gene/Protein when both hold:

1. its text is an HGNC approved symbol, case-sensitive, with 4 or more characters or a digit
   (`BDNF`, `IL6`; written with hyphens left out, so `IL-6` is `IL6`), or an HGNC approved name
   (`interleukin-6`, `brain-derived neurotrophic factor`; compared in `linking.name_key` form),
   or it ends in a protein head (`5-HT2A receptor`, `histone deacetylase`, `liver-type fatty acid
   binding protein`: `ligand_proteins.names_a_protein`; no BC5CDR or NCBI-disease mention ends so,
   except diseases naming a deficiency, which are left alone);
2. the train splits of the corpora never annotate that text (in `name_key` form) as that type: a
   name the curators call a chemical (`insulin`, `angiotensin II`) or a disease stays one.

A symbol the train splits do annotate as that type is still a gene where the words after it say so
(`GENE_CONTEXT`: "MEN1 gene", "RB1 mutations"), as the corpora annotate it. Six approved symbols
are such names today: CAMP, CCL4, HCCS, MEN1, OCRL and RB1 (symbols are case-sensitive, so "cAMP"
and "CCl4" are never among them).

The reverse: a Gene/Protein entity whose text the train splits annotate as a chemical and never as
a gene becomes a Chemical (`N-methyl-D-aspartate`, which the model calls a gene from the receptor
BioRED names after it; `5-HIAA`; `mycophenolate mofetil`). In the dev splits, 4,352 of the 4,368
gold mentions of such names are chemicals, 10 are BioRED genes (`antithrombin`, `bradykinin`) and
6 diseases.

Three-letter symbols without a digit (`ACE`, `CAT`, `MAX`, `PAH`) are too often a chemical or an
abbreviation of something else, and are never relabelled. Only whole entities are compared: no
fuzzy match, no aliases or previous symbols (many are common abbreviations: `PCP`, `MDMA`).

Data (committed, see vocabularies/PROVENANCE.md): `hgnc_approved.tsv.gz` (approved symbols as HGNC
writes them, approved names) and `corpus_train.tsv.gz` (what the train splits annotate as each
type). Run in `load_ner` (what `eval-ner` scores) and in every extraction run, before the lexicon,
the normaliser and the linker, which then link the entity as a gene.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.errors import ConfigError
from pipeline.extraction.components.ligand_proteins import names_a_protein
from pipeline.extraction.linking import VOCABULARY_DIR, name_key, read_tsv

GENE = "Gene/Protein"
RELABELLED = ("Chemical", "Disease")  # the model's labels this component may change
MIN_SYMBOL_LENGTH = 4  # shorter symbols only when they hold a digit ("IL6", "C3")
# Words after a symbol that make it the gene ("MEN1 mutations", "RB1 gene"): BioRED's train split
# annotates an HGNC symbol followed by one as a gene 246 times out of 246, NCBI-disease never as a
# disease ("OCRL carrier" is one, so "carrier" is not here).
GENE_CONTEXT = re.compile(
    r"[\s-]*(?:genes?|mutations?|mutant|mutated|variants?|polymorphisms?|expression|proteins?|mRNAs?|alleles?"
    r"|knockout|deficient|deficiency|null|promoter|locus|transcripts?|germline)\b",
    re.IGNORECASE,
)
TABLES = ("hgnc_approved.tsv.gz", "corpus_train.tsv.gz")


def symbol_allowed(symbol: str) -> bool:
    """Whether an approved symbol is distinctive enough to relabel: 4+ characters, or a digit."""
    return len(symbol) >= MIN_SYMBOL_LENGTH or any(c.isdigit() for c in symbol)


@dataclass(frozen=True)
class GeneVocabulary:
    """The names `GeneNames` relabels, and the names the train splits annotate per type."""

    symbols: frozenset[str]  # approved symbols as HGNC writes them (only those `symbol_allowed`)
    names: frozenset[str]  # approved names, in name_key form
    annotated: dict[str, frozenset[str]]  # "Chemical"/"Disease"/GENE -> name keys the train splits give that type

    def relabels(self, text: str, label: str, after: str = "") -> bool:
        """Whether an entity `text` the model labelled `label`, followed in the document by `after`,
        is a gene by the rules above."""
        if label not in RELABELLED:
            return False
        key = name_key(text)
        text = text.strip()
        symbol = text in self.symbols or text.replace("-", "") in self.symbols
        if not key or key in self.annotated.get(label, frozenset()):
            return symbol and bool(GENE_CONTEXT.match(after))
        return symbol or key in self.names or names_a_protein(text)

    def is_chemical(self, text: str, label: str) -> bool:
        """Whether an entity the model labelled a gene is named as only a chemical in the train splits."""
        key = name_key(text)
        return label == GENE and key in self.annotated["Chemical"] and key not in self.annotated[GENE]


def load_gene_vocabulary(folder: Path = VOCABULARY_DIR) -> GeneVocabulary:
    """Read hgnc_approved.tsv.gz and corpus_train.tsv.gz from `folder`. Raises ConfigError when one
    is missing."""
    for table in TABLES:
        if not (folder / table).is_file():
            raise ConfigError(
                f"{folder / table}: vocabulary table not found. Rebuild the vocabularies with `make vocabularies`."
            )
    symbols, names = set(), set()
    for kind, name, *_ in read_tsv(folder / "hgnc_approved.tsv.gz"):
        if kind == "symbol" and symbol_allowed(name):
            symbols.add(name)
        elif kind == "name":
            names.add(name)
    annotated: dict[str, set[str]] = {label: set() for label in (*RELABELLED, GENE)}
    for type_, name, *_ in read_tsv(folder / "corpus_train.tsv.gz"):
        if type_ in annotated:
            annotated[type_].add(name)
    return GeneVocabulary(
        frozenset(symbols), frozenset(names), {label: frozenset(keys) for label, keys in annotated.items()}
    )


@lru_cache(maxsize=1)
def default_gene_vocabulary() -> GeneVocabulary:
    """The tables of the shipped vocabularies, read once per process."""
    return load_gene_vocabulary()


class GeneNames:
    """Relabels Chemical/Disease entities that are HGNC gene names, and gene entities only ever
    annotated as chemicals; see the module docstring."""

    def __init__(self, nlp: Language, name: str = "gene_names", vocabulary: GeneVocabulary | None = None):
        self.name = name
        self._vocabulary = vocabulary

    @property
    def vocabulary(self) -> GeneVocabulary:
        if self._vocabulary is None:
            self._vocabulary = default_gene_vocabulary()
        return self._vocabulary

    def __call__(self, doc: Doc) -> Doc:
        vocabulary = self.vocabulary
        text = doc.text
        ents, changed = [], False
        for ent in doc.ents:
            if vocabulary.relabels(ent.text, ent.label_, text[ent.end_char : ent.end_char + 20]):
                ent = Span(doc, ent.start, ent.end, label=GENE)
                changed = True
            elif vocabulary.is_chemical(ent.text, ent.label_):
                ent = Span(doc, ent.start, ent.end, label="Chemical")
                changed = True
            ents.append(ent)
        if changed:
            doc.ents = ents
        return doc


@Language.factory("gene_names")
def make_gene_names(nlp: Language, name: str) -> GeneNames:
    return GeneNames(nlp, name)
