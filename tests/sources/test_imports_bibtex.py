"""BibTeX as Web of Science, Scopus, ScienceDirect, Google Scholar and Publish or Perish write it."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from pipeline.sources.imports import parse_export
from pipeline.sources.imports.bibtex import latex_to_text

BIB = r"""% Exported from ScienceDirect
@comment{jabref-meta: databaseType:bibtex;}
@string{jn = "Neuron"}

@article{KRIEGESKORTE2016280,
title = "Grid Cells for Conceptual Spaces?",
journal = "Neuron",
volume = "92",
number = "2",
pages = "280 - 284",
year = "2016",
issn = "0896-6273",
doi = "https://doi.org/10.1016/j.neuron.2016.10.006",
url = "http://www.sciencedirect.com/science/article/pii/S0896627316307395",
author = "Nikolaus Kriegeskorte and Katherine R. Storrs",
abstract = "Grid cells encode an animal's location."
}

@ARTICLE{Tingley2020,
author={Tingley, M.W. and Stillman, A.N.},
title={Black-backed woodpecker occupancy in burned and beetle-killed forests: {D}isturbance agent matters},
journal={Forest Ecology and Management},
year={2020},
volume={455},
doi={10.1016/j.foreco.2019.117694},
art_number={117694},
url={https://www.scopus.com/inward/record.uri?eid=2-s2.0-85074800841&doi=10.1016%2fj.foreco.2019.117694},
author_keywords={Bark beetle; Occupancy},
document_type={Article},
source={Scopus},
}

@inproceedings{ ISI:000086967200001,
Author = {Kim, S. and M{\"u}ller, J{\"o}rg},
Title = {{Supervenience and causation: A probabilistic approach}},
Booktitle = {{PROCEEDINGS}},
Year = {{2000}},
Pages = {245--259},
Unique-ID = {{WOS:000086967200001}},
Language = {{English}},
}

@article{barrett2001dinosaurs,
  title={Did dinosaurs invent flowers? Dinosaur--angiosperm coevolution revisited},
  author={Barrett, Paul M and Willis, Katherine J},
  journal={Biological Reviews},
  volume={76}, number={3}, pages={411--447}, year={2001},
  publisher={Cambridge University Press}
}
"""


def test_every_dialect_maps_onto_the_record_model():
    result = parse_export(BIB, "refs.bib")
    assert result.format == "bibtex" and result.quarantined == []
    sd, scopus, wos, scholar = (i.record for i in result.records)
    assert (sd.record_id, sd.pub_year, sd.journal, sd.pages, sd.abstract) == (
        "doi:10.1016/j.neuron.2016.10.006",
        2016,
        "Neuron",
        "280 - 284",
        "Grid cells encode an animal's location.",
    )
    assert [a.display_name for a in sd.authors] == ["Nikolaus Kriegeskorte", "Katherine R. Storrs"]
    assert (
        scopus.title
        == "Black-backed woodpecker occupancy in burned and beetle-killed forests: Disturbance agent matters"
    )
    assert dict(scopus.ids) == {"doi": "10.1016/j.foreco.2019.117694", "scopus": "2-s2.0-85074800841"}
    assert scopus.keywords == ("Bark beetle", "Occupancy") and scopus.publication_types == ("Journal Article",)
    assert [a.display_name for a in wos.authors] == ["Kim S", "Müller J"]
    assert (wos.record_id, wos.pages, wos.languages, wos.publication_types) == (
        "wos:000086967200001",
        "245-259",
        ("eng",),
        ("Congress",),
    )
    assert scholar.title == "Did dinosaurs invent flowers? Dinosaur–angiosperm coevolution revisited"
    assert scholar.record_id.startswith("import:") and scholar.abstract == ""
    assert [i.line for i in result.records] == [5, 19, 33, 43]


def test_an_entry_that_never_closes_is_set_aside_and_the_next_read():
    text = "@article{a,\n title={Cut {short\n\n@article{b,\n title={A whole entry here},\n year={2019}\n}\n"
    result = parse_export(text, "cut.bib")
    assert [i.record.title for i in result.records] == ["A whole entry here"]
    assert [q.reason for q in result.quarantined] == [
        "cut.bib, line 1, record 1: the entry's braces never close (the file may be cut short)"
    ]


def test_latex_accents_and_escapes():
    assert latex_to_text(r"M{\"u}ller \& Co --- {RNA} Fran\c{c}ois \'{e}t\'e") == "Müller & Co — RNA François été"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_after_an_entry_start_never_raises(tail):
    result = parse_export("@article{k,\n title={T},\n" + tail, "fuzz.bib", "bibtex")
    assert all(i.record.title for i in result.records)
