"""The worker's engine from the service's settings: MR_DEVICE, MR_ENGINE_BACKEND, MR_CPU_PRECISION and
MR_VULKAN_DEVICE resolved on this machine by models.devices, and checked in a child process.

    python -m app.devices            # what `mindrender devices` prints
    python -m app.devices --check    # exit 2 with a message if the settings name a missing device
"""

from __future__ import annotations

import sys

from app.config import Settings, get_settings
from models.devices import DeviceUnavailable, Engine, placements, report, resolve
from models.registry import load_registry


def from_settings(settings: Settings) -> Engine:
    """The engine of MR_DEVICE, MR_ENGINE_BACKEND, MR_CPU_PRECISION and MR_VULKAN_DEVICE on this machine."""
    return resolve(
        settings.device,
        settings.engine_backend,
        settings.cpu_precision,
        vulkan_index=settings.vulkan_device,
    )


def check_in_child() -> tuple[str | None, str]:
    """Resolve the settings in a child process: (device, description), or (None, why it cannot run).

    For processes that must not open a device themselves: the API never loads torch, and a Celery worker's
    pool is forked from its parent, where CUDA or a Vulkan instance opened before the fork is unusable after.
    """
    import subprocess

    check = subprocess.run(
        [sys.executable, "-m", "app.devices", "--check"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        return None, check.stderr.strip() or f"the device check failed (exit status {check.returncode})"
    device, _, described = check.stdout.strip().partition(" ")
    return device, described


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    try:
        engine = from_settings(settings)
    except DeviceUnavailable as exc:
        print(f"mindrender: {exc}", file=sys.stderr)
        return 2
    if "--check" in (argv if argv is not None else sys.argv[1:]):
        print(engine.device, engine.describe())
        return 0
    print(report(engine, placements(engine, list(load_registry(settings.resolved_models_dir)))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
