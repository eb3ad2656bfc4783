"""The export files of one [[imports]] table as a `Source`: every run reads them all again."""

from __future__ import annotations

import glob
import logging
import re
from pathlib import Path

from pipeline.config import ImportConfig
from pipeline.errors import ConfigError
from pipeline.sources.base import Harvest, SearchRequest
from pipeline.sources.imports import ImportResult, read_export

log = logging.getLogger(__name__)
_GLOB_CHARS = re.compile(r"[*?\[]")


def expand(database: str, paths) -> list[Path]:
    """The files of an [[imports]] table's paths, in order: globs sorted by name, a folder's files
    sorted by name. A path or pattern that names no file is a ConfigError naming it."""
    files: list[Path] = []
    for item in paths:
        text = str(item)
        if _GLOB_CHARS.search(text):
            found = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            problem = f"pattern {text!r} matches no file"
        elif Path(text).is_dir():
            found = sorted(p for p in Path(text).iterdir() if p.is_file() and not p.name.startswith("."))
            problem = f"folder {text!r} holds no file"
        else:
            found = [Path(text)] if Path(text).is_file() else []
            problem = f"file {text!r} does not exist"
        if not found:
            raise ConfigError(
                f"[[imports]] {database!r}: {problem}. Check the path; paths are relative to the config file's folder."
            )
        files.extend(f for f in found if f not in files)
    return files


class ImportSource:
    """Records of the files exported from one database (`database` names it in PRISMA)."""

    def __init__(self, imports: ImportConfig, base: Path | None = None):
        self.imports = imports
        self.name = imports.database
        self.base = base
        self.run_info: dict = {}
        self.results: list[ImportResult] = []

    def search(self, request: SearchRequest) -> Harvest:
        files = expand(self.name, self.imports.paths)
        self.results = []
        for done, path in enumerate(files):
            request.progress("read", done, len(files))
            self.results.append(read_export(path, self.imports.format or None))
        request.progress("read", len(files), len(files))
        records = [i.record for r in self.results for i in r.records]
        quarantined = [q for r in self.results for q in r.quarantined]
        shown = [self._shown(p) for p in files]
        log.info(
            "%s: %d records read from %d files (%d set aside)", self.name, len(records), len(files), len(quarantined)
        )
        return Harvest(
            query=", ".join(shown),
            count=len(records) + len(quarantined),
            current=list(dict.fromkeys(r.record_id for r in records)),
            records=records,
            quarantined=quarantined,
            requested=len(records) + len(quarantined),
            searched={"import": len(records) + len(quarantined)},
            manifest={
                "files": [
                    {
                        "file": self._shown(Path(r.file)),
                        "format": r.format,
                        "records": len(r.records),
                        "set_aside": len(r.quarantined),
                    }
                    for r in self.results
                ],
                "positions": {
                    i.record.record_id: f"{self._shown(Path(i.file))}:{i.line} (record {i.number})"
                    for r in self.results
                    for i in r.records
                },
            },
            files=[str(p) for p in files],
            # The last file holding a record id: copies in several files are normally the same record.
            file_of={i.record.record_id: str(path) for path, r in zip(files, self.results) for i in r.records},
        )

    def _shown(self, path: Path) -> str:
        if self.base is not None:
            try:
                return str(path.resolve().relative_to(self.base.resolve()))
            except ValueError:
                pass
        return str(path)
