"""The only module that talks to NCBI E-utilities, through the shared HTTP client (sources/http.py).

The client gives every request its timeout, the rate limiter, bounded retries with backoff and
jitter, Retry-After and the masking of the API key. What is PubMed's own lives here: the address
and the parameters NCBI asks for on every request (`tool`, `email`, `api_key`, per the E-utilities
documentation), NCBI's rate (3 requests/s, 10 with an API key), POST for long ID lists, and the
checks of a 200 answer that retry what is transient: HTML pages (maintenance), bodies that stop
before their closing tag, and in-band `<ERROR>`s that NCBI's backends send inside an HTTP 200. An
`<ERROR>` that says the request itself is wrong is not retried: the caller reports it.

The API key is sent as a parameter but never written anywhere: log lines and error messages go
through `Client.redact`, and request descriptions leave it out.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Callable, Mapping

from pipeline.errors import EutilsUnavailable, ExitCode, PipelineError, RequestRejected
from pipeline.sources.http import RATE_MARGIN, HttpClient, RateLimiter, TransientBody

__all__ = [
    "Client",
    "EutilsAnswerError",
    "EutilsRequestError",
    "RATE_MARGIN",
    "RateLimiter",
    "Settings",
    "TransientBody",
    "in_band_error",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
TOOL = "literature-review-pipeline"
# Requests per second NCBI allows per IP, without and with an API key.
RATE_WITHOUT_KEY = 3.0
RATE_WITH_KEY = 10.0
# In-band <ERROR> texts that say the request itself is wrong; any other <ERROR> is treated as a
# passing backend fault and retried ("Search Backend failed: ...", "Unable to connect ...").
PERMANENT_ERRORS = re.compile(
    r"cannot be larger than|invalid|not supported|unknown|"
    r"unable to obtain query",
    re.IGNORECASE,
)
_IN_BAND_ERROR = re.compile(rb"<ERROR>(.*?)</ERROR>", re.DOTALL)


class EutilsRequestError(RequestRejected):
    """E-utilities rejected a request as malformed (a 4xx other than 429): retrying cannot help. The
    request comes from the config (the query, NCBI_API_KEY, EUTILS_BASE_URL): a usage error."""

    exit_code = ExitCode.CONFIG


class EutilsAnswerError(EutilsRequestError):
    """efetch answered with an in-band <ERROR> instead of the records of a PMID list the search
    gave: the records cannot be retrieved, so nothing is published."""

    exit_code = ExitCode.INCOMPLETE


@dataclass(frozen=True)
class Settings:
    """Where and how to reach E-utilities; read from the environment by `from_env`."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str = ""
    email: str = ""
    timeout: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 1.0  # seconds before the first retry; doubled each time
    backoff_cap: float = 30.0
    max_rate: float = 0.0  # requests/s; 0 means NCBI's limit (3, or 10 with an API key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides) -> "Settings":
        base = environ.get("EUTILS_BASE_URL", "").strip() or DEFAULT_BASE_URL
        if not base.endswith("/"):
            base += "/"
        return cls(
            base_url=base,
            api_key=environ.get("NCBI_API_KEY", "").strip(),
            email=environ.get("NCBI_EMAIL", "").strip(),
            **overrides,
        )

    @property
    def rate(self) -> float:
        return self.max_rate or (RATE_WITH_KEY if self.api_key else RATE_WITHOUT_KEY)


class Client(HttpClient):
    """E-utilities client: one per run, safe to share between threads."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] | None = None):
        super().__init__(
            settings.base_url,
            name="E-utilities",
            rate=settings.rate,
            timeout=settings.timeout,
            max_attempts=settings.max_attempts,
            backoff_base=settings.backoff_base,
            backoff_cap=settings.backoff_cap,
            secrets=[settings.api_key],
            # NCBI asks every request to name the tool and a contact; the key raises the rate limit.
            params={"tool": TOOL, "email": settings.email or None, "api_key": settings.api_key or None},
            log=log,
            **({"sleep": sleep} if sleep else {}),
        )
        self.settings = settings
        if not settings.email:
            log.warning(
                "NCBI_EMAIL is not set: NCBI asks for a contact address on every request "
                "(export NCBI_EMAIL=you@example.org)."
            )

    def esearch(self, term: str, **params) -> bytes:
        """Raw esearch XML for `term` in PubMed (POSTed when the query is very long)."""
        params = {"db": "pubmed", "term": term, **params}
        return self.request(
            None,
            "esearch.fcgi",
            params,
            validate=_looks_like("</eSearchResult>"),
            describe=f"esearch.fcgi ({_describe_params(params)})",
        ).body

    def efetch(self, pmids: list[str], validate: Callable[[bytes], str | None] | None = None) -> bytes:
        """Raw PubMed XML for `pmids` (POSTed, so long lists are safe)."""
        params = {"db": "pubmed", "id": ",".join(pmids), "retmode": "xml"}
        body = self.post(
            "efetch.fcgi",
            params,
            validate=validate or _looks_like("</PubmedArticleSet>"),
            describe=f"efetch.fcgi ({_describe_params(params)})",
        )
        error = in_band_error(body)
        if error:
            raise EutilsAnswerError(self.redact(f"efetch.fcgi ({len(pmids)} ids) answered with an error: {error}"))
        return body

    def rejected(self, described: str, status: int, reason: str, excerpt: str) -> PipelineError:
        message = f"E-utilities rejected {described}: HTTP {status} {reason}. {excerpt}".rstrip()
        if self.settings.api_key and _API_KEY_REFUSED.search(excerpt):
            # NCBI answers a wrong key with HTTP 400 {"error":"API key invalid",...}: say which setting.
            message += (
                " NCBI refused the API key: check NCBI_API_KEY (a key from your NCBI account settings), "
                "or unset it to run without one at 3 requests/s."
            )
        return EutilsRequestError(self.redact(message))

    def unavailable(self, described: str, fault: str, attempts: int) -> PipelineError:
        s = self.settings
        hint = f"E-utilities at {s.base_url} did not answer {described}: {fault} (gave up after {attempts} attempts)."
        if s.base_url == DEFAULT_BASE_URL:
            hint += (
                " Check the network connection to NCBI, or set EUTILS_BASE_URL to reach another "
                "E-utilities server (a mirror or a local test server)."
            )
        if not s.api_key:
            hint += " With an NCBI API key (export NCBI_API_KEY=...) NCBI allows 10 requests/s instead of 3."
        return EutilsUnavailable(self.redact(hint + " Try again later; nothing was published."))


_API_KEY_REFUSED = re.compile(r"api[ _-]?key", re.IGNORECASE)


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


def _describe_params(params: dict) -> str:
    """Parameters for log lines: never the API key, never a long ID list."""
    shown = []
    for key in ("term", "retstart", "retmax", "mindate", "maxdate"):
        if params.get(key) is not None:
            shown.append(f"{key}={params[key]}")
    if params.get("id"):
        shown.append(f"{params['id'].count(',') + 1} ids")
    return ", ".join(shown)
