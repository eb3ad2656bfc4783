"""[search] sources, [sources.*] and [[imports]]: how a review names its databases and export files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.config import ApiSourceConfig, ImportConfig, load_config
from pipeline.errors import ConfigError
from tests.support.paths import REPO

BASE = """
[review]
name = "multi"
[search]
all_of = [["ketamine"], ["depression"]]
{search}
[output]
dir = "out"
{rest}
"""


def _load(tmp_path: Path, search: str = "", rest: str = ""):
    path = tmp_path / "review.toml"
    path.write_text(BASE.format(search=search, rest=rest))
    return load_config(path)


def _error(tmp_path, search="", rest=""):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, search, rest)
    return str(err.value).removeprefix(f"{tmp_path / 'review.toml'}: ")


def test_every_database_and_import(tmp_path):
    config = _load(
        tmp_path,
        'sources = ["pubmed", "europepmc", "openalex"]',
        """
[sources.openalex]
page_size = 200
[[imports]]
database = "Web of Science"
paths = ["exports/wos/*.txt"]
[[imports]]
database = "Scopus"
paths = ["exports/scopus.csv"]
format = "csv"
""",
    )
    assert config.search.sources == ("pubmed", "europepmc", "openalex")
    assert config.search.source == "pubmed"
    assert config.sources == {"europepmc": ApiSourceConfig(1000), "openalex": ApiSourceConfig(200)}
    assert config.imports == (
        ImportConfig("Web of Science", (tmp_path / "exports/wos/*.txt",)),
        ImportConfig("Scopus", (tmp_path / "exports/scopus.csv",), "csv"),
    )


def test_the_single_source_key_keeps_working(tmp_path):
    config = _load(tmp_path, 'source = "pubmed"')
    assert (config.search.source, config.search.sources, config.sources, config.imports) == (
        "pubmed",
        ("pubmed",),
        {},
        (),
    )
    only_apis = _load(tmp_path, 'sources = ["openalex"]')
    assert (only_apis.search.source, only_apis.search.sources) == ("", ("openalex",))


@pytest.mark.parametrize(
    "search, rest, message",
    [
        (
            'sources = ["pubmed", "scopus"]',
            "",
            '[search.sources] \'scopus\' is not a source; use any of: "pubmed", "pubmed-xml", "europepmc", '
            '"openalex". Export files of other databases go in [[imports]] tables.',
        ),
        (
            "sources = []",
            "",
            '[search.sources] is empty. List the databases to search, e.g. sources = ["pubmed", "europepmc", "openalex"].',
        ),
        ('sources = ["openalex", "openalex"]', "", "[search.sources] lists 'openalex' twice. List each source once."),
        (
            'sources = ["pubmed", "pubmed-xml"]',
            "",
            '[search.sources] lists both "pubmed" and "pubmed-xml": both are PubMed. Keep one.',
        ),
        (
            'source = "pubmed"\nsources = ["pubmed"]',
            "",
            '[search.source] and [search] sources are both set. Keep only sources, e.g. sources = ["pubmed", "europepmc"].',
        ),
        (
            'sources = ["pubmed"]',
            "[sources.openalex]\npage_size = 50",
            '[sources.openalex] is set but "openalex" is not in [search] sources. Add it there, or remove this table.',
        ),
        (
            'sources = ["openalex"]',
            "[sources.openalex]\npage_size = 500",
            "[sources.openalex.page_size] is 500; use a value from 1 to 200.",
        ),
        (
            'sources = ["openalex"]',
            "[sources.openalex]\nper_page = 50",
            "[sources.openalex.per_page] is not a known key. Known keys: page_size.",
        ),
        (
            'sources = ["europepmc"]',
            "[sources.scopus]\npage_size = 5",
            "[sources.scopus] is not a source with options. Known keys: europepmc, openalex.",
        ),
        (
            "",
            '[[imports]]\npaths = ["a.ris"]',
            "[imports.1.database] is missing. Name the database the files were exported from, e.g. "
            'database = "Web of Science" (it is shown in PRISMA).',
        ),
        (
            "",
            '[[imports]]\ndatabase = "Scopus"',
            '[imports.1.paths] is missing. Add paths = ["exports/wos/*.txt"] (files, folders or globs, relative to the '
            "config file).",
        ),
        (
            "",
            '[[imports]]\ndatabase = "Scopus"\npaths = ["a.csv"]\nformat = "endnote"',
            '[imports.1.format] is \'endnote\'; use one of: "ris", "medline", "wos", "wos-tab", "ovid", "csv", "bibtex".',
        ),
        (
            "",
            '[[imports]]\ndatabase = "Scopus"\npaths = ["a.csv"]\nfile = "b.csv"',
            "[imports.1.file] is not a known key. Known keys: database, paths, format.",
        ),
        (
            "",
            '[[imports]]\ndatabase = "OpenAlex"\npaths = ["a.csv"]',
            "[imports.1.database] 'OpenAlex' is also searched through its API; name the export differently, "
            'e.g. "PubMed (export)".',
        ),
        (
            "",
            '[[imports]]\ndatabase = "Scopus"\npaths = ["a.csv"]\n[[imports]]\ndatabase = "Scopus"\npaths = ["b.csv"]',
            "[imports] two [[imports]] tables name the database 'Scopus'. Put all of its files in one table's paths.",
        ),
    ],
)
def test_mistakes_are_named_with_the_fix(tmp_path, search, rest, message):
    assert _error(tmp_path, search, rest) == message


def test_the_readme_documents_sources_and_imports():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for needle in (
        "sources = [",
        "[sources.europepmc]",
        "[sources.openalex]",
        "page_size",
        "[[imports]]",
        "database =",
        "format =",
        "EUROPEPMC_BASE_URL",
        "OPENALEX_BASE_URL",
        "OPENALEX_API_KEY",
    ):
        assert needle in readme, needle
    assert re.search(r"^\| `wos-tab` ", readme, re.MULTILINE)


def test_query_prints_every_sources_translation(tmp_path, invoke):
    path = tmp_path / "review.toml"
    path.write_text(
        BASE.format(search='sources = ["pubmed", "europepmc", "openalex"]\nfield = "tiab"', rest="").replace(
            '[["ketamine"], ["depression"]]', '[["ketamine"], ["depress*"]]'
        )
    )
    result = invoke("query", "--config", str(path))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "PubMed: ketamine[tiab] AND depress*[tiab]",
        "Europe PMC: (TITLE_ABS:ketamine) AND (TITLE_ABS:depress*)",
        "OpenAlex: filter=title_and_abstract.search:(ketamine) AND (depress)",
        "  note: OpenAlex strips wildcards: 'depress*' is searched as 'depress'",
    ]
