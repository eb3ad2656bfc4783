"""A local E-utilities server on 127.0.0.1 that behaves like NCBI's, for tests and benchmarks.

It serves esearch.fcgi and efetch.fcgi over a corpus of PubmedArticle XML, evaluates PubMed-style
boolean queries (AND/OR/NOT, parentheses, quoted phrases, [tiab]/[dp]/[la] tags), keeps a log of
every request, and can be told to misbehave: `server.inject(utility, fault, times)` for a scripted
fault, `server.chaos(probability, seed)` for faults of every kind at random.

What it reproduces of NCBI (each one a documented limit or a fault seen in the wild):
- the rate limit: more than `rate_limit` requests in a second (`key_rate_limit` with an api_key)
  get HTTP 429 with NCBI's JSON body, with a Retry-After header when `retry_after` is set;
- esearch's cap: `retmax` clamped to `cap` (9,999), `retstart` above cap-1 answered with an
  <ERROR> in HTTP 200 (or `retstart_error_status`, e.g. 400);
- date ranges: `mindate`/`maxdate` with `datetype` pdat ([dp]), edat or crdt;
- the history server: `usehistory=y` gives WebEnv + QueryKey; efetch pages them by
  retstart/retmax; `expire_history()` (or `history_ttl`) makes efetch answer HTTP 200 with
  `<ERROR>Unable to obtain query #1</ERROR>`;
- faults: 500/502/503 with HTML bodies, a maintenance page in HTTP 200, connection resets, bodies
  shorter than their Content-Length, stalls, in-band <ERROR> (see `FAULTS`).
"""

from __future__ import annotations

import random
import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
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
    text: str  # lower-cased title, abstract, keywords and MeSH terms, for matching
    years: set[int]  # print and electronic publication years ([dp])
    languages: set[str]
    pdat: date | None = None  # publication date (datetype=pdat, PubMed's [dp])
    edat: date | None = None  # Entrez date (datetype=edat, [edat])
    crdt: date | None = None  # create date (datetype=crdt, [crdt])
    entrez_date: str = ""  # PubMedPubDate[@PubStatus="entrez"] as YYYY/MM/DD: esearch datetype=edat
    modified_date: str = ""  # MedlineCitation/DateRevised, else the entrez date: datetype=mdat


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
    history = {d.get("PubStatus"): _date_of(d) for d in elem.findall("PubmedData/History/PubMedPubDate")}
    entrez = _date_text(elem.find("PubmedData/History/PubMedPubDate[@PubStatus='entrez']"))
    return Article(
        pmid=pmid,
        xml=ET.tostring(elem, encoding="utf-8"),
        text=" ".join(parts).lower(),
        years=years,
        languages={(x.text or "").strip().lower() for x in art.findall("Language")},
        pdat=_date_of(pub_date) or _date_of(art.find("ArticleDate")),
        edat=history.get("entrez"),
        crdt=history.get("pubmed") or history.get("entrez"),
        entrez_date=entrez,
        modified_date=_date_text(citation.find("DateRevised")) or entrez,
    )


_MONTHS = {
    m: i
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}


def _date_of(elem: ET.Element | None) -> date | None:
    """The date of a PubDate/ArticleDate/PubMedPubDate element (first day of a MedlineDate span)."""
    if elem is None:
        return None
    year = elem.findtext("Year") or ""
    if not year.strip():
        found = _YEAR.search(elem.findtext("MedlineDate") or "")
        return date(int(found.group(1)), 1, 1) if found else None
    month_text = (elem.findtext("Month") or elem.findtext("Season") or "1").strip()
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text[:3].lower(), 1)
    day = (elem.findtext("Day") or "1").strip()
    return date(int(year), month, int(day) if day.isdigit() else 1)


def _date_for(article: Article, datetype: str) -> date | None:
    """The article's date of one esearch datetype (mdat: DateRevised, else the entrez date)."""
    if datetype == "mdat":
        return parse_eutils_date(article.modified_date) if article.modified_date else None
    return getattr(article, datetype)


def parse_eutils_date(text: str, end: bool = False) -> date:
    """YYYY, YYYY/MM or YYYY/MM/DD as E-utilities takes it; `end` picks the last day of a year or month."""
    parts = [int(p) for p in text.strip().split("/")]
    year, month, day = parts[0], parts[1] if len(parts) > 1 else (12 if end else 1), parts[2] if len(parts) > 2 else 0
    if not day:
        if not end:
            day = 1
        else:
            following = date(year + (month == 12), month % 12 + 1, 1)
            day = (following - date(year, month, 1)).days
    return date(year, month, day)


def _date_text(elem: ET.Element | None) -> str:
    if elem is None or not elem.findtext("Year"):
        return ""
    parts = [elem.findtext(p) or "1" for p in ("Year", "Month", "Day")]
    return f"{int(parts[0]):04d}/{int(parts[1]):02d}/{int(parts[2]):02d}"


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
    truncate: bool = False  # announce the full Content-Length, send half, close
    reset: bool = False  # close the connection without an answer
    delay: float = 0.0  # stall before answering
    kind: str = ""  # a name for logs and reports


def _html(status: int, title: str) -> bytes:
    return (
        f"<!DOCTYPE html>\n<html><head><title>{status} {title}</title></head><body><h1>{title}</h1>"
        "<p>The server encountered an internal error or misconfiguration.</p></body></html>\n"
    ).encode()


MAINTENANCE_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en"><head><title>NCBI Maintenance</title></head><body>'
    b"<h1>NCBI is undergoing maintenance</h1><p>Please try again later.</p></body></html>\n"
)
RATE_LIMIT_BODY = b'{"error":"API rate limit exceeded","count":"4"}'
HISTORY_EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n<eFetchResult>\n'
    b"\t<ERROR>Unable to obtain query #1</ERROR>\n</eFetchResult>\n"
)


def stall(seconds: float) -> Fault:
    """Answer correctly, but only after `seconds` (longer than the client's timeout to provoke one)."""
    return Fault(delay=seconds, kind="stall")


def in_band_error(utility: str, message: str = "Search Backend failed: read: connection reset by peer") -> Fault:
    """HTTP 200 whose XML carries an <ERROR> instead of results, as NCBI's backends sometimes send."""
    root = "eSearchResult" if utility == "esearch" else "eFetchResult"
    body = f'<?xml version="1.0" encoding="UTF-8" ?>\n<{root}><ERROR>{_escape(message)}</ERROR></{root}>\n'
    return Fault(body=body.encode(), kind="in-band-error")


def rate_limited(retry_after: float | None = None) -> Fault:
    """NCBI's 429 with its JSON body; Retry-After only when given, as NCBI does not always send it."""
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return Fault(status=429, body=RATE_LIMIT_BODY, headers=headers, kind="429")


# Every fault kind seen in the wild, by name (HTML bodies are sent as text/html, as NCBI does).
FAULTS: dict[str, Fault] = {
    "500": Fault(
        status=500, body=_html(500, "Internal Server Error"), headers={"Content-Type": "text/html"}, kind="500"
    ),
    "502": Fault(status=502, body=_html(502, "Bad Gateway"), headers={"Content-Type": "text/html"}, kind="502"),
    "503": Fault(status=503, body=_html(503, "Service Unavailable"), headers={"Content-Type": "text/html"}, kind="503"),
    "maintenance": Fault(status=200, body=MAINTENANCE_PAGE, headers={"Content-Type": "text/html"}, kind="maintenance"),
    "reset": Fault(reset=True, kind="reset"),
    "truncated": Fault(truncate=True, kind="truncated"),
}


class _StampingServer(ThreadingHTTPServer):
    """Notes when each connection was accepted, before a thread is started for it.

    Clients open one connection per request (urllib sends Connection: close), so the accept time
    is the request's arrival as NCBI's front end would count it, free of thread start-up delays.
    """

    def __init__(self, *args, **kwargs):
        self.accepted: dict = {}
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        self.accepted[request] = time.monotonic()
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.accepted.pop(request, None)
        super().shutdown_request(request)


class EutilsServer:
    """Start with `with EutilsServer(articles) as server:`; point clients at `server.base_url`."""

    def __init__(
        self,
        articles: list[Article],
        rate_limit: float | None = None,
        key_rate_limit: float | None = None,
        retry_after: float | None = None,
        cap: int = ESEARCH_CAP,
        retstart_error_status: int = 200,
        history_ttl: float | None = None,
        cache_queries: bool = False,
    ):
        self.articles = {a.pmid: a for a in articles}
        self.rate_limit = rate_limit  # requests/s without an api_key (None: no limit)
        self.key_rate_limit = key_rate_limit or (rate_limit * 10 / 3 if rate_limit else None)
        self.retry_after = retry_after  # seconds sent in Retry-After with a 429, if set
        self.cap = cap
        self.retstart_error_status = retstart_error_status
        self.history_ttl = history_ttl  # seconds a WebEnv lives (None: until expire_history)
        self.requests: list[dict] = []
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        self._recent: dict[bool, list[float]] = {False: [], True: []}
        self._history: dict[str, tuple[list[str], float]] = {}
        # Matching a term against a large corpus is slow; a corpus that tests change as they go must
        # not be cached, so only benchmarks (which never change it) turn this on.
        self.cache_queries = cache_queries
        self._hits: dict[str, list[str]] = {}
        self._chaos: tuple[float, random.Random, list[Fault], list[Fault]] | None = None
        self._httpd = _StampingServer(("127.0.0.1", 0), self._handler_class())
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

    def chaos(
        self, probability: float, seed: int = 0, kinds: list[str] | None = None, stall_seconds: float = 0.0
    ) -> None:
        """From now on, answer each request with a random fault (of `kinds`, default all) with `probability`.

        Every kind comes up in turn, in a random order (a shuffled deck), so a long enough run meets each.

        `stall_seconds` > 0 adds stalls of that length (set it above the client's timeout).
        429s are among the kinds: a client must retry them like NCBI's.
        """
        faults = [FAULTS[k] for k in (kinds or list(FAULTS))] + [in_band_error("esearch"), rate_limited(0.01)]
        if stall_seconds:
            faults.append(stall(stall_seconds))
        with self._lock:
            self._chaos = (probability, random.Random(seed), faults, [])

    def calls(self, utility: str) -> list[dict]:
        return [r for r in self.requests if r["utility"] == utility]

    def expire_history(self) -> None:
        """Forget every WebEnv, as NCBI does after some hours."""
        with self._lock:
            self._history.clear()

    # -- responses

    def hits(self, term: str) -> list[str]:
        """PMIDs matching `term`, newest (highest PMID) first, as PubMed sorts by default."""
        if term in self._hits:
            return self._hits[term]
        match = matcher(term)
        hits = sorted((p for p, a in list(self.articles.items()) if match(a)), key=int, reverse=True)
        if self.cache_queries:
            self._hits[term] = hits
        return hits

    def esearch(self, params: dict) -> tuple[int, bytes]:
        term = params.get("term", "")
        try:
            hits = self.hits(term)
        except (ValueError, IndexError) as exc:
            return 200, _esearch_xml(error=f"Invalid query: {exc}")
        if params.get("mindate") or params.get("maxdate"):
            try:
                low = parse_eutils_date(params.get("mindate") or "1000")
                high = parse_eutils_date(params.get("maxdate") or "3000", end=True)
            except (ValueError, IndexError):
                return 200, _esearch_xml(error="Invalid date: mindate and maxdate go together as YYYY[/MM[/DD]]")
            datetype = params.get("datetype", "pdat")
            if datetype not in ("pdat", "edat", "crdt", "mdat"):
                return 200, _esearch_xml(error=f"Invalid datetype: {datetype}")
            hits = [p for p in hits if (d := _date_for(self.articles[p], datetype)) is not None and low <= d <= high]
        retstart = int(params.get("retstart", 0))
        retmax = min(int(params.get("retmax", 20)), self.cap)
        if retstart > self.cap - 1:
            error = f"Search Backend failed: Exception:\n'retstart' cannot be larger than {self.cap - 1}. "
            error += "For PubMed, ESearch can only retrieve the first 9,999 records matching the query."
            return self.retstart_error_status, _esearch_xml(error=error)
        webenv = ""
        if params.get("usehistory") == "y":
            with self._lock:
                webenv = f"MCID_{len(self._history) + 1:04d}_{random.randrange(16**8):08x}"
                self._history[webenv] = (list(hits), time.monotonic())
        ids = hits[retstart : retstart + retmax]
        return 200, _esearch_xml(count=len(hits), ids=ids, retstart=retstart, translation=term, webenv=webenv)

    def efetch(self, params: dict) -> bytes:
        if params.get("WebEnv"):
            with self._lock:
                stored = self._history.get(params["WebEnv"])
            if (
                stored is None
                or params.get("query_key", "1") != "1"
                or (self.history_ttl is not None and time.monotonic() - stored[1] > self.history_ttl)
            ):
                return HISTORY_EXPIRED
            retstart = int(params.get("retstart", 0))
            ids = stored[0][retstart : retstart + int(params.get("retmax", 20))]
        else:
            ids = [i for i in params.get("id", "").split(",") if i]
        body = b"".join(self.articles[i].xml for i in ids if i in self.articles)
        return (
            b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
            b'1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
            b"<PubmedArticleSet>\n" + body + b"\n</PubmedArticleSet>\n"
        )

    def _over_rate(self, now: float, with_key: bool) -> bool:
        limit = self.key_rate_limit if with_key else self.rate_limit
        if limit is None:
            return False
        recent = [t for t in self._recent[with_key] if now - t < 1.0]
        recent.append(now)
        self._recent[with_key] = recent
        return len(recent) > limit

    def _pick_fault(self, utility: str) -> Fault | None:
        queue = self._faults.get(utility) or []
        if queue:
            return queue.pop(0)
        if self._chaos:
            probability, rng, faults, deck = self._chaos
            if rng.random() < probability:
                # Drawn from a shuffled deck, so every kind comes up once in each len(faults) faults.
                if not deck:
                    deck.extend(rng.sample(faults, len(faults)))
                fault = deck.pop()
                if fault.kind == "in-band-error":
                    fault = in_band_error(utility)
                return fault
        return None

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self._quietly(parse_qs(urlparse(self.path).query))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._quietly(parse_qs(self.rfile.read(length).decode()))

            def _quietly(self, query: dict) -> None:
                try:
                    self._answer(query)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout after a stall)

            def _answer(self, query: dict) -> None:
                params = {k: v[-1] for k, v in query.items()}
                utility = urlparse(self.path).path.rsplit("/", 1)[-1].split(".")[0]
                # The first request on a connection arrived when it was accepted; later ones, now.
                now = server._httpd.accepted.pop(self.connection, None) or time.monotonic()
                with server._lock:
                    over = server._over_rate(now, bool(params.get("api_key")))
                    fault = None if over else server._pick_fault(utility)
                    server.requests.append(
                        {
                            "utility": utility,
                            "method": self.command,
                            "params": params,
                            "time": now,
                            "status": 429 if over else None,
                            "fault": fault.kind if fault else ("429" if over else ""),
                        }
                    )
                if over:
                    headers = {"Content-Type": "application/json"}
                    if server.retry_after is not None:
                        headers["Retry-After"] = f"{server.retry_after:g}"
                    return self._send(429, RATE_LIMIT_BODY, headers)
                if fault:
                    return self._fault(fault, utility, params)
                if utility == "esearch":
                    return self._send(*server.esearch(params))
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
                body = fault.body or (server.esearch(params)[1] if utility == "esearch" else server.efetch(params))
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


def _esearch_xml(
    count: int = 0, ids: list[str] = (), retstart: int = 0, translation: str = "", error: str = "", webenv: str = ""
) -> bytes:
    if error:
        inner = f"<ERROR>{_escape(error)}</ERROR>"
    else:
        id_list = "".join(f"<Id>{i}</Id>" for i in ids)
        history = f"<QueryKey>1</QueryKey><WebEnv>{webenv}</WebEnv>" if webenv else ""
        inner = (
            f"<Count>{count}</Count><RetMax>{len(ids)}</RetMax><RetStart>{retstart}</RetStart>"
            f"{history}<IdList>{id_list}</IdList><TranslationSet/>"
            f"<QueryTranslation>{_escape(translation)}</QueryTranslation>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch '
        '20060628//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
        f"<eSearchResult>{inner}</eSearchResult>\n"
    ).encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ServerProcess:
    """An EutilsServer in a child process, for benchmarks and long tests.

    In its own process the server's clock and threads never wait for the client's GIL (parsing
    25,000 records), so its request log times requests as NCBI would see them. `requests` holds the
    log once the block exits (or after `stop()`).
    """

    def __init__(self, articles: list[Article], chaos: dict | None = None, **options):
        self._args = (articles, chaos, options)
        self.requests: list[dict] = []
        self.base_url = ""
        self._conn = self._proc = None

    def __enter__(self) -> "ServerProcess":
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._proc = context.Process(target=_serve, args=(child, *self._args), daemon=True)
        self._proc.start()
        self.base_url = self._conn.recv()
        return self

    def stop(self) -> list[dict]:
        if self._proc is not None:
            self._conn.send("stop")
            self.requests = self._conn.recv()
            self._proc.join(timeout=10)
            self._proc = None
        return self.requests

    def __exit__(self, *exc) -> None:
        self.stop()


def _serve(conn, articles: list[Article], chaos: dict | None, options: dict) -> None:
    with EutilsServer(articles, cache_queries=True, **options) as server:
        if chaos:
            server.chaos(**chaos)
        conn.send(server.base_url)
        conn.recv()
        with server._lock:
            conn.send(list(server.requests))
