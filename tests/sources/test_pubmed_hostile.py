"""Hostile XML is refused safely.

"Refused safely" means: parse() returns promptly (well under a second) with bounded memory, yields
exactly one Quarantined naming the problem and nothing else from a refused document, never raises,
never opens a file or URL that the document names, and never expands an entity.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from tests.support.paths import XML_FIXTURES
from pipeline.models import Quarantined, Record
from pipeline.sources.pubmed_xml.parser import parse
from tests.support.xmlbuild import article

INTERNAL_SUBSET = (
    "refused: the DOCTYPE has an internal subset, which PubMed XML never has; it can "
    "declare entities (entity expansion, external files), so it is not read"
)


def run_bounded(data, **kw):
    tracemalloc.start()
    started = time.perf_counter()
    items = list(parse(data, **kw))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return items, elapsed, peak


def test_billion_laughs_is_refused_quickly_in_little_memory():
    items, elapsed, peak = run_bounded(XML_FIXTURES / "invalid" / "billion_laughs.xml", source_name="lol")
    assert items == [Quarantined("", INTERNAL_SUBSET, "lol")]
    assert elapsed < 1.0
    assert peak < 5_000_000


def test_quadratic_blowup_in_an_internal_subset_is_refused():
    data = (
        b'<!DOCTYPE PubmedArticleSet [<!ENTITY a "'
        + b"x" * 50_000
        + b'">]><PubmedArticleSet>'
        + article("1", "<ArticleTitle>" + "&a;" * 50_000 + "</ArticleTitle>").encode()
        + b"</PubmedArticleSet>"
    )
    items, elapsed, peak = run_bounded(data)
    assert items == [Quarantined("", INTERNAL_SUBSET)]
    assert elapsed < 1.0 and peak < 20_000_000


def test_external_entity_never_reads_the_file_it_names(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f"<PubmedArticleSet>{article('1', '<ArticleTitle>&xxe;</ArticleTitle>')}</PubmedArticleSet>"
    ).encode()
    items = list(parse(data))
    assert items == [Quarantined("", INTERNAL_SUBSET)]
    assert "TOP-SECRET" not in repr(items)


def test_an_external_dtd_is_never_loaded_so_its_entities_stay_undefined(tmp_path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY secret "TOP-SECRET-CONTENT">')
    data = (
        f'<?xml version="1.0"?><!DOCTYPE PubmedArticleSet SYSTEM "file://{dtd}"><PubmedArticleSet>'
        f"{article('1', '<ArticleTitle>&secret;</ArticleTitle>')}{article('2')}</PubmedArticleSet>"
    ).encode()
    items = list(parse(data))
    assert "TOP-SECRET" not in repr(items)
    assert isinstance(items[0], Quarantined) and items[0].pmid == "1"
    assert items[0].reason.endswith("undefined entity: line 1, column 227")
    assert isinstance(items[1], Record) and items[1].pmid == "2"


def test_remote_dtd_is_not_fetched():
    # The conftest socket guard fails the test if anything tries to connect.
    data = (
        b'<!DOCTYPE PubmedArticleSet SYSTEM "http://attacker.example/x.dtd"><PubmedArticleSet>'
        + article("1").encode()
        + b"</PubmedArticleSet>"
    )
    assert [i.pmid for i in parse(data)] == ["1"]


def test_doctype_inside_a_record_is_malformed_not_obeyed():
    data = (
        b"<PubmedArticleSet><PubmedArticle><!DOCTYPE x [<!ENTITY a 'b'>]><MedlineCitation>"
        b"<PMID>9</PMID></MedlineCitation></PubmedArticle></PubmedArticleSet>"
    )
    (item,) = parse(data)
    assert item.pmid == "9" and item.reason.startswith("malformed XML in the <PubmedArticle> record at byte 18: ")


@pytest.mark.parametrize(
    "data, reason",
    [
        (
            b'<?xml version="1.0" encoding="UTF-7"?><PubmedArticleSet/>',
            "refused: encoding 'UTF-7' is not supported (PubMed XML is UTF-8)",
        ),
        (
            b'<?xml version="1.0" encoding="cp500"?><PubmedArticleSet/>',
            "refused: encoding 'cp500' is not supported (PubMed XML is UTF-8)",
        ),
        ("<PubmedArticleSet/>".encode("utf-16"), "refused: the document is not UTF-8 (PubMed XML always is)"),
        (b'<!ENTITY a "b"><PubmedArticleSet/>', "refused: markup declarations are only allowed inside a DOCTYPE"),
        (b"<!DOCTYPE PubmedArticleSet PUBLIC>", "refused: the DOCTYPE declaration cannot be read"),
        (b"<!-- never closed", "truncated: the document ends inside a comment"),
        (b" " * (1 << 20) + b"<!-- -->" + b"<PubmedArticleSet/>", "not PubMed XML: no root element in the first 1 MiB"),
    ],
)
def test_refusals(data, reason):
    assert list(parse(data)) == [Quarantined("", reason)]


def test_latin1_declared_documents_are_decoded_as_declared():
    data = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><PubmedArticleSet>'
        + article("1", "<ArticleTitle>Müller</ArticleTitle>")
        + "</PubmedArticleSet>"
    ).encode("latin-1")
    assert next(parse(data)).title == "Müller"


def test_huge_single_record_is_parsed_without_quadratic_rescanning():
    big = article("1", "<ArticleTitle>" + "word " * 400_000 + "</ArticleTitle>").encode()
    started = time.perf_counter()
    (rec,) = parse(b"<PubmedArticleSet>" + big + b"</PubmedArticleSet>")
    assert len(rec.title) == 400_000 * 5 - 1
    assert time.perf_counter() - started < 5
