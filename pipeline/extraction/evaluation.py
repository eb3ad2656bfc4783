"""PubTator reading and strict-span NER scoring: pure functions, no spaCy, no printing.

PubTator is the format of BC5CDR, NCBI-disease and BioRED:

    PMID|t|title
    PMID|a|abstract
    PMID<TAB>start<TAB>end<TAB>text<TAB>type<TAB>id
    (blank line between documents)

Offsets index the document text `title + " " + abstract`. BioRED also carries relation lines
(`PMID<TAB>Association<TAB>id1<TAB>id2<TAB>Novel`); they are not mentions and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from pipeline.errors import ConfigError
from pipeline.extraction.linking import COMPOSITE_SEPARATOR, corpus_identifier, split_identifiers

# Corpus entity types -> the three types our model predicts. Types not listed (Species, CellLine,
# SequenceVariant) are dropped: the model is not trained on them and must not be scored on them.
TYPE_MAP = {
    "Chemical": "Chemical",
    "ChemicalEntity": "Chemical",
    "Disease": "Disease",
    "DiseaseOrPhenotypicFeature": "Disease",
    "SpecificDisease": "Disease",  # NCBI-disease's four disease subtypes
    "DiseaseClass": "Disease",
    "Modifier": "Disease",
    "CompositeMention": "Disease",
    "Gene": "Gene/Protein",
    "GeneOrGeneProduct": "Gene/Protein",
    "Gene/Protein": "Gene/Protein",
}
MODEL_TYPES = ("Chemical", "Disease", "Gene/Protein")


@dataclass(frozen=True)
class Entity:
    """A gold or predicted span over a document's text, with a type from MODEL_TYPES."""

    start: int
    end: int
    label: str
    text: str = ""
    # The concept ids (prefixed: "MESH:D007649", "NCBIGene:2903"): several for a composite mention,
    # none for "-1". Not part of equality: a span is one entity whatever it links to.
    identifiers: tuple[str, ...] = field(default=(), compare=False)


@dataclass
class PubTatorDoc:
    """One PubTator document: `text` is title + " " + abstract, the string offsets index."""

    pmid: str
    title: str
    abstract: str
    entities: list[Entity] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}"


def read_pubtator(path: str | Path) -> list[PubTatorDoc]:
    """Read a PubTator file into documents, mapping corpus types through TYPE_MAP.

    Mentions whose type is not in TYPE_MAP are dropped; a mention whose offsets do not point at its
    text raises ConfigError naming the file and line, since scoring against it would be meaningless.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"{path}: corpus file not found. Pass an existing PubTator file with --corpus.") from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path}: not a PubTator text file (it is not UTF-8 text). Pass a PubTator file "
            "(PMID|t|title, PMID|a|abstract, then one line per mention); unpack .gz files first."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the corpus file ({exc.strerror}).") from None
    docs: dict[str, PubTatorDoc] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if "|t|" in line[:20] or "|a|" in line[:20]:
            pmid, kind, text = line.split("|", 2)
            doc = docs.setdefault(pmid, PubTatorDoc(pmid, "", ""))
            if kind == "t":
                doc.title = text
            else:
                doc.abstract = text
            continue
        parts = line.split("\t")
        if len(parts) < 5 or not (parts[1].isdigit() and parts[2].isdigit()):
            continue  # a relation line (BioRED, BC5CDR CID) or other non-mention annotation
        label = TYPE_MAP.get(parts[4])
        if label is None:
            continue
        doc = docs.get(parts[0])
        if doc is None:
            raise ConfigError(
                f"{path}:{number}: mention for PMID {parts[0]} comes before its title line. Is this a PubTator file?"
            )
        start, end = int(parts[1]), int(parts[2])
        # Compare stripped: NCBI-disease pads a few mention texts with spaces its offsets exclude.
        if doc.text[start:end].strip() != parts[3].strip():
            raise ConfigError(
                f"{path}:{number}: offsets {start}-{end} give {doc.text[start:end]!r}, "
                f"not {parts[3]!r}. Offsets must index title + ' ' + abstract."
            )
        ids = tuple(corpus_identifier(i, label) for i in split_identifiers(parts[5])) if len(parts) > 5 else ()
        doc.entities.append(Entity(start, end, label, doc.text[start:end], tuple(i for i in ids if i)))
    if not docs:
        raise ConfigError(f"{path}: no PubTator documents found. Expected lines like 'PMID|t|title'.")
    for doc in docs.values():
        # Some corpora list the same mention twice (once per concept id); a span counts once.
        merged: dict[Entity, tuple[str, ...]] = {}
        for e in doc.entities:
            merged[e] = merged.get(e, ()) + tuple(i for i in e.identifiers if i not in merged.get(e, ()))
        doc.entities = sorted(
            (Entity(e.start, e.end, e.label, e.text, ids) for e, ids in merged.items()),
            key=lambda e: (e.start, e.end, e.label),
        )
    return list(docs.values())


@dataclass(frozen=True)
class Scores:
    """Counts and the precision, recall and F1 they give (as fractions, 0-1)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def score(
    gold: Iterable[Iterable[Entity]], predicted: Iterable[Iterable[Entity]], labels: Iterable[str] | None = None
) -> dict[str, Scores]:
    """Strict span scores: a prediction is right only with the same start, end and label.

    `gold` and `predicted` are parallel sequences (one collection of entities per document).
    Returns Scores per label plus "micro" over all labels. With `labels`, only those labels are
    scored (both sides are filtered), e.g. ("Chemical", "Disease") for BC5CDR.
    """
    keep = set(labels) if labels is not None else None
    counts: dict[str, list[int]] = {}
    for gold_doc, pred_doc in zip(gold, predicted, strict=True):
        g = {(e.start, e.end, e.label) for e in gold_doc if keep is None or e.label in keep}
        p = {(e.start, e.end, e.label) for e in pred_doc if keep is None or e.label in keep}
        for key, bucket in ((g & p, 0), (p - g, 1), (g - p, 2)):
            for _, _, label in key:
                counts.setdefault(label, [0, 0, 0])[bucket] += 1
    for label in keep or ():
        counts.setdefault(label, [0, 0, 0])
    result = {label: Scores(*counts[label]) for label in sorted(counts)}
    result["micro"] = Scores(*(sum(c[i] for c in counts.values()) for i in range(3)))
    return result


def iter_gold_spans(docs: Iterable[PubTatorDoc]) -> Iterator[list[Entity]]:
    """The gold entities of each document, in order (the `gold` argument of score)."""
    for doc in docs:
        yield doc.entities


def predict(nlp, docs: Iterable[PubTatorDoc], batch_size: int = 64) -> Iterator[list[Entity]]:
    """The entities `nlp` (a trained NER pipeline) finds in each document's text, in order.

    Labels outside MODEL_TYPES (e.g. lexicon classes) are left out: they have no corpus type.
    """
    from pipeline.extraction.components.ligand_proteins import entities_and_nested  # spaCy: only when predicting

    for doc in nlp.pipe((d.text for d in docs), batch_size=batch_size):
        yield [
            Entity(e.start_char, e.end_char, e.label_, e.text, _ids(e))
            for e in entities_and_nested(doc)
            if e.label_ in MODEL_TYPES
        ]


def _ids(ent) -> tuple[str, ...]:
    identifier = ent._.identifier if ent.has_extension("identifier") else ""
    return tuple(identifier.split(COMPOSITE_SEPARATOR)) if identifier else ()


def evaluate(nlp, docs: list[PubTatorDoc]) -> dict[str, Scores]:
    """Strict-span scores of `nlp` on `docs`, per type and micro-averaged.

    Only the types the corpus annotates are scored (BC5CDR has no genes, so a predicted gene there
    is neither right nor wrong): a type counts when at least one gold mention has it.
    """
    return evaluate_all(nlp, docs)["spans"]


def evaluate_all(nlp, docs: list[PubTatorDoc]) -> dict:
    """Span scores, concept scores and linking accuracy on the gold spans, from one pass of `nlp`.

    Returns {"spans": {type: Scores}, "concepts": {type: Scores}, "linking": {...}, "predicted":
    [[Entity]]}. Linking accuracy takes each gold mention with one identifier and the identifier
    the pipeline gave the predicted entity with exactly that span (inheritance from a defined
    abbreviation included) or, when the span was not predicted, what the linker gives its text.
    """
    from pipeline.extraction.linking import default_linker

    labels = sorted({e.label for d in docs for e in d.entities})
    predicted = list(predict(nlp, docs))
    linker = default_linker()
    by_span = [{(e.start, e.end, e.label): e for e in doc} for doc in predicted]
    index = {id(d): i for i, d in enumerate(docs)}

    def link(doc: PubTatorDoc, e: Entity) -> str | None:
        hit = by_span[index[id(doc)]].get((e.start, e.end, e.label))
        if hit is not None:
            return hit.identifiers[0] if hit.identifiers else None
        found = linker.link(e.label, e.text, doc.text)
        return found.identifier if found else None

    return {
        "spans": score(iter_gold_spans(docs), predicted, labels=labels),
        "concepts": concept_score(iter_gold_spans(docs), predicted, labels=labels),
        "linking": linking_accuracy(docs, link),
        "predicted": predicted,
    }


PUBTATOR_TYPES = {"Chemical": "Chemical", "Disease": "Disease", "Gene/Protein": "Gene"}


def pubtator_lines(docs: Iterable[PubTatorDoc], predicted: Iterable[Iterable[Entity]]) -> Iterator[str]:
    """Predicted mentions in PubTator format: `PMID<TAB>start<TAB>end<TAB>text<TAB>type<TAB>id`
    (types Chemical, Disease, Gene; id without our prefix for MeSH and NCBI Gene, as the corpora
    write them, "-1" when unlinked), each document's title and abstract lines first."""
    for doc, entities in zip(docs, predicted, strict=True):
        yield f"{doc.pmid}|t|{doc.title}"
        yield f"{doc.pmid}|a|{doc.abstract}"
        for e in entities:
            identifier = COMPOSITE_SEPARATOR.join(_unprefixed(i) for i in e.identifiers) or "-1"
            yield f"{doc.pmid}\t{e.start}\t{e.end}\t{e.text}\t{PUBTATOR_TYPES[e.label]}\t{identifier}"
        yield ""


def _unprefixed(identifier: str) -> str:
    for prefix in ("MESH:", "NCBIGene:"):
        if identifier.startswith(prefix):
            return identifier[len(prefix) :]
    return identifier


# --- normalisation (concept) scores ----------------------------------------------------------------


def concept_score(
    gold: Iterable[Iterable[Entity]], predicted: Iterable[Iterable[Entity]], labels: Iterable[str] | None = None
) -> dict[str, Scores]:
    """Document-level concept scores: precision, recall and F1 over the set of (document, type,
    identifier) pairs, the BioCreative V CDR disease-normalisation measure applied to every type.

    A composite gold mention contributes each of its identifiers; a mention the corpus marks "-1"
    (no identifier) contributes none, and a prediction without an identifier is not counted.
    """
    keep = set(labels) if labels is not None else None
    counts: dict[str, list[int]] = {}
    for gold_doc, pred_doc in zip(gold, predicted, strict=True):
        g = {(e.label, i) for e in gold_doc for i in e.identifiers if keep is None or e.label in keep}
        p = {(e.label, i) for e in pred_doc for i in e.identifiers if keep is None or e.label in keep}
        for key, bucket in ((g & p, 0), (p - g, 1), (g - p, 2)):
            for label, _ in key:
                counts.setdefault(label, [0, 0, 0])[bucket] += 1
    for label in keep or ():
        counts.setdefault(label, [0, 0, 0])
    result = {label: Scores(*counts[label]) for label in sorted(counts)}
    result["micro"] = Scores(*(sum(c[i] for c in counts.values()) for i in range(3)))
    return result


def linking_accuracy(docs: Iterable[PubTatorDoc], link) -> dict[str, dict]:
    """Linking alone, on the gold spans: per type, the share of gold mentions with one identifier
    that `link(document, entity)` maps to exactly that identifier (None counts as wrong).

    Returns {type: {"accuracy", "correct", "linked", "mentions"}} plus "micro"; `linked` counts the
    mentions that got any identifier, so linked - correct are wrong links and mentions - linked
    unlinked ones.
    """
    counts: dict[str, list[int]] = {}
    for doc in docs:
        for e in doc.entities:
            if len(e.identifiers) != 1:
                continue
            got = link(doc, e)
            c = counts.setdefault(e.label, [0, 0, 0])
            c[0] += got == e.identifiers[0]
            c[1] += got is not None
            c[2] += 1
    counts["micro"] = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {
        label: {"accuracy": round(c[0] / c[2], 4) if c[2] else 0.0, "correct": c[0], "linked": c[1], "mentions": c[2]}
        for label, c in sorted(counts.items())
    }
