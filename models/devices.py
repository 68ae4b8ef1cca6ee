"""Where models run: this machine's devices, the MR_DEVICE / MR_ENGINE_BACKEND / MR_CPU_PRECISION choice,
and the measured table that `auto` picks a backend by.

A model runs on torch (CUDA, MPS or the CPU, through spandrel) or on ncnn (the CPU or any Vulkan GPU: AMD,
Intel, Apple through MoltenVK, NVIDIA), which runs the official .param/.bin files our weights are converted
from, for Real-ESRGAN and waifu2x upconv_7 (models/runtimes/ncnn_upscaler.py). `resolve` turns the settings
into an `Engine` once per worker; asking for a device this machine lacks fails there, at start, and never
falls back to the CPU. The engine is handed to the loaders (models.engine), which put each network on the
device and precision it names. The service reads its settings into `resolve` (app/devices.py).
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from models.imaging.resample import Filter
from models.spec import DeviceName, ModelSpec, NcnnGraph, Placement, Precision, WeightVariant
from models.zoo import VARIANTS, facts

DeviceSetting = Literal["auto", "cpu", "cuda", "vulkan", "mps"]
BackendSetting = Literal["auto", "torch", "ncnn"]
PrecisionSetting = Literal["auto", "fp32", "bf16"]

# CPU flags (Linux /proc/cpuinfo names) that decide speed: bf16 is native with AVX512-BF16 or AMX.
_FLAGS_SHOWN = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")
_NATIVE_BF16 = ("avx512_bf16", "amx_bf16")
# ncnn's GpuInfo.type(): what kind of Vulkan device it is.
_VULKAN_KINDS = {0: "discrete", 1: "integrated", 2: "virtual", 3: "cpu"}

# `auto` on a CPU runs torch where the zoo's measured torch-over-ncnn ratio is >= 1, else ncnn.

# The graphs the ncnn backend runs (models/runtimes/ncnn_upscaler.py): Real-ESRGAN's (RRDB and Compact) and
# waifu2x's upconv_7. Real-CUGAN and waifu2x cunet share squeeze-excitation means across windows
# (models/runtimes/se_sync.py), which only our torch modules do.
NCNN_GRAPHS: tuple[NcnnGraph, ...] = ("realesrgan", "waifu2x-upconv7")


class DeviceUnavailable(RuntimeError):
    """The settings ask for a device (or a backend on a device) this machine cannot give."""


@dataclass(frozen=True)
class VulkanDevice:
    index: int
    name: str
    kind: str  # discrete, integrated, virtual, cpu (a software device such as Mesa's lavapipe)


@dataclass(frozen=True)
class Machine:
    """What this machine offers: its CPU and flags, CUDA GPUs, Vulkan devices, and Apple's MPS."""

    cpu: str
    cpu_flags: tuple[str, ...]
    cuda: tuple[str, ...] = ()
    vulkan: tuple[VulkanDevice, ...] = ()
    mps: bool = False

    @property
    def native_bf16(self) -> bool:
        return any(flag in self.cpu_flags for flag in _NATIVE_BF16)

    def best_vulkan(self, hardware_only: bool) -> VulkanDevice | None:
        """The Vulkan device to use: a discrete GPU before an integrated one before the rest.

        `hardware_only`: None rather than a software device (lavapipe runs on the CPU, slower than the CPU
        backends), which `auto` must not pick; an explicit MR_DEVICE=vulkan takes it.
        """
        order = ("discrete", "integrated", "virtual", "cpu")
        found = [d for d in self.vulkan if not hardware_only or d.kind in order[:2]]
        return min(found, key=lambda d: order.index(d.kind) if d.kind in order else 9, default=None)


def _cpu_info() -> tuple[str, tuple[str, ...]]:
    name, flags = platform.processor() or platform.machine(), set[str]()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name in ("", platform.machine()):
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    return name, tuple(flag for flag in _FLAGS_SHOWN if flag in flags)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """ncnn's C++ prints each Vulkan device it finds on file descriptor 2: keep that off the terminal."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _vulkan_devices() -> tuple[VulkanDevice, ...]:
    try:
        import ncnn
    except (ImportError, OSError):  # no ncnn wheel, or one that cannot load here: no Vulkan path
        return ()
    with _quiet_stderr():
        count = ncnn.get_gpu_count()
        devices = []
        for index in range(count):
            info = ncnn.get_gpu_info(index)
            devices.append(VulkanDevice(index, info.device_name(), _VULKAN_KINDS.get(info.type(), "other")))
    return tuple(devices)


@lru_cache(maxsize=1)
def probe() -> Machine:
    """This machine's devices, looked at once per process (torch and the Vulkan loader are asked)."""
    import torch

    cpu, flags = _cpu_info()
    cuda = tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return Machine(cpu, flags, cuda, _vulkan_devices(), mps)


@dataclass(frozen=True)
class Engine:
    """The settings, resolved on this machine: one device, a backend rule, one CPU precision."""

    device: DeviceName
    backend: BackendSetting
    cpu_precision: Precision
    vulkan: VulkanDevice | None = None
    machine: Machine | None = field(default=None, compare=False)

    def placement(self, variant: WeightVariant | None) -> Placement:
        """Where a weight file runs. `variant` None: a model without an ncnn graph (torch only)."""
        ncnn_graph = variant is not None and variant.graph in NCNN_GRAPHS
        torch_precision = "fp16" if self.device in ("cuda", "mps") else self.cpu_precision
        if self.device == "vulkan":
            if ncnn_graph:
                return Placement("ncnn", "vulkan", "fp16", "MR_DEVICE=vulkan")
            return Placement("torch", "cpu", self.cpu_precision, "no Vulkan path for this network")
        if self.device != "cpu":
            return Placement("torch", self.device, torch_precision, f"MR_DEVICE={self.device}")
        if not ncnn_graph or self.backend == "torch":
            why = "MR_ENGINE_BACKEND=torch" if self.backend == "torch" else "no ncnn graph for this network"
            return Placement("torch", "cpu", self.cpu_precision, why)
        if self.backend == "ncnn":
            return Placement("ncnn", "cpu", "fp32", "MR_ENGINE_BACKEND=ncnn")
        assert variant is not None
        measured = facts(variant.family)
        ratio = measured.torch_over_ncnn_at(self.cpu_precision) if measured else None
        if ratio is None:
            return Placement("torch", "cpu", self.cpu_precision, "auto: not measured, torch")
        if ratio >= 1:
            return Placement("torch", "cpu", self.cpu_precision, f"auto: torch {ratio:.2f}x ncnn measured")
        return Placement("ncnn", "cpu", "fp32", f"auto: torch {ratio:.2f}x ncnn measured")

    @property
    def torch_device(self) -> DeviceName:
        """Where torch-only networks (SRCNN, faithful, Real-CUGAN, waifu2x) run: torch's GPU, or the CPU."""
        return self.device if self.device in ("cuda", "mps") else "cpu"

    def describe(self) -> str:
        where = f"vulkan ({self.vulkan.name})" if self.vulkan else self.device
        return f"device {where}, backend {self.backend}, CPU precision {self.cpu_precision}"


def resolve(
    device: DeviceSetting = "auto",
    backend: BackendSetting = "auto",
    precision: PrecisionSetting = "auto",
    machine: Machine | None = None,
    vulkan_index: int | None = None,
) -> Engine:
    """The engine these settings give on this machine; `DeviceUnavailable` says what is missing.

    `auto` device: CUDA, else MPS, else a hardware Vulkan GPU, else the CPU. `auto` precision: bf16 where
    the CPU has it natively (AVX512-BF16 or AMX), else fp32.
    """
    machine = machine or probe()
    named = next((d for d in machine.vulkan if d.index == vulkan_index), None)
    vulkan = None
    if device == "auto":
        vulkan = named if vulkan_index is not None else machine.best_vulkan(hardware_only=True)
        chosen: DeviceName = (
            "cuda" if machine.cuda else "mps" if machine.mps else "vulkan" if vulkan else "cpu"
        )
        if backend == "ncnn" and chosen != "vulkan":
            chosen = "cpu"  # ncnn runs on the CPU or Vulkan; asked for, it is not overruled by a CUDA GPU
    else:
        chosen = device
    if chosen == "cuda" and not machine.cuda:
        raise DeviceUnavailable("MR_DEVICE=cuda, but torch finds no CUDA GPU (driver, or a CPU-only torch).")
    if chosen == "mps" and not machine.mps:
        raise DeviceUnavailable(
            "MR_DEVICE=mps, but torch finds no Apple GPU (MPS needs macOS on Apple silicon)."
        )
    if chosen == "vulkan":
        if vulkan_index is not None and named is None:
            raise DeviceUnavailable(
                f"MR_VULKAN_DEVICE={vulkan_index}, but the Vulkan devices here are "
                f"{', '.join(f'{d.index}: {d.name}' for d in machine.vulkan) or 'none'}."
            )
        vulkan = named or vulkan or machine.best_vulkan(hardware_only=False)
        if vulkan is None:
            raise DeviceUnavailable(
                "MR_DEVICE=vulkan, but no Vulkan device was found: install the GPU's Vulkan driver and "
                "loader (Debian: mesa-vulkan-drivers libvulkan1; NVIDIA: its driver), then check with "
                "`mindrender devices`."
            )
    if backend == "ncnn" and chosen in ("cuda", "mps"):
        raise DeviceUnavailable(f"MR_ENGINE_BACKEND=ncnn runs on the CPU or Vulkan, not MR_DEVICE={chosen}.")
    if backend == "torch" and chosen == "vulkan":
        raise DeviceUnavailable(
            "MR_DEVICE=vulkan runs the ncnn backend: MR_ENGINE_BACKEND=torch excludes it."
        )
    cpu_precision: Precision = (
        ("bf16" if machine.native_bf16 else "fp32") if precision == "auto" else precision
    )
    return Engine(chosen, backend, cpu_precision, vulkan if chosen == "vulkan" else None, machine)


def default_engine() -> Engine:
    """What runs where nothing was configured (tests, tools): torch, CUDA if present, fp32."""
    import torch

    return Engine("cuda" if torch.cuda.is_available() else "cpu", "torch", "fp32")


def variant_of(weights: str | None) -> WeightVariant | None:
    """The weight variant (and its ncnn pair) a weight file was converted from; None for other files."""
    return next((v for v in VARIANTS if v.file_name == weights), None)


def placements(engine: Engine, specs: list[ModelSpec]) -> list[tuple[str, Placement]]:
    """Where each neural model of a registry runs under `engine` (classical filters are left out)."""
    classical = {f.value for f in Filter}
    rows = []
    for spec in specs:
        if spec.id in classical:
            continue
        if spec.variants:  # a family's files share one graph kind
            place = engine.placement(spec.variants[0])
        elif spec.weights:  # an operator's file
            place = engine.placement(None)
        elif (measured := facts(spec.id)) is not None and measured.cpu_only:
            place = Placement("torch", "cpu", "fp32", "8k parameters: always the CPU")
        else:
            place = Placement("torch", engine.torch_device, "fp32", "its own network, fp32")
        rows.append((spec.id, place))
    return rows


def report(engine: Engine, rows: list[tuple[str, Placement]]) -> str:
    """What `mindrender devices` prints: the devices, the settings resolved, and each model's placement."""
    machine = engine.machine or probe()
    bf16 = "native bf16" if machine.native_bf16 else "no native bf16"
    flags = ", ".join(machine.cpu_flags) or "no AVX2"
    lines = [f"CPU      {machine.cpu}  ({os.cpu_count()} threads; {flags}; {bf16})"]
    lines += [f"CUDA     {i}: {name}" for i, name in enumerate(machine.cuda)] or ["CUDA     none"]
    lines += [f"Vulkan   {d.index}: {d.name} ({d.kind})" for d in machine.vulkan] or [
        "Vulkan   none (no driver or loader; Debian: mesa-vulkan-drivers libvulkan1)"
    ]
    lines += ["MPS      Apple GPU"] if machine.mps else []
    lines += ["", f"Jobs run with: {engine.describe()}", ""]
    width = max((len(model) for model, _ in rows), default=5)
    lines.append(f"{'model':{width}}  backend  device  precision  why")
    for model, place in rows:
        row = f"{model:{width}}  {place.backend:7}  {place.device:6}  {place.precision:9}"
        lines.append(f"{row}  {place.why}")
    lines += ["", "Classical filters (nearest, bilinear, bicubic, lanczos) run with numpy on the CPU."]
    return "\n".join(lines)
