"""A local source of records: PubMed XML files (baseline, update files, saved efetch output).

With `source = "pubmed-xml"` a review reads the files in `search.paths` instead of calling the
E-utilities, and evaluates the config's keyword query itself over each record's title, abstract,
keywords and MeSH headings. Pure apart from reading the files named; no network.

`LocalXmlSource` is this as a `Source`: every run reads every file (the files are their own raw
archive, so there is nothing to replay), and the engine's content hashes tell what changed.
"""

from __future__ import annotations

import glob
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from pipeline.config import SearchConfig
from pipeline.errors import ConfigError
from pipeline.models import DeletedCitation, ParsedItem, Quarantined, Record, record_order
from pipeline.sources.base import Harvest, SearchRequest
from pipeline.sources.pubmed_xml.parser import parse

log = logging.getLogger(__name__)

DATABASE = "PubMed (local XML files)"  # how PRISMA names this source
_GLOB_CHARS = re.compile(r"[*?\[]")
_XML_SUFFIXES = (".xml", ".xml.gz")


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files named by `paths`, in order: each glob sorted by name; a folder means its *.xml(.gz).

    A pattern or a path that names no file is a ConfigError naming it, so a typo never turns
    into a review of zero records.
    """
    files: list[Path] = []
    for item in paths:
        text = str(item)
        if _GLOB_CHARS.search(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            if not matches:
                raise ConfigError(
                    f"[search.paths] pattern {text!r} matches no file. "
                    "Check the pattern; paths are relative to the config file's folder."
                )
            files.extend(matches)
        elif Path(text).is_dir():
            matches = sorted(p for p in Path(text).iterdir() if p.name.endswith(_XML_SUFFIXES) and p.is_file())
            if not matches:
                raise ConfigError(f"[search.paths] folder {text!r} holds no .xml or .xml.gz file.")
            files.extend(matches)
        elif Path(text).is_file():
            files.append(Path(text))
        else:
            raise ConfigError(
                f"[search.paths] file {text!r} does not exist. Paths are relative to the config file's folder."
            )
    return files


def iter_local_records(paths: Iterable[Path | str]) -> Iterator[ParsedItem]:
    """Every item of every file in `paths` (see expand_paths), file after file, in document order.

    Globs are expanded before the first file is read, so a bad pattern fails fast.
    """
    for path in expand_paths(paths):
        log.info("reading %s", path)
        yield from parse(path, source_name=str(path))


def query_matches(record: Record, search: SearchConfig) -> bool:
    """Whether `record` satisfies the config's query: every group of `all_of` has a term that occurs.

    A term matches case-insensitively as a phrase on word boundaries ("ketamine" matches
    "Ketamine-induced" but not "esketamine"); words of a phrase may be separated by spaces or
    hyphens, and a trailing * matches any word ending, as in PubMed ("depress*"). Searched text:
    title, abstract, keywords and MeSH descriptors; with `field = "tiab"`, title and abstract only.
    """
    texts = [record.title, record.abstract]
    if search.field.lower() != "tiab":
        texts += list(record.keywords) + [h.descriptor for h in record.mesh_headings]
    haystack = "\n".join(t for t in texts if t)
    return all(_group_pattern(group).search(haystack) for group in search.all_of)


@lru_cache(maxsize=256)
def _group_pattern(terms: tuple[str, ...]) -> re.Pattern:
    """One regex for an OR group: (?<!\\w)(?:term1|term2)(?!\\w), case-insensitive."""
    return re.compile(r"(?<!\w)(?:" + "|".join(_term_regex(t) for t in terms) + r")(?!\w)", re.IGNORECASE)


def _term_regex(term: str) -> str:
    truncated = term.endswith("*")
    words = term.rstrip("*").split()
    body = r"[\s\-]+".join(re.escape(w) for w in words)
    return body + r"\w*" if truncated else body


@dataclass
class LocalSelection:
    """What a local source contributes to a review: the matching records and the bookkeeping."""

    records: dict[str, Record] = field(default_factory=dict)  # PMID -> latest matching version
    deleted: set[str] = field(default_factory=set)  # PMIDs deleted by an update file
    quarantined: list[Quarantined] = field(default_factory=list)
    read: int = 0  # records read, matching or not
    files: dict[str, str] = field(default_factory=dict)  # PMID -> the file its kept version came from


def select_local(
    items: Iterable[ParsedItem], search: SearchConfig, into: LocalSelection | None = None, file: str = ""
) -> LocalSelection:
    """Apply a sequence of baseline and update files the way NCBI means them to be applied.

    Files are read in order (name order, for globs: baseline before updates, updates by number).
    A later version of a PMID replaces the earlier one; a DeleteCitation removes the PMID; a later
    version that no longer matches the query removes it too. `into` continues an earlier selection;
    `file` names the file the items come from (LocalSelection.files).
    """
    sel = into if into is not None else LocalSelection()
    for item in items:
        if isinstance(item, Record):
            sel.read += 1
            if query_matches(item, search):
                sel.records[item.pmid] = item
                sel.files[item.pmid] = file
                sel.deleted.discard(item.pmid)
            else:
                sel.records.pop(item.pmid, None)
        elif isinstance(item, DeletedCitation):
            sel.records.pop(item.pmid, None)
            sel.deleted.add(item.pmid)
        else:
            sel.quarantined.append(item)
    return sel


class LocalXmlSource:
    """Local PubMed XML files (`search.paths`) as a Source. Files apply in order, as NCBI means
    baseline and update files to: a later version of a PMID replaces an earlier one, a
    DeleteCitation removes it."""

    name = DATABASE

    def __init__(self, search: SearchConfig):
        self.search_config = search
        self.run_info: dict = {}

    def search(self, request: SearchRequest) -> Harvest:
        files = expand_paths(self.search_config.paths)
        selection = LocalSelection()
        for number, path in enumerate(files, start=1):
            select_local(iter_local_records([path]), self.search_config, into=selection, file=str(path))
            request.progress("read", number, len(files))
        return self.harvest(request, files, selection)

    def harvest(self, request: SearchRequest, files: list[Path], selection: LocalSelection) -> Harvest:
        """The run's Harvest from the selection the files made (also the Dask engine's reduce)."""
        chosen = sorted(selection.records.values(), key=lambda r: record_order(r.record_id))
        log.info("local PubMed XML: %d of %d records match %s", len(chosen), selection.read, request.query)
        return Harvest(
            # Identified: every record read for the review, the unreadable ones too (PRISMA counts
            # them as removed before screening, so the counts add up).
            query=request.query,
            count=len(chosen) + len(selection.quarantined),
            current=[r.record_id for r in chosen],
            records=chosen,
            deleted={f"pmid:{p}" for p in selection.deleted},
            quarantined=selection.quarantined,
            requested=len(chosen),
            searched={"current": len(chosen), "records_read": selection.read, "files": len(files)},
            manifest={
                "source": "pubmed-xml",
                "query_translation": request.query,
                "pubmed_messages": [],
                "local_files": [{"path": str(f), "bytes": f.stat().st_size} for f in files],
                "deleted_citations": len(selection.deleted),
                "pubmed_cross_check": {"skipped": "the records come from local PubMed XML files, not a PubMed search"},
            },
            files=[str(f) for f in files],
            file_of={r.record_id: selection.files.get(r.pmid, "") for r in chosen},
        )
