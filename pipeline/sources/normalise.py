"""One record model across sources: the field conventions every non-PubMed source maps onto.

Europe PMC, OpenAlex and the export-file importers each read their own shapes; this module is where
they meet PubMed's conventions, so the screening rules apply to every record the same way:

- DOIs lower-case without a ``doi:``/``https://doi.org/`` prefix; PMIDs digits only; PMCIDs ``PMC<n>``;
- languages as PubMed's ISO 639-2/B codes (``English``, ``en`` and ``eng`` all become ``eng``);
- publication types in PubMed's vocabulary (``Article`` → ``Journal Article``, ``Correction`` →
  ``Published Erratum``, ``preprint`` → ``Preprint``), so ``exclude_publication_types`` applies;
- titles and abstracts with markup removed (``<inf>2</inf>``, ``<jats:p>``) and entities decoded;
- authors as last name + fore name/initials, whichever way round the source writes them.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote

from pipeline.models import AbstractSection, Author

_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|doi\s+)", re.I)
_DOI_IN_TEXT = re.compile(r"\b(10\.\d{1,9}(?:\.\d+)*/[^\s\"<>]+)", re.I)


def normalise_doi(value: str) -> str:
    """'https://doi.org/10.1000/AbC' → '10.1000/abc'; '' when the value holds no DOI."""
    text = unquote(value.strip())
    text = _DOI_PREFIX.sub("", text).strip()
    match = _DOI_IN_TEXT.search(text)
    if not match:
        return ""
    return match.group(1).rstrip(".,;").lower()


def normalise_pmid(value: str) -> str:
    """'PUBMED 21314913', 'https://pubmed.ncbi.nlm.nih.gov/123/' or '123' → '123'; '' otherwise."""
    match = re.search(r"(\d{1,9})/?\s*$", value.strip())
    return match.group(1).lstrip("0") if match and match.group(1).strip("0") else ""


def normalise_pmcid(value: str) -> str:
    """'PMC7026692', '7026692' or a PMC URL → 'PMC7026692'; '' otherwise."""
    match = re.search(r"(?:PMC)?(\d{1,10})/?\s*$", value.strip(), re.I)
    return f"PMC{match.group(1)}" if match else ""


_TAGS = re.compile(r"<[^<>]{0,200}>")
_SPACE = re.compile(r"\s+")


def clean_text(value: str) -> str:
    """Markup removed, HTML entities decoded, whitespace collapsed: what a reader sees."""
    text = _TAGS.sub("", value) if "<" in value else value
    if "&" in text:
        text = html.unescape(text)
    return _SPACE.sub(" ", text).strip()


def abstract(text: str) -> tuple[AbstractSection, ...]:
    """A cleaned abstract as the one unlabelled section PubMed's unstructured abstracts have."""
    cleaned = clean_text(text)
    return (AbstractSection("", cleaned),) if cleaned else ()


_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")


def first_year(value: str) -> int | None:
    """The first plausible four-digit year in `value` ('2018///', '2016/10/19', 'MAR 2000')."""
    match = _YEAR.search(value or "")
    return int(match.group(1)) if match else None


# ISO 639-1 codes and English names → PubMed's ISO 639-2/B codes (the languages PubMed uses most).
_LANGUAGES = {
    "eng": ("en", "english"),
    "fre": ("fr", "french", "fra"),
    "ger": ("de", "german", "deu"),
    "spa": ("es", "spanish"),
    "ita": ("it", "italian"),
    "por": ("pt", "portuguese"),
    "rus": ("ru", "russian"),
    "chi": ("zh", "chinese", "zho"),
    "jpn": ("ja", "japanese"),
    "kor": ("ko", "korean"),
    "dut": ("nl", "dutch", "nld"),
    "pol": ("pl", "polish"),
    "swe": ("sv", "swedish"),
    "dan": ("da", "danish"),
    "nor": ("no", "nb", "nn", "norwegian"),
    "fin": ("fi", "finnish"),
    "tur": ("tr", "turkish"),
    "heb": ("he", "hebrew"),
    "ara": ("ar", "arabic"),
    "gre": ("el", "greek", "ell", "greek, modern"),
    "hun": ("hu", "hungarian"),
    "cze": ("cs", "czech", "ces"),
    "per": ("fa", "persian", "fas"),
    "ukr": ("uk", "ukrainian"),
    "rum": ("ro", "romanian", "ron"),
    "slo": ("sk", "slovak", "slk"),
    "slv": ("sl", "slovenian"),
    "hrv": ("hr", "croatian"),
    "srp": ("sr", "serbian"),
    "bul": ("bg", "bulgarian"),
    "lit": ("lt", "lithuanian"),
    "lav": ("lv", "latvian"),
    "est": ("et", "estonian"),
    "ice": ("is", "icelandic", "isl"),
    "tha": ("th", "thai"),
    "vie": ("vi", "vietnamese"),
    "ind": ("id", "indonesian"),
    "may": ("ms", "malay", "msa"),
    "hin": ("hi", "hindi"),
    "cat": ("ca", "catalan"),
    "afr": ("af", "afrikaans"),
    "lat": ("la", "latin"),
    "epo": ("eo", "esperanto"),
    "wel": ("cy", "welsh", "cym"),
    "gle": ("ga", "irish"),
    "und": ("undetermined", "unknown"),
    "mul": ("multiple languages",),
}
_LANGUAGE_CODES = {alias: code for code, aliases in _LANGUAGES.items() for alias in (code, *aliases)}


def language_code(value: str) -> str:
    """PubMed's code for a language name or code ('English', 'en', 'eng' → 'eng'); '' if unknown."""
    key = _SPACE.sub(" ", value.strip().strip(".").lower())
    return _LANGUAGE_CODES.get(key, "")


def languages(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Every language named, as PubMed codes, in order, once each. Values may hold several
    languages separated by ';' or ','. Unknown names are kept lower-case rather than dropped."""
    codes: list[str] = []
    for value in values:
        for part in re.split(r"[;,]", value):
            if part.strip():
                code = language_code(part) or part.strip().strip(".").lower()
                if code not in codes:
                    codes.append(code)
    return tuple(codes)


# Publication types of other databases → PubMed's publication type names (lower-case keys).
_PUBLICATION_TYPES = {
    "article": "Journal Article",
    "journal article": "Journal Article",
    "jour": "Journal Article",
    "research-article": "Journal Article",
    "research article": "Journal Article",
    "ejour": "Journal Article",
    "article in press": "Journal Article",
    "review": "Review",
    "review-article": "Review",
    "short survey": "Review",
    "review article": "Review",
    "systematic review": "Systematic Review",
    "meta-analysis": "Meta-Analysis",
    "letter": "Letter",
    "editorial": "Editorial",
    "editorial material": "Editorial",
    "comment": "Comment",
    "note": "Comment",
    "erratum": "Published Erratum",
    "correction": "Published Erratum",
    "published erratum": "Published Erratum",
    "retracted publication": "Retracted Publication",
    "retracted article": "Retracted Publication",
    "retracted": "Retracted Publication",
    "retraction": "Retraction of Publication",
    "retraction of publication": "Retraction of Publication",
    "preprint": "Preprint",
    "posted-content": "Preprint",
    "conference paper": "Congress",
    "conference review": "Congress",
    "proceedings paper": "Congress",
    "meeting abstract": "Congress",
    "conference abstract": "Congress",
    "conf": "Congress",
    "cpaper": "Congress",
    "congress": "Congress",
    "book": "Book",
    "book-chapter": "Book Chapter",
    "book chapter": "Book Chapter",
    "chap": "Book Chapter",
    "thes": "Academic Dissertation",
    "dissertation": "Academic Dissertation",
    "thesis": "Academic Dissertation",
    "randomized controlled trial": "Randomized Controlled Trial",
    "clinical trial": "Clinical Trial",
    "case reports": "Case Reports",
    "case report": "Case Reports",
    "dataset": "Dataset",
    "data paper": "Dataset",
}


def publication_type(value: str) -> str:
    """PubMed's name for a publication type ('Correction' → 'Published Erratum'); unknown ones
    are kept as written, so nothing the source said is lost."""
    text = _SPACE.sub(" ", value.strip().strip("."))
    return _PUBLICATION_TYPES.get(text.lower(), text)


def publication_types(values) -> tuple[str, ...]:
    """Every publication type named (values may hold several separated by ';'), mapped, once each."""
    mapped: list[str] = []
    for value in values:
        for part in value.split(";"):
            if part.strip():
                name = publication_type(part)
                if name and name not in mapped:
                    mapped.append(name)
    return tuple(mapped)


def author(name: str) -> Author | None:
    """An author from 'Last, First M', 'Last, F.M.', 'Last FM' or 'Last F.M.'; None when empty."""
    text = _SPACE.sub(" ", name.strip().strip(";"))
    text = re.sub(r"\s*\d+$", "", text)  # Ovid's affiliation numbers: 'Mathes, Tim 2'
    if not text:
        return None
    if "," in text:
        last, _, rest = text.partition(",")
        rest = rest.strip()
    else:
        parts = text.rsplit(" ", 1)
        if len(parts) == 2 and re.fullmatch(r"(?:[A-Z]\.?-?){1,4}", parts[1]):
            last, rest = parts
        else:
            return Author(last_name=text)  # a collective or single-word name
    rest = rest.strip()
    if re.fullmatch(r"(?:[A-Z]\.?\s?-?){1,4}", rest):
        return Author(last_name=last.strip(), initials=re.sub(r"[.\s-]", "", rest))
    # 'Paul M' → PM; 'Roger BJ' → RBJ (a short all-capitals word is itself initials)
    initials = "".join(
        w if (w.isupper() and len(w) <= 3) else w[0] for w in re.split(r"[\s.-]+", rest) if w and w[0].isalpha()
    ).upper()
    return Author(last_name=last.strip(), fore_name=rest, initials=initials)


def authors(names) -> tuple[Author, ...]:
    """Authors from a list of names (None/empty ones dropped)."""
    return tuple(a for a in (author(n) for n in names) if a is not None)


def fold(text: str) -> str:
    """Lower-case ASCII letters and digits only, for comparisons ('Résumé: A' → 'resume a')."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))
