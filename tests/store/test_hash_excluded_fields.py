"""Fields added by a later release do not make every stored record look revised."""

import dataclasses

from pipeline.models import Record
from pipeline.store.codec import HASH_EXCLUDED_FIELDS, content_hash, record_to_json


def test_publication_type_uis_and_day_are_stored_but_not_hashed():
    old = Record("1", title="t", publication_types=("Retraction Notice",), pub_year=2020, pub_month=3)
    new = dataclasses.replace(old, publication_type_uis=("D016440",), pub_day=7)
    assert set(HASH_EXCLUDED_FIELDS) == {"publication_type_uis", "pub_day"}
    assert '"D016440"' in record_to_json(new)
    assert content_hash(record_to_json(new)) == content_hash(record_to_json(old))
    assert content_hash(record_to_json(dataclasses.replace(new, title="u"))) != content_hash(record_to_json(old))
