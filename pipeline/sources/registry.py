"""Which `Source` a review's config names (`[search] source`), built for one run."""
from __future__ import annotations

from pathlib import Path

from pipeline.config import Config
from pipeline.sources.base import Source
from pipeline.sources.pubmed.eutils import Settings
from pipeline.sources.pubmed.source import PubMedSource
from pipeline.sources.pubmed_xml.local import LocalXmlSource


def open_source(config: Config, out: Path, run_id: str, settings: Settings | None = None,
                offline: bool = False, from_run: str | None = None) -> Source:
    """The source of `config` for run `run_id` writing to `out`.

    offline / from_run: answer from a past run's raw archive (sources that call an API); local
    files are their own raw data, so they ignore it. settings: E-utilities settings (default: the
    environment and [retrieval]).
    """
    if config.search.source == "pubmed-xml":
        return LocalXmlSource(config.search)
    settings = settings or Settings.from_env(timeout=config.retrieval.timeout,
                                             max_attempts=config.retrieval.max_attempts)
    return PubMedSource(config, settings, out, run_id, replay=bool(offline or from_run), from_run=from_run)
