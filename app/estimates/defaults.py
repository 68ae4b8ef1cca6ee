"""Seconds per output megapixel before a worker has measured a model itself.

Measured on the 2-core AMD EPYC VM (fp32, 192-512 px inputs through the engine, docs/benchmarks.md), which
is also what `mindrender serve` runs on a laptop of that class. A worker's own jobs replace a figure (the
median of its recent ones, from its second job of the model on), so these only need the right order of
magnitude.
CUDA figures are the CPU ones divided by 50: on an H200 (docs/benchmarks.md, "CUDA") the engine ran
realesr-animevideov3 about 14x and realesrgan-x4plus-anime about 180x faster than this VM, so one factor
errs both ways and 50 sits between them. Vulkan and MPS ones are divided by 10; the first jobs correct
them all.
"""

from __future__ import annotations

from models.zoo import builtin_facts

# The zoo's measured seconds per output megapixel of each built-in model.
CPU_SECONDS_PER_MEGAPIXEL: dict[str, float] = {
    model_id: measured.cpu_seconds_per_megapixel for model_id, measured in builtin_facts().items()
}
# An operator's model not measured yet: as slow as the slowest built-in network, so nothing is promised
# that it cannot keep.
UNKNOWN_MODEL_SECONDS_PER_MEGAPIXEL = 16.0
GPU_SPEEDUP_GUESS = 50.0
# Vulkan (ncnn, fp16) and Apple's MPS workers: consumer GPUs, a more cautious guess than a CUDA server GPU's.
# A Vulkan worker may even be Mesa's software device; its first job replaces the guess either way.
DEVICE_SPEEDUP_GUESS = {"cpu": 1.0, "cuda": GPU_SPEEDUP_GUESS, "vulkan": 10.0, "mps": 10.0}


def default_seconds_per_megapixel(model: str, device: str) -> float:
    """Seconds per output megapixel before a worker has measured a model itself, for its device."""
    seconds = CPU_SECONDS_PER_MEGAPIXEL.get(model, UNKNOWN_MODEL_SECONDS_PER_MEGAPIXEL)
    return seconds / DEVICE_SPEEDUP_GUESS.get(device, GPU_SPEEDUP_GUESS)


# Seconds per frame on top of the pixels: decoding and encoding a frame, and one call through the engine
# (bands, tiling, the network's fixed cost), whatever the frame's size. Measured through `run_job` on the
# 2-core Xeon VM (AMX-BF16) with nothing else running (bench/video.py estimates, docs/benchmarks.md):
# 12,000 frames of 16x16 at x4 in 19.8 s with bicubic, 1.5 ms a frame once the pixels are taken out;
# 300 frames of 16x16 at x4 in 2.3 s with realesr-animevideov3, 6 ms a frame beside its 0.5 s of pixels,
# which the other networks are taken to share (their pixels dominate any frame they run). The same clips
# at load 8-14 ran 3-15x longer: a loaded worker corrects its figures from its own jobs. Decoding and
# encoding stay on the CPU whatever the device, so the figure is not divided for a GPU.
CPU_SECONDS_PER_FRAME_CLASSICAL = 0.0015
CPU_SECONDS_PER_FRAME_NETWORK = 0.006


# The built-in models the zoo classes as classical filters, read once (every estimate asks).
_CLASSICAL = frozenset(
    model_id for model_id, facts in builtin_facts().items() if facts.cost_class == "classical"
)


def default_seconds_per_frame(model: str, device: str) -> float:
    """Seconds per frame before a worker has measured a model itself (the same on every device)."""
    return CPU_SECONDS_PER_FRAME_CLASSICAL if model in _CLASSICAL else CPU_SECONDS_PER_FRAME_NETWORK
