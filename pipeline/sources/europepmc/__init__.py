"""Europe PMC: its REST search API (query translation, response parsing, the paging client)."""
