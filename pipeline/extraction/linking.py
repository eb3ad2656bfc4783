"""Entity linking: mention text -> MeSH, NCBI Gene (or OMIM/DrugBank) identifier, from committed vocabularies.

The vocabularies live in `pipeline/extraction/vocabularies/` as gzipped TSV files written by
`python -m training.build_vocabularies` (their provenance and licences: PROVENANCE.md there). Each
line is `type<TAB>name<TAB>identifier<TAB>weight` (the name already in `name_key` form); `type` is
one of the model's types (Chemical, Disease, Gene/Protein), `weight` how often the corpus linked
that name to that identifier (HGNC: 3 for a symbol, 2 a name, 1 an alias; 1 for other dictionary
entries). `names.tsv.gz` gives each identifier's preferred name.

Lookup of one mention, first rule that applies (see `Linker.link`):

1. the name is normalised (`name_key`: case, Greek letters spelled out, hyphens, dashes and spaces
   unified, British spellings in their American form: "anaemia", "tumours", "sulphate");
2. the vocabularies are consulted in the order `SOURCES` gives for the type (chemicals: train-split
   names, MeSH descriptor names, drugs; diseases: train-split names, MeSH descriptor names, the
   disease dictionary; genes: HGNC, train-split names); the first one that knows the name decides.
   The name's forms are tried in turn (`lookup_forms`): as written in every source, then its
   other grammatical number ("nitrite" finds MeSH's "Nitrites", "anomalies" "anomaly"; genes
   only singular; diseases not among MeSH's descriptor names, `AS_WRITTEN_ONLY`), then, for a
   gene, a letter and a number joined ("ADAM-10" finds HGNC's "ADAM10"). The first
   form known decides for a chemical or a disease; a gene takes the first form that gives it a
   gene of the document's species;
3. within a source, a name with one identifier links to it; a name with several links to the one
   the source clearly prefers (the corpus linked it that way at least `DOMINANCE` of the time),
   else to the one of them a later source gives that name, if it gives exactly one (the curators
   split "hypothermia" between two headings; MeSH's own name settles it);
   for genes, the species the document names most decides (`species_of`: "human" unless mice, rats
   or another organism outnumber people). In a human document a human gene (HGNC) wins, and a name
   only the train split links, to a mouse or rat gene, stays unlinked. In a mouse or
   rat document the gene of that species is taken: a name the train split linked to that species'
   gene (`species_genes`), else the mouse or rat ortholog of the human gene the name means
   (`gene_orthologs`: pairs the train split shows, "Dll4" in mice is 54485 where human DLL4 is
   54567); in another organism's document, a non-human gene the train split linked the name to.
   When the species' gene is unknown the mention stays unlinked rather than take the human id;
   anything else ambiguous is left unlinked too — a name is never linked at random;
4. a chemical or disease name the train split annotates as one mention of several concepts links
   to all of them, as the curators did ("hemorrhagic cystitis" -> "MESH:D006470|MESH:D003556",
   Hemorrhage and Cystitis), through the same rules (the corpus's composite is one identifier);
   a chemical or disease name still unknown that coordinates several ("ovarian and breast
   carcinoma", "cleft lip and palate", "nausea and vomiting") links to the identifiers of its
   conjuncts, joined with "|" as PubTator writes composite mentions ("MESH:D010051|MESH:D001943"),
   when each conjunct links (`coordination_readings`; a conjunct is not looked up among MeSH's
   descriptor names as a disease, which would make "liver" in "liver and skin" one).

Limits: exact matches of normalised names only (no fuzzy or embedding similarity); a name never seen
in the train splits or the dictionaries stays unlinked; species are guessed from words in the
document ("mice", "rat"), not from a species tagger; mouse and rat genes are known only through
BioRED's train split (no MGI or RGD table can be installed here).
"""

from __future__ import annotations

import gzip
import logging
import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

VOCABULARY_DIR = Path(__file__).resolve().parent / "vocabularies"
# Per type, the vocabulary files in the order they are trusted. The corpus file comes first: it
# holds the curators' own choices (ketamine is D007649, the drug, not the class heading).
SOURCES = {
    "Chemical": ("corpus_train", "mesh_descriptors", "drugs"),
    "Disease": ("corpus_train", "mesh_descriptors", "mesh_diseases"),
    "Gene/Protein": ("hgnc_genes", "corpus_train"),
}
DOMINANCE = 0.75
# mesh_descriptors holds every MeSH heading under both types (the package gives no tree), so a
# disease is looked up there only as written: another form of it finds drug classes and procedures
# ("hemostatic" -> Hemostatics, "injection" -> Injections).
AS_WRITTEN_ONLY = {("Disease", "mesh_descriptors")}
# Sources a conjunct of a coordinated name is not looked up in: MeSH's descriptor names hold organs
# too, so "liver and skin" or "breast or ovarian cancer" would link "liver" or "breast" as diseases.
NOT_FOR_CONJUNCTS = {("Disease", "mesh_descriptors")}
# For the same reason a disease found among MeSH's headings links only to a heading that one of
# these sources knows as a disease: "gastric mucosa", "optic nerve" or "hemostasis", tagged Disease
# by the model's mistake, would link to an organ or a physiological process.
KNOWN_AS = {("Disease", "mesh_descriptors"): ("corpus_train", "mesh_diseases")}
# Bumped whenever extraction code changes what it finds, so stored mentions are recomputed.
EXTRACTOR_VERSION = "13"
VOCABULARY_NAMES = {"MESH": "MeSH", "NCBIGene": "NCBI Gene", "OMIM": "OMIM", "DrugBank": "DrugBank"}

GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ω": "omega",
    "θ": "theta",
    "σ": "sigma",
    "τ": "tau",
    "ζ": "zeta",
    "η": "eta",
    "ι": "iota",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
}
_GREEK_RE = re.compile("|".join(GREEK))
# British spellings in their American form, the one MeSH and the dictionaries use ("anaemia",
# "tumours", "oestrogen", "sulphate", "leucocytoclastic"); rules that only shorten a word or swap a
# letter, applied until nothing changes, so `name_key` stays idempotent.
_BRITISH = {
    "haem": "hem",
    "aemi": "emi",
    "anaesth": "anesth",
    "paed": "ped",
    "gynaec": "gynec",
    "caesar": "cesar",
    "aetiol": "etiol",
    "oedem": "edem",
    "oesophag": "esophag",
    "oestr": "estr",
    "foet": "fet",
    "rhoea": "rhea",
    "noea": "nea",
    "coeliac": "celiac",
    "sulph": "sulf",
    "leucocyt": "leukocyt",
    "leucopen": "leukopen",
    "aluminium": "aluminum",
    "isation": "ization",
}
_BRITISH_RE = re.compile("|".join(sorted(_BRITISH, key=len, reverse=True)) + r"|(?<=[a-z]{3})our(?=s?\b)")
_CONJUNCTIONS = {"and", "or", "and/or", ",", "/", "&"}
_COORDINATION_SPLIT = re.compile(r"(,|(?<=[^\W\d])/(?=[^\W\d]))")
COMPOSITE_SEPARATOR = "|"  # between the identifiers of a coordinated mention, as PubTator writes them
COMPOSITE_NAME_SEPARATOR = " | "
_LETTER_DIGIT_SPACE = re.compile(r"(?<=[a-z]) (?=[0-9])")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_/,]+")
# Words naming each organism (`species_of`); "other" is any organism without a gene table here.
_ORGANISMS = {
    "mouse": re.compile(r"\b(mice|mouse|murine)\b", re.IGNORECASE),
    "rat": re.compile(r"\b(rats?)\b", re.IGNORECASE),
    "other": re.compile(
        r"\b(zebrafish|drosophila|yeast|xenopus|E\. coli|Escherichia|Saccharomyces|bacteri(?:a|al|um)|rabbits?)\b",
        re.IGNORECASE,
    ),
}
# Per-species vocabularies the gene rule reads besides SOURCES (their `type` column is the species).
SPECIES_VOCABULARIES = ("species_genes", "gene_orthologs")
_HUMAN = re.compile(r"\b(human|humans|patients?|participants?|subjects|women|men|children|adults?)\b", re.IGNORECASE)


@lru_cache(maxsize=200_000)
def name_key(text: str) -> str:
    """The form names are compared in: lower case, Greek letters spelled out, NFKC, and every run of
    hyphens, dashes, slashes, commas, underscores or spaces as one space.

    >>> name_key("TNF-α") == name_key("TNF alpha") == name_key("tnf–alpha")
    True
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _GREEK_RE.sub(lambda m: GREEK[m.group(0)], text)
    text = text.replace("'", "").replace("’", "")
    text = _SEPARATORS.sub(" ", text).strip(" .;:")
    while True:
        american = _BRITISH_RE.sub(lambda m: _BRITISH.get(m.group(0), "or"), text)
        if american == text:
            return text
        text = american


def number_forms(key: str, type_: str) -> list[str]:
    """The forms a name is looked up in: as written, then singular ("anomalies" -> "anomaly",
    "metastases" -> "metastasis", "nitrites" -> "nitrite") or, for chemicals and diseases, plural:
    MeSH names many headings in the plural ("Nitrites", "Placebos"). Gene symbols are never
    pluralised ("ca" does not find "CAS")."""
    forms = [key]
    if len(key) > 3 and key.endswith("s"):
        if key.endswith("ies"):
            forms.append(key[:-3] + "y")
        elif key.endswith("ses"):
            forms.append(key[:-2] + "is")
        forms.append(key[:-1])
    elif type_ in ("Chemical", "Disease") and len(key) > 3:
        forms.append(key[:-1] + "ies" if key.endswith("y") else key + "s")
    return forms


def lookup_forms(key: str, type_: str) -> list[str]:
    """The forms of a name the linker tries, in order: `number_forms`, then, for a gene whose name
    has a letter followed by a number, the two joined ("adam 10" -> "adam10", "hif 1a" -> "hif1a":
    the text's "ADAM-10" is HGNC's "ADAM10"; chemicals and diseases gained nothing from it)."""
    forms = number_forms(key, type_)
    joined = _LETTER_DIGIT_SPACE.sub("", key) if type_ == "Gene/Protein" else key
    return forms + ([joined] if joined != key else [])


def coordination_readings(text: str) -> Iterator[list[str]]:
    """The ways a coordinated name ("A and B", "A, B or C", "A/B") may be read as several names:
    first sharing the last conjunct's final words ("ovarian and breast carcinoma" -> "ovarian
    carcinoma", "breast carcinoma"; "diabetic and toxic neuropathy"), then the first conjunct's
    leading words ("cleft lip and palate" -> "cleft lip", "cleft palate"), fewest shared words
    first; last the conjuncts as written ("nausea and vomiting"). Nothing for a name with no
    "and", "or", comma or slash between words."""
    words = _COORDINATION_SPLIT.sub(r" \1 ", text).split()
    conjuncts: list[list[str]] = [[]]
    for word in words:
        if word.lower() in _CONJUNCTIONS:
            if conjuncts[-1]:
                conjuncts.append([])
        else:
            conjuncts[-1].append(word)
    if len(conjuncts) < 2 or not all(conjuncts):
        return
    first, last = conjuncts[0], conjuncts[-1]
    for shared in range(1, len(last)):
        head = last[-shared:]
        yield [" ".join(c + head) for c in conjuncts[:-1]] + [" ".join(last)]
    for shared in range(1, len(first)):
        modifier = first[:shared]
        yield [" ".join(first)] + [" ".join(modifier + c) for c in conjuncts[1:]]
    yield [" ".join(c) for c in conjuncts]


def vocabulary_of(identifier: str) -> str:
    """The vocabulary an identifier belongs to, from its prefix ("MESH:D007649" -> "MeSH"); of a
    composite identifier, each vocabulary once ("MESH:D1|OMIM:2" -> "MeSH|OMIM")."""
    vocabularies = []
    for part in identifier.split(COMPOSITE_SEPARATOR):
        prefix = part.split(":", 1)[0] if ":" in part else ""
        vocabularies.append(VOCABULARY_NAMES.get(prefix, prefix))
    return COMPOSITE_SEPARATOR.join(dict.fromkeys(vocabularies))


def corpus_identifier(raw: str, corpus_type: str) -> str:
    """A corpus id in our prefixed form: "D007649" -> "MESH:D007649", Gene "2903" -> "NCBIGene:2903",
    "OMIM:1234" kept; "" for the corpora's "-1" (unlinkable) or an empty id."""
    raw = raw.strip()
    if raw in ("", "-1", "-"):
        return ""
    if ":" in raw:
        prefix, value = raw.split(":", 1)
        return f"{'MESH' if prefix.upper() == 'MESH' else prefix}:{value}"
    if corpus_type == "Gene/Protein":
        return f"NCBIGene:{raw}"
    return f"MESH:{raw}"


def split_identifiers(raw: str) -> list[str]:
    """The parts of a composite corpus id: BC5CDR and NCBI-disease join them with "|" (and NCBI-disease
    also "+"), BioRED with ","; "-1" and empty parts are dropped."""
    return [p for p in re.split(r"[|+,;]", raw) if p.strip() not in ("", "-1", "-")]


@dataclass(frozen=True)
class Link:
    identifier: str
    name: str  # the identifier's preferred name

    @property
    def vocabulary(self) -> str:
        return vocabulary_of(self.identifier)


class Vocabulary:
    """One source's name -> {identifier: weight} table for each type.

    Stored compactly (a few hundred thousand names): the key is "type<TAB>name", and a name with one
    identifier of weight 1 keeps just the identifier string; only the others keep a dict.
    """

    def __init__(self, name: str):
        self.name = name
        self.entries: dict[str, str | dict[str, float]] = {}

    def add(self, type_: str, name: str, identifier: str, weight: float = 1.0, keyed: bool = False) -> None:
        """Add one entry; `keyed` when `name` is already in name_key form (the vocabulary files)."""
        key = name if keyed else name_key(name)
        if not key:
            return
        slot = f"{type_}\t{key}"
        held = self.entries.get(slot)
        if held is None and weight == 1.0:
            self.entries[slot] = sys.intern(identifier)
            return
        bucket = {held: 1.0} if isinstance(held, str) else (held or {})
        bucket[identifier] = bucket.get(identifier, 0.0) + weight
        self.entries[slot] = bucket

    def candidates(self, type_: str, key: str) -> dict[str, float]:
        """The identifiers of `key` as written, else of its other grammatical number."""
        for form in number_forms(key, type_):
            if hit := self.exact(type_, form):
                return hit
        return {}

    def exact(self, type_: str, key: str) -> dict[str, float]:
        hit = self.entries.get(f"{type_}\t{key}")
        if isinstance(hit, str):
            return {hit: 1.0}
        return hit or {}

    def identifiers(self, type_: str | None = None) -> set[str]:
        """Every identifier, or those of names of `type_`."""
        prefix = f"{type_}\t" if type_ else ""
        return {
            i
            for slot, held in self.entries.items()
            if slot.startswith(prefix)
            for i in ([held] if isinstance(held, str) else held)
        }


def read_tsv(path: Path) -> Iterator[list[str]]:
    """The rows of a gzipped TSV vocabulary file, streamed (comment lines skipped)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip() and not line.startswith("#"):
                yield line.rstrip("\n").split("\t")


class Linker:
    """Links (type, text) to an identifier with the committed vocabularies; see the module docstring."""

    def __init__(self, folder: Path = VOCABULARY_DIR, sources: dict[str, tuple[str, ...]] | None = None):
        self.sources = sources or SOURCES
        self._cache: dict[tuple[str, str, str, bool], str | None] = {}
        self.vocabularies: dict[str, Vocabulary] = {}
        for name in sorted({s for names in self.sources.values() for s in names}):
            vocabulary = Vocabulary(name)
            for row in read_tsv(folder / f"{name}.tsv.gz"):
                vocabulary.add(row[0], row[1], row[2], float(row[3]), keyed=True)
            self.vocabularies[name] = vocabulary
        self.names = {row[0]: row[1] for row in read_tsv(folder / "names.tsv.gz")}
        for name in SPECIES_VOCABULARIES:  # optional: a folder without them links genes human-first only
            if (folder / f"{name}.tsv.gz").is_file():
                vocabulary = Vocabulary(name)
                for row in read_tsv(folder / f"{name}.tsv.gz"):
                    vocabulary.add(row[0], row[1], row[2], float(row[3]), keyed=True)
                self.vocabularies[name] = vocabulary
        human = self.vocabularies.get("hgnc_genes")
        self.human_genes = human.identifiers() if human else set()
        self.known_as = {
            (type_, source): set().union(*(self.vocabularies[k].identifiers(type_) for k in knowing))
            for (type_, source), knowing in KNOWN_AS.items()
            if source in self.vocabularies and all(k in self.vocabularies for k in knowing)
        }
        log.info("linker: %s", ", ".join(f"{n} {len(v.entries)} names" for n, v in self.vocabularies.items()))

    def preferred_name(self, identifier: str) -> str:
        return self.names.get(identifier, "")

    def link(self, type_: str, text: str, context: str = "", species: str | None = None) -> Link | None:
        """The identifier for a mention of `type_` ("Chemical", "Disease", "Gene/Protein") or None.

        `context` (the document's text) tells a gene's species; a caller linking many mentions of
        one document may pass `species_of(context)` as `species` instead, to compute it once."""
        if type_ != "Gene/Protein":
            species = "human"  # only genes depend on the species
        elif species is None:
            species = species_of(context) if context else "human"
        identifier = self._identifier(type_, name_key(text), species)
        if identifier is None and type_ != "Gene/Protein":
            identifier = COMPOSITE_SEPARATOR.join(self._coordinated(type_, text, species)) or None
        if identifier is None:
            return None
        if COMPOSITE_SEPARATOR not in identifier:
            return Link(identifier, self.names.get(identifier, text))
        parts = identifier.split(COMPOSITE_SEPARATOR)
        return Link(identifier, COMPOSITE_NAME_SEPARATOR.join(self.names.get(i, i) for i in parts))

    def _coordinated(self, type_: str, text: str, species: str) -> list[str]:
        """The distinct identifiers of a coordinated name whose whole is unknown: those of the first
        of its `coordination_readings` whose every conjunct links, else none (a mention is never
        given an identifier that names only part of it)."""
        for reading in coordination_readings(text):
            found = [self._identifier(type_, name_key(part), species, conjunct=True) for part in reading]
            if all(found):
                return list(dict.fromkeys(i for f in found for i in f.split(COMPOSITE_SEPARATOR)))
        return []

    def _identifier(self, type_: str, key: str, species: str, conjunct: bool = False) -> str | None:
        cache_key = (type_, key, species, conjunct)
        if cache_key in self._cache:
            return self._cache[cache_key]
        if len(self._cache) > 100_000:
            self._cache.clear()
        sources = self.sources.get(type_, ())
        if conjunct:
            sources = tuple(s for s in sources if (type_, s) not in NOT_FOR_CONJUNCTS)
        found = self._cache[cache_key] = self._lookup(type_, key, species, sources)
        return found

    def _lookup(self, type_: str, key: str, species: str, sources: tuple[str, ...]) -> str | None:
        """The name's forms (`lookup_forms`) in turn; in each, the first source that knows it
        decides. For chemicals and diseases the first form known decides; a gene takes the first
        form that gives the document's species a gene ("HIF-1a" is a mouse gene in BioRED's train
        split, so in a human text its joined form "hif1a" finds human HIF1A)."""
        if not key:
            return None
        for form in lookup_forms(key, type_):
            found, later = self._first_known(type_, form, sources, as_written=form == key)
            if type_ == "Gene/Protein":
                identifier = self._gene(form, found, species) if found or species != "human" else None
                if identifier:
                    return identifier
            elif found:
                return _dominant(found) or self._settled_later(type_, form, found, later)
        return None

    def _first_known(
        self, type_: str, form: str, sources: tuple[str, ...], as_written: bool
    ) -> tuple[dict[str, float], tuple[str, ...]]:
        """The identifiers of `form` in the first source that knows it (among those `KNOWN_AS` allows),
        and the sources after it."""
        for position, source in enumerate(sources):
            if not as_written and (type_, source) in AS_WRITTEN_ONLY:
                continue
            found = self.vocabularies[source].exact(type_, form)
            if (known := self.known_as.get((type_, source))) is not None:
                found = {i: w for i, w in found.items() if i in known}
            if found:
                return found, sources[position + 1 :]
        return {}, ()

    def _settled_later(self, type_: str, key: str, found: dict[str, float], later: tuple[str, ...]) -> str | None:
        """Of a name the curators linked several ways ("hypothermia": D007035 and D007036), the one a
        later source gives that name, if it gives exactly one of them (MeSH's own heading)."""
        for source in later:
            among = set(self.vocabularies[source].exact(type_, key)) & set(found)
            if len(among) == 1:
                return next(iter(among))
        return None

    def _gene(self, key: str, found: dict[str, float], species: str) -> str | None:
        corpus = self.vocabularies.get("corpus_train")
        seen = corpus.candidates("Gene/Protein", key) if corpus else {}
        if species != "human":
            return self._non_human_gene(key, found, seen, species)
        return self._human_gene(found, seen)

    def _human_gene(self, found: dict[str, float], seen: dict[str, float]) -> str | None:
        human = {i: w for i, w in found.items() if i in self.human_genes}
        if len(human) == 1:
            return next(iter(human))
        if len(human) > 1:
            # A name shared by several human genes: the approved symbol outweighs aliases (weights
            # 3 and 1); failing that, the corpus's choice if it made one among them.
            return _dominant(human) or _dominant({i: w for i, w in seen.items() if i in human})
        # A human text takes no mouse or rat id, even one the corpus gave the name; without a human
        # gene table (a corpus-only linker) the ids cannot be told apart and the corpus decides.
        return None if self.human_genes else _dominant(found)

    def _non_human_gene(self, key: str, found: dict[str, float], seen: dict[str, float], species: str) -> str | None:
        own = self.vocabularies.get("species_genes")
        named = own.candidates(species, key) if own else {}
        if named:
            return _dominant(named)
        if species == "other" or "species_genes" not in self.vocabularies:
            other = {i: w for i, w in seen.items() if i not in self.human_genes}
            if other:
                return _dominant(other)
            if "species_genes" not in self.vocabularies:  # no species tables: human first, as before
                return self._human_gene(found, seen)
            return None
        orthologs = self.vocabularies.get("gene_orthologs")
        human = self._human_gene(found, seen)
        if human and orthologs:
            return _dominant(orthologs.candidates(species, human))
        return None


def _dominant(found: dict[str, float]) -> str | None:
    if not found:
        return None
    total = sum(found.values())
    best, weight = max(sorted(found.items()), key=lambda kv: kv[1])
    return best if weight / total >= DOMINANCE else None


def species_of(context: str) -> str:
    """The organism whose genes a text means: "mouse", "rat" or "other" when the words naming
    that organism ("mice", "rats", "zebrafish") outnumber those naming people and the other
    organisms' (ties go to mouse, then rat), else "human"."""
    counts = {name: len(pattern.findall(context)) for name, pattern in _ORGANISMS.items()}
    if sum(counts.values()) > len(_HUMAN.findall(context)):
        return max(counts, key=lambda name: counts[name])
    return "human"


@lru_cache(maxsize=1)
def default_linker() -> Linker:
    """The linker over the shipped vocabularies, built once per process."""
    return Linker()


def fingerprint_parts() -> list[bytes]:
    """What extraction depends on besides config and model: the code version and the vocabularies."""
    return [EXTRACTOR_VERSION.encode()] + [p.read_bytes() for p in sorted(VOCABULARY_DIR.glob("*.tsv.gz"))]
