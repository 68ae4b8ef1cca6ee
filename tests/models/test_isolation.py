"""models/ is a library of its own: copied alone every module imports, and its layers import downwards."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "models"
# The layers, bottom first (docs/architecture.md): a module imports only from layers below its own, or from
# its own subpackage.
LAYERS = (
    "spec",
    "imaging",
    "runtimes",
    "convert",
    "zoo",
    "describe",
    "manifest",
    "registry",
    "devices",
    "engine",
    "recipe",
    "install_record",
    "install",
)
# The service, the worker, training and the bench sit above models/; none may be reached from it.
ABOVE = ("app", "workers", "training", "bench", "tests")

# Runs in the copy: refuses the packages above (even where an installed copy of the project would give
# them), imports every module, and says which models/ it imported.
_IMPORT_ALL = """
import importlib, importlib.abc, sys
from pathlib import Path

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {above!r}:
            raise ImportError(f"models/ imported {{name}}")
        return None

sys.meta_path.insert(0, Refuse())
root = Path.cwd()
names = sorted(
    ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
    for p in (root / "models").rglob("*.py")
)
for name in names:
    importlib.import_module(name)
import models
print(len(names), Path(models.__file__).parent)
"""


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_models_copied_alone_imports_every_module(tmp_path: Path):
    shutil.copytree(PACKAGE, tmp_path / "models", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL.format(above=ABOVE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    count, where = result.stdout.split()
    assert int(count) == len(_modules()) and Path(where) == tmp_path / "models"


def _imports(path: Path) -> list[str]:
    """Every module a file imports, also inside functions and under TYPE_CHECKING (which an import skips)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_no_module_of_models_names_a_package_above_it():
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules()
        for name in _imports(path)
        if name.split(".")[0] in ABOVE
    ]
    assert found == []


def test_each_layer_imports_only_the_layers_below_it():
    upward = []
    for path in _modules():
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts == ("__init__",):
            continue
        layer = LAYERS.index(parts[0])
        for name in _imports(path):
            if name.split(".")[0] != "models" or name == "models":
                continue
            target = name.split(".")[1]
            if target != parts[0] and LAYERS.index(target) >= layer:
                upward.append(f"{path.relative_to(ROOT)} -> {name}")
    assert upward == []
