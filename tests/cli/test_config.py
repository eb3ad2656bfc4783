"""Config loading: every bad key or value is refused with the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ENTITY_CLASSES, load_config
from pipeline.errors import ConfigError, ExitCode
from tests.support.paths import DEFAULT_CONFIG

MINIMAL = """
[review]
name = "r"
[search]
all_of = [["ketamine"]]
[output]
dir = "out"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "review.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value).replace(str(path), "FILE")


def test_default_config_is_valid_and_encodes_the_review():
    config = load_config(DEFAULT_CONFIG)
    assert config.review.name == "ketamine-depression"
    assert config.search.all_of == (
        ("ketamine",),
        ("depression",),
        ("mechanism of action", "clinical applications", "efficacy"),
    )
    assert config.screening.min_year == 2016 and config.screening.max_year is None
    assert config.screening.languages == ("eng",)
    assert config.extraction.classes == ENTITY_CLASSES
    assert config.output.dir == DEFAULT_CONFIG.resolve().parent / "../outputs/ketamine-depression"


def test_minimal_config_gets_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.search.source == "pubmed"
    assert config.screening.date_spans == "needs-review"
    assert config.retrieval.batch_size == 200
    assert config.output.dir == tmp_path / "out"


def test_hash_changes_with_content(tmp_path):
    a = load_config(write(tmp_path, MINIMAL)).sha256
    b = load_config(write(tmp_path, MINIMAL + "\n# comment\n")).sha256
    assert a != b and len(a) == 64


@pytest.mark.parametrize(
    "text, message",
    [
        (MINIMAL.replace("[output]", "[outptu]"), "FILE: [outptu] is not a known table. Did you mean 'output'?"),
        (
            MINIMAL + "[screening]\nmin_yaer = 2016\n",
            "FILE: [screening.min_yaer] is not a known key. Did you mean 'min_year'?",
        ),
        (
            MINIMAL + "[screening]\nzzz = 1\n",
            "FILE: [screening.zzz] is not a known key. Known keys: min_year, max_year, languages, date_spans, "
            "exclude_publication_types, require_abstract, human.",
        ),
        (
            MINIMAL + '[screening]\nmin_year = "2016"\n',
            "FILE: [screening.min_year] must be an integer, not a string ('2016').",
        ),
        (
            MINIMAL + "[screening]\nmin_year = 16\n",
            "FILE: [screening.min_year] is 16; use a four-digit year such as 2016.",
        ),
        (
            MINIMAL + "[screening]\nmin_year = 2020\nmax_year = 2016\n",
            "FILE: [screening.max_year] (2016) is before min_year (2020). Swap them.",
        ),
        (
            MINIMAL + '[screening]\nlanguages = ["english"]\n',
            "FILE: [screening.languages] 'english' is not a 3-letter PubMed language code. "
            'Use codes such as "eng", "ger", "fre".',
        ),
        (
            MINIMAL + "[screening]\nrequire_abstract = 1\n",
            "FILE: [screening.require_abstract] must be true or false, not an integer (1).",
        ),
        (
            MINIMAL + '[screening]\ndate_spans = "maybe"\n',
            'FILE: [screening.date_spans] is \'maybe\'; use one of: "needs-review", "include", "exclude".',
        ),
        (
            MINIMAL.replace('name = "r"', 'name = "my review"'),
            "FILE: [review.name] is 'my review'; use letters, digits, - and _ only.",
        ),
        (
            MINIMAL.replace('name = "r"', ""),
            'FILE: [review.name] is missing. Add name = "my-review" (letters, digits, - and _).',
        ),
        (MINIMAL.replace('[output]\ndir = "out"', ""), "FILE: [output] is missing. Add a [output] table."),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', "all_of = []"),
            'FILE: [search.all_of] is empty. Write groups of terms, e.g. all_of = [["ketamine"], ["depression"]] '
            "(groups are ANDed, terms within a group ORed).",
        ),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', 'all_of = [["ketamine", 3]]'),
            "FILE: [search.all_of] group 1 must be a non-empty list of terms. Write groups of terms, e.g. "
            'all_of = [["ketamine"], ["depression"]] (groups are ANDed, terms within a group ORed).',
        ),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', 'all_of = [["\\"ketamine\\""]]'),
            "FILE: [search.all_of] term '\"ketamine\"' contains a double quote. Write the phrase without quotes; "
            "phrases are quoted for you.",
        ),
        (
            MINIMAL.replace("all_of", 'source = "pubmed-xml"\nall_of'),
            'FILE: [search.paths] is missing: source = "pubmed-xml" reads local files. '
            'Add paths = ["pubmed/*.xml.gz"] (relative to the config file).',
        ),
        (
            MINIMAL.replace("all_of", 'source = "medline"\nall_of'),
            'FILE: [search.source] is \'medline\'; use one of: "pubmed", "pubmed-xml".',
        ),
        (
            MINIMAL.replace("all_of", 'field = "[tiab]"\nall_of'),
            "FILE: [search.field] is '[tiab]'; use a PubMed field tag without brackets, e.g. \"tiab\".",
        ),
        (
            MINIMAL + '[extraction]\nclasses = ["DRUGS"]\n',
            "FILE: [extraction.classes] 'DRUGS' is not an entity class. Did you mean 'DRUG'?",
        ),
        (MINIMAL + "[retrieval]\nbatch_size = 0\n", "FILE: [retrieval.batch_size] is 0; use a value from 1 to 10000."),
        (
            MINIMAL + "[retrieval]\ntimeout = true\n",
            "FILE: [retrieval.timeout] must be a number, not a boolean (True).",
        ),
        ("screening = 3\n" + MINIMAL, "FILE: [screening] must be a table, e.g. [screening], not an integer (3)."),
    ],
)
def test_bad_values_are_refused_with_file_key_and_fix(tmp_path, text, message):
    assert error_for(tmp_path, text) == message


def test_missing_lexicon_file(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[extraction]\nlexicons = ["nope.toml"]\n')
    assert message == (
        f"FILE: [extraction.lexicons] file {tmp_path / 'nope.toml'} does not exist. "
        "Paths are relative to the config file's folder."
    )


def test_toml_syntax_error(tmp_path):
    message = error_for(tmp_path, "[review\nname = 1")
    assert message.startswith("FILE: not valid TOML: ")
    assert message.endswith(". Fix the syntax at that line.")


def test_missing_file_and_not_utf8(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.toml: config file not found. Pass an existing file with --config.$"):
        load_config(tmp_path / "nope.toml")
    path = tmp_path / "latin.toml"
    path.write_bytes('[review]\nname = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="the config file is not UTF-8 text. Save it as UTF-8.$"):
        load_config(path)


def test_config_error_maps_to_exit_code_2():
    assert ConfigError.exit_code == ExitCode.CONFIG == 2


def test_validate_command(invoke, tmp_path):
    ok = invoke("validate", "--config", DEFAULT_CONFIG)
    assert ok.exit_code == 0
    assert ok.stdout.startswith(f"{DEFAULT_CONFIG}: OK (review 'ketamine-depression', output ")
    bad = write(tmp_path, MINIMAL + "[screening]\nmin_yaer = 2016\n")
    refused = invoke("validate", "--config", bad)
    assert refused.exit_code == 2
    assert refused.stderr == f"Error: {bad}: [screening.min_yaer] is not a known key. Did you mean 'min_year'?\n"


def test_run_with_a_typo_is_refused_before_any_request(invoke, tmp_path, server):
    bad = write(tmp_path, MINIMAL.replace("[output]", "[outptu]"))
    result = invoke("run", "--config", bad)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {bad}: [outptu] is not a known table. Did you mean 'output'?\n"
    assert server.requests == []


def test_query_command_shows_the_boolean_query(invoke):
    result = invoke("query", "--config", DEFAULT_CONFIG)
    assert result.exit_code == 0
    assert (
        result.stdout == 'ketamine AND depression AND ("mechanism of action" OR "clinical applications" OR efficacy)\n'
    )


def test_missing_option_is_a_usage_error_with_exit_2(invoke):
    result = invoke("validate")
    assert result.exit_code == 2
    assert "Error: Missing option '--config'." in result.stderr


# --- values that mean nothing (issue 13, item 8) --------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        (
            MINIMAL + "[extraction]\nclasses = []\n",
            "FILE: [extraction.classes] is empty, which would extract nothing. List entity classes, e.g. "
            'classes = ["DRUG", "DISEASE"], or leave the key out for all of them.',
        ),
        (
            MINIMAL + "[screening]\nlanguages = []\n",
            "FILE: [screening.languages] is empty, which would let no record through. List PubMed language "
            'codes, e.g. languages = ["eng"], or leave the key out to accept every language.',
        ),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', 'all_of = [["ketamine", "*"]]'),
            "FILE: [search.all_of] term '*' is only a wildcard; it would match everything. "
            'Write a word before the *, e.g. "depress*".',
        ),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', 'all_of = [["ketamine"], ["OR"]]'),
            "FILE: [search.all_of] term 'OR' is a bare boolean operator. Groups are ANDed and terms ORed "
            "for you: write only the terms.",
        ),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', 'all_of = [["not"]]'),
            "FILE: [search.all_of] term 'not' is a bare boolean operator. Groups are ANDed and terms ORed "
            "for you: write only the terms.",
        ),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', 'all_of = [["#3"]]'),
            "FILE: [search.all_of] term '#3' is a PubMed search-history reference, which means nothing outside "
            "a PubMed session. Write the terms themselves.",
        ),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', 'all_of = [["ketamine", ""]]'),
            "FILE: [search.all_of] group 1, term 2 is an empty string. Remove it or write a term.",
        ),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', 'all_of = [["ketamine"], ["  "]]'),
            "FILE: [search.all_of] group 2, term 1 is an empty string. Remove it or write a term.",
        ),
        (
            MINIMAL.replace('all_of = [["ketamine"]]', 'all_of = [["ketamine"], []]'),
            'FILE: [search.all_of] group 2 is empty. Write groups of terms, e.g. all_of = [["ketamine"], '
            '["depression"]] (groups are ANDed, terms within a group ORed).',
        ),
    ],
)
def test_values_that_mean_nothing_are_refused(tmp_path, text, message):
    assert error_for(tmp_path, text) == message


def test_a_lexicon_path_that_is_a_folder_says_so(tmp_path):
    (tmp_path / "lexicons").mkdir()
    message = error_for(tmp_path, MINIMAL + '[extraction]\nlexicons = ["lexicons"]\n')
    assert message == (
        f"FILE: [extraction.lexicons] {tmp_path / 'lexicons'} is a folder, not a file. "
        "Name the lexicon's .toml file inside it."
    )
