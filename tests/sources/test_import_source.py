"""[[imports]] tables as a Source, and several sources pooled (MultiSource)."""

from __future__ import annotations

import pytest

from pipeline.config import ImportConfig
from pipeline.errors import ConfigError
from pipeline.models import Author, Record
from pipeline.sources.base import Harvest, SearchRequest
from pipeline.sources.imports.source import ImportSource, expand
from pipeline.sources.multi import MultiSource, pool
from tests.support.paths import shared_path


def test_an_import_table_reads_every_file_and_sets_bad_records_aside(tmp_path):
    wos = shared_path("data", "exports", "wos")
    bad = tmp_path / "bad.ris"
    bad.write_text("TY  - JOUR\nTI  - Fine record here\nER  - \nTY  - JOUR\nAU  - No, Title\nER  - \n")
    source = ImportSource(ImportConfig("Web of Science", (wos / "*", bad)))
    got = source.search(SearchRequest(query=""))
    assert (got.count, len(got.records), len(got.quarantined)) == (2 + 10 + 2, 13, 1)
    assert got.quarantined[0].reason == f"{bad}, line 4, record 2: the record has no title"
    assert [f["records"] for f in got.manifest["files"]] == [10, 2, 1]
    assert got.current[0] == "doi:10.1016/j.jarmac.2018.03.001"
    assert got.manifest["positions"]["doi:10.1016/j.jarmac.2018.03.001"].endswith(
        "asreview_web_of_science_ris.txt:1 (record 1)"
    )


def test_paths_that_name_nothing_are_config_errors(tmp_path):
    with pytest.raises(ConfigError) as err:
        expand("Scopus", [tmp_path / "exports" / "*.csv"])
    assert str(err.value) == (
        f"[[imports]] 'Scopus': pattern '{tmp_path / 'exports' / '*.csv'}' matches no file. "
        "Check the path; paths are relative to the config file's folder."
    )


def _r(**kw):
    return Record(title="Ketamine in depression trial", pub_year=2020, authors=(Author("Smith"),), **kw)


def test_pool_keeps_the_pubmed_copy_and_merges_identifiers():
    records, found_in = pool(
        [
            ("OpenAlex", _r(pmid="1", ids={"openalex": "W1"})),
            ("PubMed", _r(pmid="1", journal="Lancet")),
            ("Europe PMC", _r(doi="10.1/x", ids={"europepmc": "PPR1"})),
        ]
    )
    by_id = {r.record_id: r for r in records}
    assert by_id["pmid:1"].journal == "Lancet" and by_id["pmid:1"].ids["openalex"] == "W1"
    assert found_in == {"pmid:1": ("OpenAlex", "PubMed"), "doi:10.1/x": ("Europe PMC",)}


class _Fixed:
    def __init__(self, name, records, current=None):
        self.name, self.run_info, self._records = name, {f"{name}_url": "x"}, records
        self._current = current

    def search(self, request):
        current = self._current if self._current is not None else [r.record_id for r in self._records]
        return Harvest(query=f"q-{self.name}", count=len(current), current=current, records=self._records)


def test_multisource_counts_per_database_and_keeps_unfetched_pubmed_records():
    pubmed = _Fixed("PubMed", [_r(pmid="2")], current=["pmid:1", "pmid:2"])  # pmid:1 stored, not refetched
    openalex = _Fixed("OpenAlex", [_r(pmid="1", ids={"openalex": "W1"}), _r(pmid="2", ids={"openalex": "W2"})])
    multi = MultiSource([pubmed, openalex])
    got = multi.search(SearchRequest(query=""))
    assert multi.databases == {"PubMed": 2, "OpenAlex": 2}
    assert [r.record_id for r in got.records] == ["pmid:2"]  # pmid:1 keeps its stored version
    assert got.records[0].ids["openalex"] == "W2"
    assert multi.found_in == {"pmid:1": ("OpenAlex", "PubMed"), "pmid:2": ("OpenAlex", "PubMed")}
    assert got.current == ["pmid:1", "pmid:2"] and got.count == 4
    assert multi.run_info == {"PubMed_url": "x", "OpenAlex_url": "x"}


def test_an_import_tables_records_are_attributed_to_the_last_file_holding_them(tmp_path):
    first, second = tmp_path / "a.ris", tmp_path / "b.ris"
    first.write_text(
        "TY  - JOUR\nTI  - Only in the first\nDO  - 10.1/one\nER  - \n"
        "TY  - JOUR\nTI  - In both files\nDO  - 10.1/both\nER  - \n"
    )
    second.write_text("TY  - JOUR\nTI  - In both files\nDO  - 10.1/both\nER  - \n")
    got = ImportSource(ImportConfig("Scopus", (tmp_path / "*.ris",))).search(SearchRequest(query=""))
    assert got.files == [str(first), str(second)]
    assert got.file_of == {"doi:10.1/one": str(first), "doi:10.1/both": str(second)}


def test_multisource_attributes_a_record_to_the_file_of_the_copy_it_kept():
    pubmed = _Fixed("PubMed", [_r(pmid="1", journal="Lancet")])  # an API: no file
    local = _Fixed("Scopus", [_r(pmid="1"), _r(doi="10.1/x")])
    local_search = local.search

    def search(request):
        got = local_search(request)
        got.files = ["/in/scopus.ris"]
        got.file_of = {"pmid:1": "/in/scopus.ris", "doi:10.1/x": "/in/scopus.ris"}
        return got

    local.search = search
    got = MultiSource([pubmed, local]).search(SearchRequest(query=""))
    assert got.files == ["/in/scopus.ris"]
    # pmid:1 kept PubMed's copy (richer: PubMed first): it came from no file.
    assert got.file_of == {"pmid:1": "", "doi:10.1/x": "/in/scopus.ris"}
