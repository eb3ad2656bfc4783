"""The records that flow between stages.

All are frozen dataclasses of plain values (str, int, tuples) so that stages stay pure and records
can be compared, hashed and serialised without surprises.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence


@dataclass(frozen=True, slots=True)
class AbstractSection:
    """One part of an abstract. Unstructured abstracts have a single section with an empty label."""

    label: str
    text: str
    category: str = ""  # NlmCategory (BACKGROUND, METHODS, ...) when NCBI gives one


@dataclass(frozen=True, slots=True)
class Author:
    last_name: str = ""
    fore_name: str = ""
    initials: str = ""
    collective_name: str = ""
    affiliations: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        if self.collective_name:
            return self.collective_name
        return " ".join(p for p in (self.last_name, self.initials or self.fore_name) if p)


@dataclass(frozen=True, slots=True)
class MeshHeading:
    descriptor: str
    major_topic: bool = False
    qualifiers: tuple[str, ...] = ()
    ui: str = ""


@dataclass(frozen=True, slots=True)
class CommentCorrection:
    """A CommentsCorrections link, e.g. ref_type 'RetractionIn' or 'ErratumIn'."""

    ref_type: str
    pmid: str = ""
    source: str = ""


# --- record identity ------------------------------------------------------------------------------
#
# Every record has a source-neutral `record_id`, stable across runs, that decisions, mentions,
# changes and table rows key on. It is the first of:
#   pmid:<PMID>                      the record has a PMID (so every PubMed record keeps its PMID)
#   doi:<normalised DOI>             lower-case, without a doi: or https://doi.org/ prefix
#   <scheme>:<id>                    another identifier in `ids`: pmcid first, then the other schemes
#                                    by name (e.g. openalex:W27418, europepmc:PPR12345)
#   import:<12 hex>                  sha1 of "normalised title|year|normalised first author"
# A record that gains a better identifier later (a preprint given a PMID) gets a new record_id.

ID_SCHEMES = ("pmid", "doi", "pmcid")  # the schemes that also have a Record field, in id order


def normalise_title(title: str) -> str:
    """Lower-case letters and digits only, accents removed: 'Ketamine: a Review.' == 'ketamine a review'."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def normalise_doi(doi: str) -> str:
    """A DOI compared case-insensitively, without a 'doi:' or https://doi.org/ prefix."""
    text = doi.strip().lower()
    return re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", text)


class RecordIds(dict):
    """A record's identifiers, scheme -> value ({"pmid": "123", "doi": "10.1/x", "openalex": "W1"}).

    A read-only dict (hashable, so Records stay hashable; JSON-serialisable as an object). Empty
    values are dropped; schemes are lower-case.
    """

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()):
        pairs = items.items() if isinstance(items, Mapping) else items
        super().__init__(sorted((k.strip().lower(), str(v).strip()) for k, v in pairs if str(v).strip()))

    @classmethod
    def _clean(cls, values: dict[str, str]) -> "RecordIds":
        """From values already lower-case, stripped, non-empty and in key order (no checks)."""
        ids = dict.__new__(cls)
        dict.update(ids, values)
        return ids

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self):
        return (RecordIds, (dict(self),))

    def _read_only(self, *args, **kwargs):
        raise TypeError("RecordIds is read-only: build a new one (RecordIds({**ids, scheme: value}))")

    __setitem__ = __delitem__ = __ior__ = update = setdefault = pop = popitem = clear = _read_only


_NO_IDS = RecordIds()


def make_record_id(ids: Mapping[str, str], title: str = "", year: int | None = None, first_author: str = "") -> str:
    """The record_id for these identifiers, or for title, year and first author when there are none
    (see the rules above). Pure."""
    if ids.get("pmid"):
        return f"pmid:{ids['pmid']}"
    if ids.get("doi") and normalise_doi(ids["doi"]):
        return f"doi:{normalise_doi(ids['doi'])}"
    others = sorted(k for k, v in ids.items() if v and k not in ("pmid", "doi", "pmcid"))
    for scheme in (["pmcid"] if ids.get("pmcid") else []) + others:
        return f"{scheme}:{ids[scheme]}"
    key = f"{normalise_title(title)}|{'' if year is None else year}|{normalise_title(first_author)}"
    return "import:" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def pmid_of(record_id: str) -> str:
    """The PMID a record_id carries ("pmid:123" -> "123"), or "" (a record with a PMID always has a
    pmid: record_id, so this is the record's PMID)."""
    return record_id[5:] if record_id.startswith("pmid:") else ""


def display_id(record_id: str) -> str:
    """How a record is named to people: its PMID when it has one, else its record_id."""
    return pmid_of(record_id) or record_id


def shared_id_reason(record_id: str) -> str:
    """The reason code for copies of a record that share its record_id (the identifier it is
    keyed on): duplicate-pmid, duplicate-doi, or duplicate-id for any other scheme."""
    if record_id.startswith("pmid:"):
        return "duplicate-pmid"
    return "duplicate-doi" if record_id.startswith("doi:") else "duplicate-id"


def record_order(record_id: str) -> tuple[int, int, str]:
    """The order of records in tables and deduplication: PMIDs numerically, then every other
    record_id by text (so a record with a PMID comes before one without)."""
    pmid = pmid_of(record_id)
    return (0, int(pmid), "") if pmid.isdigit() else (1, 0, record_id)


@dataclass(frozen=True)
class Record:
    """One bibliographic record (a PubMed citation, or one from another database or an imported
    file), with text cleaned of markup and whitespace normalised.

    `pmid`, `doi` and `pmcid` ("" when absent) are mirrored in `ids`, which may hold other schemes
    too: a non-empty field wins over ids, and a scheme given only in ids fills its field.
    """

    pmid: str = ""
    title: str = ""
    abstract_sections: tuple[AbstractSection, ...] = ()
    doi: str = ""
    pmcid: str = ""
    journal: str = ""
    journal_iso: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    pub_year: int | None = None  # PubDate Year, or the first year of MedlineDate/Season
    pub_month: int | None = None
    pub_day: int | None = None  # PubDate Day, when it has a Year and a Month
    medline_date: str = ""  # raw MedlineDate when PubDate has no Year, e.g. "2015 Dec-2016 Jan"
    article_date: str = ""  # electronic publication date (ArticleDate), ISO yyyy-mm-dd
    entrez_date: str = ""  # PubMedPubDate[@PubStatus=entrez], ISO
    pubmed_date: str = ""  # PubMedPubDate[@PubStatus=pubmed], ISO
    languages: tuple[str, ...] = ()  # every Language element, lower-case ISO 639-2 (eng, ger, und)
    vernacular_title: str = ""
    publication_types: tuple[str, ...] = ()
    publication_type_uis: tuple[str, ...] = ()  # MeSH UI of each publication type, same order ("" if none)
    mesh_headings: tuple[MeshHeading, ...] = ()
    chemicals: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    authors: tuple[Author, ...] = ()
    comments_corrections: tuple[CommentCorrection, ...] = ()
    is_book: bool = False  # PubmedBookArticle rather than PubmedArticle
    ids: RecordIds = _NO_IDS  # scheme -> identifier, see RecordIds

    def __post_init__(self) -> None:
        if self.ids is _NO_IDS:
            # The common case (every parsed PubMed record): the fields alone, in key order.
            doi, pmcid, pmid = self.doi.strip(), self.pmcid.strip(), self.pmid.strip()
            if doi or pmcid or pmid:
                values = {k: v for k, v in (("doi", doi), ("pmcid", pmcid), ("pmid", pmid)) if v}
                object.__setattr__(self, "ids", RecordIds._clean(values))
            return
        given = dict(self.ids)
        for scheme in ID_SCHEMES:
            value = getattr(self, scheme)
            if value:
                given[scheme] = value
            elif given.get(scheme):
                object.__setattr__(self, scheme, given[scheme])
        object.__setattr__(self, "ids", RecordIds(given))

    @property
    def record_id(self) -> str:
        """The source-neutral identity of this record (see make_record_id); computed once."""
        # Cached in the instance dict by hand: functools.cached_property takes a lock on every
        # first access (Python 3.11), a measurable cost over tens of thousands of records.
        try:
            return self.__dict__["_record_id"]
        except KeyError:
            pass
        first = self.authors[0] if self.authors else None
        author = (first.last_name or first.collective_name or first.display_name) if first else ""
        year = self.pub_year if self.pub_year is not None else self.article_year
        value = self.__dict__["_record_id"] = make_record_id(self.ids, self.title, year, author)
        return value

    @property
    def abstract(self) -> str:
        """The abstract as one text: sections joined by a space, labels left out."""
        return " ".join(s.text for s in self.abstract_sections if s.text)

    @property
    def article_year(self) -> int | None:
        return int(self.article_date[:4]) if self.article_date[:4].isdigit() else None

    def sections(self) -> list[tuple[str, str]]:
        """(section name, text) pairs that entity extraction reads: the title, then the abstract.

        Mention offsets are relative to the text of the section they were found in.
        """
        parts = [("title", self.title)] if self.title else []
        for s in self.abstract_sections:
            if s.text:
                parts.append((s.label or "abstract", s.text))
        return parts


class Decision(str, enum.Enum):
    INCLUDE = "include"
    EXCLUDE = "exclude"
    NEEDS_REVIEW = "needs-review"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ScreeningResult:
    """Why a record was included, excluded or sent to a human: the rule, the field and its value."""

    record_id: str  # the record's Record.record_id
    decision: Decision
    reason: str  # a code from screen.REASONS
    field: str = ""  # the record field that decided, e.g. "pub_year"
    value: str = ""  # the value it held, e.g. "2014"
    duplicate_of: str = ""  # for duplicates: the record_id of the record kept
    flags: tuple[str, ...] = ()  # e.g. ("retracted",): shown whatever the decision


@dataclass(frozen=True, slots=True)
class Mention:
    """One entity mention, with the offsets that support it."""

    record_id: str  # the record's Record.record_id
    section: str  # "title", "abstract" or the abstract section label
    sentence: int  # index of the sentence within the section
    start: int  # character offsets into the section's clean text
    end: int
    text: str
    label: str  # entity class, e.g. "DRUG", "DISEASE", "GENE"
    canonical: str  # normalised form: the concept's name (lexicon term or vocabulary's preferred name)
    source: str = "lexicon"  # "model", "lexicon", "abbreviation" or "ligand-protein"
    identifier: str = ""  # concept id, e.g. "MESH:D007649", "NCBIGene:627"; "" when none applies
    vocabulary: str = ""  # the identifier's vocabulary: "MeSH", "NCBI Gene", "OMIM", "DrugBank"


def mentions_from_rows(rows: Iterable[Sequence]) -> list[Mention]:
    """Mentions from rows of their field values (in Mention's field order), each distinct value
    held once: a review's mentions repeat record ids, sections, labels, sources and concepts, and
    one string per occurrence was most of the client's memory for them (issue 17)."""
    shared: dict = {}
    share = shared.setdefault
    return [Mention(*[share(value, value) for value in row]) for row in rows]


@dataclass(frozen=True)
class SearchResult:
    """What esearch told us about a query."""

    query: str
    count: int
    pmids: tuple[str, ...]
    query_translation: str = ""
    warnings: tuple[str, ...] = ()  # ErrorList / WarningList / OutputMessage, as readable lines


@dataclass
class RunSummary:
    """Counts per stage, filled in as the run goes (the source of prisma.json and run.json)."""

    identified: int = 0
    retrieved: int = 0
    duplicates: int = 0
    screened: int = 0
    included: int = 0
    excluded: int = 0
    needs_review: int = 0
    excluded_by_reason: dict[str, int] = field(default_factory=dict)
    mentions: int = 0
    extraction_set_aside: int = 0  # included records entity extraction could not process


@dataclass(frozen=True)
class DeletedCitation:
    """A PMID that PubMed withdrew (a DeleteCitation entry in an update file)."""

    pmid: str


@dataclass(frozen=True)
class Quarantined:
    """A record that could not be parsed: kept aside with the reason, never dropped silently."""

    pmid: str  # "" when the PMID itself could not be read
    reason: str
    source: str = ""  # the file or archived response it came from


@dataclass(frozen=True)
class SetAside:
    """A record a stage could not process (e.g. entity extraction): kept, with the reason, and the
    run goes on without that stage's output for it."""

    record_id: str
    reason: str
    stage: str = ""  # "extraction"


# What the PubMed XML parser yields, in document order.
ParsedItem = Record | DeletedCitation | Quarantined


# --- what the engine hands between its stages ------------------------------------------------------


@dataclass
class UpdatePlan:
    """What a run changes in the stored records (engine.sync.plan_update), keyed on record_id."""

    upserts: dict[str, Record] = field(default_factory=dict)  # new or changed records
    hashes: dict[str, str] = field(default_factory=dict)  # their content hashes
    withdrawn: dict[str, str] = field(default_factory=dict)  # record_id -> reason code


@dataclass
class CommitPlan:
    """Everything one run writes to the state store, in one transaction (StateStore.commit_run)."""

    seen: list[str]  # record ids the run's search returned
    upserts: dict[str, Record]  # record_id -> new or changed record
    withdrawn: dict[str, str]  # record_id -> reason code
    decisions: list[ScreeningResult]  # the complete new set of decisions
    extracted: dict[str, tuple[str, list[Mention]]]  # record_id -> (content hash, mentions)
    fingerprint: str  # the extractor the mentions came from
    changes: list[dict]  # changes.csv rows of this run
    returned_by: dict[str, list[str]] | None = None  # database -> record ids it returned (for windowed refreshes)
    # record_id -> the input file that gave its current version ("": none, an API's record), for
    # every record the run read; the files in their order. None: the source reads no files.
    source_files: dict[str, str] | None = None
    file_order: list[str] | None = None


# run.json's layout. Version 1: the first release (run.json had no manifest_version).
MANIFEST_VERSION = 2
# The fields of RunManifest that are run.json keys of the same name, in run.json order.
_TOP_KEYS = ("run_id", "status", "command", "mode", "review")
_TAIL_KEYS = (
    "identified",
    "pmid_repeats",
    "databases",
    "pubmed_cross_check",
    "searched",
    "fetched",
    "quarantined",
    "extraction_set_aside",
    "raw_archives_removed",
    "repeats_by_reason",
    "found_in",
    "finished_at",
    "error",
    "counts",
    "changes",
    "human_screening",
    "tables",
    "ris",
    "stage_seconds",
)


@dataclass
class RunManifest:
    """One run's manifest: what run.json holds and the store keeps with the run.

    `source` holds the keys the source contributes (e.g. query_translation, pubmed_messages,
    requests, raw_archive for PubMed; local_files for local XML files) and `source_info` those it
    knows before searching (eutils_base_url): both are written as top-level run.json keys. Optional
    keys (full_because, window, error, ...) are left out of run.json while empty, as before.
    """

    run_id: str
    command: str  # "run" or "refresh"
    mode: str  # "full" or "incremental"
    review: str
    config: dict[str, str]  # {"path": ..., "sha256": ...}
    query: str
    offline: bool
    started_at: str
    versions: dict[str, str] = field(default_factory=dict)
    recovered: dict = field(default_factory=dict)
    status: str = "running"
    source_info: dict = field(default_factory=dict)
    full_because: str = ""
    window: dict | None = None
    source: dict = field(default_factory=dict)
    identified: int | None = None  # PRISMA's records identified, all databases together
    pmid_repeats: int | None = None  # records returned again after their first appearance
    databases: dict[str, int] | None = None  # PRISMA database label -> records identified
    pubmed_cross_check: dict | None = None
    searched: dict | None = None
    fetched: dict | None = None
    quarantined: list[dict] | None = None
    extraction_set_aside: list[dict] | None = None  # records extraction could not process (retried next run)
    raw_archives_removed: list[str] | None = None  # run ids whose raw archives [output] keep_raw_runs removed
    repeats_by_reason: dict[str, int] | None = None  # several databases: copies of one record_id, by shared id
    found_in: dict[str, list[str]] | None = None  # several databases: record_id -> the databases it was found in
    finished_at: str = ""
    error: str = ""
    counts: dict | None = None  # set when published
    changes: dict | None = None  # set when published
    human_screening: dict | None = None  # set when published with [screening.human]: people's stage
    tables: dict | None = None  # set when published: per table its rows, the CSV's rows, Parquet file or dataset
    ris: dict | None = None  # set when published: records.ris's references and the included records
    stage_seconds: dict | None = None  # per stage (search, screen, ..., publish): wall and CPU seconds, peak memory

    def to_json(self) -> dict:
        """run.json in the current layout (MANIFEST_VERSION): every key the first release wrote,
        plus manifest_version and databases."""
        out: dict = {"manifest_version": MANIFEST_VERSION}
        out.update({k: getattr(self, k) for k in _TOP_KEYS})
        out["config"] = dict(self.config)
        out.update(self.source_info)
        out.update(
            query=self.query,
            offline=self.offline,
            started_at=self.started_at,
            versions=self.versions,
            recovered=self.recovered,
        )
        if self.full_because:
            out["full_because"] = self.full_because
        if self.window is not None:
            out["window"] = self.window
        out.update(self.source)
        for key in _TAIL_KEYS:
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: dict) -> "RunManifest":
        """The manifest run.json (or the store) holds; keys it does not know go to `source`, so
        nothing is lost. A first-release manifest (no manifest_version) gets its `databases` from
        its source key."""
        data = dict(data)
        data.pop("manifest_version", None)
        known = {f for f in cls.__dataclass_fields__ if f not in ("source", "source_info")}
        values = {k: data.pop(k) for k in list(data) if k in known}
        if values.get("databases") is None and values.get("identified") is not None:
            # The first release searched one database, named by run.json "source".
            label = "PubMed (local XML files)" if data.get("source") == "pubmed-xml" else "PubMed"
            values["databases"] = {label: values["identified"]}
        return cls(
            **{
                "run_id": "",
                "command": "",
                "mode": "",
                "review": "",
                "config": {},
                "query": "",
                "offline": False,
                "started_at": "",
                **values,
                "source": data,
            }
        )


@dataclass(frozen=True)
class HumanDecision:
    """One entry of the reviewers' append-only decision log (the workspace, imports, resolutions).

    decision: include, exclude or maybe; "undo" withdraws the entry numbered `undoes`.
    role: "screen" (a reviewer's own decision), "resolve" (settles a dual-mode conflict) or "import".
    content_hash: the version of the record that was read, so a later revision can be flagged.
    """

    seq: int
    record_id: str
    reviewer: str
    decision: str
    reason: str = ""
    note: str = ""
    content_hash: str = ""
    decided_at: str = ""
    role: str = "screen"
    undoes: int | None = None
