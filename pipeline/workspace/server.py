"""The workspace's web server: the standard library's ThreadingHTTPServer and Jinja2 templates.

Pages are rendered on the server (templates with autoescape), forms post back and are redirected
(POST/redirect/GET), so every decision is committed before the browser is told it was saved; the one
script (static/app.js) only adds keyboard shortcuts. Security:
- binds 127.0.0.1 unless told otherwise; another address needs a token (`--token`) that every
  request must carry (?token= once, then an HttpOnly SameSite=Strict cookie);
- state-changing requests need the page's CSRF token and are refused when the browser says they
  come from another site (Origin / Sec-Fetch-Site); the Host header must name this server, which
  stops DNS-rebinding pages;
- a strict Content-Security-Policy: nothing but this server's own script and stylesheet.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import mimetypes
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jinja2

from pipeline.errors import ConfigError, PipelineError
from pipeline.workspace import highlight
from pipeline.workspace.publisher import Publisher
from pipeline.workspace.service import LIST_PAGE, Workspace

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make Chromium send Origin: null
    "Cache-Control": "no-store",
}
MAX_BODY = 64 * 1024
STATIC = ("app.js", "app.css")
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"--host {host} makes the workspace reachable from other machines: pass --token "
            "SECRET as well (every request must then carry it), or keep the default "
            "--host 127.0.0.1."
        )


@dataclass
class Settings:
    token: str | None
    csrf: str  # the forms' token; pages from other sites cannot read it
    publish: Callable[[], str] | None = None  # rebuilds the outputs; returns a message
    publish_timeout: float = 600.0  # the Publish button waits this long for the rebuild
    list_page: int = LIST_PAGE  # records per page of the list view


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.workspace", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["pubmed_url"] = PUBMED_URL.format
    env.filters["pct"] = lambda x: f"{100 * x:.0f}%"
    return env


class WorkspaceServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        workspace: Workspace,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        publish: Callable[[], str] | None = None,
    ):
        check_bind(host, token)
        self.workspace = workspace
        self.settings = Settings(token=token, csrf=secrets.token_urlsafe(32), publish=publish)
        self.templates = environment()
        self.publisher: Publisher | None = None
        super().__init__((host, port), Handler)
        # Every decision brings the outputs up to date in the background (publisher.py).
        if publish is not None:
            self.publisher = Publisher(publish, version=workspace.log_version).start()

    def server_close(self) -> None:
        super().server_close()
        if self.publisher is not None:
            self.publisher.stop()

    def decided(self) -> None:
        """A decision (or undo, resolution) was committed: ask for the outputs to follow."""
        if self.publisher is not None:
            self.publisher.request()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        base = f"http://{host}:{port}/"
        return base + (f"?token={quote(self.settings.token)}" if self.settings.token else "")


class Handler(BaseHTTPRequestHandler):
    server: WorkspaceServer
    server_version = "pipeline-workspace"
    sys_version = ""

    def log_message(self, fmt: str, *args) -> None:
        log.debug("%s " + fmt, self.address_string(), *args)

    # -- plumbing

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.cookies = SimpleCookie(self.headers.get("Cookie", ""))
        self.set_cookies: list[str] = []
        try:
            if not self._host_ok():
                return self._plain(HTTPStatus.FORBIDDEN, "Forbidden: unexpected Host header.")
            if not self._token_ok():
                return self._plain(
                    HTTPStatus.FORBIDDEN,
                    "Forbidden: this workspace needs its token. Open "
                    "the address `python -m pipeline screen` printed (it ends in ?token=...).",
                )
            route = ROUTES.get((method, url.path.rstrip("/") or "/"))
            if method == "GET" and url.path == "/favicon.ico":
                return self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
            if route is None and method == "GET" and url.path.startswith("/static/"):
                return self._static(url.path[len("/static/") :])
            if route is None and method == "GET" and url.path.startswith("/record/"):
                return self.page_record(url.path[len("/record/") :])
            if route is None:
                return self._plain(HTTPStatus.NOT_FOUND, "Not found.")
            if method == "POST":
                self.form = self._read_form()
                if self.form is None:
                    return
                if not self._same_site() or not hmac.compare_digest(
                    self.form.get("csrf", ""), self.server.settings.csrf
                ):
                    return self._plain(
                        HTTPStatus.FORBIDDEN,
                        "Forbidden: the form's token is missing or "
                        "wrong, or the request came from another site. Reload the page.",
                    )
            route(self)
        except PipelineError as exc:
            self._render("error.html", status=HTTPStatus.BAD_REQUEST, message=str(exc))
        except Exception:  # a bug: the page says so, the log has the traceback
            log.exception("workspace request %s %s failed", method, self.path)
            self._plain(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error; see the server's log.")

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        bound = self.server.server_address[0]
        return not is_loopback(bound) or is_loopback(host)

    def _token_ok(self) -> bool:
        token = self.server.settings.token
        if not token:
            return True
        given = self.query.get("token")
        if given is not None and hmac.compare_digest(given, token):
            self.set_cookies.append(f"ws_token={quote(token)}; Path=/; HttpOnly; SameSite=Strict")
            return True
        cookie = self.cookies.get("ws_token")
        return cookie is not None and hmac.compare_digest(cookie.value, quote(token))

    def _same_site(self) -> bool:
        if self.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
            return False
        origin = self.headers.get("Origin")
        if origin in (None, "null"):
            return origin is None
        return urlsplit(origin).netloc == self.headers.get("Host")

    def _read_form(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._plain(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request too large.")
            return None
        body = self.rfile.read(length).decode("utf-8", "replace")
        return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(status)
        for k, v in {**HEADERS, **(extra or {})}.items():
            self.send_header(k, v)
        for c in self.set_cookies:
            self.send_header("Set-Cookie", c)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _plain(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _redirect(self, where: str) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": where})

    def _static(self, name: str) -> None:
        if name not in STATIC:
            return self._plain(HTTPStatus.NOT_FOUND, "Not found.")
        body = resources.files("pipeline.workspace").joinpath("static", name).read_bytes()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, body, f"{kind}; charset=utf-8")

    def _render(self, template: str, status: int = HTTPStatus.OK, **context) -> None:
        ws = self.server.workspace
        reviewer = self.reviewer()
        context.setdefault("progress", ws.progress(reviewer) if reviewer else None)
        context.setdefault("published", self.query.get("published", ""))
        context.setdefault("notice", self.query.get("notice", ""))
        html = self.server.templates.get_template(template).render(
            review=ws.config.review,
            people=ws.people,
            reviewer=reviewer,
            csrf=self.server.settings.csrf,
            can_publish=self.server.publisher is not None,
            tables=self.server.publisher.status() if self.server.publisher else None,
            **context,
        )
        self._send(status, html.encode("utf-8"), "text/html; charset=utf-8")

    def reviewer(self) -> str | None:
        cookie = self.cookies.get("ws_reviewer")
        name = cookie.value if cookie else None
        return name if name in self.server.workspace.people.reviewers else None

    def _need_reviewer(self) -> str | None:
        reviewer = self.reviewer()
        if reviewer is None:
            self._redirect("/")
        return reviewer

    # -- pages

    def page_home(self) -> None:
        reviewer = self.reviewer()
        if reviewer:
            return self._redirect("/screen")
        self._render("home.html")

    def post_login(self) -> None:
        name = self.form.get("reviewer", "")
        self.server.workspace.check_reviewer(name)
        self.set_cookies.append(f"ws_reviewer={name}; Path=/; HttpOnly; SameSite=Strict")
        self._redirect("/screen")

    def post_logout(self) -> None:
        self.set_cookies.append("ws_reviewer=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
        self._redirect("/")

    def page_screen(self) -> None:
        reviewer = self._need_reviewer()
        if reviewer is None:
            return
        rid = self.server.workspace.next_for(reviewer)
        self._record_page(reviewer, rid)

    def page_record(self, record_id: str) -> None:
        reviewer = self._need_reviewer()
        if reviewer is None:
            return
        from urllib.parse import unquote

        rid = unquote(record_id)
        self.server.workspace.record(rid)
        back = self.query.get("back", "")
        self._record_page(reviewer, rid, revisit=True, back=back if back.startswith("/list") else "")

    def _record_page(self, reviewer: str, rid: str | None, revisit: bool = False, back: str = "") -> None:
        ws = self.server.workspace
        saved = self.query.get("saved", "")
        undone = self.query.get("undone", "")
        if rid is None:
            return self._render("done.html", saved=saved, undone=undone)
        q = ws.record(rid)
        mentions = ws.mentions(q)

        def terms(text: str) -> list[highlight.Span]:
            return highlight.term_spans(text, ws.people.highlight_include, "include") + highlight.term_spans(
                text, ws.people.highlight_exclude, "exclude"
            )

        title = highlight.pieces(
            q.record.title, terms(q.record.title) + highlight.mention_spans(q.record.title, "title", mentions)
        )
        sections = [
            (
                s.label,
                highlight.pieces(
                    s.text, terms(s.text) + highlight.mention_spans(s.text, s.label or "abstract", mentions)
                ),
            )
            for s in q.record.abstract_sections
            if s.text
        ]
        mine = ws.my_decision(reviewer, rid)
        outcome = ws.outcomes().get(rid)
        revised = bool(mine and mine.content_hash != q.content_hash)
        # Dual mode: the other reviewer's decision is never shown here (only in the conflicts view).
        shared = outcome if ws.people.mode == "single" and outcome else None
        self._render(
            "screen.html",
            q=q,
            title=title,
            sections=sections,
            mine=mine,
            shared=shared,
            revised=revised,
            revisit=revisit,
            back=back,
            assigned=ws.assigned(rid),
            saved=saved,
            undone=undone,
            labels=sorted({m.label for m in mentions}),
        )

    def post_decide(self) -> None:
        reviewer = self._need_reviewer()
        if reviewer is None:
            return
        f = self.form
        choice = f.get("choice", "")
        decision, _, index = choice.partition(":")
        reason = f.get("reason", "")
        if index:
            reasons = self.server.workspace.people.exclusion_reasons
            if not index.isdigit() or not 1 <= int(index) <= len(reasons):
                return self._render(
                    "error.html", status=HTTPStatus.BAD_REQUEST, message=f"unknown exclusion reason number {index!r}."
                )
            reason = reasons[int(index) - 1]
        rid = f.get("record_id", "")
        if f.get("resolve"):
            self.server.workspace.resolve(reviewer, rid, decision, reason, f.get("note", ""))
            self.server.decided()
            settled = self.server.workspace.outcomes()[rid].decision != "conflict"
            return self._redirect("/conflicts?" + urlencode({"saved": rid, "settled": int(settled)}))
        saved = self.server.workspace.decide(reviewer, rid, decision, reason, f.get("note", ""))
        self.server.decided()
        back = f.get("back", "")
        target = back if back.startswith("/list") else "/screen"
        self._redirect(target + ("&" if "?" in target else "?") + urlencode({"saved": saved.seq}))

    def post_undo(self) -> None:
        reviewer = self._need_reviewer()
        if reviewer is None:
            return
        undone = self.server.workspace.undo(reviewer)
        if undone is None:
            return self._redirect("/screen?" + urlencode({"undone": "none"}))
        self.server.decided()
        self._redirect(f"/record/{quote(undone.record_id, safe='')}?" + urlencode({"undone": undone.decision}))

    def page_list(self) -> None:
        reviewer = self._need_reviewer()
        if reviewer is None:
            return
        q = self.query.get("q", "")
        page = self.query.get("page", "1")
        number = int(page) if page.lstrip("-").isdigit() else 1
        listed = self.server.workspace.listing_page(reviewer, q, number, self.server.settings.list_page)

        def link(number: int) -> str:
            return "/list?" + urlencode({**({"q": q} if q else {}), "page": number})

        self._render(
            "list.html",
            listed=listed,
            rows=listed.rows,
            q=q,
            link=link,
            here=link(listed.page),
            saved=self.query.get("saved", ""),
            undone="",
        )

    def page_conflicts(self) -> None:
        reviewer = self._need_reviewer()
        if reviewer is None:
            return
        self._render(
            "conflicts.html",
            rows=self.server.workspace.conflicts(),
            saved=self.query.get("saved", ""),
            settled=self.query.get("settled", "1") == "1",
        )

    def post_publish(self) -> None:
        reviewer = self._need_reviewer()
        if reviewer is None:
            return
        publisher = self.server.publisher
        if publisher is None:
            return self._render("error.html", status=HTTPStatus.BAD_REQUEST, message="publishing is not available.")
        if not publisher.wait(publisher.request(), self.server.settings.publish_timeout):
            return self._redirect(
                "/screen?" + urlencode({"notice": "The tables are still updating; the page shows when done."})
            )
        status = publisher.status()
        if status.state == "idle":
            return self._redirect("/screen?" + urlencode({"published": status.message}))
        self._redirect("/screen?" + urlencode({"notice": status.text}))

    def page_status(self) -> None:
        """The background publisher's state, for the page's script to follow (JSON)."""
        publisher = self.server.publisher
        body = {"state": "off", "text": ""}
        if publisher is not None:
            status = publisher.status()
            body = {"state": status.state, "text": status.text, "updated_at": status.updated_at}
        self._send(HTTPStatus.OK, json.dumps(body).encode(), "application/json")


ROUTES: dict[tuple[str, str], Callable[[Handler], None]] = {
    ("GET", "/"): Handler.page_home,
    ("POST", "/login"): Handler.post_login,
    ("POST", "/logout"): Handler.post_logout,
    ("GET", "/screen"): Handler.page_screen,
    ("POST", "/decide"): Handler.post_decide,
    ("POST", "/undo"): Handler.post_undo,
    ("GET", "/list"): Handler.page_list,
    ("GET", "/conflicts"): Handler.page_conflicts,
    ("POST", "/publish"): Handler.post_publish,
    ("GET", "/status"): Handler.page_status,
}
