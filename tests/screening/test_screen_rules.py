"""Screening rules, one by one: exact verdicts on hand-picked cases, then properties (hypothesis)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.screening import rules as screen
from pipeline.config import ScreeningConfig
from pipeline.models import AbstractSection, CommentCorrection, Decision, Record, ScreeningResult
from pipeline.screening.rules import Verdict
from pipeline.outputs.tables import RECORD_COLUMNS
from tests.support.eutils_server import Article, _leaf

POST_2015 = ScreeningConfig(min_year=2016, languages=("eng",))
EXCLUDE, REVIEW = Decision.EXCLUDE, Decision.NEEDS_REVIEW


def rec(pmid: str = "1", **fields) -> Record:
    return Record(pmid=pmid, **fields)


# --- dates: PubMed's [dp] ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"pub_year": 2016}, None),
        ({"pub_year": 2015}, Verdict(EXCLUDE, "published-before-range", "pub_year", "2015")),
        # The electronic date alone puts the record in range ...
        ({"pub_year": 2015, "article_date": "2016-01-04"}, None),
        # ... and the print date alone too: either one is enough.
        ({"pub_year": 2016, "article_date": "2015-11-30"}, None),
        (
            {"pub_year": 2015, "article_date": "2015-11-30"},
            Verdict(EXCLUDE, "published-before-range", "pub_year", "2015"),
        ),
        ({"article_date": "2016-02-01"}, None),
        ({"article_date": "2014-02-01"}, Verdict(EXCLUDE, "published-before-range", "article_date", "2014-02-01")),
        (
            {"pub_year": 2015, "medline_date": "2015 Dec-2016 Jan"},
            Verdict(REVIEW, "date-span-ambiguous", "medline_date", "2015 Dec-2016 Jan"),
        ),
        (
            {"pub_year": 2015, "medline_date": "2015-2016"},
            Verdict(REVIEW, "date-span-ambiguous", "medline_date", "2015-2016"),
        ),
        (
            {"pub_year": 2015, "medline_date": "Winter 2015-2016"},
            Verdict(REVIEW, "date-span-ambiguous", "medline_date", "Winter 2015-2016"),
        ),
        # An electronic date in range decides the span; one out of range does not.
        ({"pub_year": 2015, "medline_date": "2015 Dec-2016 Jan", "article_date": "2016-01-10"}, None),
        (
            {"pub_year": 2015, "medline_date": "2015 Dec-2016 Jan", "article_date": "2015-10-10"},
            Verdict(REVIEW, "date-span-ambiguous", "medline_date", "2015 Dec-2016 Jan"),
        ),
        (
            {"pub_year": 2015, "medline_date": "2015 Oct-Dec"},
            Verdict(EXCLUDE, "published-before-range", "medline_date", "2015 Oct-Dec"),
        ),
        ({"pub_year": 2016, "medline_date": "2016 Dec-2017 Jan"}, None),
        (
            {"pub_year": 2014, "medline_date": "2014-15"},
            Verdict(EXCLUDE, "published-before-range", "medline_date", "2014-15"),
        ),
        (
            {"pub_year": 2015, "medline_date": "2015-16"},
            Verdict(REVIEW, "date-span-ambiguous", "medline_date", "2015-16"),
        ),
        ({}, Verdict(REVIEW, "date-missing", "pub_year", "")),
        ({"medline_date": "Spring"}, Verdict(REVIEW, "date-missing", "medline_date", "Spring")),
    ],
)
def test_date_rule_post_2015(fields, expected):
    assert screen.date_rule(rec(**fields), POST_2015) == expected


@pytest.mark.parametrize(
    "cfg, fields, expected",
    [
        (
            ScreeningConfig(max_year=2015),
            {"pub_year": 2016},
            Verdict(EXCLUDE, "published-after-range", "pub_year", "2016"),
        ),
        (ScreeningConfig(max_year=2015), {"pub_year": 2016, "article_date": "2015-12-02"}, None),
        (
            ScreeningConfig(min_year=2016, max_year=2016),
            {"medline_date": "2010-2020", "pub_year": 2010},
            Verdict(REVIEW, "date-span-ambiguous", "medline_date", "2010-2020"),
        ),
        (
            ScreeningConfig(min_year=2016, max_year=2018),
            {"pub_year": 2019, "article_date": "2015-01-01"},
            Verdict(EXCLUDE, "published-after-range", "pub_year", "2019"),
        ),
        (ScreeningConfig(), {}, None),
        (
            ScreeningConfig(min_year=2016, date_spans="include"),
            {"medline_date": "2015 Dec-2016 Jan"},
            Verdict(Decision.INCLUDE, "date-span-included", "medline_date", "2015 Dec-2016 Jan"),
        ),
        (
            ScreeningConfig(min_year=2016, date_spans="exclude"),
            {"medline_date": "2015 Dec-2016 Jan"},
            Verdict(EXCLUDE, "date-span-ambiguous", "medline_date", "2015 Dec-2016 Jan"),
        ),
        # The span policy resolves spans only: a missing date still goes to a human.
        (ScreeningConfig(min_year=2016, date_spans="include"), {}, Verdict(REVIEW, "date-missing", "pub_year", "")),
    ],
)
def test_date_rule_other_ranges_and_span_policies(cfg, fields, expected):
    assert screen.date_rule(rec(**fields), cfg) == expected


@pytest.mark.parametrize(
    "medline_date, years",
    [
        ("2015 Dec-2016 Jan", (2015, 2016)),
        ("2019 May/June", (2019,)),
        ("2019 May - Jun", (2019,)),
        ("1977-78", (1977, 1978)),
        ("1999-00", (1999, 2000)),
        ("1998 Dec 7-21", (1998,)),
        ("Fall 2015-Winter 2016", (2015, 2016)),
        ("Spring", ()),
    ],
)
def test_print_years_of_medline_dates(medline_date, years):
    assert screen.print_years(rec(medline_date=medline_date)) == years


def test_print_years_without_medline_date_is_the_pub_year():
    assert screen.print_years(rec(pub_year=2017)) == (2017,)
    assert screen.print_years(rec()) == ()


# --- languages: PubMed's [la] --------------------------------------------------------------------


@pytest.mark.parametrize(
    "languages, expected",
    [
        (("eng",), None),
        (("eng", "ger"), None),
        (("ger", "eng"), None),
        (("ENG",), None),
        (("ger",), Verdict(EXCLUDE, "language-not-included", "languages", "ger")),
        (("chi", "jpn"), Verdict(EXCLUDE, "language-not-included", "languages", "chi; jpn")),
        (("und",), Verdict(REVIEW, "language-undetermined", "languages", "und")),
        (("und", "und"), Verdict(REVIEW, "language-undetermined", "languages", "und; und")),
        # A determined language that is not wanted decides, even beside 'und'.
        (("und", "ger"), Verdict(EXCLUDE, "language-not-included", "languages", "und; ger")),
        ((), Verdict(REVIEW, "language-missing", "languages", "")),
    ],
)
def test_language_rule(languages, expected):
    assert screen.language_rule(rec(languages=languages), POST_2015) == expected


def test_language_is_never_guessed_from_the_text():
    english_text = rec(
        languages=("fre",),
        title="Cell death in Leishmania.",
        abstract_sections=(AbstractSection("", "An English abstract."),),
    )
    assert screen.language_rule(english_text, POST_2015).reason == "language-not-included"
    french_vernacular = rec(languages=("eng",), vernacular_title="La mort cellulaire chez Leishmania.")
    assert screen.language_rule(french_vernacular, POST_2015) is None


def test_no_language_criterion_passes_everything():
    assert screen.language_rule(rec(languages=("und",)), ScreeningConfig()) is None


# --- publication types, abstracts, retractions ---------------------------------------------------

TYPES = ScreeningConfig(exclude_publication_types=("Retracted Publication", "Comment"))


@pytest.mark.parametrize(
    "types, expected",
    [
        (("Journal Article",), None),
        (("Journal Article", "Comment"), Verdict(EXCLUDE, "publication-type-excluded", "publication_types", "Comment")),
        (("comment",), Verdict(EXCLUDE, "publication-type-excluded", "publication_types", "comment")),
        (
            ("Retracted Publication", "Comment"),
            Verdict(EXCLUDE, "publication-type-excluded", "publication_types", "Retracted Publication"),
        ),
        (("Commentary",), None),
    ],
)
def test_publication_type_rule(types, expected):
    assert screen.publication_type_rule(rec(publication_types=types), TYPES) == expected


# PubMed renamed "Retraction of Publication" to "Retraction Notice"; its MeSH UI stayed D016440.
@pytest.mark.parametrize("listed", [("D016440",), ("d016440",), ("Retraction of Publication",), ("Retraction Notice",)])
@pytest.mark.parametrize(
    "types, uis", [(("Retraction Notice",), ("D016440",)), (("Retraction of Publication",), ("D016440",))]
)
def test_publication_types_match_by_ui_so_renamed_types_keep_matching(listed, types, uis):
    cfg = ScreeningConfig(exclude_publication_types=listed)
    record = rec(publication_types=("Journal Article",) + types, publication_type_uis=("D016428",) + uis)
    assert screen.publication_type_rule(record, cfg) == Verdict(
        EXCLUDE, "publication-type-excluded", "publication_types", types[0]
    )


def test_a_ui_matches_only_its_own_type():
    cfg = ScreeningConfig(exclude_publication_types=("D016440",))
    assert (
        screen.publication_type_rule(
            rec(publication_types=("Journal Article",), publication_type_uis=("D016428",)), cfg
        )
        is None
    )
    # A record without UIs (an older archive, another source) still matches by a known name.
    assert (
        screen.publication_type_rule(rec(publication_types=("Retraction of Publication",)), cfg).value
        == "Retraction of Publication"
    )


def test_abstract_rule():
    required = ScreeningConfig(require_abstract=True)
    assert screen.abstract_rule(rec(), required) == Verdict(EXCLUDE, "abstract-missing", "abstract", "")
    assert (
        screen.abstract_rule(rec(abstract_sections=(AbstractSection("", "  "),)), required).reason == "abstract-missing"
    )
    assert screen.abstract_rule(rec(abstract_sections=(AbstractSection("METHODS", "We did."),)), required) is None
    assert screen.abstract_rule(rec(), ScreeningConfig()) is None


@pytest.mark.parametrize(
    "fields, retracted",
    [
        ({"publication_types": ("Journal Article", "Retracted Publication")}, True),
        ({"comments_corrections": (CommentCorrection("RetractionIn", "30000099"),)}, True),
        # A retraction notice is not itself retracted; neither is an erratum.
        ({"publication_types": ("Retraction of Publication",)}, False),
        ({"publication_types": ("Retraction Notice",), "publication_type_uis": ("D016440",)}, False),
        # Matched by UI as well: a renamed "Retracted Publication" is still retracted.
        ({"publication_types": ("Retracted Article",), "publication_type_uis": ("D016441",)}, True),
        (
            {"comments_corrections": (CommentCorrection("RetractionOf", "1"), CommentCorrection("ErratumIn", "2"))},
            False,
        ),
    ],
)
def test_is_retracted(fields, retracted):
    assert screen.is_retracted(rec(**fields)) is retracted


def test_retracted_papers_are_flagged_whatever_the_criteria():
    paper = rec(pub_year=2019, languages=("eng",), publication_types=("Retracted Publication",))
    assert screen.screen_record(paper, ScreeningConfig()) == ScreeningResult(
        "pmid:1", Decision.INCLUDE, "meets-criteria", flags=("retracted",)
    )
    assert screen.screen_record(paper, dataclasses.replace(POST_2015, min_year=2020)).flags == ("retracted",)


# --- combining rules -----------------------------------------------------------------------------


def test_an_exclusion_beats_a_doubt():
    german_span = rec(medline_date="2015 Dec-2016 Jan", pub_year=2015, languages=("ger",))
    assert screen.screen_record(german_span, POST_2015) == ScreeningResult(
        "pmid:1", EXCLUDE, "language-not-included", "languages", "ger"
    )


def test_the_first_excluding_rule_in_rules_order_gives_the_reason():
    cfg = dataclasses.replace(POST_2015, exclude_publication_types=("Comment",), require_abstract=True)
    everything_wrong = rec(pub_year=2010, languages=("ger",), publication_types=("Comment",))
    assert screen.screen_record(everything_wrong, cfg).reason == "publication-type-excluded"
    assert (
        screen.screen_record(dataclasses.replace(everything_wrong, publication_types=()), cfg).reason
        == "published-before-range"
    )


def test_included_records_name_no_deciding_field():
    ok = rec(pub_year=2018, languages=("eng",))
    assert screen.screen_record(ok, POST_2015) == ScreeningResult("pmid:1", Decision.INCLUDE, "meets-criteria")


def test_a_span_let_in_by_the_policy_says_so():
    span = rec(medline_date="2015 Dec-2016 Jan", pub_year=2015, languages=("eng",))
    cfg = dataclasses.replace(POST_2015, date_spans="include")
    assert screen.screen_record(span, cfg) == ScreeningResult(
        "pmid:1", Decision.INCLUDE, "date-span-included", "medline_date", "2015 Dec-2016 Jan"
    )
    # Any exclusion or doubt from another rule still wins over the policy's inclusion.
    assert screen.screen_record(dataclasses.replace(span, languages=("ger",)), cfg).reason == "language-not-included"
    assert screen.screen_record(dataclasses.replace(span, languages=("und",)), cfg).reason == "language-undetermined"


def test_every_reason_is_documented_and_every_code_is_used():
    used = {
        "meets-criteria",
        "duplicate-pmid",
        "duplicate-doi",
        "duplicate-title-year",
        "duplicate-id",
        "duplicate-title-similar",
        "duplicate-preprint",  # screening/merge.py
        "publication-type-excluded",
        "published-before-range",
        "published-after-range",
        "date-span-ambiguous",
        "date-span-included",
        "date-missing",
        "language-not-included",
        "language-undetermined",
        "language-missing",
        "abstract-missing",
    }
    assert set(screen.REASONS) == used
    assert all(text.endswith(".") for text in screen.REASONS.values())


# --- properties ----------------------------------------------------------------------------------

years = st.integers(1990, 2030)
months = st.sampled_from(["Jan", "Feb", "Oct", "Nov-Dec", "Dec", "Spring", "Winter", ""])


@st.composite
def dated_records(draw):
    """A record with a print date (Year, or a MedlineDate of one or two years) and maybe an ArticleDate."""
    kind = draw(st.sampled_from(["year", "medline-one", "medline-span", "none"]))
    fields: dict = {}
    printed: tuple[int, ...] = ()
    if kind == "year":
        y = draw(years)
        fields["pub_year"], printed = y, (y,)
    elif kind == "medline-one":
        y = draw(years)
        fields.update(pub_year=y, medline_date=f"{y} {draw(months)}".strip())
        printed = (y,)
    elif kind == "medline-span":
        a = draw(years)
        b = draw(st.integers(a + 1, a + 3))
        fields.update(pub_year=a, medline_date=f"{a} {draw(months)}-{b} {draw(months)}".strip())
        printed = (a, b)
    electronic = draw(st.none() | years)
    if electronic is not None:
        fields["article_date"] = f"{electronic}-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}"
    return rec(**fields), printed, electronic


@st.composite
def date_configs(draw):
    low = draw(st.none() | years)
    high = draw(st.none() | st.integers(low or 1990, 2030))
    return ScreeningConfig(
        min_year=low, max_year=high, date_spans=draw(st.sampled_from(["needs-review", "include", "exclude"]))
    )


def _in(cfg: ScreeningConfig, year: int) -> bool:
    return (cfg.min_year is None or year >= cfg.min_year) and (cfg.max_year is None or year <= cfg.max_year)


@given(dated_records(), date_configs())
def test_date_rule_follows_dp_semantics(case, cfg):
    record, printed, electronic = case
    verdict = screen.date_rule(record, cfg)
    ranged = cfg.min_year is not None or cfg.max_year is not None
    if (
        not ranged
        or (electronic is not None and _in(cfg, electronic))
        or (printed and all(_in(cfg, y) for y in printed))
    ):
        assert verdict is None
    elif not printed and electronic is None:
        assert verdict.reason == "date-missing" and verdict.decision == REVIEW
    elif len(printed) == 2 and printed[0] <= (cfg.max_year or 9999) and printed[1] >= (cfg.min_year or 0):
        # A span meeting the range without lying inside it: the config's policy decides.
        expected = {"needs-review": REVIEW, "exclude": EXCLUDE, "include": Decision.INCLUDE}[cfg.date_spans]
        assert verdict.decision == expected
        reason = "date-span-included" if cfg.date_spans == "include" else "date-span-ambiguous"
        assert (verdict.reason, verdict.field, verdict.value) == (reason, "medline_date", record.medline_date)
    else:
        assert verdict.decision == EXCLUDE
        assert verdict.reason in ("published-before-range", "published-after-range")
        assert verdict.field in ("pub_year", "medline_date", "article_date")
        assert verdict.value == str(getattr(record, verdict.field))


@given(dated_records(), date_configs())
def test_date_rule_agrees_with_the_test_servers_dp_evaluator(case, cfg):
    """An independent [dp] implementation (tests/eutils_server.py) never contradicts a definite verdict."""
    record, printed, electronic = case
    if cfg.min_year is None and cfg.max_year is None:
        return
    dp = _leaf(f"{cfg.min_year or 1000}:{cfg.max_year or 3000}[dp]")
    article = Article(record.pmid, b"", "", set(printed) | ({electronic} if electronic else set()), set())
    verdict = screen.date_rule(record, cfg)
    if verdict is None and cfg.date_spans != "include":
        assert dp(article)
    elif verdict is not None and verdict.reason in ("published-before-range", "published-after-range"):
        assert not dp(article)


@given(dated_records(), date_configs(), st.integers(0, 5), st.integers(0, 5))
def test_widening_the_range_never_drops_a_record(case, cfg, lower, higher):
    record = case[0]
    wider = dataclasses.replace(
        cfg,
        min_year=None if cfg.min_year is None else cfg.min_year - lower,
        max_year=None if cfg.max_year is None else cfg.max_year + higher,
    )
    if (screen.date_rule(record, cfg) or screen.MEETS_CRITERIA).decision == Decision.INCLUDE:
        assert (screen.date_rule(record, wider) or screen.MEETS_CRITERIA).decision == Decision.INCLUDE


codes = st.sampled_from(["eng", "ger", "fre", "spa", "chi", "und", "mul"])


@given(st.lists(codes, max_size=4), st.lists(codes.filter(lambda c: c != "und"), min_size=1, max_size=3))
def test_language_rule_passes_exactly_when_a_wanted_language_is_listed(languages, wanted):
    cfg = ScreeningConfig(languages=tuple(dict.fromkeys(wanted)))
    verdict = screen.language_rule(rec(languages=tuple(languages)), cfg)
    la = _leaf(f"{wanted[0]}[la]") if len(set(wanted)) == 1 else None
    if set(languages) & set(wanted):
        assert verdict is None
    elif not languages:
        assert verdict == Verdict(REVIEW, "language-missing", "languages", "")
    elif set(languages) == {"und"}:
        assert verdict.decision == REVIEW and verdict.reason == "language-undetermined"
    else:
        assert verdict == Verdict(EXCLUDE, "language-not-included", "languages", "; ".join(languages))
    if la is not None and verdict is not None and verdict.decision == EXCLUDE:
        assert not la(Article("1", b"", "", set(), set(languages)))


@given(st.lists(codes, min_size=1, max_size=4), st.randoms())
def test_language_order_does_not_matter(languages, rnd):
    shuffled = list(languages)
    rnd.shuffle(shuffled)
    a = screen.language_rule(rec(languages=tuple(languages)), POST_2015)
    b = screen.language_rule(rec(languages=tuple(shuffled)), POST_2015)
    assert (a and (a.decision, a.reason)) == (b and (b.decision, b.reason))


pub_types = st.sampled_from(
    [
        "Journal Article",
        "Comment",
        "Review",
        "Retracted Publication",
        "Published Erratum",
        "Retraction of Publication",
        "Case Reports",
    ]
)


@given(st.lists(pub_types, max_size=4), st.lists(pub_types, max_size=3), st.booleans())
def test_publication_type_rule_excludes_exactly_the_listed_types(types, excluded, upper):
    cfg = ScreeningConfig(exclude_publication_types=tuple(t.upper() if upper else t for t in excluded))
    verdict = screen.publication_type_rule(rec(publication_types=tuple(types)), cfg)
    hits = [t for t in types if t in excluded]
    if hits:
        assert verdict == Verdict(EXCLUDE, "publication-type-excluded", "publication_types", hits[0])
    else:
        assert verdict is None


@given(st.lists(st.text(max_size=5), max_size=3), st.booleans())
def test_abstract_rule_excludes_exactly_empty_abstracts_when_required(texts, required):
    record = rec(abstract_sections=tuple(AbstractSection("", t) for t in texts))
    verdict = screen.abstract_rule(record, ScreeningConfig(require_abstract=required))
    assert (verdict is not None) == (required and not "".join(texts).strip())


@st.composite
def any_records(draw):
    record, _, _ = draw(dated_records())
    return dataclasses.replace(
        record,
        languages=tuple(draw(st.lists(codes, max_size=3))),
        publication_types=tuple(draw(st.lists(pub_types, max_size=3))),
        abstract_sections=tuple(AbstractSection("", t) for t in draw(st.lists(st.sampled_from(["", "x"]), max_size=2))),
        comments_corrections=tuple(
            CommentCorrection(t)
            for t in draw(st.lists(st.sampled_from(["RetractionIn", "ErratumIn", "CommentIn"]), max_size=2))
        ),
    )


@st.composite
def any_configs(draw):
    base = draw(date_configs())
    return dataclasses.replace(
        base,
        languages=tuple(dict.fromkeys(draw(st.lists(codes.filter(lambda c: c != "und"), max_size=2)))),
        exclude_publication_types=tuple(draw(st.lists(pub_types, max_size=3))),
        require_abstract=draw(st.booleans()),
    )


DECIDING_FIELDS = {"", "publication_types", "pub_year", "medline_date", "article_date", "languages", "abstract"}


@settings(max_examples=300)
@given(any_records(), any_configs())
def test_screen_record_combines_the_rules(record, cfg):
    result = screen.screen_record(record, cfg)
    verdicts = [rule(record, cfg) for rule in screen.RULES]
    excluding = [v for v in verdicts if v and v.decision == EXCLUDE]
    doubting = [v for v in verdicts if v and v.decision == REVIEW]
    including = [v for v in verdicts if v and v.decision == Decision.INCLUDE]
    expected = (excluding + doubting + including + [Verdict(Decision.INCLUDE, "meets-criteria", "", "")])[0]
    assert (result.decision, result.reason, result.field, result.value) == (
        expected.decision,
        expected.reason,
        expected.field,
        expected.value,
    )
    assert result.reason in screen.REASONS
    assert result.field in DECIDING_FIELDS
    assert result.field in RECORD_COLUMNS + ["abstract", ""]
    assert result.flags == (("retracted",) if screen.is_retracted(record) else ())


@given(any_records(), any_configs(), st.text(max_size=30), st.text(max_size=10))
def test_decisions_ignore_fields_no_rule_reads(record, cfg, title, journal):
    renamed = dataclasses.replace(record, title=title, journal=journal, pmid="999")
    a, b = screen.screen_record(record, cfg), screen.screen_record(renamed, cfg)
    assert (a.decision, a.reason, a.field, a.value, a.flags) == (b.decision, b.reason, b.field, b.value, b.flags)
