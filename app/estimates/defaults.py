"""Seconds per output megapixel before a worker has measured a model itself.

Measured on the 2-core AMD EPYC VM (fp32, 192-512 px inputs through the engine, docs/benchmarks.md), which
is also what `mindrender serve` runs on a laptop of that class. A worker replaces a figure with its own
moving average after its first real job of the model, so these only need the right order of magnitude.
CUDA figures are the CPU ones divided by 50: on an H200 (docs/benchmarks.md, "CUDA") the engine ran
realesr-animevideov3 about 14x and realesrgan-x4plus-anime about 180x faster than this VM, so one factor
errs both ways and 50 sits between them. Vulkan and MPS ones are divided by 10; the first jobs correct
them all.
"""

from __future__ import annotations

CPU_SECONDS_PER_MEGAPIXEL: dict[str, float] = {
    "nearest": 0.02,
    "bilinear": 0.02,
    "bicubic": 0.02,
    "lanczos": 0.03,
    "srcnn": 0.9,
    "faithful": 0.9,  # as fast as SRCNN at x2, faster above (bench/faithful.py throughput)
    "realesrgan-x4plus": 16.0,
    "realesrgan-x4plus-anime": 6.0,
    "realesr-animevideov3": 0.4,
    "realcugan-se": 3.0,
    "realcugan-pro": 2.6,
    "waifu2x-cunet": 2.9,
    "waifu2x-photo": 0.93,
    "waifu2x-anime": 0.93,
    "realsr-df2k": 16.0,
}
# An operator's model not measured yet: as slow as the slowest built-in network, so nothing is promised
# that it cannot keep.
UNKNOWN_MODEL_SECONDS_PER_MEGAPIXEL = 16.0
GPU_SPEEDUP_GUESS = 50.0
# Vulkan (ncnn, fp16) and Apple's MPS workers: consumer GPUs, a more cautious guess than a CUDA server GPU's.
# A Vulkan worker may even be Mesa's software device; its first job replaces the guess either way.
DEVICE_SPEEDUP_GUESS = {"cpu": 1.0, "cuda": GPU_SPEEDUP_GUESS, "vulkan": 10.0, "mps": 10.0}


def default_seconds_per_megapixel(model: str, device: str) -> float:
    seconds = CPU_SECONDS_PER_MEGAPIXEL.get(model, UNKNOWN_MODEL_SECONDS_PER_MEGAPIXEL)
    return seconds / DEVICE_SPEEDUP_GUESS.get(device, GPU_SPEEDUP_GUESS)
