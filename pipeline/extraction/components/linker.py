"""Concept linking: every DRUG, DISEASE and GENE entity gets an identifier when one applies.

Sets `span._.identifier` ("MESH:D007649", "NCBIGene:627") and `span._.vocabulary` ("MeSH",
"NCBI Gene") on the entities, first rule that applies:

1. a lexicon entity whose term carries an id in the lexicon file: that id;
2. an entity of a linkable class (DRUG/Chemical, DISEASE/Disease, GENE/Gene/Protein): its lexicon
   term (when the lexicon made it), else its text, looked up by `linking.Linker` with the whole
   document as context (for the gene species);
3. otherwise none.

A linked model entity's canonical form becomes the concept's name: the review lexicon's term when
the lexicon gives that identifier to a term, else the vocabulary's preferred name, so mentions of one
concept group together in the evidence table ("Ketalar", "ketamine hydrochloride" -> ketamine).
Lexicon entities keep their term. Abbreviations run after this component and copy the long form's
identifier to the short form.
"""

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.extraction.components.normaliser import surface_canonical
from pipeline.extraction.linking import Linker, default_linker, species_of, vocabulary_of

# Review classes and model labels -> the linker's types.
LINK_TYPES = {
    "DRUG": "Chemical",
    "DISEASE": "Disease",
    "GENE": "Gene/Protein",
    "Chemical": "Chemical",
    "Disease": "Disease",
    "Gene/Protein": "Gene/Protein",
}
EXTENSIONS = ("canonical", "source", "identifier", "vocabulary")


def register_extensions() -> None:
    for ext in EXTENSIONS:
        if not Span.has_extension(ext):
            Span.set_extension(ext, default="")


class ConceptLinker:
    """Sets identifier and vocabulary on entities; see the module docstring."""

    def __init__(self, nlp: Language, name: str = "linker", linker: Linker | None = None):
        self.name = name
        self._linker = linker
        self.term_ids: dict[tuple[str, str], str] = {}  # (class, lexicon term) -> id
        self.id_terms: dict[str, str] = {}  # id -> lexicon term
        register_extensions()

    @property
    def linker(self) -> Linker:
        if self._linker is None:
            self._linker = default_linker()  # loaded on first use: a few seconds, once per process
        return self._linker

    def set_lexicon_ids(self, table: dict[tuple[str, str], str]) -> None:
        """Use (class, lexicon term) -> identifier, from lexicon.identifier_table."""
        self.term_ids = dict(table)
        self.id_terms = {}
        for (_, term), identifier in table.items():  # file order: the first term names the concept
            self.id_terms.setdefault(identifier, term)

    def __call__(self, doc: Doc) -> Doc:
        species = None  # the document's species, computed at its first gene
        for ent in doc.ents:
            identifier = ""
            if ent._.source == "lexicon":
                identifier = self.term_ids.get((ent.label_, ent._.canonical), "")
            type_ = LINK_TYPES.get(ent.label_)
            if not identifier and type_ is not None:
                if type_ == "Gene/Protein" and species is None:
                    species = species_of(doc.text)
                link = None
                if ent._.source == "lexicon":
                    link = self.linker.link(type_, ent._.canonical, species=species)
                link = link or self.linker.link(type_, ent.text, species=species)
                if link is not None:
                    identifier = link.identifier
                    if ent._.source != "lexicon":
                        ent._.canonical = self.id_terms.get(identifier) or surface_canonical(link.name)
            elif identifier and ent._.source != "lexicon":
                ent._.canonical = self.id_terms.get(identifier, ent._.canonical)
            ent._.identifier = identifier
            ent._.vocabulary = vocabulary_of(identifier) if identifier else ""
        return doc

    def link_span(self, span: Span, species: str) -> None:
        """Identifier, vocabulary and canonical form of a span the pipeline adds after this
        component (a nested protein: components/ligand_proteins.py), as for a model entity."""
        link = self.linker.link(LINK_TYPES[span.label_], span.text, species=species)
        span._.identifier = link.identifier if link else ""
        span._.vocabulary = vocabulary_of(link.identifier) if link else ""
        span._.canonical = (
            self.id_terms.get(link.identifier) or surface_canonical(link.name) if link else surface_canonical(span.text)
        )


@Language.factory("linker")
def make_linker(nlp: Language, name: str) -> ConceptLinker:
    return ConceptLinker(nlp, name)
