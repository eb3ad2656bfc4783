"""highlight: the (text, kind) pieces the screening page marks, with overlapping spans (a protein
nested over its chemical, a configured term over a mention) resolved one way."""

from hypothesis import given
from hypothesis import strategies as st

from pipeline.models import Mention
from pipeline.workspace.highlight import mention_spans, pieces, term_spans

TEXT = "Inducible NO synthase and the NMDA receptor in rats."


def mention(start: int, end: int, label: str, section: str = "abstract", text: str | None = None) -> Mention:
    return Mention(
        record_id="pmid:1",
        section=section,
        sentence=0,
        start=start,
        end=end,
        text=TEXT[start:end] if text is None else text,
        label=label,
        canonical=TEXT[start:end].lower(),
    )


def test_a_nested_mention_gives_way_to_the_protein_around_it():
    mentions = [mention(0, 21, "GENE"), mention(10, 12, "DRUG"), mention(30, 34, "DRUG"), mention(30, 43, "GENE")]
    assert pieces(TEXT, mention_spans(TEXT, "abstract", mentions)) == [
        ("Inducible NO synthase", "GENE"),
        (" and the ", ""),
        ("NMDA receptor", "GENE"),
        (" in rats.", ""),
    ]


def test_a_configured_term_wins_over_a_mention_at_the_same_place():
    spans = term_spans(TEXT, ["nmda receptor", "rat"], "include") + [(30, 43, "GENE")]
    assert pieces(TEXT, spans) == [
        ("Inducible NO synthase and the ", ""),
        ("NMDA receptor", "include"),
        (" in rats.", ""),  # whole words only: "rat" does not mark "rats"
    ]


def test_mentions_of_another_section_or_with_stale_offsets_are_not_marked():
    mentions = [mention(0, 21, "GENE", section="title"), mention(30, 43, "GENE", text="NMDA receptors")]
    assert mention_spans(TEXT, "abstract", mentions) == []


spans = st.lists(
    st.tuples(st.integers(0, len(TEXT)), st.integers(1, 25), st.sampled_from(["GENE", "DRUG", "include"])).map(
        lambda t: (t[0], min(len(TEXT), t[0] + t[1]), t[2])
    ),
    max_size=8,
)


@given(spans)
def test_pieces_give_back_the_whole_text_once_whatever_the_overlaps(found):
    out = pieces(TEXT, [s for s in found if s[0] < s[1]])
    assert "".join(text for text, _ in out) == TEXT
    assert all(text for text, _ in out)
