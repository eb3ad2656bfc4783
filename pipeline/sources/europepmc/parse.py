"""Europe PMC search answers (format=json, resultType=core) to Records. Pure.

A result maps onto the one record model (sources/normalise.py): `pmid`, `pmcid`, `doi` and, for
records without a PMID (preprints, `source: PPR`; Agricola, `AGR`), `europepmc` = the source's own
id (`PPR123456`, `AGR:IND4432`), so every record has an identity. The year is `pubYear`, or the year
of `firstPublicationDate` when `pubYear` is missing (some preprints); `electronicPublicationDate`
becomes the electronic date. `abstractText` carries HTML (<h4>, <i>, <sup>), which is removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pipeline.models import MeshHeading, Quarantined, Record
from pipeline.sources import normalise as norm

DATABASE = "Europe PMC"


@dataclass
class Page:
    hit_count: int
    next_cursor: str | None  # None on the last page and on a zero-hit answer
    records: list[Record] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    result_count: int = 0  # results on the page, readable or not


class MalformedAnswer(ValueError):
    """The body is not a Europe PMC search answer (an HTML page, a truncated JSON document)."""


def check_body(body: bytes) -> str | None:
    """None for a complete search answer; else what is wrong (the HTTP client retries it)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        start = body[:60].decode("utf-8", "replace").strip()
        return f"the answer is not complete JSON (it starts {start!r})"
    if not isinstance(data, dict) or "hitCount" not in data:
        return "the answer has no hitCount: not a Europe PMC search answer"
    return None


def parse_page(body: bytes, where: str = "") -> Page:
    """hitCount, nextCursorMark and the records of one search answer."""
    problem = check_body(body)
    if problem:
        raise MalformedAnswer(problem)
    data = json.loads(body)
    results = (data.get("resultList") or {}).get("result") or []
    page = Page(int(data["hitCount"]), data.get("nextCursorMark") or None, result_count=len(results))
    for index, result in enumerate(results):
        try:
            page.records.append(parse_result(result))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            ident = result.get("id", "?") if isinstance(result, dict) else "?"
            page.quarantined.append(
                Quarantined(
                    pmid=str(result.get("pmid", "")) if isinstance(result, dict) else "",
                    reason=f"Europe PMC result {index + 1} (id {ident}) is unreadable: {exc}",
                    source=where,
                )
            )
    return page


def _dig(data: dict, *path: str):
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def parse_result(r: dict) -> Record:
    """One `resultType=core` result as a Record."""
    source, ident = str(r.get("source", "")), str(r.get("id", ""))
    ids = {
        "pmid": norm.normalise_pmid(str(r.get("pmid", ""))),
        "pmcid": norm.normalise_pmcid(str(r.get("pmcid", ""))) if r.get("pmcid") else "",
        "doi": norm.normalise_doi(str(r.get("doi", ""))),
    }
    if source and ident and source != "MED":
        ids["europepmc"] = ident if source in ("PPR", "PMC") else f"{source}:{ident}"
    year_text = str(r.get("pubYear") or "") or str(r.get("firstPublicationDate") or "")
    authors = []
    for a in _dig(r, "authorList", "author") or []:
        if a.get("collectiveName"):
            authors.append(a["collectiveName"])
        elif a.get("lastName"):
            authors.append(f"{a['lastName']}, {a.get('firstName') or a.get('initials') or ''}".rstrip(", "))
        elif a.get("fullName"):
            authors.append(a["fullName"])
    mesh = []
    for heading in _dig(r, "meshHeadingList", "meshHeading") or []:
        qualifiers = _dig(heading, "meshQualifierList", "meshQualifier") or []
        mesh.append(
            MeshHeading(
                heading.get("descriptorName", ""),
                heading.get("majorTopic_YN") == "Y",
                tuple(q.get("qualifierName", "") for q in qualifiers),
            )
        )
    journal = _dig(r, "journalInfo", "journal") or {}
    return Record(
        title=norm.clean_text(str(r.get("title") or "")),
        abstract_sections=norm.abstract(str(r.get("abstractText") or "")),
        pub_year=norm.first_year(year_text),
        pub_month=_dig(r, "journalInfo", "monthOfPublication") or None,
        article_date=str(r.get("electronicPublicationDate") or "")[:10],
        journal=norm.clean_text(str(journal.get("title") or _dig(r, "bookOrReportDetails", "publisher") or "")),
        journal_iso=str(journal.get("isoabbreviation") or journal.get("medlineAbbreviation") or ""),
        volume=str(_dig(r, "journalInfo", "volume") or ""),
        issue=str(_dig(r, "journalInfo", "issue") or ""),
        pages=str(r.get("pageInfo") or ""),
        languages=norm.languages([str(r["language"])]) if r.get("language") else (),
        publication_types=norm.publication_types(_dig(r, "pubTypeList", "pubType") or []),
        keywords=tuple(_dig(r, "keywordList", "keyword") or ()),
        mesh_headings=tuple(mesh),
        authors=norm.authors(authors),
        ids=ids,
    )
