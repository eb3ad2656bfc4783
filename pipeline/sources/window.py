"""What a refresh of an API source that searches a date window returns as `current`.

A windowed search (Europe PMC's index dates, OpenAlex's created/updated dates) returns what is new
or revised since the last run, not every record the query still matches, so it cannot say a record
is gone. Its `current` is therefore what the window returned plus what the database returned at the
last committed run (`SearchRequest.returned_by`) and the review still holds: nothing is withdrawn
by a refresh; a full search (`run`) withdraws what the database no longer returns. Pure.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from pipeline.models import record_order
from pipeline.sources.base import SearchRequest


def previous(request: SearchRequest, database: str) -> Sequence[str] | None:
    """The record ids `database` returned at the last committed run, when a refresh can search a
    window: None for a full run, or when the store does not know (a store of an older release, or a
    database newly added to the config), and the source must search in full."""
    if request.window is None or request.returned_by is None:
        return None
    return request.returned_by.get(database)


def carried(fresh: Sequence[str], before: Sequence[str], stored: Mapping[str, str]) -> tuple[list[str], int]:
    """`current` of a windowed search: the window's record ids in its order, then those returned
    before that the review still holds (record_order); and how many were carried."""
    seen = set(fresh)
    kept = sorted((r for r in set(before) if r in stored and r not in seen), key=record_order)
    return list(dict.fromkeys(fresh)) + kept, len(kept)
