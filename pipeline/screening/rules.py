"""Screening: inclusion rules as small pure predicates, each decision with a reason code.

Every rule looks at one record and returns None (no objection) or a Verdict naming the decision, the
reason code, and the record field and value it rested on. A record is excluded by the first
excluding rule in RULES order, else sent to needs-review by the first rule that cannot decide, else
included: with the reason of a rule that let it in by a policy (a date span with date_spans =
"include"), or "meets-criteria". A definite exclusion therefore always beats a doubt: a German
record with an ambiguous date is excluded for its language, not sent to a human.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from pipeline.config import ScreeningConfig
from pipeline.models import Decision, Record, ScreeningResult

log = logging.getLogger(__name__)

# The reason-code vocabulary (documented in README.md). Codes never change meaning once released.
REASONS = {
    "meets-criteria": "Included: every inclusion criterion is met.",
    "duplicate-pmid": "The same PMID was returned more than once (counted, one row kept).",
    "duplicate-doi": "Another record with a lower PMID has the same DOI.",
    "duplicate-title-year": "Another record with a lower PMID has the same normalised title and year.",
    "duplicate-id": "Another database's record shares an identifier (PMCID, OpenAlex, WoS, Scopus, ...) with the kept record.",
    "duplicate-title-similar": "A near-identical or cut-short title, a year at most one apart and a shared author.",
    "duplicate-preprint": "A preprint whose journal version is the kept record.",
    "publication-type-excluded": "A publication type listed in screening.exclude_publication_types.",
    "published-before-range": "Neither the print nor the electronic publication year reaches screening.min_year.",
    "published-after-range": "Neither the print nor the electronic publication year is within screening.max_year.",
    "date-span-ambiguous": "A MedlineDate spans the range boundary and no electronic date decides.",
    "date-span-included": "Included: a MedlineDate spans the range boundary and screening.date_spans lets it in.",
    "date-missing": "The record has no usable publication date.",
    "language-not-included": "None of the record's languages is in screening.languages.",
    "language-undetermined": "The record's only language is 'und' (undetermined).",
    "language-missing": "The record has no Language element.",
    "abstract-missing": "screening.require_abstract is true and the record has no abstract.",
}
RETRACTION_TYPES = frozenset({"retracted publication", "d016441"})
# PubMed publication types whose names a config is likely to use, by MeSH unique identifier (UI):
# a config may list a name or a UI, and a record matches by either, so a type PubMed renames keeps
# matching ("Retraction of Publication" is now "Retraction Notice", both D016440).
PUBLICATION_TYPE_UIS = {
    "retracted publication": "D016441",
    "retraction of publication": "D016440",
    "retraction notice": "D016440",
    "published erratum": "D016425",
    "comment": "D016420",
    "editorial": "D016421",
    "letter": "D016422",
    "news": "D016433",
    "review": "D016454",
    "systematic review": "D000078182",
    "meta-analysis": "D017418",
    "case reports": "D002363",
    "journal article": "D016428",
    "randomized controlled trial": "D016449",
    "clinical trial": "D016430",
    "expression of concern": "D000075742",
    "preprint": "D000076942",
}
_UI = re.compile(r"^[Dd]\d{6,9}$")

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
# "1977-78": a four-digit year then a two-digit one right after the dash is a year span (days come
# after a month name, as in "1998 Dec 7-21", so they never follow the year directly).
_SHORT_SPAN = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)-(\d\d)(?!\d)")


@dataclass(frozen=True)
class Verdict:
    """A rule's objection: the decision, the reason code, and the field and value that decided."""

    decision: Decision
    reason: str
    field: str
    value: str


Rule = Callable[[Record, ScreeningConfig], "Verdict | None"]


# --- the rules -----------------------------------------------------------------------------------


def publication_type_rule(record: Record, cfg: ScreeningConfig) -> Verdict | None:
    """Exclude a record carrying any publication type the config lists, by name (ignoring case) or
    by MeSH UI ("D016440"); a listed name PubMed has a known UI for matches that UI too.

    The deciding value is the first excluded type in the record's own order.
    """
    excluded = _type_keys(cfg.exclude_publication_types)
    for ptype, ui in zip(record.publication_types, _uis(record)):
        if ptype.casefold() in excluded or ui.upper() in excluded:
            return Verdict(Decision.EXCLUDE, "publication-type-excluded", "publication_types", ptype)
    return None


@functools.lru_cache(maxsize=64)
def _type_keys(listed: tuple[str, ...]) -> frozenset[str]:
    """What a listed type matches: a name (casefolded) and its known UI, or a UI (upper case)."""
    keys = set()
    for item in listed:
        if _UI.match(item):
            keys.add(item.upper())
        else:
            keys.add(item.casefold())
            if item.casefold() in PUBLICATION_TYPE_UIS:
                keys.add(PUBLICATION_TYPE_UIS[item.casefold()])
    return frozenset(keys)


def _uis(record: Record) -> tuple[str, ...]:
    """The UI of each publication type: the record's own, else the known UI of its name."""
    if len(record.publication_type_uis) == len(record.publication_types):
        return tuple(
            ui or PUBLICATION_TYPE_UIS.get(t.casefold(), "")
            for t, ui in zip(record.publication_types, record.publication_type_uis)
        )
    return tuple(PUBLICATION_TYPE_UIS.get(t.casefold(), "") for t in record.publication_types)


def print_years(record: Record) -> tuple[int, ...]:
    """The years of the print publication date, sorted: PubDate Year (Season records carry one),
    or every year a MedlineDate names ("2015 Dec-2016 Jan" -> (2015, 2016); "1977-78" -> (1977, 1978))."""
    if record.medline_date:
        years = {int(y) for y in _YEAR.findall(record.medline_date)}
        for first, short in _SHORT_SPAN.findall(record.medline_date):
            candidate = int(first[:2] + short)
            years.add(candidate if candidate >= int(first) else candidate + 100)
        if years:
            return tuple(sorted(years))
    return (record.pub_year,) if record.pub_year is not None else ()


def date_rule(record: Record, cfg: ScreeningConfig) -> Verdict | None:
    """PubMed's [dp]: in range when the print year or the electronic (ArticleDate) year is.

    A print date spanning years (a MedlineDate) is in range when all its years are, out when none
    is; when it straddles a boundary and the electronic year is not in range, `cfg.date_spans`
    decides (needs-review by default; "include" gives an include verdict naming the span). No year
    at all -> needs-review.
    """
    if cfg.min_year is None and cfg.max_year is None:
        return None

    def in_range(year: int) -> bool:
        return (cfg.min_year is None or year >= cfg.min_year) and (cfg.max_year is None or year <= cfg.max_year)

    electronic = record.article_year
    printed = print_years(record)
    if electronic is not None and in_range(electronic):
        return None
    if printed and all(in_range(y) for y in printed):
        return None
    if printed and any(in_range(y) for y in printed) or _straddles(printed, cfg):
        if cfg.date_spans == "include":  # in, but the reason shows the policy let it in
            return Verdict(Decision.INCLUDE, "date-span-included", "medline_date", record.medline_date)
        decision = Decision.EXCLUDE if cfg.date_spans == "exclude" else Decision.NEEDS_REVIEW
        return Verdict(decision, "date-span-ambiguous", "medline_date", record.medline_date)
    if not printed and electronic is None:
        if record.medline_date:
            return Verdict(Decision.NEEDS_REVIEW, "date-missing", "medline_date", record.medline_date)
        return Verdict(Decision.NEEDS_REVIEW, "date-missing", "pub_year", "")
    # Out of range. The print date is the citation's date, so it names the field when there is one.
    if printed:
        field, value = (
            ("medline_date", record.medline_date) if record.medline_date else ("pub_year", str(record.pub_year))
        )
        side = printed[0]
    else:
        field, value, side = "article_date", record.article_date, electronic
    if cfg.min_year is not None and side < cfg.min_year:
        return Verdict(Decision.EXCLUDE, "published-before-range", field, value)
    return Verdict(Decision.EXCLUDE, "published-after-range", field, value)


def _straddles(years: tuple[int, ...], cfg: ScreeningConfig) -> bool:
    """A span that jumps over the whole range (e.g. 2010-2020 around 2016:2016) straddles it too."""
    return (
        len(years) > 1
        and cfg.min_year is not None
        and cfg.max_year is not None
        and years[0] < cfg.min_year
        and years[-1] > cfg.max_year
    )


def language_rule(record: Record, cfg: ScreeningConfig) -> Verdict | None:
    """PubMed's [la] over every Language element: passes when any of them is wanted.

    Only 'und' (undetermined) or no Language element -> needs-review; the text is never used to
    guess. The deciding value lists the record's languages joined by "; ".
    """
    if not cfg.languages:
        return None
    wanted = {lang.lower() for lang in cfg.languages}
    languages = [lang.lower() for lang in record.languages]
    if wanted.intersection(languages):
        return None
    value = "; ".join(languages)
    if not languages:
        return Verdict(Decision.NEEDS_REVIEW, "language-missing", "languages", "")
    if set(languages) == {"und"}:
        return Verdict(Decision.NEEDS_REVIEW, "language-undetermined", "languages", value)
    return Verdict(Decision.EXCLUDE, "language-not-included", "languages", value)


def abstract_rule(record: Record, cfg: ScreeningConfig) -> Verdict | None:
    """Exclude a record without abstract text when the config requires one."""
    if cfg.require_abstract and not record.abstract.strip():
        return Verdict(Decision.EXCLUDE, "abstract-missing", "abstract", "")
    return None


RULES: tuple[Rule, ...] = (publication_type_rule, date_rule, language_rule, abstract_rule)
# The verdict when no rule has anything to say.
MEETS_CRITERIA = Verdict(Decision.INCLUDE, "meets-criteria", "", "")
# The rules PubMed's own filters mirror ([dp] and [la]): the cross-check compares these alone.
FILTER_RULES: tuple[Rule, ...] = (date_rule, language_rule)


def decide(record: Record, cfg: ScreeningConfig, rules: Iterable[Rule] = RULES) -> Verdict:
    """The first excluding verdict of `rules`, else the first needs-review one, else the first
    include verdict, else MEETS_CRITERIA."""
    verdicts = [v for v in (rule(record, cfg) for rule in rules) if v is not None]
    for wanted in (Decision.EXCLUDE, Decision.NEEDS_REVIEW, Decision.INCLUDE):
        for v in verdicts:
            if v.decision == wanted:
                return v
    return MEETS_CRITERIA


def screen_record(record: Record, cfg: ScreeningConfig) -> ScreeningResult:
    """The decision for one (non-duplicate) record, flagged 'retracted' whatever the decision."""
    flags = ("retracted",) if is_retracted(record) else ()
    verdict = decide(record, cfg)
    return ScreeningResult(
        record.record_id, verdict.decision, verdict.reason, verdict.field, verdict.value, flags=flags
    )


def is_retracted(record: Record) -> bool:
    """Retracted: publication type 'Retracted Publication' or a RetractionIn link.

    A retraction notice ('Retraction of Publication') is not itself retracted.
    """
    return (
        any(t.casefold() in RETRACTION_TYPES for t in record.publication_types)
        or any(ui.casefold() in RETRACTION_TYPES for ui in record.publication_type_uis)
        or any(c.ref_type == "RetractionIn" for c in record.comments_corrections)
    )


def pmid_order(pmid: str) -> tuple[int, str]:
    """Numeric PMID order; anything that is not digits sorts last, by text."""
    return (int(pmid), pmid) if pmid.isdigit() else (10**12, pmid)
