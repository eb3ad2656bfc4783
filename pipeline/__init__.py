"""Literature-review screening pipeline: PubMed search, screening with reasons, entity extraction."""
