"""Screening: inclusion rules as small pure predicates, each decision with a reason code.

Every rule looks at one record and returns None (no objection) or a Verdict. A record is excluded by
the first excluding rule in RULES order, else sent to needs-review by the first rule that cannot
decide, else included. Deduplication runs first and does not depend on the order records arrive in.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable

from .config import ScreeningConfig
from .models import Decision, Record, ScreeningResult

# The reason-code vocabulary (documented in README.md). Codes never change meaning once released.
REASONS = {
    "meets-criteria": "Included: every inclusion criterion is met.",
    "duplicate-pmid": "The same PMID was returned more than once.",
    "duplicate-doi": "Another record has the same DOI.",
    "duplicate-title-year": "Another record has the same normalised title and publication year.",
    "publication-type-excluded": "A publication type the config excludes.",
    "published-before-range": "Neither print nor electronic publication year reaches screening.min_year.",
    "published-after-range": "Neither print nor electronic publication year is within screening.max_year.",
    "date-span-ambiguous": "A MedlineDate spans the range boundary and no electronic date decides.",
    "date-missing": "The record has no usable publication date.",
    "language-not-included": "None of the record's languages is in screening.languages.",
    "language-undetermined": "The record's only language is 'und' (undetermined).",
    "abstract-missing": "The config requires an abstract and the record has none.",
}
RETRACTION_TYPES = {"Retracted Publication"}
RETRACTION_LINKS = {"RetractionIn", "RetractionOf"}
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str
    field: str
    value: str


Rule = Callable[[Record, ScreeningConfig], Verdict | None]


def publication_type_rule(record: Record, cfg: ScreeningConfig) -> Verdict | None:
    excluded = {t.lower() for t in cfg.exclude_publication_types}
    for ptype in record.publication_types:
        if ptype.lower() in excluded:
            return Verdict(Decision.EXCLUDE, "publication-type-excluded", "publication_types", ptype)
    return None


def date_rule(record: Record, cfg: ScreeningConfig) -> Verdict | None:
    """PubMed's [dp]: in range when the print year or the electronic (ArticleDate) year is."""
    if cfg.min_year is None and cfg.max_year is None:
        return None

    def in_range(year: int) -> bool:
        return (cfg.min_year is None or year >= cfg.min_year) and (cfg.max_year is None or year <= cfg.max_year)

    if record.article_year is not None and in_range(record.article_year):
        return None
    print_years = [int(y) for y in _YEAR.findall(record.medline_date)] if record.medline_date else (
        [record.pub_year] if record.pub_year is not None else [])
    if print_years and all(in_range(y) for y in print_years):
        return None
    if print_years and any(in_range(y) for y in print_years):
        if cfg.date_spans == "include":
            return None
        decision = Decision.EXCLUDE if cfg.date_spans == "exclude" else Decision.NEEDS_REVIEW
        return Verdict(decision, "date-span-ambiguous", "medline_date", record.medline_date)
    years = print_years + ([record.article_year] if record.article_year is not None else [])
    if not years:
        return Verdict(Decision.NEEDS_REVIEW, "date-missing", "pub_year", "")
    field, value = ("medline_date", record.medline_date) if record.medline_date else ("pub_year", str(record.pub_year or ""))
    if record.article_year is not None and not print_years:
        field, value = "article_date", record.article_date
    if cfg.min_year is not None and max(years) < cfg.min_year:
        return Verdict(Decision.EXCLUDE, "published-before-range", field, value)
    return Verdict(Decision.EXCLUDE, "published-after-range", field, value)


def language_rule(record: Record, cfg: ScreeningConfig) -> Verdict | None:
    if not cfg.languages:
        return None
    languages = [lang.lower() for lang in record.languages]
    if any(lang in cfg.languages for lang in languages):
        return None
    value = ";".join(languages)
    if not languages or set(languages) == {"und"}:
        return Verdict(Decision.NEEDS_REVIEW, "language-undetermined", "languages", value)
    return Verdict(Decision.EXCLUDE, "language-not-included", "languages", value)


def abstract_rule(record: Record, cfg: ScreeningConfig) -> Verdict | None:
    if cfg.require_abstract and not record.abstract:
        return Verdict(Decision.EXCLUDE, "abstract-missing", "abstract", "")
    return None


RULES: tuple[Rule, ...] = (publication_type_rule, date_rule, language_rule, abstract_rule)


def screen_record(record: Record, cfg: ScreeningConfig) -> ScreeningResult:
    """The decision for one (non-duplicate) record."""
    verdicts = [v for v in (rule(record, cfg) for rule in RULES) if v is not None]
    flags = ("retracted",) if is_retracted(record) else ()
    for wanted in (Decision.EXCLUDE, Decision.NEEDS_REVIEW):
        for v in verdicts:
            if v.decision == wanted:
                return ScreeningResult(record.pmid, v.decision, v.reason, v.field, v.value, flags=flags)
    return ScreeningResult(record.pmid, Decision.INCLUDE, "meets-criteria", flags=flags)


def is_retracted(record: Record) -> bool:
    return bool(RETRACTION_TYPES & set(record.publication_types)) or any(
        c.ref_type == "RetractionIn" for c in record.comments_corrections)


def normalise_title(title: str) -> str:
    """Lower-case letters and digits only, accents removed: 'Ketamine: a Review.' == 'ketamine a review'."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def find_duplicates(records: Iterable[Record]) -> tuple[list[Record], dict[str, ScreeningResult]]:
    """Unique records (lowest PMID kept) and a duplicate decision for every other one.

    The same PMID seen twice keeps one copy and counts one duplicate; the result does not depend on
    the order of `records`.
    """
    by_pmid: dict[str, Record] = {}
    for record in records:
        by_pmid.setdefault(record.pmid, record)
    kept: dict[str, Record] = {}
    duplicates: dict[str, ScreeningResult] = {}
    seen_keys: dict[tuple[str, str], str] = {}
    for pmid in sorted(by_pmid, key=_pmid_order):
        record = by_pmid[pmid]
        keys = []
        if record.doi:
            keys.append(("duplicate-doi", record.doi.strip().lower()))
        title = normalise_title(record.title)
        if title and record.pub_year is not None:
            keys.append(("duplicate-title-year", f"{title}|{record.pub_year}"))
        original = next(((k[0], seen_keys[k]) for k in keys if k in seen_keys), None)
        if original:
            reason, first = original
            field = "doi" if reason == "duplicate-doi" else "title"
            value = record.doi if reason == "duplicate-doi" else record.title
            duplicates[pmid] = ScreeningResult(pmid, Decision.DUPLICATE, reason, field, value, duplicate_of=first)
            continue
        for k in keys:
            seen_keys[k] = pmid
        kept[pmid] = record
    return list(kept.values()), duplicates


def duplicate_pmid_count(pmids: Iterable[str]) -> int:
    """How many PMIDs were returned again after their first appearance."""
    seen: set[str] = set()
    repeats = 0
    for pmid in pmids:
        repeats += pmid in seen
        seen.add(pmid)
    return repeats


def screen(records: Iterable[Record], cfg: ScreeningConfig) -> list[ScreeningResult]:
    """Deduplicate, then screen every unique record. One result per distinct PMID, sorted by PMID."""
    unique, duplicates = find_duplicates(records)
    results = [screen_record(r, cfg) for r in unique] + list(duplicates.values())
    return sorted(results, key=lambda r: _pmid_order(r.pmid))


def _pmid_order(pmid: str) -> tuple[int, str]:
    return (int(pmid), pmid) if pmid.isdigit() else (10**12, pmid)
