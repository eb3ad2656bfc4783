"""Abbreviation propagation: "treatment-resistant depression (TRD) ... TRD" makes every TRD a DISEASE.

Definitions are found with the Schwartz–Hearst algorithm (Schwartz & Hearst, PSB 2003):

1. A candidate is "long form (short form)": the parenthesised text has at most two words and ten
   characters, starts with a letter or digit and contains a letter.
2. The long form is searched backwards in the text before the bracket (at most
   min(len(short) + 5, 2 * len(short)) words, within the same sentence): every letter or digit of
   the short form, right to left, must occur in order, and its first character must start a word.
   The shortest text that satisfies this is the long form.

When the long form is exactly an entity already found (by the model or the lexicon), every
occurrence of the short form in the document (whole tokens, case-sensitive) becomes an entity with
the long form's label, canonical form and identifier, and source "abbreviation", replacing any
entity it overlaps: a definition in the paper outranks a general-purpose guess about the same
letters. Two exceptions keep the review's concepts: an occurrence inside a longer lexicon entity
("NMDA" in "NMDA receptor") stays part of it; and a definition written inside a lexicon term
("N-methyl-D-aspartate (NMDA) receptor antagonist", the term being "NMDA receptor antagonist" or
"N-methyl-D-aspartate receptor ...") becomes that term's entity and defines nothing, so NMDA does not
become the chemical N-methylaspartate everywhere.

A short form defined for a measuring instrument or a procedure that is no entity ("Cohen-Mansfield
Agitation Inventory (CMAI)", "Positive and Negative Syndrome Scale (PANSS)", "deep brain stimulation
(DBS)": the long form ends in Scale, Inventory, Questionnaire, Test, Task, Index, Assessment,
Tomography, Imaging, Stimulation, Therapy, ... `INSTRUMENT_OR_PROCEDURE`) names that, so the model's
mentions of it in the document are dropped (CMAI was a gene, PANSS a disease); one the lexicon lists
is an entity (OUTCOME_SCALE, TREATMENT) and propagates as one.

Limits: only the "long (short)" order is detected, not "short (long)"; other definitions whose long
form is not an entity are ignored; the scope is one Doc, so the caller should pass a whole record
(title and abstract) as one Doc for definitions to reach later sections.
"""

import re

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.extraction.components.linker import register_extensions
from pipeline.extraction.linking import name_key, vocabulary_of

_PAREN = re.compile(r"\(([^()]{1,12})\)")
# The last word of a measuring instrument's or a procedure's name ("... Rating Scale", "... Inventory",
# "Forced Swim Test", "positron emission tomography", "deep brain stimulation", "enzyme replacement
# therapy", "adjuvant chemotherapy"): what its short form names is no chemical, disease or gene.
INSTRUMENT_OR_PROCEDURE = re.compile(
    r"\b(scale|inventory|questionnaire|test|task|index|score|checklist|interview|battery|assessment"
    r"|examination|survey|rating|tomography|imaging|resonance|spectroscopy|stimulation|\w*therapy)s?\W*$",
    re.IGNORECASE,
)
MAX_COMPOUND_TAIL = 4  # words after "(short)" that may complete a lexicon term


def find_long_form(short: str, text: str) -> int | None:
    """Schwartz–Hearst: the start index in `text` of the long form for `short`, or None.

    `text` is what precedes the bracket (trailing spaces removed), already cut to the word window.
    """
    s = len(short) - 1
    i = len(text) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        # The first short-form character must also begin a word of the long form.
        while i >= 0 and (text[i].lower() != c or (s == 0 and i > 0 and text[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    start = i + 1
    # Extend to the start of that word (the long form begins on a word boundary).
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return start


def is_short_form(candidate: str) -> bool:
    words = candidate.split()
    return (
        0 < len(words) <= 2
        and 2 <= len(candidate) <= 10
        and candidate[0].isalnum()
        and any(c.isalpha() for c in candidate)
    )


def definitions(doc: Doc) -> list[tuple[Span, Span]]:
    """(short form span, long form span) pairs defined in `doc`, both aligned to tokens."""
    pairs = []
    text = doc.text
    for match in _PAREN.finditer(text):
        short = match.group(1).strip()
        if not is_short_form(short):
            continue
        short_start = match.start(1) + match.group(1).index(short)
        short_span = doc.char_span(short_start, short_start + len(short))
        if short_span is None:
            continue
        # The window: the current sentence up to the bracket, at most N words.
        sent_start = doc[short_span.start].sent.start_char if doc.has_annotation("SENT_START") else 0
        before = text[sent_start : match.start()].rstrip()
        n_words = min(len(short) + 5, 2 * len(short))
        words = list(re.finditer(r"\S+", before))[-n_words:]
        if not words:
            continue
        window_start = words[0].start()
        long_start = find_long_form(short, before[window_start:])
        if long_start is None:
            continue
        long_span = doc.char_span(sent_start + window_start + long_start, sent_start + len(before))
        if long_span is not None and long_span.text != short:
            pairs.append((short_span, long_span))
    return pairs


class AbbreviationPropagator:
    """Gives every occurrence of a defined short form its long form's label, canonical form and
    identifier, except where a longer lexicon entity already covers the occurrence."""

    def __init__(self, nlp: Language, name: str = "abbreviations"):
        self.name = name
        self.forms: dict[str, tuple[str, str]] = {}  # name_key(form) -> (class, term)
        self.term_ids: dict[tuple[str, str], str] = {}  # (class, term) -> identifier
        register_extensions()

    def set_lexicon(self, table: dict[tuple[str, str], str], ids: dict[tuple[str, str], str] | None = None) -> None:
        """Use the lexicon's (class, lower-cased form) -> term table (lexicon.lookup_table) and its
        (class, term) -> identifier table, to recognise definitions inside a longer lexicon term."""
        self.forms = {}
        for (label, form), term in table.items():
            self.forms.setdefault(name_key(form), (label, term))
        self.term_ids = dict(ids or {})

    def _compound(self, doc: Doc, short: Span, long: Span) -> tuple[Span, str, str] | None:
        """A lexicon term written around the definition: "N-methyl-D-aspartate (NMDA) receptor" is
        the term "N-methyl-D-aspartate receptor" (or "NMDA receptor") with the short form inserted.
        Returns (span from the long form to the term's last word, class, term), longest first."""
        close = short.end
        if not self.forms or close >= len(doc) or doc[close].text != ")":
            return None
        for k in range(min(MAX_COMPOUND_TAIL, len(doc) - close - 1), 0, -1):
            tail = doc[close + 1 : close + 1 + k]
            if any(t.is_sent_start or not t.text.isalnum() for t in tail):
                continue
            for head in (long.text, short.text):
                hit = self.forms.get(name_key(f"{head} {tail.text}"))
                if hit:
                    return Span(doc, long.start, tail.end), hit[0], hit[1]
        return None

    def __call__(self, doc: Doc) -> Doc:
        ents = {(e.start_char, e.end_char): e for e in doc.ents}
        new_spans = []  # (span, label, canonical, identifier, source)
        instruments = set()  # short forms that name a measuring instrument or a procedure
        for short, long in definitions(doc):
            compound = self._compound(doc, short, long)
            if compound is not None:
                span, label, term = compound
                new_spans.append((span, label, term, self.term_ids.get((label, term), ""), "lexicon"))
                continue  # the short form names part of the concept, not the long form alone
            entity = ents.get((long.start_char, long.end_char))
            if entity is None:
                if INSTRUMENT_OR_PROCEDURE.search(long.text):
                    instruments.add(short.text)
                continue
            canonical = entity._.canonical or entity.text
            words = [t.text for t in short]
            for i in range(len(doc) - len(words) + 1):
                if doc[i].text == words[0] and [t.text for t in doc[i : i + len(words)]] == words:
                    new_spans.append(
                        (doc[i : i + len(words)], entity.label_, canonical, entity._.identifier, "abbreviation")
                    )
        if instruments:
            doc.ents = [e for e in doc.ents if e.text not in instruments or e._.source == "lexicon"]
        if not new_spans:
            return doc
        # A lexicon entity longer than an occurrence ("NMDA receptor" around "NMDA") keeps it: the
        # reviewers' concept outranks the letters' definition.
        covering = [e for e in doc.ents if e._.source == "lexicon"]
        taken = set()
        kept = []
        for span, label, canonical, identifier, source in sorted(new_spans, key=lambda x: x[4] != "lexicon"):
            if source == "abbreviation" and any(
                e.start <= span.start and span.end <= e.end and len(e) > len(span) for e in covering
            ):
                continue
            if any(t in taken for t in range(span.start, span.end)):
                continue  # the same short form defined twice: the first definition wins
            taken.update(range(span.start, span.end))
            kept.append((span, label, canonical, identifier, source))
        others = [e for e in doc.ents if not any(t in taken for t in range(e.start, e.end))]
        created = []
        for span, label, canonical, identifier, source in kept:
            ent = Span(doc, span.start, span.end, label=label)
            ent._.canonical = canonical
            ent._.source = source
            ent._.identifier = identifier
            ent._.vocabulary = vocabulary_of(identifier) if identifier else ""
            created.append(ent)
        doc.ents = sorted(others + created, key=lambda e: e.start)
        return doc


@Language.factory("abbreviations")
def make_abbreviations(nlp: Language, name: str) -> AbbreviationPropagator:
    return AbbreviationPropagator(nlp, name)
