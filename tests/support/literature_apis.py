"""Local fakes of Europe PMC's REST search and OpenAlex's /works on 127.0.0.1, for tests.

Both serve one corpus of `Work`s, each in its own API's JSON shape, and reproduce the documented
behaviours the clients depend on:

Europe PMC (`/search`, `/searchPOST`): `query` with AND/OR/NOT, parentheses, quoted phrases,
`word*` truncation and the fields TITLE, ABSTRACT, TITLE_ABS, PUB_YEAR:[a TO b] and the date fields
FIRST_PDATE (first publication), FIRST_IDATE (first indexed in Europe PMC: `Work.created`) and
UPDATE_DATE (last updated: `Work.updated`, else created), each [YYYY-MM-DD TO YYYY-MM-DD] inclusive;
`pageSize` (default 25, at most 1000); `cursorMark=*` then `nextCursorMark` (opaque, holding '+', '/'
and '=' so a cursor encoded twice, or not at all, is refused with 400); no `nextCursorMark` on the
last page or a zero-hit answer; `resultType=lite` without abstract, language, publication types or
MeSH; records with no `pubYear` (`omit_pub_year`) keep `firstPublicationDate`.

OpenAlex (`/works`): `search=` with the same boolean syntax, wildcards stripped; `filter=` with
`title_and_abstract.search:`, `title.search:`, `publication_year:`, `from_publication_date:`,
`from_created_date:` (`Work.created`), `from_updated_date:` (`Work.updated`, else created), each
date YYYY-MM-DD inclusive (another shape is a 400); with `premium_filters`, the created/updated
filters are refused with 403 as OpenAlex documented them for Premium keys only; `per_page` at most 200; `cursor=*` then `meta.next_cursor`, the end being a page
with `results: []` and `next_cursor: null`; `api_key` required (401 without, 403 with an unknown one)
when `keys` is given; a daily budget per key (`daily_budget` requests, then 429 with a budget
message and a long Retry-After); work objects with URL ids, `ids.pmcid` without 'PMC', the abstract
as `abstract_inverted_index`, `primary_location.source` null when the work has no journal.

Both: `inject(fault, times)` scripts faults (tests.support.eutils_server.FAULTS: 500/502/503 HTML,
maintenance page, reset, truncated body; `rate_limited(retry_after)`), and `requests` logs every
request's path and parameters.
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support.eutils_server import Fault

ISO1 = {"eng": "en", "ger": "de", "fre": "fr", "spa": "es", "chi": "zh", "jpn": "ja"}
OPENALEX_TYPES = {
    "Journal Article": "article",
    "Review": "review",
    "Preprint": "preprint",
    "Published Erratum": "erratum",
    "Letter": "letter",
    "Editorial": "editorial",
}


@dataclass
class Work:
    """One paper as both APIs know it."""

    title: str
    abstract: str = ""
    year: int | None = 2020
    date: str = ""  # publication date, ISO (default: year-01-15)
    pmid: str = ""
    pmcid: str = ""  # 'PMC123'
    doi: str = ""
    language: str = "eng"  # ISO 639-2, as Europe PMC gives it
    types: tuple[str, ...] = ("Journal Article",)
    journal: str = "Journal of Tests"
    authors: tuple[tuple[str, str], ...] = (("Smith", "John"),)
    preprint: str = ""  # Europe PMC id of a preprint (source PPR), e.g. 'PPR12345'
    openalex: str = ""  # OpenAlex id, e.g. 'W123' (default: derived)
    created: str = ""  # OpenAlex created_date / Europe PMC firstIndexDate, ISO (default: iso_date)
    updated: str = ""  # OpenAlex updated_date / Europe PMC's last update, ISO (default: created)
    omit_pub_year: bool = False  # Europe PMC leaves pubYear out (use firstPublicationDate)
    in_europepmc: bool = True
    in_openalex: bool = True

    @property
    def iso_date(self) -> str:
        return self.date or (f"{self.year}-01-15" if self.year else "")

    @property
    def created_date(self) -> str:
        return self.created or self.iso_date

    @property
    def updated_date(self) -> str:
        return self.updated or self.created_date


# --- query evaluation --------------------------------------------------------------------------

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

_TOKEN = re.compile(r'\s*(?:(\()|(\))|(?:([A-Z_]+):)?(?:"([^"]*)"|\[([^\]]*)\]|([^\s()"\[]+)))')


def _tokens(query: str) -> list[tuple]:
    out, pos, query = [], 0, query.strip()
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse query at {query[pos:]!r}")
        pos = m.end()
        if m.group(1):
            out.append(("(",))
        elif m.group(2):
            out.append((")",))
        elif m.group(6) in ("AND", "OR", "NOT") and not m.group(3):
            out.append(("op", m.group(6)))
        else:
            out.append(("leaf", m.group(3) or "", m.group(4), m.group(5), m.group(6)))
    return out


def matcher(query: str, strip_wildcards: bool = False, default_field: str = ""):
    """A predicate over Work for a Europe PMC / OpenAlex boolean query (recursive descent)."""
    tokens, pos = _tokens(query), 0

    def peek():
        return tokens[pos] if pos < len(tokens) else (None,)

    def expr():
        nonlocal pos
        left = unit()
        while peek()[0] in ("op", "leaf", "("):
            op = "AND"
            if peek()[0] == "op":
                op = peek()[1]
                pos += 1
            right = unit()
            left = _combine(op, left, right)
        return left

    def unit():
        nonlocal pos
        token = peek()
        pos += 1
        if token[0] == "(":
            inner = expr()
            pos += 1
            return inner
        if token[0] != "leaf":
            raise ValueError(f"unexpected {token} in {query!r}")
        return _leaf(token[1] or default_field, token[2], token[3], token[4], strip_wildcards)

    return expr()


def _combine(op, left, right):
    if op == "AND":
        return lambda w: left(w) and right(w)
    if op == "OR":
        return lambda w: left(w) or right(w)
    return lambda w: left(w) and not right(w)


def _leaf(fieldname, phrase, span, word, strip_wildcards):
    if span is not None:
        low, _, high = span.partition(" TO ")
        dates = {
            "FIRST_PDATE": lambda w: w.iso_date,
            "FIRST_IDATE": lambda w: w.created_date,
            "UPDATE_DATE": lambda w: w.updated_date,
        }
        if fieldname in dates:
            if not all(_ISO_DAY.fullmatch(d) for d in (low, high)):
                raise ValueError(f"{fieldname} needs [YYYY-MM-DD TO YYYY-MM-DD], not [{span}]")
            return lambda w: low <= dates[fieldname](w) <= high
        return lambda w: w.year is not None and int(low[:4]) <= w.year <= int(high[:4])
    if fieldname == "LANG":
        return lambda w: w.language == (phrase or word).lower()
    text = (phrase if phrase is not None else word).lower()
    if strip_wildcards:
        text = text.replace("*", "")
    if text.endswith("*"):
        pattern = re.compile(r"(?<![a-z0-9])" + re.escape(text[:-1]))
    else:
        pattern = re.compile(r"(?<![a-z0-9])" + re.escape(text).replace(r"\ ", r"[\s-]+") + r"(?![a-z0-9])")
    where = {"TITLE": lambda w: w.title, "ABSTRACT": lambda w: w.abstract}.get(
        fieldname, lambda w: f"{w.title} {w.abstract}"
    )
    return lambda w: bool(pattern.search(where(w).lower()))


# --- the servers -------------------------------------------------------------------------------


class _Server:
    """A threaded HTTP server on 127.0.0.1 with scripted faults and a request log."""

    def __init__(self, works: list[Work]):
        self.works = list(works)
        self.requests: list[dict] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def inject(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def answer(self, path: str, params: dict, raw_query: str) -> tuple[int, bytes, dict]:
        raise NotImplementedError

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                self._serve(url.path, url.query)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                self._serve(urlparse(self.path).path, self.rfile.read(length).decode())

            def _serve(self, path, raw):
                params = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                with server._lock:
                    fault = server._faults.pop(0) if server._faults else None
                    server.requests.append(
                        {
                            "path": path,
                            "method": self.command,
                            "params": params,
                            "raw": raw,
                            "fault": fault.kind if fault else "",
                        }
                    )
                try:
                    if fault is not None:
                        return self._fault(fault, path, params, raw)
                    self._send(*server.answer(path, params, raw))
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _fault(self, fault, path, params, raw):
                if fault.reset:
                    self.close_connection = True
                    self.connection.close()
                    return
                status, body, headers = (
                    (fault.status, fault.body, fault.headers) if fault.body else server.answer(path, params, raw)
                )
                if fault.truncate:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                self._send(fault.status if fault.body else status, body, {**headers, **fault.headers})

            def _send(self, status, body, headers):
                self.send_response(status)
                for key, value in {"Content-Type": "application/json;charset=UTF-8", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _cursor(n: int, salt: str) -> str:
    """An opaque cursor with the characters that break when encoded twice or not at all."""
    return f"AoE/{salt}+{n:06d}=="


def _json(status: int, data) -> tuple[int, bytes, dict]:
    return status, json.dumps(data).encode(), {}


class EuropePmcServer(_Server):
    def __init__(self, works: list[Work]):
        super().__init__([w for w in works if w.in_europepmc])
        self._cursors: dict[str, int] = {}

    def answer(self, path, params, raw):
        if not path.endswith(("/search", "/searchPOST")):
            return _json(404, {"errCode": 404, "errMsg": "Not found"})
        try:
            match = matcher(params.get("query", ""))
        except ValueError as exc:
            return _json(400, {"errCode": 400, "errMsg": f"Invalid query: {exc}"})
        hits = [w for w in self.works if match(w)]
        size = min(int(params.get("pageSize", 25)), 1000)
        cursor = params.get("cursorMark", "*")
        if cursor == "*":
            start = 0
        elif cursor in self._cursors:
            start = self._cursors[cursor]
        else:
            return _json(400, {"errCode": 400, "errMsg": f"Invalid cursorMark: {cursor}"})
        page = hits[start : start + size]
        data = {
            "version": "6.9",
            "hitCount": len(hits),
            "request": {
                "queryString": params.get("query"),
                "resultType": params.get("resultType", "lite"),
                "cursorMark": cursor,
                "pageSize": size,
                "sort": "",
                "synonym": False,
            },
        }
        if start + size < len(hits):
            token = _cursor(start + size, "epmc")
            self._cursors[token] = start + size
            data["nextCursorMark"] = token
        data["resultList"] = {"result": [self.result(w, params.get("resultType", "lite")) for w in page]}
        return _json(200, data)

    @staticmethod
    def result(w: Work, result_type: str) -> dict:
        source, ident = ("PPR", w.preprint) if w.preprint else ("MED", w.pmid) if w.pmid else ("PMC", w.pmcid)
        r = {
            "id": ident,
            "source": source,
            "title": w.title,
            "authorString": ", ".join(f"{last} {first[:1]}" for last, first in w.authors) + ".",
            "firstPublicationDate": w.iso_date,
            "firstIndexDate": w.created_date,
        }
        if w.pmid:
            r["pmid"] = w.pmid
        if w.pmcid:
            r["pmcid"] = w.pmcid
        if w.doi:
            r["doi"] = w.doi
        if w.year and not w.omit_pub_year:
            r["pubYear"] = str(w.year)
        if result_type == "core":
            r["authorList"] = {
                "author": [
                    {"fullName": f"{last} {first[:1]}", "firstName": first, "lastName": last, "initials": first[:1]}
                    for last, first in w.authors
                ]
            }
            r["journalInfo"] = {"journal": {"title": w.journal}, "yearOfPublication": w.year}
            if w.abstract:
                r["abstractText"] = w.abstract
            r["language"] = w.language
            r["pubTypeList"] = {"pubType": list(w.types)}
            r["electronicPublicationDate"] = w.iso_date
        return r


class OpenAlexServer(_Server):
    def __init__(
        self,
        works: list[Work],
        keys: tuple[str, ...] = (),
        daily_budget: int | None = None,
        premium_filters: bool = False,
    ):
        super().__init__([w for w in works if w.in_openalex])
        self.keys, self.daily_budget, self.premium_filters = set(keys), daily_budget, premium_filters
        self._spent: dict[str, int] = {}
        self._cursors: dict[str, int] = {}

    def answer(self, path, params, raw):
        if not path.endswith("/works"):
            return _json(404, {"error": "Not found"})
        if self.keys:
            key = params.get("api_key", "")
            if not key:
                return _json(
                    401,
                    {
                        "error": "Unauthorized",
                        "message": "An API key is required. Get one free at https://openalex.org/settings/api",
                    },
                )
            if key not in self.keys:
                return _json(403, {"error": "Forbidden", "message": "Invalid API key."})
            self._spent[key] = self._spent.get(key, 0) + 1
            if self.daily_budget is not None and self._spent[key] > self.daily_budget:
                status, body, _ = _json(
                    429,
                    {
                        "error": "Too Many Requests",
                        "message": "Daily budget exceeded for this API key. Resets at midnight UTC.",
                    },
                )
                return status, body, {"Retry-After": "43200"}
        per_page = int(params.get("per_page", 25))
        if per_page > 200 or per_page < 1:
            return _json(
                400,
                {"error": "Invalid query parameters error.", "message": "per-page parameter must be between 1 and 200"},
            )
        if "page" in params and "cursor" in params:
            return _json(
                400, {"error": "Invalid query parameters error.", "message": "cannot use page and cursor together"}
            )
        premium = [f for f in ("from_created_date", "from_updated_date") if f"{f}:" in (params.get("filter") or "")]
        if self.premium_filters and premium:
            return _json(403, {"error": "Forbidden", "message": f"{premium[0]} requires a Premium API key."})
        try:
            match = self._match(params)
        except ValueError as exc:
            return _json(400, {"error": "Invalid query parameters error.", "message": str(exc)})
        hits = [w for w in self.works if match(w)]
        cursor = params.get("cursor", "*")
        if cursor == "*":
            start = 0
        elif cursor in self._cursors:
            start = self._cursors[cursor]
        else:
            return _json(400, {"error": "Invalid query parameters error.", "message": f"invalid cursor: {cursor}"})
        page = hits[start : start + per_page]
        token = None
        if page:
            token = _cursor(start + len(page), "oa")
            self._cursors[token] = start + len(page)
        return _json(
            200,
            {
                "meta": {
                    "count": len(hits),
                    "db_response_time_ms": 12,
                    "page": None,
                    "per_page": per_page,
                    "next_cursor": token,
                    "groups_count": None,
                },
                "results": [self.work(w, i) for i, w in enumerate(page, start)],
                "group_by": [],
            },
        )

    def _match(self, params):
        tests = []
        if params.get("search"):
            tests.append(matcher(params["search"], strip_wildcards=True))
        for part in filter(None, (params.get("filter") or "").split(",")):
            name, _, value = part.partition(":")
            if name == "title_and_abstract.search":
                tests.append(matcher(value, strip_wildcards=True))
            elif name == "title.search":
                tests.append(matcher(value, strip_wildcards=True, default_field="TITLE"))
            elif name == "publication_year":
                low, _, high = value.partition("-")
                tests.append(lambda w, lo=int(low), hi=int(high or 9999): w.year is not None and lo <= w.year <= hi)
            elif name in ("from_publication_date", "from_created_date", "from_updated_date"):
                if not _ISO_DAY.fullmatch(value):
                    raise ValueError(f"{name} must be a date YYYY-MM-DD, not {value!r}")
                when = {
                    "from_publication_date": lambda w: w.iso_date,
                    "from_created_date": lambda w: w.created_date,
                    "from_updated_date": lambda w: w.updated_date,
                }[name]
                tests.append(lambda w, v=value, when=when: when(w) >= v)
            else:
                raise ValueError(f"{name} is not a valid filter")
        return lambda w: all(t(w) for t in tests)

    @staticmethod
    def work(w: Work, index: int) -> dict:
        # A work keeps its id whatever the query or page (derived from what identifies it).
        openalex = w.openalex or f"W{4000000000 + zlib.crc32(f'{w.title}|{w.doi}|{w.pmid}'.encode()) % 10**9}"
        positions: dict[str, list[int]] = {}
        for i, word in enumerate(w.abstract.split()):
            positions.setdefault(word, []).append(i)
        ids = {"openalex": f"https://openalex.org/{openalex}"}
        if w.doi:
            ids["doi"] = f"https://doi.org/{w.doi}"
        if w.pmid:
            ids["pmid"] = f"https://pubmed.ncbi.nlm.nih.gov/{w.pmid}"
        if w.pmcid:
            ids["pmcid"] = w.pmcid.removeprefix("PMC")
        return {
            "id": f"https://openalex.org/{openalex}",
            "doi": f"https://doi.org/{w.doi}" if w.doi else None,
            "title": w.title,
            "display_name": w.title,
            "publication_year": w.year,
            "publication_date": w.iso_date,
            "created_date": w.created_date,
            "updated_date": w.updated_date + "T00:00:00.000000",
            "language": ISO1.get(w.language, w.language[:2]),
            "type": OPENALEX_TYPES.get(w.types[0], "article") if w.types else "article",
            "ids": ids,
            "primary_location": {"source": {"display_name": w.journal} if w.journal else None},
            "authorships": [
                {
                    "author_position": "first" if i == 0 else "middle",
                    "author": {"id": f"https://openalex.org/A{i}", "display_name": f"{first} {last}"},
                    "raw_author_name": f"{first} {last}",
                }
                for i, (last, first) in enumerate(w.authors)
            ],
            "biblio": {"volume": "1", "issue": "2", "first_page": "10", "last_page": "20"},
            "is_retracted": "Retracted Publication" in w.types,
            "abstract_inverted_index": positions or None,
        }


@pytest.fixture(autouse=True)
def _clean_api_environment(monkeypatch):
    """No test sees the developer's Europe PMC / OpenAlex settings."""
    for name in ("EUROPEPMC_BASE_URL", "OPENALEX_BASE_URL", "OPENALEX_API_KEY"):
        monkeypatch.delenv(name, raising=False)
