"""A scripted local HTTP server for the generic client (pipeline/sources/http.py): fixture `http_server`.

Each path answers from a queue of `Scripted` answers (status, headers, body, a stall, a dropped
connection, a short body), then with its default 200. Every request is recorded: method, path,
query and form parameters, headers, arrival time.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Scripted:
    """One answer: `reset` closes the connection without a reply; `short` promises more bytes than it
    sends; `stall` waits that many seconds before answering; `echo` sends the query string back."""

    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict = field(default_factory=dict)
    stall: float = 0.0
    reset: bool = False
    short: bool = False
    echo: bool = False


class ScriptedServer:
    """`with ScriptedServer() as srv:` then `srv.script("/api/x", Scripted(503), Scripted())`."""

    def __init__(self):
        self.requests: list[dict] = []
        self._queues: dict[str, list[Scripted]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/api/"

    def script(self, path: str, *answers: Scripted) -> None:
        """Answer the next requests to `path` (e.g. "search") with `answers`, in order."""
        with self._lock:
            self._queues.setdefault("/api/" + path, []).extend(answers)

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self, path: str) -> Scripted:
        with self._lock:
            queue = self._queues.get(path)
            return queue.pop(0) if queue else Scripted()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(b"")

            def do_POST(self) -> None:
                self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _answer(self, data: bytes) -> None:
                split = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
                params.update(urllib.parse.parse_qsl(data.decode(), keep_blank_values=True))
                with server._lock:
                    server.requests.append(
                        {
                            "method": self.command,
                            "path": split.path,
                            "params": params,
                            "query": split.query,
                            "data": data,
                            "time": time.monotonic(),
                            "headers": dict(self.headers.items()),
                        }
                    )
                answer = server._next(split.path)
                if answer.stall:
                    time.sleep(answer.stall)
                if answer.reset:
                    self.close_connection = True
                    return
                body = (split.query or data.decode()).encode() if answer.echo else answer.body
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body) + (100 if answer.short else 0)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        return Handler


@pytest.fixture
def http_server():
    """A running ScriptedServer; its `base_url` ends with /api/."""
    with ScriptedServer() as srv:
        yield srv
