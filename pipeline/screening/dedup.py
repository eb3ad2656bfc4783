"""Deduplication: one copy per PMID, then one per DOI or normalised title + year.

Its result, and so every decision, depends only on the set of records given, never on the order
they arrive in: the same PMID keeps one copy, and among records sharing a DOI or a normalised title
+ year the lowest PMID is kept and every other one points to it.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from typing import Iterable

from pipeline.models import Decision, Record, ScreeningResult
from pipeline.screening.rules import is_retracted, pmid_order

log = logging.getLogger(__name__)

# A title-year match needs at least this many words: "Erratum." or "Editorial." are not duplicates.
MIN_TITLE_WORDS = 3


def normalise_title(title: str) -> str:
    """Lower-case letters and digits only, accents removed: 'Ketamine: a Review.' == 'ketamine a review'."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def normalise_doi(doi: str) -> str:
    """A DOI compared case-insensitively, without a 'doi:' or https://doi.org/ prefix."""
    text = doi.strip().lower()
    text = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", text)
    return text


def title_year_key(record: Record) -> str:
    """'normalised title|year' (year: print, else electronic), or '' when too short to compare."""
    title = normalise_title(record.title)
    year = record.pub_year if record.pub_year is not None else record.article_year
    if year is None or len(title.split()) < MIN_TITLE_WORDS:
        return ""
    return f"{title}|{year}"


def distinct_by_pmid(records: Iterable[Record]) -> dict[str, Record]:
    """One record per PMID. Copies are normally identical; when they differ, the choice depends on
    their content only (never on arrival order) and a warning names the PMID."""
    copies: dict[str, list[Record]] = {}
    for record in records:
        copies.setdefault(record.pmid, []).append(record)
    chosen = {}
    for pmid, versions in copies.items():
        if len(versions) > 1 and len(set(versions)) > 1:
            log.warning("PMID %s was returned %d times with different content; keeping one "
                        "deterministically", pmid, len(versions))
        chosen[pmid] = max(versions, key=repr)
    return chosen


def find_duplicates(records: Iterable[Record]) -> tuple[list[Record], dict[str, ScreeningResult]]:
    """Unique records (sorted by PMID) and a 'duplicate' result for every other distinct PMID.

    Records are taken in PMID order. A record is a duplicate of the lowest-PMID kept record whose
    group (the kept record and its duplicates) shares its DOI, or else its normalised title and
    year -- unless it and the kept record both have a DOI, since different DOIs mean different
    papers. Comparing with the kept record itself (not the DOIs its duplicates brought in) makes
    deduplication idempotent: running it on the kept records finds nothing more. Duplicates always
    point to a kept record.
    """
    by_pmid = distinct_by_pmid(records)
    kept: list[Record] = []
    duplicates: dict[str, ScreeningResult] = {}
    group_of: dict[tuple[str, str], str] = {}   # ("doi" | "title", key) -> kept PMID
    for pmid in sorted(by_pmid, key=pmid_order):
        record = by_pmid[pmid]
        doi, title_key = normalise_doi(record.doi), title_year_key(record)
        match = None
        if doi and ("doi", doi) in group_of:
            match = (group_of[("doi", doi)], "duplicate-doi", "doi", record.doi)
        elif title_key and ("title", title_key) in group_of:
            first = group_of[("title", title_key)]
            if not (doi and normalise_doi(by_pmid[first].doi)):
                title, _, year = title_key.rpartition("|")
                match = (first, "duplicate-title-year", "title+year", f"{title} ({year})")
        if match:
            first, reason, field, value = match
            flags = ("retracted",) if is_retracted(record) else ()
            duplicates[pmid] = ScreeningResult(pmid, Decision.DUPLICATE, reason, field, value,
                                               duplicate_of=first, flags=flags)
        else:
            first = pmid
            kept.append(record)
        # A duplicate's keys join its group, so a third copy matching only the second is caught.
        if doi:
            group_of.setdefault(("doi", doi), first)
        if title_key:
            group_of.setdefault(("title", title_key), first)
    return kept, duplicates


def duplicate_pmid_count(pmids: Iterable[str]) -> int:
    """How many PMIDs were returned again after their first appearance."""
    seen: set[str] = set()
    repeats = 0
    for pmid in pmids:
        repeats += pmid in seen
        seen.add(pmid)
    return repeats
