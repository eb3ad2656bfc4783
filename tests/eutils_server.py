"""A local E-utilities server on 127.0.0.1 that behaves like NCBI's, for tests and benchmarks.

It serves esearch.fcgi and efetch.fcgi over a corpus of PubmedArticle XML, evaluates PubMed-style
boolean queries (AND/OR/NOT, parentheses, quoted phrases, [tiab]/[dp]/[la] tags), keeps a log of
every request, and can be told to misbehave: `server.inject(utility, fault, times)`.
"""
from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ESEARCH_CAP = 9999
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
LANGUAGE_NAMES = {"english": "eng", "german": "ger", "french": "fre", "spanish": "spa", "chinese": "chi"}


@dataclass
class Article:
    pmid: str
    xml: bytes
    text: str             # lower-cased title, abstract, keywords and MeSH terms, for matching
    years: set[int]       # print and electronic publication years ([dp])
    languages: set[str]
    entrez_date: str = ""     # PubMedPubDate[@PubStatus="entrez"] as YYYY/MM/DD: esearch datetype=edat
    modified_date: str = ""   # MedlineCitation/DateRevised, else the entrez date: datetype=mdat


def article_from_element(elem: ET.Element) -> Article:
    citation = elem.find("MedlineCitation")
    pmid = citation.findtext("PMID").strip()
    art = citation.find("Article")
    parts = [" ".join(art.find("ArticleTitle").itertext())]
    parts += [" ".join(a.itertext()) for a in art.findall("Abstract/AbstractText")]
    parts += [" ".join(k.itertext()) for k in citation.findall("KeywordList/Keyword")]
    parts += [" ".join(d.itertext()) for d in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")]
    pub_date = art.find("Journal/JournalIssue/PubDate")
    years = {int(y) for y in _YEAR.findall(" ".join(pub_date.itertext()))} if pub_date is not None else set()
    years |= {int(y.text) for y in art.findall("ArticleDate/Year") if y.text}
    entrez = _date_of(elem.find("PubmedData/History/PubMedPubDate[@PubStatus='entrez']"))
    return Article(
        pmid=pmid,
        xml=ET.tostring(elem, encoding="utf-8"),
        text=" ".join(parts).lower(),
        years=years,
        languages={(x.text or "").strip().lower() for x in art.findall("Language")},
        entrez_date=entrez,
        modified_date=_date_of(citation.find("DateRevised")) or entrez,
    )


def _date_of(elem: ET.Element | None) -> str:
    if elem is None or not elem.findtext("Year"):
        return ""
    parts = [elem.findtext(p) or "1" for p in ("Year", "Month", "Day")]
    return f"{int(parts[0]):04d}/{int(parts[1]):02d}/{int(parts[2]):02d}"


def _in_date_window(article: Article, params: dict) -> bool:
    """esearch's datetype/mindate/maxdate (edat: entry date, mdat: modification date), days inclusive."""
    if not params.get("datetype") or not (params.get("mindate") or params.get("maxdate")):
        return True
    value = {"edat": article.entrez_date, "mdat": article.modified_date}.get(params["datetype"], "")
    low = _date_bound(params.get("mindate") or "1000", "01")
    high = _date_bound(params.get("maxdate") or "3000", "99")
    return bool(value) and low <= value <= high


def _date_bound(text: str, fill: str) -> str:
    parts = text.replace("-", "/").split("/")
    return "/".join([parts[0].zfill(4)] + [(parts[i].zfill(2) if i < len(parts) else fill) for i in (1, 2)])


def load_corpus(path: str | Path) -> list[Article]:
    root = ET.parse(path).getroot()
    return [article_from_element(e) for e in root.findall("PubmedArticle")]


# --- query evaluation ----------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"(\[[^\]]+\])?|([^\s()"]+))')


def _tokens(query: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    query = query.strip()
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse query at {query[pos:]!r}")
        pos = m.end()
        if m.group(1):
            out.append(("(", "("))
        elif m.group(2):
            out.append((")", ")"))
        elif m.group(3) is not None:
            out.append(("term", m.group(3) + (m.group(4) or "")))
        else:
            word = m.group(5)
            out.append(("op", word) if word in ("AND", "OR", "NOT") else ("term", word))
    return out


def matcher(query: str):
    """Compile a query to a predicate over Article (a small recursive-descent parser)."""
    tokens = _tokens(query)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else (None, None)

    def expr():
        nonlocal pos
        left = term()
        while peek()[0] == "op" or peek()[0] in ("term", "("):
            op = "AND"
            if peek()[0] == "op":
                op = peek()[1]
                pos += 1
            right = term()
            left = _combine(op, left, right)
        return left

    def term():
        nonlocal pos
        kind, value = peek()
        if kind == "(":
            pos += 1
            inner = expr()
            pos += 1  # ")"
            return inner
        pos += 1
        return _leaf(value)

    return expr()


def _combine(op, left, right):
    if op == "AND":
        return lambda a: left(a) and right(a)
    if op == "OR":
        return lambda a: left(a) or right(a)
    return lambda a: left(a) and not right(a)


def _leaf(term: str):
    m = re.fullmatch(r"(.*?)\[([^\]]+)\]", term)
    text, tag = (m.group(1), m.group(2).lower()) if m else (term, "")
    if tag in ("dp", "pdat", "publication date"):
        low, _, high = text.partition(":")
        lo, hi = int(low[:4]), int((high or low)[:4])
        return lambda a: any(lo <= y <= hi for y in a.years)
    if tag in ("la", "language"):
        code = LANGUAGE_NAMES.get(text.lower(), text.lower())
        return lambda a: code in a.languages
    pattern = re.compile(r"(?<![a-z0-9])" + re.escape(text.lower()) + r"(?![a-z0-9])")
    return lambda a: bool(pattern.search(a.text))


# --- the server ----------------------------------------------------------------------------------

@dataclass
class Fault:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    truncate: bool = False      # announce the full Content-Length, send half, close
    reset: bool = False         # close the connection without an answer
    delay: float = 0.0          # stall before answering


class EutilsServer:
    """Start with `with EutilsServer(articles) as server:`; point clients at `server.base_url`."""

    def __init__(self, articles: list[Article], rate_limit: float | None = None):
        self.articles = {a.pmid: a for a in articles}
        self.rate_limit = rate_limit
        self.requests: list[dict] = []
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        self._recent: list[float] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/entrez/eutils/"

    def __enter__(self) -> "EutilsServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def inject(self, utility: str, fault: Fault, times: int = 1) -> None:
        """Answer the next `times` requests to `utility` ("esearch" or "efetch") with `fault`."""
        with self._lock:
            self._faults.setdefault(utility, []).extend([fault] * times)

    def calls(self, utility: str) -> list[dict]:
        return [r for r in self.requests if r["utility"] == utility]

    # -- responses

    def esearch(self, params: dict) -> bytes:
        term = params.get("term", "")
        try:
            match = matcher(term)
        except (ValueError, IndexError) as exc:
            return _esearch_xml(error=f"Invalid query: {exc}")
        hits = sorted((p for p, a in self.articles.items() if match(a) and _in_date_window(a, params)),
                      key=int, reverse=True)
        retstart = int(params.get("retstart", 0))
        retmax = min(int(params.get("retmax", 20)), ESEARCH_CAP)
        if retstart > ESEARCH_CAP - 1:
            return _esearch_xml(error=f"Search Backend failed: Exception:\n'retstart' cannot be larger than {ESEARCH_CAP - 1}.")
        ids = hits[retstart:retstart + retmax]
        return _esearch_xml(count=len(hits), ids=ids, retstart=retstart, translation=term)

    def efetch(self, params: dict) -> bytes:
        ids = [i for i in params.get("id", "").split(",") if i]
        body = b"".join(self.articles[i].xml for i in ids if i in self.articles)
        return (b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
                b'1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
                b"<PubmedArticleSet>\n" + body + b"\n</PubmedArticleSet>\n")

    def _over_rate(self, now: float) -> bool:
        if self.rate_limit is None:
            return False
        self._recent = [t for t in self._recent if now - t < 1.0]
        self._recent.append(now)
        return len(self._recent) > self.rate_limit

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self._answer(parse_qs(urlparse(self.path).query))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._answer(parse_qs(self.rfile.read(length).decode()))

            def _answer(self, query: dict) -> None:
                params = {k: v[-1] for k, v in query.items()}
                utility = urlparse(self.path).path.rsplit("/", 1)[-1].split(".")[0]
                now = time.monotonic()
                with server._lock:
                    server.requests.append({"utility": utility, "method": self.command, "params": params,
                                            "time": now})
                    over = server._over_rate(now)
                    queue = server._faults.get(utility) or []
                    fault = queue.pop(0) if queue else None
                if over:
                    return self._send(429, b'{"error":"API rate limit exceeded","count":"4"}',
                                      {"Content-Type": "application/json"})
                if fault:
                    return self._fault(fault, utility, params)
                if utility == "esearch":
                    return self._send(200, server.esearch(params))
                if utility == "efetch":
                    return self._send(200, server.efetch(params))
                self._send(404, b"unknown utility")

            def _fault(self, fault: Fault, utility: str, params: dict) -> None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.reset:
                    self.close_connection = True
                    self.connection.close()
                    return
                body = fault.body or (server.esearch(params) if utility == "esearch" else server.efetch(params))
                if fault.truncate:
                    self.send_response(fault.status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                self._send(fault.status, body, fault.headers)

            def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                headers = {"Content-Type": "text/xml; charset=UTF-8", **(headers or {})}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _esearch_xml(count: int = 0, ids: list[str] = (), retstart: int = 0, translation: str = "",
                 error: str = "") -> bytes:
    if error:
        inner = f"<ERROR>{_escape(error)}</ERROR>"
    else:
        id_list = "".join(f"<Id>{i}</Id>" for i in ids)
        inner = (f"<Count>{count}</Count><RetMax>{len(ids)}</RetMax><RetStart>{retstart}</RetStart>"
                 f"<IdList>{id_list}</IdList><TranslationSet/>"
                 f"<QueryTranslation>{_escape(translation)}</QueryTranslation>")
    return ('<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch '
            '20060628//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
            f"<eSearchResult>{inner}</eSearchResult>\n").encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
