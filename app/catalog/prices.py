"""What each model costs and which workers run it: the service's side of a model (the engine has none)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from models.zoo import CostClass, builtin_facts

Queue = Literal["cpu", "gpu"]


# A video's frame is billed as at least a 256x256 output frame. Each frame costs the worker a decode, an
# encode and a call through the engine whatever its size: 1.4 ms with bicubic and 0.1 s with
# realesr-animevideov3 on the 2-core VM (app/estimates/defaults.py), so 12,000 frames of 16x16 ran for
# 19 s with bicubic while their 49 output megapixels came to 4 credits. At the floor they are 50 credits,
# what 19 s of bicubic work on large frames costs within 2x; a frame of 256x256 or more pays its pixels.
MIN_FRAME_OUTPUT_PIXELS = 256 * 256


@dataclass(frozen=True)
class Pricing:
    """Credits for one job: one credit per started `megapixels_per_credit` of output, at least `minimum`;
    a video's frames count at least `MIN_FRAME_OUTPUT_PIXELS` each."""

    minimum: int
    megapixels_per_credit: float

    def credits_for(self, output_pixels: int, video_frames: int = 0) -> int:
        return credits_for_stages([(self, output_pixels)], video_frames)

    def share(self, output_pixels: int, video_frames: int = 0) -> float:
        """The credits this work is worth before rounding and the minimum."""
        billed = max(output_pixels, video_frames * MIN_FRAME_OUTPUT_PIXELS)
        return billed / (self.megapixels_per_credit * 1_000_000)


def credits_for_stages(stages: list[tuple[Pricing, int]], video_frames: int = 0) -> int:
    """One price for a job of several stages (a pipeline, a blend), each at its own pricing and output
    pixels: their worth summed and rounded up once, and at least the largest stage's minimum (a minimum
    pays for one job's overhead, which the stages share)."""
    worth = sum(pricing.share(pixels, video_frames) for pricing, pixels in stages)
    # A hair under a whole credit is that credit: float sums of exact shares must not round up past it.
    return max(max(p.minimum for p, _ in stages), math.ceil(worth - 1e-9))


@dataclass(frozen=True)
class Terms:
    """A model's price and the queue whose workers run it."""

    pricing: Pricing
    queue: Queue


# Prices follow compute: seconds per output megapixel, measured on the 2-core CPU VM at 512 px inputs
# (docs/benchmarks.md; on a GPU every network is faster, in about the same ratios).
# Classical filters and SRCNN: well under a second per output MP, on CPU workers. The faithful model
# costs what SRCNN does at x2 and less above (its network runs at the input's size: bench/faithful.py
# throughput, 0.159 vs SRCNN's 0.152 output MP/s at x2, 0.557 at x4, on the shared 2-core VM), so it
# takes SRCNN's terms.
CLASSICAL = Terms(Pricing(minimum=1, megapixels_per_credit=16), "cpu")
SRCNN = Terms(Pricing(minimum=1, megapixels_per_credit=4), "cpu")
# Light networks, under 1 s per output MP: realesr-animevideov3 0.4, waifu2x upconv_7 0.9.
LIGHT = Terms(Pricing(minimum=1, megapixels_per_credit=4), "gpu")
# Standard networks, 1-4 s: Real-CUGAN 1.0 (x4) to 3.0 (x2), waifu2x CUNet 2.4-2.9, x4plus-anime. Also the
# default for an operator's model.
NEURAL = Terms(Pricing(minimum=2, megapixels_per_credit=2), "gpu")
# Heavy networks, 23-block RRDBNets: about 7 s per output MP (realesrgan-x4plus, realsr-df2k).
HEAVY = Terms(Pricing(minimum=2, megapixels_per_credit=1), "gpu")

# A built-in model's terms follow the cost class the zoo derives from its measured compute.
TERMS_BY_COST_CLASS: dict[CostClass, Terms] = {
    "classical": CLASSICAL,
    "small": SRCNN,
    "light": LIGHT,
    "standard": NEURAL,
    "heavy": HEAVY,
}
BUILTIN_TERMS: dict[str, Terms] = {
    model_id: TERMS_BY_COST_CLASS[measured.cost_class] for model_id, measured in builtin_facts().items()
}
