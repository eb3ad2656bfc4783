"""Entity extraction: the shipped biomedical NER, review lexicons, abbreviations, normalisation.

`load_nlp` builds the spaCy pipeline once; `extract_mentions` streams Records through it and yields
Mentions with offsets into each section's clean text.

The pipeline, in order (see pipeline/nlp/ for each component's algorithm and limits):

    gazetteer_features -> tok2vec -> ner      the trained model (package data: pipeline/extraction/model/ner-biomed)
    gene_names                                a Chemical/Disease that is an HGNC gene name becomes Gene/Protein
    sentencizer                               rule-based sentence boundaries
    lexicon_ruler                             spaCy EntityRuler with the review's lexicon terms
    normaliser                                review classes, canonical form, source
    linker                                    MeSH / NCBI Gene identifiers (linking.py, vocabularies/)
    abbreviations                             Schwartz–Hearst short forms take their long form's entity
    junk_filter                               drops letterless, registry-number, fragment, stop-word spans
    doc_cleaner                               drops doc.tensor (memory, cheaper transfer between processes)

Overlap rule: where a lexicon match overlaps a model entity, the lexicon match is kept and the
model entity dropped (the lexicon is the reviewers' curated decision for this review); among
overlapping lexicon matches the longest is kept. A defined abbreviation then replaces whatever
entity overlaps its occurrences, unless a longer lexicon entity covers the occurrence. Each
record's title and abstract sections are processed as one Doc, so an abbreviation defined in the
background section also applies in the results.
"""

from __future__ import annotations

import bisect
import logging
import multiprocessing
import signal
from pathlib import Path
from typing import Callable, Iterable, Iterator

import spacy
from spacy.language import Language

from pipeline.config import ExtractionConfig
from pipeline.errors import ConfigError
from pipeline.models import Mention, Record, SetAside
from pipeline.extraction.components import (  # noqa: F401  (register the factories)
    abbreviations,
    gazetteer,
    gene_names,
    junk,
    ligand_proteins,
    linker,
    normaliser,
)
from pipeline.extraction.components.ligand_proteins import entities_and_nested
from pipeline.extraction.components.lexicon import (
    identifier_table,
    lexicon_patterns,
    load_lexicon,
    lookup_table,
    merge_lexicons,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path(__file__).resolve().parent / "model" / "ner-biomed"
SECTION_SEPARATOR = "\n\n"  # between title and abstract sections; never part of an entity


def load_model(path: Path | None = None) -> Language:
    """The trained NER alone (no lexicons): what `eval-ner` scores. Raises ConfigError if absent."""
    path = Path(path) if path is not None else DEFAULT_MODEL
    if not (path / "config.cfg").is_file():
        raise ConfigError(
            f"{path}: no trained spaCy pipeline here (config.cfg is missing). "
            "Run `make model`, or set [extraction] model to a trained pipeline folder."
        )
    log.info("loading NER model from %s", path)
    return spacy.load(path)


def load_ner(path: Path | None = None) -> Language:
    """The statistical part of the shipped pipeline: model, gene names, sentences, linking,
    abbreviations, the junk filter and the nested proteins named after a chemical.

    This is what `eval-ner` scores: it predicts the corpus types (Chemical, Disease, Gene/Protein)
    with no review lexicon, and links them to identifiers. Abbreviation propagation and the junk
    filter are part of it because they are part of every run; abbreviations make short forms agree
    with their definitions (+1 F1 on BC5CDR dev) and inherit their identifiers.
    """
    nlp = add_gene_names(load_model(path))
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("linker").linker  # noqa: B018  (load the vocabularies now)
    nlp.add_pipe("abbreviations")
    nlp.add_pipe("junk_filter")
    nlp.add_pipe("ligand_proteins")
    return nlp


def load_nlp(cfg: ExtractionConfig) -> Language:
    """Build the whole extraction pipeline once: model, sentences, lexicons, normaliser, abbreviations."""
    # Lexicons first: a typo in a reviewer's file should fail in milliseconds, not after the model loads.
    lexicon = merge_lexicons(load_lexicon(p) for p in cfg.lexicons)
    nlp = add_review_components(add_gene_names(load_model(cfg.model)), lexicon)
    # The tok2vec output (doc.tensor) is not needed once the entities are set; dropping it keeps
    # memory flat and makes docs cheaper to send back from worker processes (n_process > 1).
    nlp.add_pipe("doc_cleaner", config={"attrs": {"tensor": None}})
    return nlp


def add_gene_names(nlp: Language) -> Language:
    """The gene_names component, right after the model's `ner` (relabels gene names the model
    called Chemical or Disease; components/gene_names.py), its tables loaded now."""
    nlp.add_pipe("gene_names", after="ner" if "ner" in nlp.pipe_names else None).vocabulary  # noqa: B018
    return nlp


def add_review_components(nlp: Language, lexicon: dict) -> Language:
    """Sentences, the lexicon ruler (its spans win over the model's), normalisation, linking,
    abbreviation propagation, the junk filter and the nested proteins (`ligand_proteins`), added to
    `nlp` in the order every run uses (tests build rules-only pipelines with it)."""
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe(
        "entity_ruler", name="lexicon_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True}
    )
    patterns = lexicon_patterns(lexicon)
    if patterns:
        # The ruler matches lower-cased tokens, so its phrases need the tokenizer alone; left
        # enabled, the model before it would tag all ~2,500 of them (0.5 CPU-s of every load).
        with nlp.select_pipes(enable=[]):
            ruler.add_patterns(patterns)
    log.info("lexicon ruler: %d patterns", len(patterns))
    table, ids = lookup_table(lexicon), identifier_table(lexicon)
    nlp.add_pipe("normaliser").set_lexicon(table)
    linking = nlp.add_pipe("linker")
    linking.set_lexicon_ids(ids)
    linking.linker  # load the vocabularies now, before any worker process forks  # noqa: B018
    nlp.add_pipe("abbreviations").set_lexicon(table, ids)
    nlp.add_pipe("junk_filter")
    nlp.add_pipe("ligand_proteins")
    return nlp


def _record_texts(records: Iterable[Record]) -> Iterator[tuple[str, tuple]]:
    """(joined text, (record_id, sections, section starts)) for each record with any text."""
    for record in records:
        sections = record.sections()
        if not sections:
            continue
        starts, offset = [], 0
        for _, text in sections:
            starts.append(offset)
            offset += len(text) + len(SECTION_SEPARATOR)
        yield SECTION_SEPARATOR.join(text for _, text in sections), (record.record_id, sections, starts)


def extract_mentions(
    nlp: Language,
    records: Iterable[Record],
    classes: Iterable[str],
    batch_size: int = 32,
    n_process: int = 1,
    set_aside: Callable[[SetAside], None] | None = None,
) -> Iterator[Mention]:
    """Mentions of `classes` in `records`: record order as given, then section order, then start.

    Offsets are into the section's text (`Record.sections()`), so
    `dict(record.sections())[m.section][m.start:m.end] == m.text` for every mention. `sentence` is
    the index of the sentence within its section. Entities that would cross a section boundary
    are dropped (they cannot be expressed in section offsets).

    With n_process > 1, batches of records go to forked worker processes that each hold the
    pipeline and send back Mentions. (spaCy's own `nlp.pipe(n_process=...)` sends whole Docs back,
    and deserialising them kept the parent busy enough to cancel most of the second core.) The
    order is the same as with one process.

    No single record stops extraction: one whose text exceeds `nlp.max_length`, or that makes any
    component fail, is passed to `set_aside` as a SetAside (stage "extraction") with the
    reason, and the others are extracted as usual (default: a warning is logged).
    """
    wanted = frozenset(classes)
    set_aside = set_aside or _log_set_aside
    if n_process <= 1:
        items: Iterable = _mentions(nlp, records, wanted, batch_size)
        for item in items:
            if isinstance(item, Mention):
                yield item
            else:
                set_aside(item)
        return
    global _WORKER_NLP
    _WORKER_NLP = nlp  # inherited by the forked workers; never pickled
    try:
        with multiprocessing.get_context("fork").Pool(n_process, initializer=_quiet_worker) as pool:
            jobs = ((chunk, wanted, batch_size) for chunk in _chunks(records, batch_size))
            for found in pool.imap(_worker, jobs):
                for item in found:
                    if isinstance(item, Mention):
                        yield item
                    else:
                        set_aside(item)
    finally:
        _WORKER_NLP = None


def _log_set_aside(item: SetAside) -> None:
    log.warning("record %s set aside: %s", item.record_id, item.reason)


_WORKER_NLP: Language | None = None


def _quiet_worker() -> None:
    """Workers leave signals to the parent: Ctrl-C and SIGTERM reach the whole process group, and
    the parent stops the pool itself (Pool.terminate), so a worker must neither print a
    KeyboardInterrupt traceback nor run the parent's handlers; SIGTERM simply ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _worker(job: tuple[list[Record], frozenset, int]) -> list[Mention | SetAside]:
    chunk, wanted, batch_size = job
    return list(_mentions(_WORKER_NLP, chunk, wanted, batch_size))


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _mentions(
    nlp: Language, records: Iterable[Record], wanted: frozenset, batch_size: int
) -> Iterator[Mention | SetAside]:
    """The single-process extraction loop (also what each worker runs).

    Records go through `nlp.pipe` a batch at a time; when a batch fails, its records are run one by
    one so that only the record at fault is set aside.
    """
    for chunk in _chunks(_checked_texts(nlp, records), batch_size):
        ready = [item for item in chunk if not isinstance(item, SetAside)]
        try:
            docs = list(nlp.pipe(ready, as_tuples=True, batch_size=batch_size))
        except Exception:  # noqa: BLE001  (which record failed is found below, one by one)
            docs = []
            for text, context in ready:
                try:
                    docs.append((nlp(text), context))
                except Exception as exc:  # noqa: BLE001
                    docs.append((None, (context[0], f"entity extraction failed: {type(exc).__name__}: {exc}")))
        done = iter(docs)
        for item in chunk:
            if isinstance(item, SetAside):
                yield item
                continue
            doc, context = next(done)
            if doc is None:
                yield SetAside(context[0], context[1], "extraction")
                continue
            try:
                found = list(_doc_mentions(doc, context, wanted))
            except Exception as exc:  # noqa: BLE001  (reading the doc failed: this record only)
                yield SetAside(context[0], f"entity extraction failed: {type(exc).__name__}: {exc}", "extraction")
                continue
            yield from found


def _checked_texts(nlp: Language, records: Iterable[Record]) -> Iterator[tuple[str, tuple] | SetAside]:
    """_record_texts, with a SetAside in place of each text spaCy would refuse for its length."""
    for text, context in _record_texts(records):
        if len(text) > nlp.max_length:
            yield SetAside(
                context[0],
                f"text of {len(text):,} characters exceeds spaCy's max_length of "
                f"{nlp.max_length:,}; the record was not searched for entity mentions",
                "extraction",
            )
        else:
            yield text, context


def _doc_mentions(doc, context: tuple, wanted: frozenset) -> Iterator[Mention]:
    record_id, sections, starts = context
    sent_starts = [s.start_char for s in doc.sents]
    for ent in entities_and_nested(doc):
        if ent.label_ not in wanted:
            continue
        i = bisect.bisect_right(starts, ent.start_char) - 1
        name, text = sections[i]
        start, end = ent.start_char - starts[i], ent.end_char - starts[i]
        if end > len(text):
            continue
        # Sentences started after the section start and up to the mention; a sentence that
        # straddles the section boundary counts as the section's sentence 0.
        lo = bisect.bisect_right(sent_starts, starts[i])
        hi = bisect.bisect_right(sent_starts, ent.start_char)
        yield Mention(
            record_id=record_id,
            section=name,
            sentence=max(0, hi - lo),
            start=start,
            end=end,
            text=text[start:end],
            label=ent.label_,
            canonical=ent._.canonical or ent.text,
            source=ent._.source or "model",
            identifier=ent._.identifier,
            vocabulary=ent._.vocabulary,
        )
