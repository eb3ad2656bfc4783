"""sources/window.py: what a windowed refresh keeps as current (pure)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from pipeline.sources.base import SearchRequest, Window
from pipeline.sources.window import carried, previous

ids = st.lists(st.sampled_from([f"pmid:{n}" for n in range(1, 9)] + ["doi:10.1/a", "europepmc:PPR1"]), max_size=12)


@given(fresh=ids, before=ids, stored=ids)
def test_current_is_the_window_then_what_was_returned_before_and_is_still_held(fresh, before, stored):
    held = dict.fromkeys(stored, "hash")
    current, n = carried(fresh, before, held)
    assert current[: len(set(fresh))] == list(dict.fromkeys(fresh))  # the window's ids first, once each
    rest = current[len(set(fresh)) :]
    assert len(rest) == n and len(set(current)) == len(current)
    assert set(rest) == (set(before) & set(held)) - set(fresh)  # nothing withdrawn, nothing invented


def test_previous_only_for_a_refresh_that_knows_what_the_database_returned():
    window = Window(date(2026, 11, 24), date(2026, 12, 2))
    known = {"Europe PMC": ["pmid:1"]}
    assert previous(SearchRequest("q", window=window, returned_by=known), "Europe PMC") == ["pmid:1"]
    assert previous(SearchRequest("q", window=window, returned_by=known), "OpenAlex") is None  # newly added
    assert previous(SearchRequest("q", window=window), "Europe PMC") is None  # an older store
    assert previous(SearchRequest("q", returned_by=known), "Europe PMC") is None  # a full run
