"""Refuse every network connection except to the loopback interface.

Installed for the test process by conftest.py and for CLI subprocesses through sitecustomize.py, so
a test that would reach NCBI (or any other host) fails loudly instead of hanging or passing by luck.
"""

from __future__ import annotations

import socket

ALLOWED_HOSTS = {"127.0.0.1", "localhost", "::1"}


class NetworkAccessBlocked(RuntimeError):
    """Raised on any attempt to reach a host other than 127.0.0.1. Not an OSError: never retried."""


def _host_of(address) -> str | None:
    if isinstance(address, tuple) and address:
        return str(address[0])
    return None  # Unix sockets and the like are local


def install() -> None:
    if getattr(socket, "_network_guard_installed", False):
        return
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(host: str | None) -> None:
        if host is not None and host not in ALLOWED_HOSTS:
            raise NetworkAccessBlocked(f"test tried to reach {host}: only 127.0.0.1 is allowed in tests")

    def connect(self, address):
        check(_host_of(address))
        return real_connect(self, address)

    def connect_ex(self, address):
        check(_host_of(address))
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        check(host.decode() if isinstance(host, bytes) else host)
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket._network_guard_installed = True
