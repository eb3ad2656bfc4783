"""Cross-source deduplication: one row per paper however many databases returned it.

`merge(copies)` takes every record every source returned (as `Copy(database, record)`) and gives the
kept records, a `duplicate` result for every other distinct record (pointing at the kept record's
record_id) and `found_in` (the databases each record was found in). It is pure, and its result
depends only on the set of copies, never on their order (property-tested).

1. **Same record_id** (the same PMID, or DOI when there is no PMID, ...): the copies are one record,
   found in every database that returned it. Its fields are those of the PubMed copy when there is
   one, else of the richest copy (abstract, identifiers, authors); the identifiers of every copy are
   merged into it. Copies beyond the first are counted as duplicates by identifier
   (`duplicate-pmid`, `duplicate-doi`, `duplicate-id`), but have no row of their own.
2. **Distinct records that are the same paper** are found, strongest evidence first:
   - a shared identifier of any scheme (`duplicate-doi`; `duplicate-id` for PMCID, OpenAlex, Web of
     Science, Scopus, Embase, ... ids);
   - the same normalised title (lower case, accents, HTML entities and punctuation removed) with
     the same year, or a year one apart and the same first author or journal (`duplicate-title-year`);
   - a near-identical title (a title cut short with '…' that the other continues, or a similarity
     of at least 0.95) with a year at most one apart and a shared author surname
     (`duplicate-title-similar`);
   - a preprint (publication type Preprint, a preprint server's DOI prefix, or a Europe PMC PPR id)
     and a journal article with the same or a near-identical title and a shared author, published
     the same year or up to two years later (`duplicate-preprint`); the journal version is kept.
   Two records whose DOIs differ are never merged (except a preprint and its journal version, whose
   DOIs always differ), nor two whose PMIDs differ unless they share a DOI (PubMed holds some papers
   twice, as deduplication of PubMed alone has always found); titles under 3 words are never compared. Candidate pairs
   are decided in a fixed order (strongest reason first, then by record_id), which is what makes
   the result independent of input order.
3. **Which copy is kept** in each group: the one with a PMID (the PubMed record), else a journal
   version over a preprint, else one with a DOI, else the one with an abstract, else the one with
   most identifiers; ties go to the first in record_id order. The kept record keeps its own fields
   and gains the identifiers of the other (non-preprint) members that do not change its record_id.
   Every duplicate's `duplicate_of` names the kept record, so a chain A~B~C points to one record.
"""

from __future__ import annotations

import difflib
import html
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Iterable

from pipeline.models import (
    Decision,
    Record,
    ScreeningResult,
    normalise_doi,
    normalise_title,
    record_order,
    shared_id_reason,
)

MIN_TITLE_WORDS = 3
SIMILARITY = 0.95
PREPRINT_DOI_PREFIXES = (
    "10.1101/",
    "10.21203/",
    "10.2139/",
    "10.20944/",
    "10.31234/",
    "10.31219/",
    "10.48550/",
    "10.22541/",
    "10.36227/",
    "10.31222/",
    "10.26434/",
    "10.5194/egusphere",
)
PUBMED_DATABASES = ("PubMed", "PubMed (local XML files)")
# Reasons, strongest first: the order candidate pairs are decided in.
REASONS = ("duplicate-doi", "duplicate-id", "duplicate-title-year", "duplicate-title-similar", "duplicate-preprint")


@dataclass(frozen=True)
class Copy:
    """A record as one database returned it."""

    database: str
    record: Record


@dataclass
class Merged:
    kept: list[Record]  # one per paper, in record_order
    duplicates: dict[str, ScreeningResult]  # record_id -> its duplicate result
    found_in: dict[str, tuple[str, ...]]  # record_id -> databases, sorted
    records: dict[str, Record] = field(default_factory=dict)  # every distinct record, kept ones merged
    repeats: Counter = field(default_factory=Counter)  # copies folded into the same record_id, by reason

    @property
    def removed(self) -> int:
        """Duplicates removed before screening: folded copies plus duplicate rows."""
        return sum(self.repeats.values()) + len(self.duplicates)


# --- features ---------------------------------------------------------------------------------------


def clean_title(title: str) -> str:
    """The title compared: HTML entities decoded, then normalise_title; a title cut short with '…'
    or '...' loses its last (partial) word."""
    text = html.unescape(title).strip()
    truncated = text.endswith(("…", "..."))
    words = normalise_title(text.rstrip("….")).split()
    if truncated and len(words) > 1:
        words = words[:-1]
    return " ".join(words)


def is_truncated(title: str) -> bool:
    return title.strip().endswith(("…", "..."))


def _year(r: Record) -> int | None:
    return r.pub_year if r.pub_year is not None else r.article_year


def _surnames(r: Record) -> list[str]:
    names = []
    for a in r.authors:
        name = normalise_title(a.last_name or a.collective_name or a.display_name)
        if name:
            names.append(name)
    return names


def is_preprint(r: Record) -> bool:
    doi = normalise_doi(r.doi)
    return (
        "Preprint" in r.publication_types
        or doi.startswith(PREPRINT_DOI_PREFIXES)
        or r.ids.get("europepmc", "").startswith("PPR")
    )


@dataclass(frozen=True)
class _Features:
    record_id: str
    title: str
    words: int
    truncated: bool
    year: int | None
    surnames: tuple[str, ...]
    journal: str
    preprint: bool
    doi: str
    pmid: str


def _features(r: Record) -> _Features:
    title = clean_title(r.title)
    return _Features(
        r.record_id,
        title,
        len(title.split()),
        is_truncated(r.title),
        _year(r),
        tuple(_surnames(r)),
        normalise_title(r.journal),
        is_preprint(r),
        normalise_doi(r.doi),
        r.pmid,
    )


def _title_reason(a: _Features, b: _Features) -> str | None:
    """Why two records with no shared identifier are the same paper, or None."""
    if min(a.words, b.words) < MIN_TITLE_WORDS:
        return None
    first_author = bool(a.surnames and b.surnames and a.surnames[0] == b.surnames[0])
    shared_author = bool(set(a.surnames) & set(b.surnames))
    author_conflict = bool(a.surnames and b.surnames and not shared_author)
    same_journal = bool(a.journal and a.journal == b.journal)
    exact = a.title == b.title
    if a.preprint != b.preprint:
        pre, pub = (a, b) if a.preprint else (b, a)
        if (
            shared_author
            and (pre.year is None or pub.year is None or 0 <= pub.year - pre.year <= 2)
            and (exact or _near(a, b))
        ):
            return "duplicate-preprint"
        return None
    gap = abs(a.year - b.year) if a.year is not None and b.year is not None else None
    if (
        exact
        and not author_conflict
        and (
            gap == 0
            or (gap is not None and gap <= 1 and (first_author or same_journal))
            or (gap is None and (first_author or same_journal))
        )
    ):
        return "duplicate-title-year"
    # The costly comparison last, once the cheap conditions hold.
    if not exact and shared_author and (gap is None or gap <= 1) and _near(a, b):
        return "duplicate-title-similar"
    return None


def _near(a: _Features, b: _Features) -> bool:
    short, long_ = (a, b) if a.words <= b.words else (b, a)
    if short.truncated and short.words >= 4 and (long_.title + " ").startswith(short.title + " "):
        return True
    if min(a.words, b.words) < 5 or a.truncated != b.truncated:
        return False
    matcher = difflib.SequenceMatcher(None, a.title, b.title, autojunk=False)
    # The quick upper bounds first: most pairs in a block are far apart.
    return (
        matcher.real_quick_ratio() >= SIMILARITY
        and matcher.quick_ratio() >= SIMILARITY
        and matcher.ratio() >= SIMILARITY
    )


# --- step 1: one record per record_id ---------------------------------------------------------------


def _richness(r: Record) -> tuple:
    return (len(r.abstract) > 0, len(r.ids), len(r.authors), len(r.abstract), repr(r))


def _collapse(copies: Iterable[Copy]) -> tuple[dict[str, Record], dict[str, set[str]], Counter]:
    by_id: dict[str, list[Copy]] = defaultdict(list)
    for copy in copies:
        by_id[copy.record.record_id].append(copy)
    records, found, repeats = {}, {}, Counter()
    for record_id, group in by_id.items():
        best = max(group, key=lambda c: (c.database in PUBMED_DATABASES, _richness(c.record))).record
        ids = dict(best.ids)
        for c in sorted(group, key=lambda c: (c.database, repr(c.record))):
            for scheme, value in c.record.ids.items():
                ids.setdefault(scheme, value)
        merged = _with_ids(best, ids)
        records[record_id] = merged
        found[record_id] = {c.database for c in group}
        if len(group) > 1:
            repeats[shared_id_reason(record_id)] += len(group) - 1
    return records, found, repeats


def _with_ids(record: Record, ids: dict[str, str]) -> Record:
    """`record` with the identifiers of `ids` it lacks, leaving out any that would change its record_id."""
    current = dict(record.ids)
    for scheme in sorted(ids):
        if scheme in current:
            continue
        trial = replace(record, ids={**current, scheme: ids[scheme]})
        if trial.record_id == record.record_id:
            current[scheme] = ids[scheme]
    return record if current == dict(record.ids) else replace(record, ids=current)


# --- step 2: groups of distinct records -------------------------------------------------------------


class _Groups:
    """Union-find over record_ids, refusing unions that would join different DOIs or PMIDs."""

    def __init__(self, feats: dict[str, _Features]):
        self.parent = {k: k for k in feats}
        self.dois = {k: {f.doi} - {""} if not f.preprint else set() for k, f in feats.items()}
        self.pmids = {k: {f.pmid} - {""} for k, f in feats.items()}
        self.link = {}  # record_id -> (other record_id, reason): how it joined

    def find(self, k: str) -> str:
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def union(self, a: str, b: str, reason: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        # The same DOI outweighs different PMIDs (PubMed holds some papers twice); nothing else does.
        if reason != "duplicate-doi" and self.pmids[ra] and self.pmids[rb] and not (self.pmids[ra] & self.pmids[rb]):
            return False
        if reason != "duplicate-preprint" and self.dois[ra] and self.dois[rb] and not (self.dois[ra] & self.dois[rb]):
            return False
        root, child = (ra, rb) if record_order(ra) <= record_order(rb) else (rb, ra)
        self.parent[child] = root
        self.dois[root] |= self.dois.pop(child)
        self.pmids[root] |= self.pmids.pop(child)
        self.link.setdefault(a, (b, reason))
        self.link.setdefault(b, (a, reason))
        return True


def _candidates(records: dict[str, Record], feats: dict[str, _Features]) -> list[tuple[int, tuple, str, str, str]]:
    pairs: dict[tuple[str, str], str] = {}

    def consider(a: str, b: str, reason: str | None) -> None:
        if reason is None or a == b:
            return
        key = (a, b) if record_order(a) <= record_order(b) else (b, a)
        if key not in pairs or REASONS.index(reason) < REASONS.index(pairs[key]):
            pairs[key] = reason

    by_id: dict[tuple[str, str], list[str]] = defaultdict(list)
    for record_id, r in records.items():
        for scheme, value in r.ids.items():
            by_id[(scheme, normalise_doi(value) if scheme == "doi" else value.lower())].append(record_id)
    for (scheme, _), members in by_id.items():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                consider(a, b, "duplicate-doi" if scheme == "doi" else "duplicate-id")
    blocks: dict[tuple, list[str]] = defaultdict(list)
    for record_id, f in feats.items():
        # Blocks: pairs are only compared within one, so a typo must leave one key intact.
        if f.words >= MIN_TITLE_WORDS:
            words = f.title.split()
            blocks[("t", " ".join(words[:3]))].append(record_id)
            if not f.truncated:
                blocks[("e", " ".join(words[-3:]))].append(record_id)
            for surname in dict.fromkeys(f.surnames[:3]):
                blocks[("a", surname, words[0])].append(record_id)
    for members in blocks.values():
        if len(members) > 400:  # a block this large is a common prefix, not a paper
            members = sorted(members, key=record_order)[:400]
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                consider(a, b, _title_reason(feats[a], feats[b]))
    return sorted(
        (REASONS.index(reason), record_order(a), record_order(b), a, b, reason) for (a, b), reason in pairs.items()
    )


def _keep_order(r: Record, preprint: bool) -> tuple:
    return (not r.pmid, preprint, not r.doi, not r.abstract, -len(r.ids), record_order(r.record_id))


def merge(copies: Iterable[Copy]) -> Merged:
    """Every paper once (see the module docstring)."""
    records, found, repeats = _collapse(copies)
    feats = {k: _features(r) for k, r in records.items()}
    groups = _Groups(feats)
    for *_, a, b, reason in _candidates(records, feats):
        groups.union(a, b, reason)
    members: dict[str, list[str]] = defaultdict(list)
    for record_id in records:
        members[groups.find(record_id)].append(record_id)
    kept: list[Record] = []
    duplicates: dict[str, ScreeningResult] = {}
    found_in: dict[str, tuple[str, ...]] = {}
    for group in members.values():
        keeper_id = min(group, key=lambda k: _keep_order(records[k], feats[k].preprint))
        ids = dict(records[keeper_id].ids)
        for other in sorted(group, key=record_order):
            if other != keeper_id and not feats[other].preprint:
                for scheme, value in records[other].ids.items():
                    ids.setdefault(scheme, value)
        original = records[keeper_id]
        keeper = _with_ids(original, ids)
        records[keeper_id] = keeper
        kept.append(keeper)
        found_in[keeper_id] = tuple(sorted(set().union(*(found[k] for k in group))))
        for other in group:
            if other == keeper_id:
                continue
            found_in[other] = tuple(sorted(found[other]))
            reason = _reason_against(records[other], feats[other], original, feats[keeper_id], groups.link.get(other))
            field_name, value = _evidence(reason, records[other], feats[other])
            flags = ("retracted",) if _retracted(records[other]) else ()
            duplicates[other] = ScreeningResult(
                other, Decision.DUPLICATE, reason, field_name, value, duplicate_of=keeper_id, flags=flags
            )
    kept.sort(key=lambda r: record_order(r.record_id))
    return Merged(kept, duplicates, found_in, records, repeats)


def _reason_against(r: Record, f: _Features, keeper: Record, kf: _Features, link) -> str:
    """The reason a duplicate is one of its kept record: direct evidence when there is some, else the
    reason of the link that brought it into the group."""
    if f.doi and f.doi == kf.doi:
        return "duplicate-doi"
    shared = {(s, v) for s, v in r.ids.items()} & {(s, v) for s, v in keeper.ids.items()}
    if shared:
        return "duplicate-id"
    direct = _title_reason(f, kf)
    if direct:
        return direct
    return link[1] if link else "duplicate-title-similar"


def _evidence(reason: str, r: Record, f: _Features) -> tuple[str, str]:
    if reason == "duplicate-doi":
        return "doi", r.doi
    if reason == "duplicate-id":
        return "ids", "; ".join(f"{s}:{v}" for s, v in sorted(r.ids.items()))
    return "title+year", f"{f.title} ({f.year if f.year is not None else 'no year'})"


def _retracted(r: Record) -> bool:
    return "Retracted Publication" in r.publication_types or any(
        c.ref_type == "RetractionIn" for c in r.comments_corrections
    )


def screen_merged(
    records: Iterable[Record], cfg, found_in: dict[str, tuple[str, ...]]
) -> tuple[list[ScreeningResult], Merged]:
    """Deduplicate across sources (merge), then screen every kept record: the screening stage of a
    review that searches several databases. `found_in` names each record's databases (a record
    missing from it counts as found in "?"). Results in record_order."""
    from pipeline.screening.rules import screen_record

    copies = [Copy(db, r) for r in records for db in (found_in.get(r.record_id) or ("?",))]
    merged = merge(copies)
    results = [screen_record(r, cfg) for r in merged.kept] + list(merged.duplicates.values())
    return sorted(results, key=lambda r: record_order(r.record_id)), merged
