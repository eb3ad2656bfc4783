"""Deduplication: one copy per record_id, then one per DOI or normalised title + year.

Its result, and so every decision, depends only on the set of records given, never on the order
they arrive in: the same record_id keeps one copy, and among records sharing a DOI or a normalised
title + year the first in `models.record_order` is kept and every other one points to it: the
lowest PMID, and a record with a PMID before any without one; records without a PMID in the text
order of their record_id (doi:..., then europepmc:..., import:..., openalex:..., pmcid:...).
"""

from __future__ import annotations

import logging
from typing import Iterable

from pipeline.models import Decision, Record, ScreeningResult, normalise_doi, normalise_title, record_order
from pipeline.screening.rules import is_retracted

__all__ = [
    "distinct_records",
    "duplicate_id_count",
    "find_duplicates",
    "normalise_doi",
    "normalise_title",
    "title_year_key",
]

log = logging.getLogger(__name__)

# A title-year match needs at least this many words: "Erratum." or "Editorial." are not duplicates.
MIN_TITLE_WORDS = 3


def title_year_key(record: Record) -> str:
    """'normalised title|year' (year: print, else electronic), or '' when too short to compare."""
    title = normalise_title(record.title)
    year = record.pub_year if record.pub_year is not None else record.article_year
    if year is None or len(title.split()) < MIN_TITLE_WORDS:
        return ""
    return f"{title}|{year}"


def distinct_records(records: Iterable[Record]) -> dict[str, Record]:
    """One record per record_id. Copies are normally identical; when they differ, the choice depends
    on their content only (never on arrival order) and a warning names the record."""
    copies: dict[str, list[Record]] = {}
    for record in records:
        copies.setdefault(record.record_id, []).append(record)
    chosen = {}
    for record_id, versions in copies.items():
        if len(versions) > 1 and len(set(versions)) > 1:
            log.warning(
                "record %s was returned %d times with different content; keeping one deterministically",
                record_id,
                len(versions),
            )
        # repr of a whole record is costly: only for the rare id that came more than once.
        chosen[record_id] = versions[0] if len(versions) == 1 else max(versions, key=repr)
    return chosen


def find_duplicates(records: Iterable[Record]) -> tuple[list[Record], dict[str, ScreeningResult]]:
    """Unique records (in record_order) and a 'duplicate' result, keyed by record_id, for every
    other distinct record.

    Records are taken in record_order (PMIDs numerically first). A record is a duplicate of the
    first kept record whose
    group (the kept record and its duplicates) shares its DOI, or else its normalised title and
    year -- unless it and the kept record both have a DOI, since different DOIs mean different
    papers. Comparing with the kept record itself (not the DOIs its duplicates brought in) makes
    deduplication idempotent: running it on the kept records finds nothing more. Duplicates always
    point to a kept record.
    """
    by_id = distinct_records(records)
    kept: list[Record] = []
    duplicates: dict[str, ScreeningResult] = {}
    group_of: dict[tuple[str, str], str] = {}  # ("doi" | "title", key) -> kept record_id
    for record_id in sorted(by_id, key=record_order):
        record = by_id[record_id]
        doi, title_key = normalise_doi(record.doi), title_year_key(record)
        match = None
        if doi and ("doi", doi) in group_of:
            match = (group_of[("doi", doi)], "duplicate-doi", "doi", record.doi)
        elif title_key and ("title", title_key) in group_of:
            first = group_of[("title", title_key)]
            if not (doi and normalise_doi(by_id[first].doi)):
                title, _, year = title_key.rpartition("|")
                match = (first, "duplicate-title-year", "title+year", f"{title} ({year})")
        if match:
            first, reason, field, value = match
            flags = ("retracted",) if is_retracted(record) else ()
            duplicates[record_id] = ScreeningResult(
                record_id, Decision.DUPLICATE, reason, field, value, duplicate_of=first, flags=flags
            )
        else:
            first = record_id
            kept.append(record)
        # A duplicate's keys join its group, so a third copy matching only the second is caught.
        if doi:
            group_of.setdefault(("doi", doi), first)
        if title_key:
            group_of.setdefault(("title", title_key), first)
    return kept, duplicates


def duplicate_id_count(record_ids: Iterable[str]) -> int:
    """How many record ids were returned again after their first appearance (PRISMA counts them as
    duplicates; for PubMed, the PMIDs efetch returned twice)."""
    seen: set[str] = set()
    repeats = 0
    for record_id in record_ids:
        repeats += record_id in seen
        seen.add(record_id)
    return repeats
