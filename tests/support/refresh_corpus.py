"""Corpora that change between runs, for the refresh tests: dated, cloned and revised articles."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pandas as pd

from tests.support.eutils_server import Article, article_from_element

TABLE_FILES = ("records.csv", "evidence.csv", "mentions.csv")


def _element(article: Article) -> ET.Element:
    return ET.fromstring(article.xml)


def _set_date(parent: ET.Element, tag: str, when: date, **attrs) -> None:
    elem = ET.SubElement(parent, tag, attrs)
    for name, value in (("Year", when.year), ("Month", when.month), ("Day", when.day)):
        ET.SubElement(elem, name).text = str(value)


def dated(article: Article, entered: date, revised: date | None = None) -> Article:
    """The article with PubMed's entry date (History/entrez) and, if given, DateRevised set."""
    elem = _element(article)
    data = elem.find("PubmedData")
    history = data.find("History")
    if history is None:
        history = ET.Element("History")
        data.insert(0, history)
    for old in history.findall("PubMedPubDate[@PubStatus='entrez']"):
        history.remove(old)
    _set_date(history, "PubMedPubDate", entered, PubStatus="entrez")
    citation = elem.find("MedlineCitation")
    for old in citation.findall("DateRevised"):
        citation.remove(old)
    if revised is not None:
        _set_date(citation, "DateRevised", revised)
    return article_from_element(elem)


def clone(article: Article, pmid: str, entered: date, title: str) -> Article:
    """A new article: same content as `article` under another PMID, DOI and title."""
    elem = _element(article)
    citation = elem.find("MedlineCitation")
    citation.find("PMID").text = pmid
    citation.find("Article/ArticleTitle").text = title
    for loc in citation.findall("Article/ELocationID"):
        loc.text = f"10.9999/clone.{pmid}"
    for ident in elem.findall("PubmedData/ArticleIdList/ArticleId"):
        if ident.get("IdType") == "pubmed":
            ident.text = pmid
        elif ident.get("IdType") == "doi":
            ident.text = f"10.9999/clone.{pmid}"
    return dated(article_from_element(elem), entered)


def with_publication_type(article: Article, ptype: str, revised: date) -> Article:
    """The article revised in PubMed: one more publication type, DateRevised set."""
    elem = _element(article)
    types = elem.find("MedlineCitation/Article/PublicationTypeList")
    ET.SubElement(types, "PublicationType").text = ptype
    entered = article.entrez_date
    return dated(article_from_element(elem), date(*map(int, entered.split("/"))), revised)


def base_corpus(corpus: list[Article], entered: date) -> dict[str, Article]:
    """The fixture corpus, every article entered on `entered`."""
    return {a.pmid: dated(a, entered) for a in corpus}


def read_tables(out) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in TABLE_FILES}


def read_changes(out, drop_run_id: bool = True) -> list[dict]:
    frame = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if drop_run_id:
        frame = frame.drop(columns=["run_id"])
    return frame.to_dict("records")


__all__ = ["dated", "clone", "with_publication_type", "base_corpus", "read_tables", "read_changes"]
