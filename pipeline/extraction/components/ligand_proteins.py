"""Proteins named after their ligand: "NMDA receptor", "NO synthase", "dopamine transporter".

A receptor, enzyme or transporter named after what it binds is a gene product, and BioRED annotates
the whole name as one Gene/Protein ("inducible NO synthase", "N-methyl-D-aspartate (NMDA)
receptor"), while BC5CDR annotates the ligand inside it as a Chemical ("NO", "NMDA"). One model
cannot follow both (issue 18), and the model follows BC5CDR: it finds the ligand. This component,
after every other, keeps that Chemical and adds the protein as a second, nested Gene/Protein
mention when the words after the chemical name a protein (`PROTEIN_TAIL`):

    [isoform] <chemical>[/<partner>] [(<short form>)] [<subtype>] [<participle>] <head>

"inducible NO synthase", "sodium/iodide symporter", "N-methyl-D-aspartate (NMDA) receptor",
"adenosine A2A receptor", "calcium-sensing receptor"; the heads are `RECEPTORS` and the enzyme
classes of `ENZYMES` (kinase, synthase, dehydrogenase, ...; singular or plural). Channels are left
out: BioRED itself annotates the ion of "Ca(2+) channel" or "sodium channel" alone.

The nested mention is linked to an NCBI Gene identifier like any gene, by the pipeline's `linker`
component (`ConceptLinker.link_span`), takes the source "ligand-protein", and lives in
`doc.spans["nested"]`, which `ner._doc_mentions` and `evaluation.predict` read beside `doc.ents`
(spaCy's entities cannot overlap). Nothing is added where another entity already covers the words
after the chemical (a lexicon term "NMDA receptor" has already replaced the chemical: then there is
no chemical left).
"""

import re

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

from pipeline.extraction.components.linker import ConceptLinker
from pipeline.extraction.linking import species_of

NESTED = "nested"  # the doc.spans key of the nested mentions
SOURCE = "ligand-protein"
CHEMICAL_LABELS = {"Chemical": "Gene/Protein", "DRUG": "GENE"}  # the chemical's label -> the protein's
# Heads of protein names: receptors and transporters, and enzymes by their class ("-kinase" also
# finds "phosphokinase"). Channels are left out: BioRED annotates the ion of a channel alone.
RECEPTORS = ("receptor", "transporter", "co-transporter", "cotransporter", "symporter", "binding protein")
ENZYMES = (
    "kinase", "synthase", "synthetase", "dehydrogenase", "hydroxylase", "oxidase", "oxygenase",
    "reductase", "decarboxylase", "carboxylase", "peroxidase", "dismutase", "esterase", "lipase",
    "phosphatase", "cyclase", "transaminase", "transferase", "deacetylase", "hydrolase", "isomerase",
    "converting enzyme",
)  # fmt: skip
# Words before the chemical that name an isoform and belong to the protein's name ("inducible NO
# synthase" is iNOS, a gene of its own).
ISOFORM = re.compile(r"\b(?:inducible|neuronal|endothelial|constitutive)\s+$", re.IGNORECASE)
_HEAD = "|".join(
    [re.escape(h).replace(r"\-", "[-\\s]?").replace(r"\ ", "[-\\s]") for h in RECEPTORS]
    + [r"[a-z]*" + re.escape(h).replace(r"\ ", "[-\\s]") for h in ENZYMES]
)
# What may follow the chemical, in this order: a partner after a slash, a short form in brackets,
# a subtype, a participle, then one or more heads (+ plural "s") and an isoform number.
PROTEIN_TAIL = re.compile(
    r"(?:/[A-Za-z0-9()+]{1,12})?"  # "/iodide" (sodium/iodide symporter)
    r"(?P<short>\s*\([A-Za-z0-9\-]{1,10}\))?"  # "(NMDA)"
    r"(?:[\s-]*(?:[A-Z]{1,2}\d{0,2}[A-Za-z]?|[A-Z]\(\d{1,2}\)|\d{1,2}))?"  # "A2A", "D2", "H(3)", "5" (case as written)
    r"(?:[\s-]+[a-z]{3,}ing)?"  # "-sensing" (calcium-sensing receptor)
    rf"(?:[\s-]+(?i:{_HEAD})s?\b)+"  # "receptor"; "synthase kinase" (glycogen synthase kinase)
    r"(?:-\d{1,2}[A-Za-z]?\b)?"  # "-3" (glycogen synthase kinase-3)
)


# A name ending in a protein head is a protein, not a chemical or a disease (no BC5CDR mention ends
# so; of BioRED train's, 268 genes and 17 chemicals), unless it names a deficiency ("deficiency of
# phenylalanine hydroxylase", a disease in NCBI-disease).
PROTEIN_NAME = re.compile(rf"(?:^|[\s-])(?i:{_HEAD})s?$")
DEFICIENCY = re.compile(r"\bdeficien", re.IGNORECASE)


def names_a_protein(text: str) -> bool:
    """Whether a mention's text ends in a protein head ("5-HT1A receptor", "histone deacetylase").

    >>> names_a_protein("liver-type fatty acid binding protein"), names_a_protein("dopamine")
    (True, False)
    """
    return bool(PROTEIN_NAME.search(text)) and not DEFICIENCY.search(text)


def protein_tail(text: str, chemical_end: int) -> re.Match | None:
    """The words naming a protein after a chemical that ends at `chemical_end` in `text`, if any.

    >>> text = "inducible NO synthase"
    >>> text[: protein_tail(text, 12).end()]
    'inducible NO synthase'
    >>> protein_tail("NO donors", 2) is None
    True
    """
    return PROTEIN_TAIL.match(text, chemical_end)


def entities_and_nested(doc: Doc) -> list[Span]:
    """The document's entities and its nested mentions, by start, then end."""
    nested = doc.spans[NESTED] if NESTED in doc.spans else ()
    return sorted([*doc.ents, *nested], key=lambda span: (span.start_char, span.end_char))


class LigandProteins:
    """Adds the nested Gene/Protein mentions; see the module docstring."""

    def __init__(self, nlp: Language, name: str = "ligand_proteins"):
        self.name = name
        # The pipeline's own linker component (its lexicon's identifiers and terms included), or
        # one of its own where there is none (a pipeline built for a test).
        self.concepts = nlp.get_pipe("linker") if "linker" in nlp.pipe_names else ConceptLinker(nlp)

    def __call__(self, doc: Doc) -> Doc:
        nested = []
        species = None
        text = doc.text  # built from the tokens at each call: once per document
        ents = list(doc.ents)
        for position, ent in enumerate(ents):
            label = CHEMICAL_LABELS.get(ent.label_)
            tail = protein_tail(text, ent.end_char) if label else None
            if tail is None or self._taken(ents[position + 1 :], tail):
                continue
            span = doc.char_span(self._start(text, ents, position), tail.end(), label=label)
            if span is None:
                continue  # the head ends inside a token ("receptor-mediated" is split; "receptors1" is not)
            if species is None:
                species = species_of(text)
            span._.source = SOURCE
            self.concepts.link_span(span, species)
            nested.append(span)
        doc.spans[NESTED] = SpanGroup(doc, name=NESTED, spans=nested)
        return doc

    @staticmethod
    def _taken(following: list[Span], tail: re.Match) -> bool:
        """Whether another entity holds words of the protein's name after the chemical; the short
        form in its brackets does not count (the text defined it: "N-methyl-D-aspartate (NMDA)")."""
        short = tail.span("short")
        for ent in following:
            if ent.start_char >= tail.end():
                return False
            if not (short[0] <= ent.start_char and ent.end_char <= short[1]):
                return True
        return False

    @staticmethod
    def _start(text: str, ents: list[Span], position: int) -> int:
        """Where the protein's name starts: at the chemical, or before it at an isoform's adjective or
        at the partner chemical of a slash ("sodium/iodide symporter")."""
        start = ents[position].start_char
        previous = ents[position - 1] if position else None
        if previous is not None and previous.label_ in CHEMICAL_LABELS and previous.end_char == start - 1:
            if text[start - 1] == "/":
                return previous.start_char
        isoform = ISOFORM.search(text, max(0, start - 20), start)
        if isoform and (previous is None or previous.end_char <= isoform.start()):
            return isoform.start()
        return start


@Language.factory("ligand_proteins")
def make_ligand_proteins(nlp: Language, name: str) -> LigandProteins:
    return LigandProteins(nlp, name)
