"""`refresh` asks Europe PMC and OpenAlex only for their date windows (issue 14, item 7).

Europe PMC: the query AND (FIRST_IDATE or UPDATE_DATE in the window); OpenAlex: two searches, works
created and works updated since the window's start. The local fakes filter on those dates as the
APIs document them, so what a refresh does not ask for it does not get: an old paper newly matching
but dated outside the window waits for the next full run, and a record the database no longer returns
is not withdrawn by a refresh (only a full search can say it is gone). Import files are read again in
full, and a revised export record is reported like a revised PubMed record.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from datetime import date, timedelta

import pytest

from pipeline.config import load_config
from pipeline.engine.run import refresh, run_pipeline
from tests.support.literature_apis import EuropePmcServer, OpenAlexServer, Work
from tests.support.paths import REPO

KEY = "oa-test-key"
OLD = "2024-03-01"  # when the first run's papers entered both databases
TODAY = date.today().isoformat()
CONFIG = """
[review]
name = "ketamine-apis"
[search]
sources = {sources}
all_of = [["ketamine"], ["depression"]]
[screening]
min_year = 2016
languages = ["eng"]
[extraction]
lexicons = ["lexicons/ketamine-review.toml"]
{imports}
[output]
dir = "out"
"""
IMPORTS = """
[[imports]]
database = "Scopus"
paths = ["exports/scopus.ris"]
"""
RIS = """TY  - JOUR
TI  - Ketamine and depression in primary care: a survey
AU  - Novak, Petra
PY  - 2022
DO  - 10.5555/scopus-only
AB  - {abstract}
DB  - Scopus
ER  -
"""


def _work(n: int, **kw) -> Work:
    fields = {
        "abstract": f"Ketamine eased depression in cohort {n}.",
        "year": 2021,
        "doi": f"10.5555/w{n}",
        "authors": ((f"Author{n}", "Ana"),),
        "created": OLD,
    }
    return Work(f"Ketamine and depression: study {n}", **(fields | kw))


def _changes(out) -> list[tuple[str, str, str]]:
    with open(out / "changes.csv", encoding="utf-8-sig", newline="") as f:
        return sorted((r["record_id"], r["change"], r["why"].split(";")[0]) for r in csv.DictReader(f))


def _records(out) -> dict[str, dict]:
    with open(out / "records.csv", encoding="utf-8-sig", newline="") as f:
        return {r["record_id"]: r for r in csv.DictReader(f)}


@pytest.fixture
def review(tmp_path, monkeypatch):
    def make(sources: str = '["europepmc", "openalex"]', imports: bool = True, **openalex):
        folder = tmp_path / "review"
        shutil.copytree(REPO / "config", folder)
        (folder / "exports").mkdir()
        (folder / "exports" / "scopus.ris").write_text(RIS.format(abstract="Ketamine helped."))
        path = folder / "apis.toml"
        path.write_text(CONFIG.format(sources=sources, imports=IMPORTS if imports else ""))
        both, epmc_only, oa_only = _work(1, pmid="41000001"), _work(2), _work(3, in_europepmc=False)
        gone = _work(4, in_openalex=False)
        epmc = EuropePmcServer([both, epmc_only, gone])
        oa = OpenAlexServer([both, oa_only], keys=(KEY,), **openalex)
        monkeypatch.setenv("OPENALEX_API_KEY", KEY)
        monkeypatch.setenv("EUROPEPMC_BASE_URL", epmc.base_url)
        monkeypatch.setenv("OPENALEX_BASE_URL", oa.base_url)
        return load_config(path), folder / "out", epmc, oa

    return make


def test_refresh_asks_each_api_for_its_window_only(review, same_types_in_pandas):
    config, out, epmc, oa = review()
    start = (date.today() - timedelta(days=config.refresh.overlap_days)).isoformat()
    end = (date.today() + timedelta(days=1)).isoformat()
    window = f"FIRST_IDATE:[{start} TO {end}] OR UPDATE_DATE:[{start} TO {end}]"
    with epmc, oa:
        run_pipeline(config, out_dir=out)
        assert sorted(_records(out)) == [
            "doi:10.5555/scopus-only",
            "doi:10.5555/w2",
            "doi:10.5555/w3",
            "doi:10.5555/w4",
            "pmid:41000001",
        ]
        first = len(epmc.requests), len(oa.requests)
        # What happened at the sources since: new papers, a revised one, one gone, an old one newly
        # matching (indexed long ago: outside the window), and a revised export file.
        epmc.works.append(_work(5, created=TODAY))
        oa.works.append(_work(6, created=TODAY, in_europepmc=False))
        epmc.works[1].abstract, epmc.works[1].updated = "Ketamine eased depression; revised.", TODAY
        gone = epmc.works.pop(2)
        epmc.works.append(_work(7, created="2025-06-01"))
        (out.parent / "exports" / "scopus.ris").write_text(RIS.format(abstract="Ketamine helped; erratum."))
        refresh(config, out_dir=out)

        asked = list(dict.fromkeys(r["params"]["query"] for r in epmc.requests[first[0] :]))
        assert asked == [f"((ketamine) AND (depression)) AND ({window})"]
        filters = [r["params"]["filter"] for r in oa.requests[first[1] :]]  # each: a page, then the empty end
        assert list(dict.fromkeys(filters)) == [f"from_created_date:{start}", f"from_updated_date:{start}"]
        assert _changes(out) == [
            ("doi:10.5555/scopus-only", "updated", "record revised in Scopus"),
            ("doi:10.5555/w2", "updated", "record revised in Europe PMC"),
            ("doi:10.5555/w5", "new", "first returned by the search"),
            ("doi:10.5555/w6", "new", "first returned by the search"),
        ]
        records = _records(out)
        assert f"doi:{gone.doi}" in records  # not returned by the window: not withdrawn by a refresh
        assert "doi:10.5555/w7" not in records  # indexed before the window: the next full run finds it
        assert records["pmid:41000001"]["found_in"] == "Europe PMC; OpenAlex"
        run = json.loads((out / "run.json").read_text())
        assert run["mode"] == "incremental"
        assert run["searched"] == {
            "Europe PMC: window": 2,
            "Europe PMC: carried": 2,
            "OpenAlex: from_created_date": 1,
            "OpenAlex: from_updated_date": 1,
            "OpenAlex: carried": 2,
            "Scopus: import": 1,
        }
        assert run["sources"]["Europe PMC"]["date_window"] == {
            "query": f"((ketamine) AND (depression)) AND ({window})",
            "hit_count": 2,
            "carried": 2,
        }
        prisma = json.loads((out / "prisma.json").read_text())
        assert prisma["identification"]["records_identified"] == {"Europe PMC": 4, "OpenAlex": 3, "Scopus": 1}
        assert prisma["balanced"] is True
        same_types_in_pandas(out)

        # A full run searches everything: the paper Europe PMC no longer returns is withdrawn, the
        # old one is found.
        run_pipeline(config, out_dir=out)
        assert _changes(out) == [
            ("doi:10.5555/w4", "withdrawn", "no longer returned by the Europe PMC search"),
            ("doi:10.5555/w7", "new", "first returned by the search"),
        ]


def test_a_refresh_without_a_record_of_the_last_run_searches_in_full(review):
    """A store of an older release does not know what each database returned: refresh reads all."""
    config, out, epmc, oa = review(imports=False)
    with epmc, oa:
        run_pipeline(config, out_dir=out)
        with sqlite3.connect(out / "state.sqlite") as db:
            db.execute("DELETE FROM meta WHERE key = 'returned_by'")
        first = len(epmc.requests), len(oa.requests)
        refresh(config, out_dir=out)
    assert [r["params"]["query"] for r in epmc.requests[first[0] :]] == ["(ketamine) AND (depression)"]
    assert {r["params"].get("filter") for r in oa.requests[first[1] :]} == {None}
    run = json.loads((out / "run.json").read_text())
    assert (
        run["sources"]["Europe PMC"]["full_search_because"] == "no record of what Europe PMC returned at the last run"
    )
    assert _changes(out) == []


def test_openalex_refusing_the_date_filters_falls_back_to_publication_dates(review):
    config, out, epmc, oa = review(sources='["openalex"]', imports=False, premium_filters=True)
    with oa:
        run_pipeline(config, out_dir=out)
        first = len(oa.requests)
        oa.works.append(_work(8, date=TODAY, year=date.today().year, created=TODAY))
        refresh(config, out_dir=out)
    start = (date.today() - timedelta(days=config.refresh.overlap_days)).isoformat()
    # The first is refused (403); the fallback is read to its end.
    assert list(dict.fromkeys(r["params"]["filter"] for r in oa.requests[first:])) == [
        f"from_created_date:{start}",
        f"from_publication_date:{start}",
    ]
    assert [c[:2] for c in _changes(out)] == [("doi:10.5555/w8", "new")]
    window = json.loads((out / "run.json").read_text())["date_window"]  # one database: top-level keys
    assert window["filters"] == [f"from_publication_date:{start}"]
    assert window["note"].startswith("OpenAlex refused from_created_date/from_updated_date for this key")
