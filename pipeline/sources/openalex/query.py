"""The config's keyword groups as an OpenAlex /works search.

OpenAlex's boolean search takes AND/OR/NOT in capitals, parentheses and quoted phrases, so the groups
translate as for PubMed. What does not carry over, and is reported as a note by `translate`:
- truncation: OpenAlex strips wildcards, so `depress*` is sent as `depress` (its stemming finds
  'depression' and 'depressive', but not every ending PubMed's truncation would);
- field tags other than title/abstract: `tiab` searches title and abstract
  (`filter=title_and_abstract.search:`), `ti` the title (`title.search:`), no field the title,
  abstract and full text (`search=`); any other tag is refused.
OpenAlex also stems and ignores stop words, so a phrase matches its stemmed words in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.errors import ConfigError

FIELDS = {"": "search", "tiab": "title_and_abstract.search", "ti": "title.search"}
_PLAIN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Translation:
    text: str  # the boolean search text
    params: dict  # what is sent: search= or filter=
    notes: tuple[str, ...] = ()  # what did not carry over

    @property
    def shown(self) -> str:
        return " & ".join(f"{k}={v}" for k, v in self.params.items())


def translate(all_of, field: str = "") -> Translation:
    """`(ketamine) AND (depression OR "depressive disorder")` as OpenAlex search parameters."""
    if field.lower() not in FIELDS:
        raise ConfigError(
            f'[search] field = {field!r} has no OpenAlex equivalent; use "tiab", "ti" '
            'or "" (OpenAlex searches titles, abstracts and full text only).'
        )
    notes = []
    groups = []
    for group in all_of:
        terms = []
        for term in group:
            text = term
            if "*" in text:
                text = text.replace("*", "")
                notes.append(f"OpenAlex strips wildcards: {term!r} is searched as {text!r}")
            text = text.replace(",", " ")  # a comma would end an OpenAlex filter value
            terms.append(text if _PLAIN.fullmatch(text) else f'"{text.strip()}"')
        groups.append("(" + " OR ".join(terms) + ")")
    text = " AND ".join(groups)
    name = FIELDS[field.lower()]
    params = {"search": text} if name == "search" else {"filter": f"{name}:{text}"}
    return Translation(text, params, tuple(notes))


def with_filter(params: dict, extra: str) -> dict:
    """`params` with one more filter (e.g. from_created_date:2026-01-01), comma-joined as OpenAlex wants."""
    merged = dict(params)
    merged["filter"] = f"{merged['filter']},{extra}" if merged.get("filter") else extra
    return merged
