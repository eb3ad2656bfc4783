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
    return _dumps(_plain(record))


def encode_record(record: Record) -> tuple[str, str]:
    """(record_to_json(record), its content_hash), building the record's JSON data once."""
    data = _plain(record)
    text = _dumps(data)
    return text, _hash_without_excluded(data)


def record_from_json(text: str) -> Record:
    """The Record that `record_to_json` wrote. Keys the Record no longer has are ignored and new
    fields take their defaults, so a store survives additions to models.Record."""
    return _builder(Record)(json.loads(text))


def _dumps(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Fields a later release reads from the same XML: they are stored, but left out of the content
# hash, so that a store made before them does not see every record as revised in PubMed (and
# re-extract it) on its first refresh. A record revised for any other reason gets them then.
HASH_EXCLUDED_FIELDS = ("publication_type_uis", "pub_day")


def content_hash(record_json: str) -> str:
    """sha256 of a record's canonical JSON, without HASH_EXCLUDED_FIELDS: "changed" means this differs."""
    data = json.loads(record_json)
    if any(key in data for key in HASH_EXCLUDED_FIELDS):
        return _hash_without_excluded(data)
    return hashlib.sha256(record_json.encode("utf-8")).hexdigest()


def _hash_without_excluded(data: dict) -> str:
    """sha256 of the canonical JSON of `data` less HASH_EXCLUDED_FIELDS (removed from `data`)."""
    for key in HASH_EXCLUDED_FIELDS:
        data.pop(key, None)
    return hashlib.sha256(_dumps(data).encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=None)
def _fields(kind: type) -> tuple[tuple[str, Any], ...]:
    # get_type_hints evaluates the string annotations: slow, so once per class.
    hints = typing.get_type_hints(kind)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(kind))


# What record_to_json and record_from_json do per value, decided once per type: a record took
# 0.41 ms to encode with dataclasses.asdict (which deep-copies every value) and 0.39 ms to decode
# with the type looked at per value, more than parsing it from XML (0.35 ms; bench dask's input).
_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=None)
def _field_names(kind: type) -> tuple[str, ...] | None:
    return tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else None


def _plain(value: Any) -> Any:
    """The JSON data of a value, as dataclasses.asdict gives it (tuples become lists)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is tuple or kind is list:
        return [_plain(v) for v in value]
    names = _field_names(kind)
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _identity(value: Any) -> Any:
    return value


@functools.lru_cache(maxsize=None)
def _builder(kind: Any) -> typing.Callable[[Any], Any]:
    """The function that builds a `kind` from its JSON data."""
    if dataclasses.is_dataclass(kind):
        fields = [(name, _builder(hint)) for name, hint in _fields(kind)]
        plain = [name for name, build in fields if build is _identity]
        built = [(name, build) for name, build in fields if build is not _identity]

        def build_dataclass(value: dict) -> Any:
            args = {name: value[name] for name in plain if name in value}
            args.update((name, build(value[name])) for name, build in built if name in value)
            return kind(**args)

        return build_dataclass
    origin = typing.get_origin(kind)
    if origin is tuple:
        item = _builder(typing.get_args(kind)[0])
        if item is _identity:
            return tuple
        return lambda value: tuple(item(v) for v in value)
    if origin in (typing.Union, types.UnionType):
        inner = _builder(next(a for a in typing.get_args(kind) if a is not type(None)))
        if inner is _identity:
            return _identity
        return lambda value: None if value is None else inner(value)
    return _identity
