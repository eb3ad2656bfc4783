"""Several databases searched as one `Source`: each searched in turn, their records pooled.

`search` asks every source (in the config's order: PubMed, Europe PMC, OpenAlex, then each
[[imports]] table), and returns one Harvest whose records hold one copy per record_id: the PubMed
copy when there is one, else the richest, with the identifiers of every copy merged in (the same
rule as screening/merge.py's first step). What each database returned stays visible:
`databases` (name → records it returned, PRISMA's "identified" per database), `found_in`
(record_id → the databases that returned it), `repeats` (copies beyond the first of each record,
counted as duplicates) and `harvests` (name → its own Harvest, for run.json).
A source that fails fails the whole search: a database is never silently left out.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Sequence

from pipeline.models import Record, shared_id_reason
from pipeline.sources.base import Harvest, SearchRequest, Source

log = logging.getLogger(__name__)
PUBMED_DATABASES = ("PubMed", "PubMed (local XML files)")


def _richness(database: str, r: Record) -> tuple:
    return (database in PUBMED_DATABASES, bool(r.abstract), len(r.ids), len(r.authors), len(r.abstract), repr(r))


def pool(
    copies: Sequence[tuple[str, Record]], chosen: dict[str, str] | None = None
) -> tuple[list[Record], dict[str, tuple[str, ...]]]:
    """One record per record_id (see the module docstring) and the databases of each. Pure, but
    for `chosen`, which (when given) is filled with record_id -> the database whose copy was kept."""
    groups: dict[str, list[tuple[str, Record]]] = {}
    for database, record in copies:
        groups.setdefault(record.record_id, []).append((database, record))
    records, found_in = [], {}
    for record_id, group in groups.items():
        database, best = max(group, key=lambda c: _richness(*c))
        if chosen is not None:
            chosen[record_id] = database
        ids = dict(best.ids)
        for _, other in sorted(group, key=lambda c: (c[0], repr(c[1]))):
            for scheme, value in other.ids.items():
                if scheme not in ids:
                    trial = dataclasses.replace(best, ids={**ids, scheme: value})
                    if trial.record_id == record_id:
                        ids[scheme] = value
        records.append(best if ids == dict(best.ids) else dataclasses.replace(best, ids=ids))
        found_in[record_id] = tuple(sorted({d for d, _ in group}))
    return records, found_in


class MultiSource:
    """Sources searched together (see the module docstring)."""

    name = "all databases"

    def __init__(self, sources: Sequence[Source]):
        self.sources = list(sources)
        self.run_info: dict = {}
        for source in self.sources:
            self.run_info.update(source.run_info)
        self.harvests: dict[str, Harvest] = {}
        self.databases: dict[str, int] = {}
        self.found_in: dict[str, tuple[str, ...]] = {}
        self.repeats = 0
        self.repeats_by_reason: dict[str, int] = {}

    def filtered_search(self):
        for source in self.sources:
            if hasattr(source, "filtered_search"):
                return source.filtered_search()
        return None

    def search(self, request: SearchRequest) -> Harvest:
        copies: list[tuple[str, Record]] = []
        current_by: dict[str, list[str]] = {}
        for source in self.sources:
            got = source.search(request)
            self.harvests[source.name] = got
            self.databases[source.name] = got.count
            copies.extend((source.name, r) for r in got.records)
            current_by[source.name] = got.current
            log.info("%s: %d identified, %d records read", source.name, got.count, len(got.records))
        # A record a database still returns but did not fetch again (a refresh fetches only what is
        # new or revised: PubMed, and the date windows of Europe PMC and OpenAlex) is held in its
        # stored version. When another database sent a fresh copy of it, the stored record is pooled
        # with that copy under the holding database's name, as a full run pools the two; when none
        # did, it stays as stored. (Without the stored records, a held record is left as stored.)
        held: dict[str, str] = {}
        for name, h in self.harvests.items():
            for record_id in sorted(set(h.current) - {r.record_id for r in h.records}):
                held.setdefault(record_id, name)
        fresh = {r.record_id for _, r in copies}
        stored = request.stored_records
        if stored is not None:
            copies.extend((held[k], stored[k]) for k in sorted(held) if k in fresh and k in stored)
        kept_from: dict[str, str] = {}
        records, _ = pool(copies, kept_from)
        if stored is None:
            records = [r for r in records if r.record_id not in held]
        # found_in from what each database answers now (a PubMed refresh fetches only what changed).
        found: dict[str, set[str]] = {}
        for name, current in current_by.items():
            for record_id in current:
                found.setdefault(record_id, set()).add(name)
        self.found_in = {k: tuple(sorted(v)) for k, v in found.items()}
        # Copies beyond the first of each record (PRISMA's duplicates with no row of their own):
        # what the databases returned, readable, minus the distinct records.
        self.repeats = sum(h.count - len(h.quarantined) for h in self.harvests.values()) - len(found)
        copies_of = {record_id: len(names) for record_id, names in found.items()}
        by_reason: dict[str, int] = {}
        for record_id, n in copies_of.items():
            reason = shared_id_reason(record_id)
            by_reason[reason] = by_reason.get(reason, 0) + n - 1
        # Repeats within one database (a record on two pages) count as the same identifier again.
        within = self.repeats - sum(by_reason.values())
        if within:
            by_reason["duplicate-pmid"] = by_reason.get("duplicate-pmid", 0) + within
        self.repeats_by_reason = {k: v for k, v in by_reason.items() if v}
        harvests = list(self.harvests.values())
        return Harvest(
            query=" | ".join(f"{name}: {h.query}" for name, h in self.harvests.items()),
            count=sum(self.databases.values()),
            current=list(dict.fromkeys(r for h in harvests for r in h.current)),
            records=records,
            deleted=set().union(*(h.deleted for h in harvests)) if harvests else set(),
            quarantined=[q for h in harvests for q in h.quarantined],
            requested=sum(h.requested for h in harvests),
            searched={f"{name}: {k}": v for name, h in self.harvests.items() for k, v in h.searched.items()},
            manifest={
                "sources": {
                    name: {
                        "query": h.query,
                        "hit_count": h.count,
                        "retrieved": len(h.records) + len(h.quarantined),
                        **h.manifest,
                    }
                    for name, h in self.harvests.items()
                }
            },
            as_of=next((h.as_of for h in harvests if h.as_of), None),
            # The files of the local sources, in the sources' order; a record's file is that of the
            # database whose copy was kept ("" when it came from an API).
            files=list(dict.fromkeys(f for h in harvests for f in h.files)),
            file_of={r.record_id: self.harvests[kept_from[r.record_id]].file_of.get(r.record_id, "") for r in records},
        )
