"""OpenAlex work objects to Records. Pure.

- `id` and `doi` are URLs (https://openalex.org/W2741809807, https://doi.org/10...): the id becomes
  `openalex` = W2741809807, the DOI is normalised; `ids.pmid` is a PubMed URL and `ids.pmcid` a PMC
  URL or number without the 'PMC' prefix: both become plain identifiers (PMCIDs with the prefix).
- The abstract exists only as `abstract_inverted_index` (word → positions): it is rebuilt in order.
- `language` is ISO 639-1 ('en') and becomes PubMed's 'eng'; `type` ('article', 'review',
  'preprint', 'erratum', 'retraction', ...) maps to PubMed's publication types; `is_retracted`
  adds 'Retracted Publication'.
- `primary_location.source` is often null (no journal then); `authorships` is capped at 100 by OpenAlex.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pipeline.models import Quarantined, Record
from pipeline.sources import normalise as norm

DATABASE = "OpenAlex"


@dataclass
class Page:
    count: int
    next_cursor: str | None
    records: list[Record] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    result_count: int = 0


class MalformedAnswer(ValueError):
    """Not an OpenAlex list answer."""


def check_body(body: bytes) -> str | None:
    """None for a complete /works answer; else what is wrong (the HTTP client retries it)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        start = body[:60].decode("utf-8", "replace").strip()
        return f"the answer is not complete JSON (it starts {start!r})"
    if not isinstance(data, dict) or not isinstance(data.get("meta"), dict) or "results" not in data:
        return "the answer has no meta and results: not an OpenAlex list answer"
    return None


def inverted_abstract(index: dict | None) -> str:
    """The abstract text from OpenAlex's inverted index ({'word': [positions]})."""
    if not index:
        return ""
    slots: dict[int, str] = {}
    for word, positions in index.items():
        for position in positions:
            slots[int(position)] = word
    return " ".join(slots[p] for p in sorted(slots))


def _tail(url: str | None) -> str:
    return str(url or "").rstrip("/").rsplit("/", 1)[-1]


def parse_work(w: dict) -> Record:
    ids_in = w.get("ids") or {}
    pmcid = _tail(ids_in.get("pmcid"))
    ids = {
        "openalex": _tail(w.get("id")),
        "doi": norm.normalise_doi(str(w.get("doi") or ids_in.get("doi") or "")),
        "pmid": norm.normalise_pmid(_tail(ids_in.get("pmid"))) if ids_in.get("pmid") else "",
        "pmcid": norm.normalise_pmcid(pmcid) if pmcid else "",
    }
    source = (w.get("primary_location") or {}).get("source") or {}
    biblio = w.get("biblio") or {}
    first, last = biblio.get("first_page") or "", biblio.get("last_page") or ""
    types = [str(w.get("type") or "")]
    if w.get("is_retracted"):
        types.append("Retracted Publication")
    authors = [
        (a.get("author") or {}).get("display_name") or a.get("raw_author_name") or ""
        for a in w.get("authorships") or []
    ]
    date = str(w.get("publication_date") or "")
    return Record(
        title=norm.clean_text(str(w.get("title") or w.get("display_name") or "")),
        abstract_sections=norm.abstract(inverted_abstract(w.get("abstract_inverted_index"))),
        pub_year=int(w["publication_year"]) if w.get("publication_year") else norm.first_year(date),
        journal=norm.clean_text(str(source.get("display_name") or "")),
        volume=str(biblio.get("volume") or ""),
        issue=str(biblio.get("issue") or ""),
        pages=f"{first}-{last}" if first and last and first != last else str(first),
        languages=norm.languages([str(w["language"])]) if w.get("language") else (),
        publication_types=norm.publication_types([t for t in types if t]),
        keywords=tuple(k.get("display_name", "") for k in w.get("keywords") or [] if isinstance(k, dict)),
        authors=norm.authors(_last_first(a) for a in authors if a),
        ids=ids,
    )


def _last_first(display_name: str) -> str:
    """'Jason Priem' → 'Priem, Jason' (OpenAlex writes names first name first)."""
    parts = display_name.strip().rsplit(" ", 1)
    return f"{parts[1]}, {parts[0]}" if len(parts) == 2 and "," not in display_name else display_name


def parse_page(body: bytes, where: str = "") -> Page:
    problem = check_body(body)
    if problem:
        raise MalformedAnswer(problem)
    data = json.loads(body)
    results = data.get("results") or []
    page = Page(int(data["meta"].get("count") or 0), data["meta"].get("next_cursor") or None, result_count=len(results))
    for index, work in enumerate(results):
        try:
            page.records.append(parse_work(work))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            ident = work.get("id", "?") if isinstance(work, dict) else "?"
            page.quarantined.append(Quarantined("", f"OpenAlex work {index + 1} ({ident}) is unreadable: {exc}", where))
    return page
