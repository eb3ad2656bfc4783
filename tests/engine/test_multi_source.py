"""End to end: a review searching PubMed, Europe PMC and OpenAlex (local fakes) and importing three
export files (two of them real, from ../shared), deduplicated across all of them.

The fakes serve the ketamine fixture corpus as each API would, plus what only one database has: a
Europe PMC preprint of a PubMed paper, a DOI-only record both Europe PMC and OpenAlex hold, an
OpenAlex-only work that a Scopus export also lists, and a Scopus record of a PubMed paper without
its DOI, its title in capitals.
"""

from __future__ import annotations

import csv
import json
from datetime import date
import shutil
from pathlib import Path

import pytest

from pipeline.models import Record
from pipeline.sources.pubmed_xml.parser import parse
from tests.support.eutils_server import EutilsServer, load_corpus
from tests.support.literature_apis import EuropePmcServer, OpenAlexServer, Work
from tests.support.paths import FIXTURES, REPO, shared_path

KEY = "oa-test-key"
CONFIG = """
[review]
name = "ketamine-multi"
[search]
sources = ["pubmed", "europepmc", "openalex"]
all_of = [["ketamine"], ["depression"]]
[screening]
min_year = 2016
languages = ["eng"]
exclude_publication_types = ["Retracted Publication"]
[extraction]
lexicons = ["lexicons/ketamine-review.toml"]
[[imports]]
database = "Web of Science"
paths = ["{wos}"]
[[imports]]
database = "Google Scholar"
paths = ["{scholar}"]
[[imports]]
database = "Scopus"
paths = ["exports/scopus.ris"]
[output]
dir = "out"
"""
SCOPUS = """TY  - JOUR
TI  - {title}
AU  - {author}
PY  - 2021
DB  - Scopus
UR  - https://www.scopus.com/inward/record.uri?eid=2-s2.0-85000000001
ER  -

TY  - JOUR
TI  - Ketamine and depression in older adults: a cohort study
AU  - Okafor, N.
PY  - 2022
DO  - 10.5555/oa-only
DB  - Scopus
ER  -
"""


def _corpus() -> list[Record]:
    return [r for r in parse(FIXTURES / "ketamine_corpus.xml") if isinstance(r, Record)]


def _work(r: Record, **kw) -> Work:
    return Work(
        r.title,
        abstract=r.abstract,
        year=r.pub_year,
        pmid=r.pmid,
        doi=r.doi,
        language=r.languages[0],
        types=r.publication_types or ("Journal Article",),
        journal=r.journal,
        authors=tuple((a.last_name, a.fore_name or a.initials) for a in r.authors),
        **kw,
    )


@pytest.fixture
def review(tmp_path, monkeypatch):
    wos = shared_path("data", "exports", "wos", "asreview_web_of_science_ris.txt")
    scholar = shared_path("data", "exports", "google_scholar", "cff_baseline_googlescholar.ris")
    folder = tmp_path / "review"
    shutil.copytree(REPO / "config", folder)
    records = {r.pmid: r for r in _corpus()}
    esketamine, ect = records["30000009"], records["30000010"]
    (folder / "exports").mkdir()
    (folder / "exports" / "scopus.ris").write_text(
        SCOPUS.format(author=f"{ect.authors[0].last_name}, X.", title=ect.title.upper())
    )
    path = folder / "multi.toml"
    path.write_text(CONFIG.format(wos=wos, scholar=scholar))
    shared_only = Work(
        "Ketamine infusion for suicidal depression in adolescents",
        abstract="Ketamine helped.",
        year=2021,
        doi="10.5555/epmc-only",
        authors=(("Rossi", "Anna"),),
    )
    epmc = [_work(r) for r in records.values()] + [
        Work(
            esketamine.title,
            abstract="Esketamine, the S-enantiomer of ketamine, in depression.",
            year=2019,
            doi="10.1101/2019.05.01.111",
            preprint="PPR500",
            types=("Preprint",),
            journal="",
            authors=tuple((a.last_name, a.fore_name) for a in esketamine.authors),
        ),
        shared_only,
    ]
    openalex = [_work(records[p]) for p in ("30000001", "30000005", "30000009")] + [
        shared_only,
        Work(
            "Ketamine and depression in older adults: a cohort study",
            abstract="Older adults.",
            year=2022,
            doi="10.5555/oa-only",
            authors=(("Okafor", "Nkem"),),
            journal="",
        ),
    ]
    monkeypatch.setenv("OPENALEX_API_KEY", KEY)
    with (
        EutilsServer(load_corpus(FIXTURES / "ketamine_corpus.xml")) as eutils,
        EuropePmcServer(epmc) as europepmc,
        OpenAlexServer(openalex, keys=(KEY,)) as oa,
    ):
        monkeypatch.setenv("EUROPEPMC_BASE_URL", europepmc.base_url)
        monkeypatch.setenv("OPENALEX_BASE_URL", oa.base_url)
        yield path, eutils, oa


def _rows(out: Path) -> list[dict]:
    with open(out / "records.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_every_record_of_every_source_once_with_prisma_per_database(review, same_types_in_pandas):
    from pipeline.config import load_config
    from pipeline.engine.run import refresh, run_pipeline
    from pipeline.sources.pubmed.eutils import Settings

    path, eutils, oa = review
    config = load_config(path)
    out = path.parent / "out"
    run_pipeline(config, out_dir=out, settings=Settings(base_url=eutils.base_url, email="tests@example.org"))

    rows = _rows(out)
    by_id = {row["record_id"]: row for row in rows}
    assert len(by_id) == len(rows) == 34  # 10 PubMed + preprint + 2 DOI-only + Scopus's + 10 WoS + 10 Scholar
    kept = {k for k, row in by_id.items() if row["decision"] != "duplicate"}
    duplicates = {k: (row["reason"], row["duplicate_of"]) for k, row in by_id.items() if row["decision"] == "duplicate"}
    scopus_copy = "scopus:2-s2.0-85000000001"
    assert duplicates == {
        "pmid:30000007": ("duplicate-doi", "pmid:30000001"),  # the same DOI twice in PubMed
        "doi:10.1101/2019.05.01.111": ("duplicate-preprint", "pmid:30000009"),
        scopus_copy: ("duplicate-title-year", "pmid:30000010"),
    }
    assert all(kept_id in kept for _, kept_id in duplicates.values())

    assert by_id["pmid:30000001"]["found_in"] == "Europe PMC; OpenAlex; PubMed"
    ids = by_id["pmid:30000001"]["ids"].split("; ")
    assert ids[:2] == ["pmid:30000001", "doi:10.1176/appi.ajp.2017.17040472"]
    assert any(i.startswith("openalex:W") for i in ids)
    assert by_id["doi:10.5555/epmc-only"]["found_in"] == "Europe PMC; OpenAlex"
    assert by_id["doi:10.5555/oa-only"]["found_in"] == "OpenAlex; Scopus"
    assert by_id[scopus_copy]["found_in"] == "Scopus"

    prisma = json.loads((out / "prisma.json").read_text())
    ident = prisma["identification"]
    # The fakes match title and abstract only: 30000009 ("Esketamine ...") is PubMed's through its MeSH
    # terms, so Europe PMC returns its preprint but not it, and OpenAlex 3 of its 4 corpus works.
    assert ident["records_identified"] == {
        "PubMed": 10,
        "Europe PMC": 11,
        "OpenAlex": 4,
        "Web of Science": 10,
        "Google Scholar": 10,
        "Scopus": 2,
    }
    removed = ident["records_removed_before_screening"]
    # 13 copies of a record another database also returned (Europe PMC 9 and OpenAlex 2 PubMed records,
    # 2 DOI-only records in two databases), then the duplicate rows (one by DOI within PubMed); the
    # rules' exclusions; nothing unreadable.
    assert removed["duplicates"]["by_reason"] == {
        "duplicate-pmid": 9 + 2,
        "duplicate-doi": 2 + 1,
        "duplicate-title-year": 1,
        "duplicate-preprint": 1,
    }
    assert prisma["balanced"] is True

    run = json.loads((out / "run.json").read_text())
    sources = run["sources"]
    assert {k: (v["hit_count"], v["retrieved"]) for k, v in sources.items()} == {
        "PubMed": (10, 10),
        "Europe PMC": (11, 11),
        "OpenAlex": (4, 4),
        "Web of Science": (10, 10),
        "Google Scholar": (10, 10),
        "Scopus": (2, 2),
    }
    assert sources["Europe PMC"]["query"] == "(ketamine) AND (depression)"
    assert sources["OpenAlex"]["query"] == "search=(ketamine) AND (depression)"
    assert KEY not in (out / "run.json").read_text()
    assert KEY not in "".join(p.read_text() for p in out.glob("raw/*/requests.jsonl"))
    same_types_in_pandas(out)  # records without a PMID (preprints, imports) included
    svg = (out / "prisma.svg").read_text()
    assert "Europe PMC" in svg and "Web of Science" in svg

    # A refresh asks every API for its date window: a work OpenAlex created since is new, nothing else changed.
    first, first_run = (out / "records.csv").read_bytes(), run["run_id"]
    oa.works.append(
        Work(
            "Ketamine and depression after stroke: a new cohort",
            abstract="New.",
            year=2024,
            doi="10.5555/oa-new",
            authors=(("Lee", "Min"),),
            created=date.today().isoformat(),
        )
    )
    refresh(config, out_dir=out, settings=Settings(base_url=eutils.base_url, email="tests@example.org"))
    changes = list(csv.DictReader(open(out / "changes.csv", encoding="utf-8-sig", newline="")))
    assert [(c["record_id"], c["change"]) for c in changes] == [("doi:10.5555/oa-new", "new")]
    assert {r["record_id"]: r["found_in"] for r in _rows(out)}["doi:10.5555/oa-new"] == "OpenAlex"
    assert json.loads((out / "prisma.json").read_text())["identification"]["records_identified"]["OpenAlex"] == 5

    # Replayed offline from the first run's archive (no server needed), the tables are the same.
    run_pipeline(config, out_dir=out, from_run=first_run)
    assert (out / "records.csv").read_bytes() == first
