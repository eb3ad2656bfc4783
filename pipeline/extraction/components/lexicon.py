"""Review concept lexicons: reviewer-edited TOML files turned into spaCy EntityRuler patterns.

File format (config/lexicons/*.toml): one table per entity class; each key is the preferred
(canonical) term and its value the list of synonyms that map to it, or a table with the synonyms
and the concept's identifier in a public vocabulary (optional):

    [DRUG]
    "ketamine" = { id = "MESH:D007649", synonyms = ["Ketalar", "ketamine hydrochloride"] }
    "norketamine" = []

Matching ignores case (the ruler compares LOWER). For each term and synonym the variants are
generated, so reviewers list each concept once: each hyphen or space between words may be either
("glycogen synthase kinase-3" matches "glycogen synthase kinase 3" and "glycogen-synthase kinase-3"),
hyphens may be left out altogether ("GSK3"/"GSK-3"), an en dash may stand for the hyphens, Greek
letters may be spelled out ("α-amino" / "alpha-amino"), and the last word may take a regular English
plural ("NMDA receptors", "meta-analyses", "RCTs"). Every pattern carries the canonical term as its
id, which the ruler copies to `ent.ent_id_`. The synonyms tuple of a term is a `Synonyms`, whose
`id` attribute holds the identifier ("" when the file gives none).

Limits: plurals follow spelling rules only (no irregular plurals such as "criteria"); a word
already ending in "s" gets no plural; variants are exact token sequences, not fuzzy matches; a term
with more than MAX_SEPARATORS separators gets its hyphen/space variants all-or-nothing.
"""

import difflib
import re
import tomllib
from pathlib import Path
from typing import Iterable

from pipeline.config import ENTITY_CLASSES
from pipeline.errors import ConfigError


class Synonyms(tuple):
    """A term's synonyms (a tuple, equal to a plain tuple of the same names) with the term's
    identifier as `.id`."""

    id: str = ""

    def __new__(cls, names=(), identifier: str = ""):
        obj = super().__new__(cls, names)
        obj.id = identifier
        return obj


Lexicon = dict[str, dict[str, tuple[str, ...]]]  # class -> canonical -> synonyms (Synonyms when loaded)
_IDENTIFIER = re.compile(r"^[A-Za-z][\w.]*:[\w.\-]+$")


def load_lexicon(path: str | Path) -> Lexicon:
    """Read and validate one lexicon file. Raises ConfigError naming the file, key and fix."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: lexicon file not found. Fix the path in [extraction] lexicons.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the lexicon file is not UTF-8 text. Save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}. Fix the syntax at that line.") from None
    lexicon: Lexicon = {}
    for label, table in data.items():
        if label not in ENTITY_CLASSES:
            close = difflib.get_close_matches(label, ENTITY_CLASSES, n=1)
            hint = f"Did you mean {close[0]!r}?" if close else "Use one of: " + ", ".join(ENTITY_CLASSES) + "."
            raise ConfigError(f"{path}: [{label}] is not an entity class. {hint}")
        if not isinstance(table, dict):
            raise ConfigError(
                f"{path}: {label} must be a table of terms, e.g. [{label}] followed by "
                f'"term" = ["synonym"], not {type(table).__name__}.'
            )
        terms: dict[str, tuple[str, ...]] = {}
        for canonical, synonyms in table.items():
            if not canonical.strip():
                raise ConfigError(f"{path}: [{label}] has an empty term. Give every term a name.")
            identifier = ""
            if isinstance(synonyms, dict):
                unknown = sorted(set(synonyms) - {"id", "synonyms"})
                if unknown:
                    raise ConfigError(
                        f'{path}: [{label}] "{canonical}" has unknown key {unknown[0]!r}. '
                        "A term's table may hold only id and synonyms."
                    )
                identifier = synonyms.get("id", "")
                if not isinstance(identifier, str) or not _IDENTIFIER.match(identifier.strip()):
                    raise ConfigError(
                        f'{path}: [{label}] "{canonical}" id must be PREFIX:VALUE such as '
                        f'"MESH:D007649" or "NCBIGene:627", not {_kind(identifier)}.'
                    )
                identifier = identifier.strip()
                synonyms = synonyms.get("synonyms", [])
            if isinstance(synonyms, str):
                raise ConfigError(
                    f'{path}: [{label}] "{canonical}" must be a list of synonyms, not a string. '
                    f'Write "{canonical}" = ["{synonyms}"].'
                )
            if not isinstance(synonyms, list):
                raise ConfigError(
                    f'{path}: [{label}] "{canonical}" must be a list of synonyms, '
                    f'not {_kind(synonyms)}. Write "{canonical}" = [] when there are none.'
                )
            for i, synonym in enumerate(synonyms, start=1):
                if not isinstance(synonym, str) or not synonym.strip():
                    raise ConfigError(
                        f'{path}: [{label}] "{canonical}" synonym {i} must be a non-empty string, not {_kind(synonym)}.'
                    )
            terms[canonical.strip()] = Synonyms((s.strip() for s in synonyms), identifier)
        lexicon.setdefault(label, {}).update(terms)
    return lexicon


def merge_lexicons(lexicons: Iterable[Lexicon]) -> Lexicon:
    """Merge lexicons in order; a later file's entry for the same class and term replaces an earlier."""
    merged: Lexicon = {}
    for lexicon in lexicons:  # (Synonyms values keep their ids)
        for label, terms in lexicon.items():
            merged.setdefault(label, {}).update(terms)
    return merged


def _kind(value) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", dict: "a table", list: "a list"}
    kind = names.get(type(value), type(value).__name__)
    return kind if isinstance(value, (dict, list)) else f"{kind} ({value!r})"


_SIBILANT = re.compile(r"(s|x|z|ch|sh)$", re.IGNORECASE)
_CONSONANT_Y = re.compile(r"[^aeiou]y$", re.IGNORECASE)


def plural(term: str) -> str | None:
    """The regular plural of the term's last word, or None when it should not get one."""
    last = re.split(r"[\s\-]", term)[-1]
    if not last or not last[-1].isalpha():
        return None  # "(R,S)-ketamine)" or "GSK-3": nothing to pluralise
    if last.isupper():
        return term + "s"  # acronyms: RCT -> RCTs
    if last.lower().endswith("sis"):
        return term[:-3] + ("SES" if last.isupper() else "ses")  # analysis -> analyses
    if last.lower().endswith("s"):
        return None  # already plural, or an -s word (dizziness)
    if _SIBILANT.search(last):
        return term + "es"
    if _CONSONANT_Y.search(last):
        return term[:-1] + "ies"
    return term + "s"


MAX_SEPARATORS = 8  # 2**8 hyphen/space combinations at most per name
_GREEK_LETTERS = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "κ": "kappa", "μ": "mu"}
_SEPARATOR = re.compile(r"(?<=\S)([\s\-]+)(?=\S)")


def _separator_variants(term: str) -> set[str]:
    """Every way of writing each hyphen or space between two words as either."""
    parts = _SEPARATOR.split(term)
    words, seps = parts[0::2], parts[1::2]
    if len(seps) > MAX_SEPARATORS:
        return {term, term.replace("-", " "), term.replace(" ", "-")}
    forms = set()
    for mask in range(2 ** len(seps)):
        out = [words[0]]
        for i, word in enumerate(words[1:]):
            out.append("-" if mask >> i & 1 else " ")
            out.append(word)
        forms.add("".join(out))
    return forms


def variants(term: str) -> set[str]:
    """All surface forms generated for one term: hyphen/space at every position, hyphens left out,
    en dash for hyphen, Greek letters spelled out, and the plurals of all of these."""
    forms = {term}
    for greek, latin in _GREEK_LETTERS.items():
        if greek in term:
            forms.add(term.replace(greek, latin))
    for form in list(forms):
        forms |= _separator_variants(form)
        if "-" in form:
            forms.add(form.replace("-", ""))
    forms |= {f.replace("-", "\u2013") for f in forms if "-" in f}
    forms |= {p for p in (plural(f) for f in list(forms)) if p}
    return {re.sub(r"\s+", " ", f).strip() for f in forms if f.strip()}


def lexicon_patterns(lexicon: Lexicon) -> list[dict]:
    """EntityRuler phrase patterns ({"label", "pattern", "id"}) for every term and its variants.

    A surface form listed under two terms keeps the first (file order), so a match always has one
    canonical term.
    """
    patterns = []
    seen: set[tuple[str, str]] = set()
    for label, terms in lexicon.items():
        for canonical, synonyms in terms.items():
            for name in (canonical, *synonyms):
                for form in sorted(variants(name)):
                    key = (label, form.lower())
                    if key in seen:
                        continue
                    seen.add(key)
                    patterns.append({"label": label, "pattern": form, "id": canonical})
    return patterns


def identifier_table(lexicon: Lexicon) -> dict[tuple[str, str], str]:
    """(class, term) -> identifier for the terms whose lexicon entry gives one."""
    return {
        (label, canonical): synonyms.id
        for label, terms in lexicon.items()
        for canonical, synonyms in terms.items()
        if getattr(synonyms, "id", "")
    }


def lookup_table(lexicon: Lexicon) -> dict[tuple[str, str], str]:
    """(class, lower-cased surface form) -> canonical term, for normalising model mentions."""
    table: dict[tuple[str, str], str] = {}
    for label, terms in lexicon.items():
        for canonical, synonyms in terms.items():
            for name in (canonical, *synonyms):
                for form in variants(name):
                    table.setdefault((label, form.lower()), canonical)
    return table
