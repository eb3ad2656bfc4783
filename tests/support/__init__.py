"""Helpers shared by the tests: local fake servers, record builders, corpora, paths."""
