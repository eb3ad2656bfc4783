"""Build small PubMed XML documents for tests: only the elements a test is about."""

from __future__ import annotations

HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)


def article(
    pmid: str = "1", article: str = "", citation: str = "", pubmed_data: str = "", pub_date: str = "<Year>2020</Year>"
) -> str:
    """One PubmedArticle; `article` goes inside Article, `citation` after it in MedlineCitation."""
    return (
        f'<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">{pmid}</PMID>'
        f'<Article PubModel="Print"><Journal><JournalIssue><PubDate>{pub_date}</PubDate></JournalIssue>'
        f"<Title>J</Title></Journal>{article}</Article>{citation}</MedlineCitation>"
        f"<PubmedData>{pubmed_data}</PubmedData></PubmedArticle>"
    )


def document(*records: str, head: bytes = HEAD) -> bytes:
    return head + b"<PubmedArticleSet>\n" + "\n".join(records).encode() + b"\n</PubmedArticleSet>\n"
