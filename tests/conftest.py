"""Shared fixtures, and a guard that fails any test opening a socket to anything but 127.0.0.1."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
XML_FIXTURES = FIXTURES / "xml"
# Real PubMed data lives beside the checkout and is never copied into the repo.
SHARED_PUBMED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pubmed"

_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "localhost", "::1"):
        raise AssertionError(f"test tried to open a socket to {address!r}; tests must stay offline")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture
def shared_pubmed() -> Path:
    """../shared/data/pubmed, or skip: the real-data tests need the shared folder beside the repo."""
    if not SHARED_PUBMED.is_dir():
        pytest.skip(f"real PubMed data not found at {SHARED_PUBMED} (../shared is absent)")
    return SHARED_PUBMED
