"""Junk removal: the last component, dropping or repairing entities no reviewer wants.

Each rule names a class of mistake the model or the dictionaries make on abstracts:

- `no-letters`: a mention without a letter ("·", the Lancet decimal point; "5", "(+/-)");
- `registry-id`: trial registry numbers, accession numbers and DOIs (NCT03667690, ISRCTN12345678,
  ACTRN12618001234567, EudraCT 2015-001234-12, CRD42020123456, 10.1016/...);
- `bracket`: a span with an unbalanced bracket ("ketamine (KET", "depression)") is cut at the
  bracket, keeping the piece with more letters; dropped when nothing with letters is left on a
  token boundary;
- `classification`: a diagnostic manual or classification named alone ("DSM-IV", "DSM-5", "ICD-10",
  "ICD-9-CM"), which the model took for a disease or a gene; "DSM-IV bipolar I" is left whole;
- `figure-reference`: "Fig", "Figure" or "Figure 1" ("Fig" of "Fig 1", "Figure B"), which the model
  took for a gene or a drug in conference abstracts;
- `scale-fragment`: an upper-case model mention of letters only, followed by a hyphen, one capital
  and digits ("HAM" of "HAM-D17", "HAM-A"): the scale names themselves are OUTCOME_SCALE terms in
  the lexicon. Gene symbols with digits ("FOXP3-positive"), "MMP-2" and linked mentions ("GABA" of
  "GABA-A receptor") are not touched: no gold mention of the three corpora matches this rule.
- `stop-word`: a model or dictionary DRUG/DISEASE/GENE whose whole text is a common English word
  the dictionaries carry ("marine", "guideline", "bias"): `STOP_WORDS`, each found on ketamine
  abstracts or the shared PubMed records (tests/extraction/test_junk.py counts them).

Lexicon entities are never dropped by the stop list: a reviewer listed them on purpose. `JUNK_RULES`
and `junk_reason` are pure and usable on any text; the component applies them to `doc.ents`.
"""

import re

from spacy.language import Language
from spacy.tokens import Doc, Span

REGISTRY = re.compile(
    r"^(NCT\d{8}|ISRCTN\d{6,}|ACTRN\d{10,}|ChiCTR[-\w]*\d{6,}|CTRI/\d{4}/\d+/\d+|DRKS\d{6,}|IRCT\w*\d{6,}"
    r"|UMIN\d{6,}|JPRN-\w+|EUCTR[-\w]+|(EudraCT\s*)?\d{4}-\d{6}-\d{2}|CRD\d{8,}|PACTR\d{10,}|NTR\d{3,}"
    r"|KCT\d{7}|TCTR\d{8,}|10\.\d{4,}/\S+|PMC\d+|GSE\d+|SRP\d+|PRJNA\d+)$",
    re.IGNORECASE,
)
CLASSIFICATION = re.compile(r"^(DSM|ICD)([-\s]?(5|[IVX]+|\d{1,2}))?([-\s]?(TR|R|CM|PCS))*$")
FIGURE = re.compile(r"^(Fig|Figs|Figure|Figures)\.?(\s*\d+[a-zA-Z]?|\s+[A-Z])?$")  # not "FIG", a gene alias
# Letters+digits run on from a registry prefix also show up as fragments ("NCT0366", "ISRCTN")
REGISTRY_PREFIX = re.compile(r"^(NCT|ISRCTN|ACTRN|ChiCTR|DRKS|UMIN|CRD|EudraCT|PROSPERO)\d*$", re.IGNORECASE)
# Found as DRUG/DISEASE on ketamine abstracts (marine, guideline: issue 18) and on the 1,865 shared
# PubMed records (mention counts: "bias" 35, from "risk of bias"; "attitudes" 21; "endothelium" 21,
# a tissue tagged DRUG).
STOP_WORDS = frozenset({"marine", "guideline", "guidelines", "bias", "biases", "attitudes", "attitude", "endothelium"})
_LETTER = re.compile(r"[^\W\d_]")
_HYPHEN_ACRONYM_TAIL = re.compile(r"^-[A-Z]\d*\b")  # "-D17", "-A", "-D": a scale's letter and item count


def junk_reason(text: str, label: str, source: str = "model", after: str = "", identifier: str = "") -> str:
    """Why a mention is junk ("no-letters", "registry-id", "classification", "figure-reference",
    "scale-fragment", "stop-word") or "" when it is not. `after` is the document text that follows
    the mention; `identifier` the concept it was linked to (a linked mention is never a scale
    fragment: "GABA" of "GABA-A receptor").
    Brackets are repaired separately (`balanced_span`)."""
    stripped = text.strip()
    if not _LETTER.search(stripped):
        return "no-letters"
    if REGISTRY.match(stripped) or REGISTRY_PREFIX.match(stripped):
        return "registry-id"
    if CLASSIFICATION.match(stripped):
        return "classification"
    if FIGURE.match(stripped):
        return "figure-reference"
    if (
        source != "lexicon"
        and not identifier
        and stripped.isalpha()
        and stripped.isupper()
        and 2 <= len(stripped) <= 5
        and _HYPHEN_ACRONYM_TAIL.match(after)
    ):
        return "scale-fragment"
    if source != "lexicon" and stripped.lower() in STOP_WORDS:
        return "stop-word"
    return ""


_PAIRS = {")": "(", "]": "[", "}": "{"}
_BRACKET = re.compile(r"[()\[\]{}]")


def balanced_span(text: str) -> tuple[int, int]:
    """(start, end) of the part of `text` with balanced brackets: the text is cut at every bracket
    without a partner and the piece with the most letters is kept (the first on a tie), spaces
    trimmed. (0, len(text)) when already balanced; (0, 0) when no piece has a letter."""
    unmatched: list[int] = []
    stack: list[tuple[str, int]] = []
    for i, c in enumerate(text):
        if c in "([{":
            stack.append((c, i))
        elif c in _PAIRS:
            if stack and stack[-1][0] == _PAIRS[c]:
                stack.pop()
            else:
                unmatched.append(i)
    unmatched = sorted(unmatched + [i for _, i in stack])
    if not unmatched:
        return 0, len(text)
    bounds = [-1, *unmatched, len(text)]
    pieces = [(bounds[k] + 1, bounds[k + 1]) for k in range(len(bounds) - 1)]
    start, end = max(pieces, key=lambda p: (len(_LETTER.findall(text[p[0] : p[1]])), -p[0]))
    if not _LETTER.search(text[start:end]):
        return 0, 0
    inner_start, inner_end = balanced_span(text[start:end])  # a pair split by the cut
    start, end = start + inner_start, start + inner_end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class JunkFilter:
    """Drops or repairs junk entities; counts what it dropped per reason in `self.dropped`."""

    def __init__(self, nlp: Language, name: str = "junk_filter"):
        self.name = name
        self.dropped: dict[str, int] = {}

    def __call__(self, doc: Doc) -> Doc:
        ents = []
        changed = False
        for ent in doc.ents:
            start, end = balanced_span(ent.text) if _BRACKET.search(ent.text) else (0, len(ent.text))
            if (start, end) != (0, len(ent.text)):
                changed = True
                repaired = doc.char_span(ent.start_char + start, ent.start_char + end) if end > start else None
                if repaired is None or not _LETTER.search(repaired.text):
                    self._count("bracket")
                    continue
                new = Span(doc, repaired.start, repaired.end, label=ent.label_)
                for ext in ("canonical", "source", "identifier", "vocabulary"):
                    if Span.has_extension(ext):
                        setattr(new._, ext, getattr(ent._, ext))
                ent = new
            text = ent.text
            if text.lower() in STOP_WORDS or (len(text) <= 5 and text.isalpha() and text.isupper()):
                # Only these can be stop words or scale fragments: read the extensions and the
                # following text for them alone (both cost more than the rules themselves).
                source = (ent._.source if Span.has_extension("source") else "") or "model"
                identifier = ent._.identifier if Span.has_extension("identifier") else ""
                # What follows the mention, from the tokens (doc.text would rebuild the whole text).
                after = ent[-1].whitespace_ + doc[ent.end : ent.end + 3].text if ent.end < len(doc) else ""
                reason = junk_reason(text, ent.label_, source, after, identifier)
            else:
                reason = junk_reason(text, ent.label_, "lexicon")  # the rules for every source
            if reason:
                changed = True
                self._count(reason)
                continue
            ents.append(ent)
        if changed:
            doc.ents = ents
        return doc

    def _count(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


@Language.factory("junk_filter")
def make_junk_filter(nlp: Language, name: str) -> JunkFilter:
    return JunkFilter(nlp, name)
