"""The config's keyword groups as a Europe PMC query.

Groups are ANDed and the terms of a group ORed, as for PubMed; phrases are quoted. A trailing `*`
truncates in Europe PMC as in PubMed (`depress*`), so it carries over. The optional PubMed field tag
maps to Europe PMC's fields: `tiab` → TITLE_ABS, `ti` → TITLE, `ab` → ABSTRACT, `mh` → MESH,
`au` → AUTH, `kw`/`ot` → KW. With no field Europe PMC searches every field it indexes, which for its
open-access articles includes the full text: a search can find more there than in PubMed.
"""

from __future__ import annotations

import re

from pipeline.errors import ConfigError

FIELDS = {
    "": "",
    "tiab": "TITLE_ABS",
    "ti": "TITLE",
    "ab": "ABSTRACT",
    "mh": "MESH",
    "majr": "MESH",
    "au": "AUTH",
    "kw": "KW",
    "ot": "KW",
}
_PLAIN = re.compile(r"[\w\-]+\*?", re.UNICODE)


def term(text: str, field: str = "") -> str:
    """One term: quoted unless it is a single word (a truncated word stays unquoted: `depress*`)."""
    shown = text if _PLAIN.fullmatch(text) and "-" not in text else f'"{text.rstrip("*")}"'
    return f"{field}:{shown}" if field else shown


def build_query(all_of, field: str = "") -> str:
    """`(ketamine) AND (depression OR "depressive disorder")`, with `FIELD:` on every term."""
    if field.lower() not in FIELDS:
        raise ConfigError(
            f"[search] field = {field!r} has no Europe PMC equivalent; use one of: "
            + ", ".join(f'"{f}"' for f in FIELDS if f)
            + ', or "".'
        )
    epmc_field = FIELDS[field.lower()]
    groups = []
    for group in all_of:
        terms = [term(t, epmc_field) for t in group]
        groups.append("(" + " OR ".join(terms) + ")")
    return " AND ".join(groups)


def date_window(query: str, start: str, end: str) -> str:
    """The query restricted to what Europe PMC indexed for the first time (FIRST_IDATE: new records,
    old papers newly added included) or updated (UPDATE_DATE: revised records) from `start` to `end`
    (ISO dates, both inclusive): what a refresh asks for."""
    return f"({query}) AND (FIRST_IDATE:[{start} TO {end}] OR UPDATE_DATE:[{start} TO {end}])"
