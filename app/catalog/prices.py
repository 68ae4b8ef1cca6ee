"""What each model costs and which workers run it: the service's side of a model (the engine has none)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Queue = Literal["cpu", "gpu"]


@dataclass(frozen=True)
class Pricing:
    """Credits for one job: one credit per started `megapixels_per_credit` of output, at least `minimum`."""

    minimum: int
    megapixels_per_credit: float

    def credits_for(self, output_pixels: int) -> int:
        return max(self.minimum, math.ceil(output_pixels / (self.megapixels_per_credit * 1_000_000)))


@dataclass(frozen=True)
class Terms:
    """A model's price and the queue whose workers run it."""

    pricing: Pricing
    queue: Queue


# Classical filters and SRCNN run anywhere in about a second per output megapixel: cheap, on CPU workers.
CLASSICAL = Terms(Pricing(minimum=1, megapixels_per_credit=16), "cpu")
SRCNN = Terms(Pricing(minimum=1, megapixels_per_credit=4), "cpu")
# Real-ESRGAN and operator models are GAN-sized networks: GPU workers, one credit per 2 output MP.
NEURAL = Terms(Pricing(minimum=2, megapixels_per_credit=2), "gpu")

BUILTIN_TERMS: dict[str, Terms] = {
    "nearest": CLASSICAL,
    "bilinear": CLASSICAL,
    "bicubic": CLASSICAL,
    "lanczos": CLASSICAL,
    "srcnn": SRCNN,
    "realesrgan-x4plus": NEURAL,
    "realesrgan-x4plus-anime": NEURAL,
    "realesr-animevideov3": NEURAL,
}
