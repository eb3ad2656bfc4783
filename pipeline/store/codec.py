"""Records as stored: canonical JSON of `models.Record` and its content hash (pure)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import types
import typing
from typing import Any

from pipeline.models import Record


def record_to_json(record: Record) -> str:
    """Canonical JSON of a record: sorted keys, no spaces, so equal records give equal text."""
    return json.dumps(dataclasses.asdict(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_from_json(text: str) -> Record:
    """The Record that `record_to_json` wrote. Keys the Record no longer has are ignored and new
    fields take their defaults, so a store survives additions to models.Record."""
    return _build(Record, json.loads(text))


# Fields a later release reads from the same XML: they are stored, but left out of the content
# hash, so that a store made before them does not see every record as revised in PubMed (and
# re-extract it) on its first refresh. A record revised for any other reason gets them then.
HASH_EXCLUDED_FIELDS = ("publication_type_uis", "pub_day")


def content_hash(record_json: str) -> str:
    """sha256 of a record's canonical JSON, without HASH_EXCLUDED_FIELDS: "changed" means this differs."""
    data = json.loads(record_json)
    if any(key in data for key in HASH_EXCLUDED_FIELDS):
        for key in HASH_EXCLUDED_FIELDS:
            data.pop(key, None)
        record_json = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(record_json.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=None)
def _fields(kind: type) -> tuple[tuple[str, Any], ...]:
    # get_type_hints evaluates the string annotations: slow, so once per class.
    hints = typing.get_type_hints(kind)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(kind))


def _build(kind: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(kind):
        return kind(**{name: _build(hint, value[name]) for name, hint in _fields(kind) if name in value})
    origin = typing.get_origin(kind)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_build(item, v) for v in value)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _build(next(a for a in typing.get_args(kind) if a is not type(None)), value)
    return value
