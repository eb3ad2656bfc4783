"""The screening stage: deduplicate, then apply the rules to every unique record."""

from __future__ import annotations

from typing import Iterable

from pipeline.config import ScreeningConfig
from pipeline.models import Record, ScreeningResult, record_order
from pipeline.screening.dedup import find_duplicates
from pipeline.screening.rules import screen_record


def screen_records(records: Iterable[Record], cfg: ScreeningConfig) -> list[ScreeningResult]:
    """Deduplicate, then screen every unique record. One result per distinct record_id, in record_order
    (PMIDs numerically first)."""
    unique, duplicates = find_duplicates(records)
    results = [screen_record(r, cfg) for r in unique] + list(duplicates.values())
    return sorted(results, key=lambda r: record_order(r.record_id))
