"""The only module that talks to NCBI E-utilities.

Bio.Entrez builds the requests (parameters, POST for long ID lists); we open them ourselves because
Biopython 1.88 hard-codes NCBI's address, sets no timeout and retries 429/5xx with no wait. Here every
request goes to `base_url`, waits for a rate limiter shared by all threads, has a timeout, and is
retried with exponential backoff and jitter on transient faults, a bounded number of times.

Transient faults: HTTP 429 (Retry-After honoured when sent), 5xx, connection resets, timeouts and
stalls, bodies shorter than their Content-Length, HTML pages served with HTTP 200 (maintenance), and
in-band `<ERROR>`s that NCBI's backends send inside an HTTP 200. Permanent ones (another 4xx, an
`<ERROR>` that says the request itself is wrong) are raised at once: retrying cannot help.

The API key is sent as a parameter but never written anywhere: log lines and error messages go
through `Client.redact`, and request descriptions leave it out.
"""
from __future__ import annotations

import http.client
import logging
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
import re
import warnings
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Callable, Mapping

from Bio import Entrez

from pipeline.errors import EutilsUnavailable, PipelineError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
TOOL = "literature-review-pipeline"
# Requests per second NCBI allows per IP, without and with an API key.
RATE_WITHOUT_KEY = 3.0
RATE_WITH_KEY = 10.0
# Slack below NCBI's ceiling: their window and our clock never line up exactly, and a request that
# leaves on time may arrive late on a busy machine or network. At 3/s, 0.93 lets one request of any
# four arrive 75 ms late before NCBI could count four in one second (0.95 allowed 53 ms: too little
# on a loaded machine, where the acceptance test saw two 429s).
RATE_MARGIN = 0.93
# In-band <ERROR> texts that say the request itself is wrong; any other <ERROR> is treated as a
# passing backend fault and retried ("Search Backend failed: ...", "Unable to connect ...").
PERMANENT_ERRORS = re.compile(r"cannot be larger than|invalid|not supported|unknown|"
                              r"unable to obtain query", re.IGNORECASE)
_IN_BAND_ERROR = re.compile(rb"<ERROR>(.*?)</ERROR>", re.DOTALL)


class EutilsRequestError(PipelineError):
    """E-utilities rejected a request as malformed (a 4xx other than 429): retrying cannot help."""


@dataclass(frozen=True)
class Settings:
    """Where and how to reach E-utilities; read from the environment by `from_env`."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str = ""
    email: str = ""
    timeout: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 1.0     # seconds before the first retry; doubled each time
    backoff_cap: float = 30.0
    max_rate: float = 0.0         # requests/s; 0 means NCBI's limit (3, or 10 with an API key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides) -> "Settings":
        base = environ.get("EUTILS_BASE_URL", "").strip() or DEFAULT_BASE_URL
        if not base.endswith("/"):
            base += "/"
        return cls(base_url=base, api_key=environ.get("NCBI_API_KEY", "").strip(),
                   email=environ.get("NCBI_EMAIL", "").strip(), **overrides)

    @property
    def rate(self) -> float:
        return self.max_rate or (RATE_WITH_KEY if self.api_key else RATE_WITHOUT_KEY)


class RateLimiter:
    """Spaces calls at least 1/rate seconds apart across every thread that shares it.

    The lock is held while sleeping, and the next slot is counted from the moment the caller is
    actually released: an oversleep delays the following request instead of squeezing it closer to
    this one, so NCBI never sees two requests nearer than `interval`.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, margin: float = RATE_MARGIN):
        self.interval = 1.0 / (rate * margin)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = float("-inf")

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._clock()
            self._next = now + self.interval


class TransientBody(Exception):
    """A 200 response whose body is not what was asked for (HTML page, truncated XML, backend <ERROR>)."""


class Client:
    """E-utilities client: one per run, safe to share between threads."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.limiter = RateLimiter(settings.rate, sleep=sleep)
        self._sleep = sleep
        self._count_lock = threading.Lock()
        self.requests_made = 0
        self.retries = 0
        if not settings.email:
            log.warning("NCBI_EMAIL is not set: NCBI asks for a contact address on every request "
                        "(export NCBI_EMAIL=you@example.org).")

    def esearch(self, term: str, **params) -> bytes:
        """Raw esearch XML for `term` in PubMed."""
        return self.request("esearch.fcgi", {"db": "pubmed", "term": term, **params},
                            validate=_looks_like("</eSearchResult>"))

    def efetch(self, pmids: list[str], validate: Callable[[bytes], str | None] | None = None) -> bytes:
        """Raw PubMed XML for `pmids` (POSTed, so long lists are safe)."""
        body = self.request("efetch.fcgi", {"db": "pubmed", "id": ",".join(pmids), "retmode": "xml"},
                            post=True, validate=validate or _looks_like("</PubmedArticleSet>"))
        error = in_band_error(body)
        if error:
            raise EutilsRequestError(self.redact(f"efetch.fcgi ({len(pmids)} ids) answered with an error: {error}"))
        return body

    def redact(self, text: str) -> str:
        """`text` with the API key masked: for every message that could end up in a log or a file."""
        key = self.settings.api_key
        return text.replace(key, "***") if key else text

    def request(self, utility: str, params: dict, post: bool | None = None,
                validate: Callable[[bytes], str | None] | None = None) -> bytes:
        """Send one request with pacing, timeout and bounded retries; return the body."""
        s = self.settings
        params = {**params, "tool": TOOL, "email": s.email or None, "api_key": s.api_key or None}
        with warnings.catch_warnings():
            # Biopython warns about a missing email on every request; we warned once, above.
            warnings.simplefilter("ignore", UserWarning)
            request = Entrez._build_request(s.base_url + utility, params, post=post)
        described = self.redact(f"{utility} ({_describe_params(params)})")
        for attempt in range(1, s.max_attempts + 1):
            self.limiter.wait()
            with self._count_lock:
                self.requests_made += 1
            try:
                body = self._open(request)
                problem = validate(body) if validate else None
                if problem:
                    raise TransientBody(problem)
                return body
            except urllib.error.HTTPError as exc:
                excerpt = self.redact(_error_excerpt(exc))
                if exc.code != 429 and exc.code < 500:
                    raise EutilsRequestError(
                        f"E-utilities rejected {described}: HTTP {exc.code} {exc.reason}. {excerpt}"
                    ) from None
                fault, retry_after = f"HTTP {exc.code}", _retry_after(exc)
                if exc.code == 429:
                    fault += " (rate limit exceeded)"
            except (urllib.error.URLError, OSError, http.client.HTTPException, TransientBody) as exc:
                fault, retry_after = self.redact(_describe_fault(exc)), None
            if attempt == s.max_attempts:
                raise EutilsUnavailable(_unavailable_message(s, described, fault, attempt))
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            with self._count_lock:
                self.retries += 1
            log.warning("%s failed (%s); retry %d of %d in %.1f s", described, fault, attempt,
                        s.max_attempts - 1, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _open(self, request: urllib.request.Request) -> bytes:
        with urllib.request.urlopen(request, timeout=self.settings.timeout) as response:
            # read() raises IncompleteRead when the body is shorter than its Content-Length.
            return response.read()

    def _backoff(self, attempt: int) -> float:
        base = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)


def _looks_like(closing_tag: str) -> Callable[[bytes], str | None]:
    """A cheap check that a body is the complete XML document asked for."""
    tag = closing_tag.encode()

    def check(body: bytes) -> str | None:
        error = in_band_error(body)
        if error and not PERMANENT_ERRORS.search(error):
            return f"an error inside an HTTP 200 answer: {error}"
        tail = body[-4096:].rstrip()
        if tail.endswith(tag) or error:
            return None  # a permanent <ERROR> is for the caller to report
        if body.lstrip()[:200].lower().startswith((b"<!doctype html", b"<html")):
            return "an HTML page instead of XML (NCBI maintenance?)"
        return f"an incomplete or unexpected body ({len(body)} bytes, no {closing_tag})"
    return check


def in_band_error(body: bytes) -> str:
    """The text of a top-level <ERROR> in an E-utilities XML answer ("" when there is none).

    Only the first few kilobytes are looked at: NCBI puts the element right after the root tag, and
    an article's own text can never contain a literal <ERROR> tag.
    """
    found = _IN_BAND_ERROR.search(body[:4096])
    return " ".join(found.group(1).decode("utf-8", "replace").split()) if found else ""


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), capped at two minutes."""
    value = (exc.headers.get("Retry-After") or "").strip() if exc.headers else ""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), 120.0)


def _describe_fault(exc: BaseException) -> str:
    if isinstance(exc, TransientBody):
        return str(exc)
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host ({reason.strerror})"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed before the whole body arrived"
    return f"{type(reason).__name__}: {reason}"


def _error_excerpt(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace").strip()
    except Exception:  # the body is only a hint for the message
        return ""
    return f"Response: {text}" if text else ""


def _describe_params(params: dict) -> str:
    """Parameters for log lines: never the API key, never a long ID list."""
    shown = []
    for key in ("term", "retstart", "retmax", "mindate", "maxdate"):
        if params.get(key) is not None:
            shown.append(f"{key}={params[key]}")
    if params.get("id"):
        shown.append(f"{params['id'].count(',') + 1} ids")
    return ", ".join(shown)


def _unavailable_message(s: Settings, described: str, fault: str, attempts: int) -> str:
    hint = (
        f"E-utilities at {s.base_url} did not answer {described}: {fault} "
        f"(gave up after {attempts} attempts)."
    )
    if s.base_url == DEFAULT_BASE_URL:
        hint += (" Check the network connection to NCBI, or set EUTILS_BASE_URL to reach another "
                 "E-utilities server (a mirror or a local test server).")
    if not s.api_key:
        hint += " With an NCBI API key (export NCBI_API_KEY=...) NCBI allows 10 requests/s instead of 3."
    return hint + " Try again later; nothing was published."
