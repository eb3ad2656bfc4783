"""Malformed and hostile export files: a clear error naming the file (and line) for what cannot be
read at all; a bad record set aside with its reason while the rest of the file is read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from pipeline.errors import ConfigError, ExitCode
from pipeline.models import Quarantined
from pipeline.sources.imports import ExportFormatError, parse_export, read_export

RIS_GOOD = "TY  - JOUR\nTI  - A good title here\nPY  - 2019\nDO  - 10.1/good\nER  - \n"


def test_unknown_format_names_the_file_and_what_it_starts_with(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Dear colleague,\nhere are the papers we discussed.\n")
    with pytest.raises(ExportFormatError) as err:
        read_export(path)
    assert str(err.value) == (
        f"{path}: not a recognised export file (it starts 'Dear colleague,'). Readable formats: RIS, "
        "PubMed MEDLINE text, Web of Science plain text or tab-delimited, Ovid display text, BibTeX, and "
        'CSV with a title column. Export the records in one of them, or name the format with format = "ris" '
        '(or "medline", "wos", "wos-tab", "ovid", "csv", "bibtex") in the file\'s [[imports]] table.'
    )
    assert isinstance(err.value, ConfigError) and err.value.exit_code == ExitCode.CONFIG


def test_empty_and_binary_files_are_refused(tmp_path):
    empty = tmp_path / "empty.ris"
    empty.write_bytes(b"\r\n\r\n")
    with pytest.raises(ExportFormatError, match=r"empty\.ris: the file is empty\. Export the records again"):
        read_export(empty)
    png = tmp_path / "figure.ris"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(ExportFormatError, match=r"figure\.ris: a binary file, not an export"):
        read_export(png)


def test_a_csv_without_a_title_column_is_named(tmp_path):
    with pytest.raises(ExportFormatError) as err:
        parse_export("Authors,Year\nSmith J,2020\n", "x.csv", "csv")
    assert str(err.value) == (
        "x.csv: the header has no title column (it has: Authors, Year). Export "
        "with the title column, or rename it to Title."
    )


def test_a_format_override_that_does_not_exist_is_named():
    with pytest.raises(ExportFormatError, match=r"^x\.ris: format 'endnote' is unknown; use one of: \"ris\""):
        parse_export(RIS_GOOD, "x.ris", "endnote")


def test_ris_bad_records_are_set_aside_and_the_rest_read():
    text = (
        "1.\nTY  - JOUR\nTI  - First paper\nER  - \n\n"
        "AU  - Orphan, A\nTI  - Tags before any TY line\nER  - \n"
        "TY  - JOUR\nAU  - Nobody, N\nPY  - 2020\nER  - \n"
        "TY  - JOUR\nTI  - Fourth paper\nER  -   \n"
        "TY  - JOUR\nTI  - Cut short\nAB  - The file stops in the middle of"
    )
    result = parse_export(text, "bad.ris")
    assert [(i.number, i.line, i.record.title) for i in result.records] == [
        (1, 2, "First paper"),
        (4, 13, "Fourth paper"),
    ]
    assert result.quarantined == [
        Quarantined("", "bad.ris, line 6, record 2: record starts with AU instead of a TY line", "bad.ris"),
        Quarantined("", "bad.ris, line 9, record 3: the record has no title", "bad.ris"),
        Quarantined(
            "",
            "bad.ris, line 16, record 5: the file ends inside this record (no ER line): the file may be cut short",
            "bad.ris",
        ),
    ]
    assert result.read == 5


def test_csv_rows_with_the_wrong_field_count_or_an_open_quote_are_set_aside():
    text = (
        'Title,Authors,Year,DOI\n"Row one",Smith J,2020,10.1/a\n"Row two",Jones K\n'
        '"Row three, ""quoted""",Lee M,2021,\n"Row four never ends,Kim,2022,\nmore text\n'
    )
    result = parse_export(text, "bad.csv")
    assert [(i.line, i.record.title) for i in result.records] == [(2, "Row one"), (4, 'Row three, "quoted"')]
    assert [q.reason for q in result.quarantined] == [
        "bad.csv, line 3, record 2: row has 2 fields, the header has 4",
        "bad.csv, line 5, record 4: unreadable row (unexpected end of data): the rest of the file cannot be read",
    ]


def test_wos_tab_delimited_with_trailing_tabs():
    text = (
        "PT\tAU\tTI\tSO\tPY\tDI\tUT\t\n"
        "J\tKim, S; Lee, J\tA tab title\tSYNTHESE\t2000\t10.1023/A:1\tWOS:000086967200001\t\n"
    )
    result = parse_export(text, "wos.txt")
    rec = result.records[0].record
    assert result.format == "wos-tab"
    assert (rec.title, rec.pub_year, [a.display_name for a in rec.authors], dict(rec.ids)) == (
        "A tab title",
        2000,
        ["Kim S", "Lee J"],
        {"doi": "10.1023/a:1", "wos": "000086967200001"},
    )


def test_ris_dialects_record_numbers_separators_and_dois_in_other_tags():
    text = (
        "Record 1 of 2\nTY  -  JOUR\nT1  -  Spaced separators\nY1  -  2017///\n"
        "L3  -  https://doi.org/10.5555/ABC\nN2  -  Abstract in N2\ncontinued untagged\nER  -  \n"
        "2.\nTY  - JOUR\nTI  - PubMed RIS\nAN  - 12345678\nDB  - PubMed\nUR  - https://doi.org/10.1/Y\nER  - \n"
    )
    first, second = (i.record for i in parse_export(text, "x.ris").records)
    assert (first.title, first.pub_year, first.doi, first.abstract) == (
        "Spaced separators",
        2017,
        "10.5555/abc",
        "Abstract in N2 continued untagged",
    )
    assert (second.record_id, second.doi) == ("pmid:12345678", "10.1/y")


def test_a_huge_abstract_is_read_whole():
    text = "TY  - JOUR\nTI  - Long\nAB  - " + "word " * 2_000_000 + "\nER  - \n"
    result = parse_export(text, "big.ris")
    assert len(result.records[0].record.abstract) == len("word " * 2_000_000) - 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_read_or_refused_with_a_config_error(text):
    try:
        result = parse_export(text, "fuzz.txt")
    except ExportFormatError:
        return
    assert all(i.record.title for i in result.records)
    assert all(q.reason.startswith("fuzz.txt, line ") for q in result.quarantined)


_words = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), max_codepoint=0x24F), min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(
    title=st.lists(_words, min_size=1, max_size=12).map(" ".join),
    abstract=st.lists(_words, max_size=60).map(" ".join),
    year=st.integers(1900, 2030),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_ris_round_trip_under_any_line_ending(title, abstract, year, ending):
    lines = ["TY  - JOUR", f"TI  - {title}", f"PY  - {year}", f"AB  - {abstract}", "ER  - ", ""]
    result = parse_export(ending.join(lines).replace("\r\n", "\n").replace("\r", "\n"), "p.ris")
    rec = result.records[0].record
    assert (rec.title, rec.pub_year, rec.abstract) == (title, year, abstract)
