"""A synthetic PubMed corpus of any size, for the retrieval tests and the benchmarks.

`synthetic_articles(n, seed)` builds `n` realistic PubmedArticle records (journal, dates, authors,
DOI, MeSH, languages, publication types; publication years 1990-2026) whose titles and abstracts all
match the ketamine review's query, so a local server holding them answers that query with exactly `n`
PMIDs. The same seed always gives the same corpus.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from xml.sax.saxutils import escape

from tests.support.eutils_server import Article

FIRST_PMID = 20_000_000
YEARS = (1990, 2026)
FACETS = ("mechanism of action", "clinical applications", "efficacy")
DESIGNS = (
    "a randomized controlled trial",
    "an open-label study",
    "a cohort study",
    "a meta-analysis",
    "a case series",
    "a crossover trial",
)
POPULATIONS = (
    "treatment-resistant depression",
    "major depressive disorder",
    "bipolar depression",
    "postpartum depression",
    "late-life depression",
    "adolescent depression",
)
MECHANISMS = (
    "NMDA receptor antagonism",
    "AMPA receptor activation",
    "BDNF release",
    "mTOR signalling",
    "synaptogenesis in the prefrontal cortex",
    "GABAergic interneuron inhibition",
)
ROUTES = ("intravenous", "intranasal", "oral", "intramuscular", "subcutaneous")
SCALES = ("MADRS", "HAM-D", "BDI-II", "QIDS-SR", "CGI-S")
JOURNALS = (
    ("J Affect Disord", "Journal of affective disorders", "0165-0327"),
    ("Am J Psychiatry", "The American journal of psychiatry", "0002-953X"),
    ("Neuropsychopharmacology", "Neuropsychopharmacology", "0893-133X"),
    ("Biol Psychiatry", "Biological psychiatry", "0006-3223"),
    ("Psychopharmacology (Berl)", "Psychopharmacology", "0033-3158"),
)
SURNAMES = (
    "Zarate",
    "Murrough",
    "Duman",
    "Krystal",
    "Sanacora",
    "Abdallah",
    "Berman",
    "Daly",
    "Wilkinson",
    "Popova",
    "Fava",
    "Singh",
    "Chen",
    "Garcia",
    "Müller",
    "Rossi",
    "Kowalski",
)
LANGUAGES = ("eng",) * 18 + ("ger", "chi")
TYPES = ("Journal Article", "Randomized Controlled Trial", "Review", "Clinical Trial", "Meta-Analysis")
MESH = (
    "Ketamine",
    "Depressive Disorder, Major",
    "Depression",
    "Antidepressive Agents",
    "Receptors, N-Methyl-D-Aspartate",
    "Humans",
    "Treatment Outcome",
    "Esketamine",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def synthetic_articles(n: int, seed: int = 0) -> list[Article]:
    """`n` distinct articles matching `ketamine AND depression AND (facets)`; deterministic per seed."""
    rng = random.Random(seed)
    return [_article(FIRST_PMID + i, rng) for i in range(n)]


def _article(number: int, rng: random.Random) -> Article:
    pmid = str(number)
    pdat = date(rng.randint(*YEARS), rng.randint(1, 12), rng.randint(1, 28))
    edat = pdat - timedelta(days=rng.randint(0, 60))
    facet = rng.choice(FACETS)
    population, design = rng.choice(POPULATIONS), rng.choice(DESIGNS)
    mechanism, route, scale = rng.choice(MECHANISMS), rng.choice(ROUTES), rng.choice(SCALES)
    drug = rng.choice(("ketamine", "ketamine", "esketamine and ketamine", "arketamine and ketamine"))
    title = f"{drug.capitalize()} in {population}: {facet} in {design} (report {number})"
    abstract = (
        f"Background: depression remains difficult to treat, and {drug} has been studied for its {facet}. "
        f"Methods: {design} of {route} ketamine ({rng.choice((0.5, 0.75, 1.0))} mg/kg) with outcomes rated "
        f"on the {scale}. Results: response was associated with {mechanism}; dissociation and transient "
        f"hypertension were the most frequent adverse effects. Conclusions: these findings inform the "
        f"{facet} of ketamine for depression."
    )
    iso, journal, issn = rng.choice(JOURNALS)
    language = rng.choice(LANGUAGES)
    authors = "".join(
        f'<Author ValidYN="Y"><LastName>{escape(rng.choice(SURNAMES))}</LastName>'
        f"<ForeName>{rng.choice('ACDJKMPRS')}.</ForeName><Initials>{rng.choice('ACDJKMPRS')}</Initials></Author>"
        for _ in range(rng.randint(1, 6))
    )
    types = "".join(
        f'<PublicationType UI="D0{rng.randint(10000, 99999)}">{t}</PublicationType>'
        for t in dict.fromkeys(("Journal Article", rng.choice(TYPES)))
    )
    headings = rng.sample(MESH, 4)
    mesh = "".join(
        f'<MeshHeading><DescriptorName UI="D00{i:04d}" MajorTopicYN="{"Y" if i < 2 else "N"}">'
        f"{escape(m)}</DescriptorName></MeshHeading>"
        for i, m in enumerate(headings)
    )
    vernacular = f"<VernacularTitle>Ketamin bei Depression: {facet}</VernacularTitle>" if language == "ger" else ""
    xml = (
        f'<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM" IndexingMethod="Automated">'
        f'<PMID Version="1">{pmid}</PMID>'
        f"<DateCompleted>{_ymd(edat + timedelta(days=90))}</DateCompleted>"
        f'<Article PubModel="Print-Electronic"><Journal><ISSN IssnType="Electronic">{issn}</ISSN>'
        f'<JournalIssue CitedMedium="Internet"><Volume>{rng.randint(1, 300)}</Volume><Issue>{rng.randint(1, 12)}</Issue>'
        f"<PubDate><Year>{pdat.year}</Year><Month>{MONTHS[pdat.month - 1]}</Month><Day>{pdat.day:02d}</Day></PubDate>"
        f"</JournalIssue><Title>{escape(journal)}</Title><ISOAbbreviation>{escape(iso)}</ISOAbbreviation></Journal>"
        f"<ArticleTitle>{escape(title)}</ArticleTitle>"
        f"<Pagination><StartPage>{rng.randint(1, 900)}</StartPage></Pagination>"
        f'<ELocationID EIdType="doi" ValidYN="Y">10.1000/synthetic.{pmid}</ELocationID>'
        f"<Abstract><AbstractText>{escape(abstract)}</AbstractText></Abstract>"
        f'<AuthorList CompleteYN="Y">{authors}</AuthorList><Language>{language}</Language>'
        f"<PublicationTypeList>{types}</PublicationTypeList>"
        f'<ArticleDate DateType="Electronic">{_ymd(edat)}</ArticleDate></Article>{vernacular}'
        f"<MedlineJournalInfo><Country>England</Country><MedlineTA>{escape(iso)}</MedlineTA></MedlineJournalInfo>"
        f"<MeshHeadingList>{mesh}</MeshHeadingList></MedlineCitation>"
        f'<PubmedData><History><PubMedPubDate PubStatus="entrez">{_ymd(edat)}</PubMedPubDate>'
        f'<PubMedPubDate PubStatus="pubmed">{_ymd(edat)}</PubMedPubDate></History>'
        f"<PublicationStatus>ppublish</PublicationStatus><ArticleIdList>"
        f'<ArticleId IdType="pubmed">{pmid}</ArticleId><ArticleId IdType="doi">10.1000/synthetic.{pmid}</ArticleId>'
        f"</ArticleIdList></PubmedData></PubmedArticle>"
    )
    text = " ".join((title, abstract, *headings)).lower()
    return Article(
        pmid=pmid,
        xml=xml.encode("utf-8"),
        text=text,
        years={pdat.year, edat.year},
        languages={language},
        pdat=pdat,
        edat=edat,
        crdt=edat,
        entrez_date=edat.strftime("%Y/%m/%d"),
        modified_date=edat.strftime("%Y/%m/%d"),
    )


def _ymd(day: date) -> str:
    return f"<Year>{day.year}</Year><Month>{day.month:02d}</Month><Day>{day.day:02d}</Day>"
