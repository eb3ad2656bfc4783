"""The query each searched database receives, translated from the config's keyword groups."""

from __future__ import annotations

from pipeline.config import SearchConfig
from pipeline.sources.europepmc.query import build_query as europepmc_query
from pipeline.sources.openalex.query import translate as openalex_translate
from pipeline.sources.pubmed.search import build_query as pubmed_query

NAMES = {
    "pubmed": "PubMed",
    "pubmed-xml": "PubMed (local XML files)",
    "europepmc": "Europe PMC",
    "openalex": "OpenAlex",
}


def translated(search: SearchConfig) -> list[tuple[str, str, tuple[str, ...]]]:
    """(database, query as sent, notes on what did not carry over) for every source searched."""
    out = []
    for source in search.sources:
        if source in ("pubmed", "pubmed-xml"):
            out.append((NAMES[source], pubmed_query(search), ()))
        elif source == "europepmc":
            out.append((NAMES[source], europepmc_query(search.all_of, search.field), ()))
        elif source == "openalex":
            t = openalex_translate(search.all_of, search.field)
            out.append((NAMES[source], t.shown, t.notes))
    return out
