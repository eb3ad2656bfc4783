"""The records that flow between stages.

All are frozen dataclasses of plain values (str, int, tuples) so that stages stay pure and records
can be compared, hashed and serialised without surprises.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AbstractSection:
    """One part of an abstract. Unstructured abstracts have a single section with an empty label."""

    label: str
    text: str
    category: str = ""  # NlmCategory (BACKGROUND, METHODS, ...) when NCBI gives one


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class MeshHeading:
    descriptor: str
    major_topic: bool = False
    qualifiers: tuple[str, ...] = ()
    ui: str = ""


@dataclass(frozen=True)
class CommentCorrection:
    """A CommentsCorrections link, e.g. ref_type 'RetractionIn' or 'ErratumIn'."""

    ref_type: str
    pmid: str = ""
    source: str = ""


@dataclass(frozen=True)
class Record:
    """One PubMed citation, with text cleaned of markup and whitespace normalised."""

    pmid: str
    title: str = ""
    abstract_sections: tuple[AbstractSection, ...] = ()
    doi: str = ""
    pmcid: str = ""
    journal: str = ""
    journal_iso: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    pub_year: int | None = None        # PubDate Year, or the first year of MedlineDate/Season
    pub_month: int | None = None
    medline_date: str = ""             # raw MedlineDate when PubDate has no Year, e.g. "2015 Dec-2016 Jan"
    article_date: str = ""             # electronic publication date (ArticleDate), ISO yyyy-mm-dd
    entrez_date: str = ""              # PubMedPubDate[@PubStatus=entrez], ISO
    pubmed_date: str = ""              # PubMedPubDate[@PubStatus=pubmed], ISO
    languages: tuple[str, ...] = ()    # every Language element, lower-case ISO 639-2 (eng, ger, und)
    vernacular_title: str = ""
    publication_types: tuple[str, ...] = ()
    mesh_headings: tuple[MeshHeading, ...] = ()
    chemicals: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    authors: tuple[Author, ...] = ()
    comments_corrections: tuple[CommentCorrection, ...] = ()
    is_book: bool = False              # PubmedBookArticle rather than PubmedArticle

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

    pmid: str
    decision: Decision
    reason: str                 # a code from screen.REASONS
    field: str = ""             # the record field that decided, e.g. "pub_year"
    value: str = ""             # the value it held, e.g. "2014"
    duplicate_of: str = ""      # for duplicates: the PMID of the record kept
    flags: tuple[str, ...] = () # e.g. ("retracted",): shown whatever the decision


@dataclass(frozen=True)
class Mention:
    """One entity mention, with the offsets that support it."""

    pmid: str
    section: str        # "title", "abstract" or the abstract section label
    sentence: int       # index of the sentence within the section
    start: int          # character offsets into the section's clean text
    end: int
    text: str
    label: str          # entity class, e.g. "DRUG", "DISEASE", "GENE"
    canonical: str      # normalised form: the concept's name (lexicon term or vocabulary's preferred name)
    source: str = "lexicon"  # "model", "lexicon" or "abbreviation"
    identifier: str = ""     # concept id, e.g. "MESH:D007649", "NCBIGene:627"; "" when none applies
    vocabulary: str = ""     # the identifier's vocabulary: "MeSH", "NCBI Gene", "OMIM", "DrugBank"


@dataclass(frozen=True)
class SearchResult:
    """What esearch told us about a query."""

    query: str
    count: int
    pmids: tuple[str, ...]
    query_translation: str = ""
    warnings: tuple[str, ...] = ()      # ErrorList / WarningList / OutputMessage, as readable lines


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


@dataclass(frozen=True)
class DeletedCitation:
    """A PMID that PubMed withdrew (a DeleteCitation entry in an update file)."""

    pmid: str


@dataclass(frozen=True)
class Quarantined:
    """A record that could not be parsed: kept aside with the reason, never dropped silently."""

    pmid: str       # "" when the PMID itself could not be read
    reason: str
    source: str = ""  # the file or archived response it came from


# What the PubMed XML parser yields, in document order.
ParsedItem = Record | DeletedCitation | Quarantined
