"""PubMed's own filters ([dp], [la]) for the config's date and language criteria.

The cross-check (screening/crosscheck.py) compares what PubMed's filters return with our rules.
"""

from __future__ import annotations

from pipeline.config import ScreeningConfig

# PubMed's [la] takes language names; the config holds ISO 639-2 codes as PubMed's Language element
# writes them. Codes missing here are sent as they are (PubMed also accepts most codes).
LANGUAGE_NAMES = {
    "eng": "english",
    "ger": "german",
    "fre": "french",
    "spa": "spanish",
    "ita": "italian",
    "por": "portuguese",
    "dut": "dutch",
    "rus": "russian",
    "chi": "chinese",
    "jpn": "japanese",
    "kor": "korean",
    "pol": "polish",
    "swe": "swedish",
    "dan": "danish",
    "nor": "norwegian",
    "fin": "finnish",
    "cze": "czech",
    "hun": "hungarian",
    "tur": "turkish",
    "gre": "greek",
    "heb": "hebrew",
    "ara": "arabic",
    "per": "persian",
    "ukr": "ukrainian",
    "hrv": "croatian",
    "slv": "slovenian",
    "slo": "slovak",
    "rum": "romanian",
    "bul": "bulgarian",
    "srp": "serbian",
    "lit": "lithuanian",
    "lav": "latvian",
    "est": "estonian",
    "ice": "icelandic",
    "afr": "afrikaans",
    "tha": "thai",
    "vie": "vietnamese",
    "ind": "indonesian",
    "mal": "malay",
    "hin": "hindi",
}
# The widest dates PubMed holds: open ends of a year range are written with these.
EARLIEST_YEAR, LATEST_YEAR = 1000, 3000


def pubmed_filters(cfg: ScreeningConfig) -> str:
    """PubMed's own filters for the config's date and language criteria, or '' when it has none.

    >>> pubmed_filters(ScreeningConfig(min_year=2016, languages=("eng",)))
    '2016:3000[dp] AND english[la]'
    """
    parts = []
    if cfg.min_year is not None or cfg.max_year is not None:
        parts.append(f"{cfg.min_year or EARLIEST_YEAR}:{cfg.max_year or LATEST_YEAR}[dp]")
    if cfg.languages:
        terms = [f"{LANGUAGE_NAMES.get(code, code)}[la]" for code in cfg.languages]
        parts.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
    return " AND ".join(parts)


def filtered_query(query: str, cfg: ScreeningConfig) -> str:
    """`query` restricted by PubMed's filters, e.g. '(ketamine AND depression) AND 2016:3000[dp] AND english[la]'."""
    filters = pubmed_filters(cfg)
    return f"({query}) AND {filters}" if filters else query
