"""Which `Source` a review's config names (`[search] source` or `sources`, and `[[imports]]`),
built for one run: one database as itself, several as a MultiSource that searches each in turn."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config
from pipeline.sources.base import Source
from pipeline.sources.pubmed.eutils import Settings
from pipeline.sources.pubmed.source import PubMedSource
from pipeline.sources.pubmed_xml.local import LocalXmlSource
from pipeline.sources.europepmc.source import EuropePmcSource
from pipeline.sources.imports.source import ImportSource
from pipeline.sources.multi import MultiSource
from pipeline.sources.openalex.source import OpenAlexSource


def open_source(
    config: Config,
    out: Path,
    run_id: str,
    settings: Settings | None = None,
    offline: bool = False,
    from_run: str | None = None,
) -> Source:
    """The source of `config` for run `run_id` writing to `out`.

    offline / from_run: answer from a past run's raw archive (sources that call an API); local
    files are their own raw data, so they ignore it. settings: E-utilities settings (default: the
    environment and [retrieval]).
    """
    replay = bool(offline or from_run)
    sources: list[Source] = []
    names = config.search.sources
    if len(names) <= 1 and set(names) <= {"pubmed", "pubmed-xml"}:
        names = (config.search.source,)  # one PubMed source: `source` names it
    for name in names:
        if name == "pubmed-xml":
            sources.append(LocalXmlSource(config.search))
        elif name == "pubmed":
            settings = settings or Settings.from_env(
                timeout=config.retrieval.timeout, max_attempts=config.retrieval.max_attempts
            )
            sources.append(PubMedSource(config, settings, out, run_id, replay=replay, from_run=from_run))
        elif name == "europepmc":
            sources.append(EuropePmcSource(config, out, run_id, replay=replay, from_run=from_run))
        elif name == "openalex":
            sources.append(OpenAlexSource(config, out, run_id, replay=replay, from_run=from_run))
    sources += [ImportSource(table, config.path.resolve().parent) for table in config.imports]
    if len(sources) == 1:
        return sources[0]
    return MultiSource(sources)
