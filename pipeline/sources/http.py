"""The one HTTP client every source uses to reach its API.

    client = HttpClient("https://www.ebi.ac.uk/europepmc/webservices/rest/", name="Europe PMC",
                        rate=10.0, timeout=30.0, secrets=[api_key], params={"format": "json"})
    body = client.get("search", {"query": "ketamine"}, validate=check_body)        # bytes
    page = client.get_json("search", {"query": "ketamine", "cursorMark": "*"})      # parsed JSON
    response = client.request("POST", "searchPOST", {...})                         # a Response

What every request gets, so no source has to get it right on its own:
- a timeout (`timeout` seconds to connect and between bytes);
- pacing by a `RateLimiter` shared by every thread and every client of the same host at the same
  rate (`limiter_for`), so parallel workers never exceed the API's limit together;
- bounded retries (`max_attempts`) with exponential backoff and jitter on transient faults: HTTP 429
  and 5xx (a `Retry-After` in seconds or as an HTTP date is honoured, capped at two minutes),
  connection errors, timeouts, bodies shorter than their Content-Length, and any body the caller's
  `validate(body)` calls transient by returning a description (an HTML maintenance page, a truncated
  document, an in-band backend error). Every retry is logged with what failed and how long it waits;
- any other 4xx is raised at once as `rejected(...)` (RequestRejected; exit 2): retrying cannot help;
- secrets (API keys, tokens) are masked in every log line and error message, in every encoding a
  URL or form body can carry them (raw, percent-encoded, form-encoded): `redact(text)`.

A source specialises messages and error types by subclassing (see pubmed/eutils.py): `unavailable`
builds the error raised when the retries run out, `rejected` the one for a refused request.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Callable, Iterable, Mapping

from pipeline.errors import PipelineError, RequestRejected, SourceUnavailable

log = logging.getLogger(__name__)

# Slack below an API's ceiling: its window and our clock never line up exactly, and a request that
# leaves on time may arrive late on a busy machine or network. At 3/s, 0.93 lets one request of any
# four arrive 75 ms late before the API could count four in one second (0.95 allowed 53 ms: too
# little on a loaded machine, where the PubMed acceptance test saw two 429s).
RATE_MARGIN = 0.93
# Longest wait a Retry-After may impose: past this the run would look hung.
RETRY_AFTER_CAP = 120.0
# A request body (or query string) longer than this goes as a POST when the caller lets us choose.
POST_THRESHOLD = 1000

try:
    _VERSION = version("pipeline")
except PackageNotFoundError:  # running from a source tree that was never installed
    _VERSION = "0"
USER_AGENT = f"literature-review-pipeline/{_VERSION} (Python urllib)"

Validate = Callable[[bytes], "str | None"]


class RateLimiter:
    """Spaces calls at least 1/(rate*margin) seconds apart across every thread that shares it.

    The lock is held while sleeping, and the next slot is counted from the moment the caller is
    actually released: an oversleep delays the following request instead of squeezing it closer to
    this one, so the API never sees two requests nearer than `interval`.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = RATE_MARGIN,
    ):
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
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


_limiters: dict[tuple[str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(key: str, rate: float) -> RateLimiter:
    """The process-wide limiter of `key` (a host, or a source's name) at `rate` requests/s.

    Every client built for the same key and rate shares it, so two stages (or two clients) talking to
    one API at once are paced together rather than each at the full rate.
    """
    with _limiters_lock:
        limiter = _limiters.get((key, rate))
        if limiter is None:
            limiter = _limiters[(key, rate)] = RateLimiter(rate)
        return limiter


class Secrets:
    """Masks secret values in text, in each form they take in a URL, a form body or a header."""

    MASK = "***"

    def __init__(self, values: Iterable[str] = ()):
        forms: set[str] = set()
        for value in values:
            if not value:
                continue
            forms.update(
                {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value), urllib.parse.quote(value)}
            )
            for form in list(forms):  # percent-escapes may come back in either case
                if "%" in form:
                    forms.update({form.lower(), form.upper()} - {""})
        # Longest first: a value that contains another is masked whole.
        self._forms = sorted((f for f in forms if f), key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def redact(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, self.MASK)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        for form in self._forms:
            data = data.replace(form.encode(), self.MASK.encode())
        return data


@dataclass(frozen=True)
class Response:
    """A successful (2xx) answer: status, headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = field(default="", repr=False)  # as sent: may hold a secret; redact before showing

    def text(self, encoding: str = "utf-8") -> str:
        return self.body.decode(encoding, "replace")


class TransientBody(Exception):
    """A 2xx answer whose body is not what was asked for: retried like a 5xx."""


class HttpClient:
    """One client per API and run; safe to share between threads.

    `base_url`: requests go to base_url + path. `rate`: requests/s the API allows (the limiter keeps
    a 7% margin below it). `params`: sent with every request (a tool name, a contact address, an API
    key); None values are left out. `secrets`: values masked wherever text is written. `name`: how
    messages call the API ("Europe PMC"). `log`: the logger retries are reported on (the source's).
    `limiter`: pass one to share pacing explicitly; by default every client of the same host and
    rate shares one. Counters `requests_made` and `retries` are kept for the run's manifest.
    """

    def __init__(
        self,
        base_url: str,
        *,
        rate: float,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        secrets: Iterable[str] = (),
        params: Mapping[str, object] | None = None,
        user_agent: str = USER_AGENT,
        name: str = "",
        headers: Mapping[str, str] | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: logging.Logger = log,
    ):
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self.base_url = base_url
        self.name = name or urllib.parse.urlsplit(base_url).netloc
        self.timeout, self.max_attempts = timeout, max_attempts
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.secrets = Secrets(secrets)
        self.default_params = dict(params or {})
        self.headers = {"User-Agent": user_agent, **(headers or {})}
        self.limiter_key = urllib.parse.urlsplit(base_url).netloc
        self.limiter = limiter or limiter_for(self.limiter_key, rate)
        self._sleep = sleep
        self._log = log
        self._count_lock = threading.Lock()
        self.requests_made = 0
        self.retries = 0

    # --- the API sources use -----------------------------------------------------------------------

    def get(
        self,
        path: str,
        params: Mapping[str, object] | None = None,
        *,
        validate: Validate | None = None,
        describe: str | None = None,
    ) -> bytes:
        """The body of GET base_url+path?params, after pacing, retries and `validate`."""
        return self.request("GET", path, params, validate=validate, describe=describe).body

    def post(
        self,
        path: str,
        params: Mapping[str, object] | None = None,
        *,
        validate: Validate | None = None,
        describe: str | None = None,
    ) -> bytes:
        """The body of a form-encoded POST of `params` to base_url+path (for long parameter lists)."""
        return self.request("POST", path, params, validate=validate, describe=describe).body

    def get_json(
        self,
        path: str,
        params: Mapping[str, object] | None = None,
        *,
        check: Callable[[Any], "str | None"] | None = None,
        describe: str | None = None,
    ) -> Any:
        """The parsed JSON of GET base_url+path?params. A body that is not JSON (a proxy's HTML page, a
        cut-off answer) is retried like a 5xx; so is a parsed value `check` describes as transient."""
        parsed: list[Any] = []

        def validate(body: bytes) -> str | None:
            try:
                value = json.loads(body)
            except ValueError as exc:
                if body.lstrip()[:200].lower().startswith((b"<!doctype html", b"<html")):
                    return "an HTML page instead of JSON"
                return f"a body that is not JSON ({len(body)} bytes: {getattr(exc, 'msg', exc)})"
            problem = check(value) if check else None
            if problem is None:
                parsed[:] = [value]
            return problem

        self.get(path, params, validate=validate, describe=describe)
        return parsed[0]

    def redact(self, text: str) -> str:
        """`text` with every secret masked: for anything that could end up in a log or a file."""
        return self.secrets.redact(text)

    def redact_bytes(self, data: bytes) -> bytes:
        """`data` with every secret masked: for raw answers kept in an archive."""
        return self.secrets.redact_bytes(data) if self.secrets else data

    def request(
        self,
        method: str | None,
        path: str,
        params: Mapping[str, object] | None = None,
        *,
        validate: Validate | None = None,
        describe: str | None = None,
    ) -> Response:
        """Send one request with pacing, timeout and bounded retries; return the 2xx response.

        `method` None chooses POST when the encoded parameters are long, GET otherwise. `validate`
        returns a description of what is wrong with a 2xx body that is worth retrying, or None.
        `describe` names the request in messages (default: the path); it is redacted.
        """
        request = self.build_request(method, path, params)
        described = self.redact(describe or path)
        for attempt in range(1, self.max_attempts + 1):
            self.limiter.wait()
            with self._count_lock:
                self.requests_made += 1
            try:
                response = self._open(request)
                problem = validate(response.body) if validate else None
                if problem:
                    raise TransientBody(problem)
                return response
            except urllib.error.HTTPError as exc:
                if not self.retryable_status(exc.code):
                    raise self.rejected(
                        described, exc.code, str(exc.reason), self.redact(_error_excerpt(exc))
                    ) from None
                fault, retry_after = f"HTTP {exc.code}", retry_after_seconds(exc.headers)
                if exc.code == 429:
                    fault += " (rate limit exceeded)"
            except (urllib.error.URLError, OSError, http.client.HTTPException, TransientBody) as exc:
                fault, retry_after = self.redact(describe_fault(exc)), None
            if attempt == self.max_attempts:
                raise self.unavailable(described, fault, attempt)
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            with self._count_lock:
                self.retries += 1
            self._log.warning(
                "%s failed (%s); retry %d of %d in %.1f s", described, fault, attempt, self.max_attempts - 1, delay
            )
            self._sleep(delay)
        raise AssertionError("unreachable")

    # --- hooks a source may override -------------------------------------------------------------

    def retryable_status(self, status: int) -> bool:
        """Whether an HTTP error status is worth retrying: 429 and every 5xx by default."""
        return status == 429 or status >= 500

    def unavailable(self, described: str, fault: str, attempts: int) -> PipelineError:
        """The error raised when every attempt failed."""
        return SourceUnavailable(
            f"{self.name} at {self.redact(self.base_url)} did not answer {described}: {fault} (gave up "
            f"after {attempts} attempts). Try again later; nothing was published."
        )

    def rejected(self, described: str, status: int, reason: str, excerpt: str) -> PipelineError:
        """The error raised for an HTTP error that retrying cannot fix (a 4xx other than 429)."""
        return RequestRejected(f"{self.name} rejected {described}: HTTP {status} {reason}. {excerpt}".rstrip())

    # --- the mechanics ---------------------------------------------------------------------------

    def build_request(
        self, method: str | None, path: str, params: Mapping[str, object] | None = None
    ) -> urllib.request.Request:
        """The urllib request for `path` with the client's and the call's parameters (None left out)."""
        merged = {**self.default_params, **(params or {})}
        encoded = urllib.parse.urlencode({k: v for k, v in merged.items() if v is not None}, doseq=True)
        url = self.base_url + path
        if method is None:
            method = "POST" if len(encoded) > POST_THRESHOLD else "GET"
        method = method.upper()
        if method == "POST":
            headers = {**self.headers, "Content-Type": "application/x-www-form-urlencoded"}
            return urllib.request.Request(url, data=encoded.encode(), headers=headers, method="POST")
        return urllib.request.Request(f"{url}?{encoded}" if encoded else url, headers=self.headers, method=method)

    def _open(self, request: urllib.request.Request) -> Response:
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            # read() raises IncompleteRead when the body is shorter than its Content-Length.
            body = answer.read()
            return Response(answer.status, dict(answer.headers.items()), body, request.full_url)

    def _backoff(self, attempt: int) -> float:
        """Seconds before retry `attempt`: base * 2^(attempt-1), capped, times a jitter in [0.5, 1)."""
        base = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)


def retry_after_seconds(headers: Mapping[str, str] | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), capped at two minutes."""
    value = (headers.get("Retry-After") or "").strip() if headers else ""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now()
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def describe_fault(exc: BaseException) -> str:
    """A short, readable reason for a failed attempt."""
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
