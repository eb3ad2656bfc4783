"""OpenAlex: its /works API (query translation, work parsing, the paging client)."""
