"""What a weight file is, as spandrel's descriptor says it, kept beside the files for processes without torch.

`mindrender models install` loads each operator model once and records its descriptor here; the API reads
the record to list the model (native scale, size requirements) without importing torch or loading weights.
A record is tied to the file's size and modification time, so a replaced file must be described again.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

DESCRIPTIONS_NAME = "descriptions.json"


@dataclass(frozen=True)
class Description:
    """A weight file's architecture, native scale and input size requirements."""

    size: int
    mtime_ns: int
    architecture: str
    native_scale: int
    minimum: int
    multiple_of: int
    square: bool


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def describe_file(path: Path) -> Description:
    """Load a weight file with spandrel and describe it (needs torch)."""
    from models.runtimes.spandrel_upscaler import load_descriptor

    descriptor = load_descriptor(path)
    size, mtime_ns = _stamp(path)
    requirements = descriptor.size_requirements
    return Description(
        size=size,
        mtime_ns=mtime_ns,
        architecture=descriptor.architecture.id,
        native_scale=int(descriptor.scale),
        minimum=int(requirements.minimum),
        multiple_of=int(requirements.multiple_of),
        square=bool(requirements.square),
    )


def read_descriptions(models_dir: Path) -> dict[str, Description]:
    """The recorded descriptions whose files are still the ones described, by file name."""
    path = models_dir / DESCRIPTIONS_NAME
    if not path.is_file():
        return {}
    current: dict[str, Description] = {}
    for file, fields in json.loads(path.read_text()).items():
        description = Description(**fields)
        weights = models_dir / file
        if weights.is_file() and _stamp(weights) == (description.size, description.mtime_ns):
            current[file] = description
    return current


def record_descriptions(models_dir: Path, descriptions: dict[str, Description]) -> None:
    """Write the records atomically (the API may be reading them)."""
    body = json.dumps({file: asdict(d) for file, d in sorted(descriptions.items())}, indent=1)
    fd, tmp = tempfile.mkstemp(dir=models_dir, prefix=".descriptions-")
    with os.fdopen(fd, "w") as handle:
        handle.write(body)
    os.chmod(tmp, 0o644)
    os.replace(tmp, models_dir / DESCRIPTIONS_NAME)
