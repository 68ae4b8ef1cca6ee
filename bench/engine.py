"""Engine throughput at real image sizes: input MP/s per model, size and backend, against ncnn.

    python bench/engine.py [--size 128,512,1024] [--repeat 2] [--models realesr-animevideov3,...]
                           [--variants realcugan-se-x2,waifu2x-cunet-x2,...] [--image noise|photo]
                           [--threads N] [--device auto|cpu|cuda|vulkan] [--backend auto|torch|ncnn]
                           [--cpu-precision auto|fp32|bf16] [--vulkan]

One row per model and input size (square; 128, 512 and 1024 on CPU, 1024 and 2048 on CUDA by default), all
in one run. `--models` are registered model ids, run as a worker runs them (`upscale_to_integers`, 8 bits)
at their native scale; `--variants` are weight files of models/zoo.py (file name without
.safetensors), run through the same tiled upscaler. Columns:
- `default`: our default path as a worker with these settings runs it (MR_DEVICE, MR_ENGINE_BACKEND and
  MR_CPU_PRECISION default to auto; `--device` etc. set them), and the backend and precision it chose;
- `win` and `ampl`: how many windows the default path's tiling runs, and their pixels over the image's
  (the work amplification: 1.00 is one whole-image pass); `vs 1st`: input MP/s over the first size's;
- where the default path's fastest run's time went, in percent: `net` the network (torch modules or ncnn
  extractions), `host` handing windows and outputs to and from the backend (dtype and layout, the
  clamp; for ncnn, numpy), `tile` cutting windows and cross-fading their output, `se` the
  squeeze-excitation means pass (Real-CUGAN, waifu2x cunet),
  `flat` the flat guard, `resamp` resampling to a non-native scale (for classical models, the model
  itself), `band` the engine's band handling (channels, clip), `quant` quantising to 8 bits and
  writing into the host image (on CUDA: the copy home);
- on CPU, each backend the engine has for the model, run the same way: `torch32`, `torch16` (bf16, shown
  where the CPU has it natively), `ncnn` (our ncnn backend: the official .param/.bin in our windows), and
  `vulkan` with `--vulkan` (the ncnn backend on the first Vulkan device);
- `ref`: the ncnn runtime (PyPI `ncnn`) on the same official .param/.bin and the same image at the same
  thread count, whole with the pre-padding the ncnn-vulkan tools add (no tiling); RRDB graphs are skipped
  above 512 pixels (a whole 1024 pass needs about 12 GB). On CUDA, the reference approach of the original
  Real-ESRGAN inference code on the same weights instead (the whole image moved to the GPU, then one tile
  at a time: tile 400, tile_pad 10, fp16, pasted without blending);
- `ratio`, last: default over ref.
Every path runs once before it is timed (steady state, as a worker serving images of one size).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from PIL import Image

import models.engine
import models.runtimes.tiled_upscaler
from models.convert.ncnn_convert import ncnn_files
from models.devices import Engine, resolve, variant_of
from models.engine import configure_engine, load_upscaler, upscale_to_integers
from models.imaging.tiling import tile_grid, work_amplification
from models.install import install_official_weights
from models.runtimes.classical import ClassicalUpscaler
from models.runtimes.ncnn_upscaler import NcnnUpscaler
from models.runtimes.spandrel_upscaler import SpandrelUpscaler, load_spandrel
from models.runtimes.tiled_upscaler import TiledUpscaler
from models.spec import PLAIN, Upscaler
from models.zoo import VARIANTS, WeightVariant, builtin, builtin_models
from training.datasets import VALIDATION_IMAGES, load_rgb

_STAGES = ("net", "host", "tile", "se", "flat", "resamp", "band", "quant")


def _ignore(_fraction: float) -> None:
    return None


class StageClock:
    """Exclusive wall time per pipeline stage: a stage's time less that of the stages it calls."""

    def __init__(self, now: Callable[[], float] = time.perf_counter, cuda: bool = False) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._clock = now
        self._cuda = cuda
        self._open: list[list[Any]] = []  # name, start, seconds spent in stages it called

    def _now(self) -> float:
        if self._cuda:
            # CUDA kernels run after their launch returns: the clock waits for them at each stage's edge.
            torch.cuda.synchronize()
        return self._clock()

    def enter(self, name: str) -> None:
        if any(frame[0] == "se" for frame in self._open):
            name = "se"  # all the means pass does (its network, its host copies) is its cost
        self._open.append([name, self._now(), 0.0])

    def exit(self) -> None:
        name, start, children = self._open.pop()
        inclusive = self._now() - start
        self.seconds[name] += inclusive - children
        if self._open:
            self._open[-1][2] += inclusive

    def function(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`fn`, its calls timed as `name`."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.exit()

        return timed

    def generator(self, name: str, fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        """`fn`, a generator function, each step of its generators timed as `name`."""
        step = self.function(name, next)

        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            items = self.function(name, fn)(*args, **kwargs)
            while (item := step(items, StopIteration)) is not StopIteration:
                yield item

        return timed

    def percent(self) -> dict[str, float]:
        """Each stage's share of all the time timed, in percent."""
        total = sum(self.seconds.values())
        return {name: 100 * self.seconds.get(name, 0.0) / total for name in _STAGES}


@contextmanager
def instrumented(clock: StageClock, upscaler: Upscaler) -> Iterator[None]:
    """Time the engine's stages into `clock`: its module globals, the upscaler's methods and networks."""
    undo: list[Callable[[], object]] = []

    def patch(owner: object, name: str, wrap: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        setattr(owner, name, wrap(original))
        on_instance = not isinstance(owner, ModuleType) and name not in vars(owner)
        undo.append(partial(delattr, owner, name) if on_instance else partial(setattr, owner, name, original))

    tiled = models.runtimes.tiled_upscaler
    patch(models.engine, "_colour_bands", partial(clock.generator, "band"))
    patch(tiled, "tiled_bands", partial(clock.generator, "tile"))
    patch(tiled, "crop_bands", partial(clock.generator, "tile"))
    patch(tiled, "resize_tensor_bands", partial(clock.generator, "resamp"))
    patch(tiled, "flat_mask", partial(clock.function, "flat"))
    patch(tiled, "keep_flat_rows", partial(clock.function, "flat"))
    if isinstance(upscaler, NcnnUpscaler):
        patch(upscaler, "_forward", partial(clock.function, "host"))
        patch(upscaler, "_run_parts", partial(clock.function, "host"))
        patch(upscaler, "_extract", partial(clock.function, "net"))
    elif not isinstance(upscaler, SpandrelUpscaler):
        # Classical models are resampling; SRCNN's network runs inside its bands.
        patch(
            upscaler,
            "bands",
            partial(clock.generator, "resamp" if isinstance(upscaler, ClassicalUpscaler) else "net"),
        )
    else:
        patch(upscaler, "_forward", partial(clock.function, "host"))
        patch(upscaler, "_run_parts", partial(clock.function, "host"))
        patch(upscaler, "_shared_se_means", partial(clock.function, "se"))
        parts = upscaler.parts
        for module in [upscaler.descriptor.model] if parts is None else [parts.trunk, parts.upsampler]:
            undo.append(module.register_forward_pre_hook(lambda *_: clock.enter("net")).remove)
            undo.append(module.register_forward_hook(lambda *_: clock.exit()).remove)
    try:
        yield
    finally:
        for step in reversed(undo):
            step()


def _time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


# What the ncnn-vulkan tools feed each graph: border and size multiple of their pre-padding (reflected by
# realcugan-ncnn-vulkan, edge pixels repeated by waifu2x-ncnn-vulkan), and the input and output blobs.
_TOOL_INPUT: dict[tuple[str, int], tuple[int, int, str, str, str]] = {
    ("realcugan", 2): (18, 2, "reflect", "in0", "out0"),
    ("realcugan", 3): (14, 4, "reflect", "in0", "out0"),
    ("realcugan", 4): (19, 2, "reflect", "in0", "out0"),
    ("cunet", 1): (28, 4, "edge", "Input1", "Eltwise4"),
    ("cunet", 2): (18, 2, "edge", "Input1", "Eltwise4"),
    ("waifu2x-upconv7", 2): (7, 1, "edge", "Input1", "Eltwise4"),
    ("realesrgan", 4): (0, 1, "edge", "data", "output"),
}


def _ncnn_input(variant: WeightVariant, image: np.ndarray) -> tuple[np.ndarray, str, str]:
    """The CHW input the ncnn-vulkan tool would feed this graph (pre-padded), and its blob names."""
    border, multiple, mode, input_name, output_name = _TOOL_INPUT[variant.graph, variant.scale]
    chw = image.transpose(2, 0, 1)
    height, width = chw.shape[1:]
    pads = ((0, 0), (border, border - height % -multiple), (border, border - width % -multiple))
    padded = np.pad(chw, pads, mode=mode)  # type: ignore[call-overload]
    return np.ascontiguousarray(padded), input_name, output_name


def _ncnn_seconds(variant: WeightVariant, image: np.ndarray, threads: int, repeat: int) -> float:
    import ncnn

    param, weights = ncnn_files(variant)
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    # fp32 like ours (as in tests/models/test_ncnn_convert.py); on CPUs without fp16 arithmetic ncnn's
    # fp16 defaults change nothing anyway (measured: identical output and speed on the CI machine).
    net.opt.use_fp16_storage = False
    net.opt.use_fp16_arithmetic = False
    net.opt.use_fp16_packed = False
    net.load_param(str(param))
    net.load_model(str(weights))
    data, input_name, output_name = _ncnn_input(variant, image)

    def once() -> None:
        with net.create_extractor() as extractor:
            extractor.input(input_name, ncnn.Mat(data))
            _, out = extractor.extract(output_name)
            np.array(out)
            del out

    once()  # warm-up, as for ours: ncnn sets up its Winograd kernels on the first run
    seconds = _time(once, repeat)
    net.clear()
    return seconds


def reference_tiled(
    network: torch.nn.Module, image: torch.Tensor, scale: int, tile: int = 400, pad: int = 10
) -> torch.Tensor:
    """The original Real-ESRGAN tiling, re-stated: image already on the device, one tile per call, pasted."""
    _, channels, height, width = image.shape
    output = image.new_zeros((1, channels, height * scale, width * scale))
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            py0, px0 = max(y0 - pad, 0), max(x0 - pad, 0)
            py1, px1 = min(y1 + pad, height), min(x1 + pad, width)
            result = network(image[:, :, py0:py1, px0:px1])
            oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
            output[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = result[
                :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
            ]
    return output


def _reference_seconds(model_id: str, image: np.ndarray, models_dir: Path, repeat: int) -> float:
    from spandrel import ImageModelDescriptor, ModelLoader

    descriptor = ModelLoader().load_from_file(models_dir / f"{model_id}.safetensors")
    assert isinstance(descriptor, ImageModelDescriptor)
    network = descriptor.model.cuda().half().eval()

    @torch.inference_mode()
    def once() -> None:
        tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].cuda().half()
        reference_tiled(network, tensor, descriptor.scale).float().clamp_(0, 1).cpu().numpy()
        torch.cuda.synchronize()

    once()  # warm-up: cuDNN picks its algorithms on the first call
    return _time(once, repeat)


@dataclass
class Case:
    """One model to time: its name in the table, native scale, and its weight file's variant (if any)."""

    name: str
    scale: int
    variant: WeightVariant | None
    load: Callable[[], Upscaler]  # the upscaler under the engine configured now
    run: Callable[[np.ndarray], object]


def _cases(model_ids: str, variants: str, models_dir: Path, engine: Engine) -> Iterator[Case]:
    """Each registered model (as a worker runs it), then each weight file (its upscaler alone)."""
    for model_id in filter(None, model_ids.split(",")):
        spec = builtin(model_id)
        scale = max(spec.native_scale, 2)
        weights = spec.weights_for(scale, PLAIN)
        load = partial(load_upscaler, spec, models_dir, weights)
        run = partial(_as_worker, spec=spec, scale=scale, models_dir=models_dir)
        yield Case(model_id, scale, variant_of(weights), load, run)
    for name in filter(None, variants.split(",")):
        path = models_dir / f"{name}.safetensors"
        upscaler = load_spandrel(path, engine.torch_device, engine.cpu_precision)
        run = partial(_drain, upscaler, upscaler.native_scale)
        yield Case(name, upscaler.native_scale, None, partial(_same, upscaler), run)


def _same(upscaler: Upscaler) -> Upscaler:
    return upscaler


def _ncnn_version() -> str:
    from importlib.metadata import version

    return version("ncnn")


def _as_worker(image: np.ndarray, spec: Any, scale: int, models_dir: Path) -> None:
    upscale_to_integers(image, spec, scale, models_dir, _ignore, 8)


def _drain(upscaler: Upscaler, scale: int, image: np.ndarray) -> None:
    for _band in upscaler.bands(image, scale, _ignore):
        pass


def _windows(upscaler: Upscaler, side: int) -> tuple[int, float] | None:
    """How many windows an image of this side runs as, and the work amplification (tiled models)."""
    if not isinstance(upscaler, TiledUpscaler):
        return None
    tile, _batch, height, width = upscaler.plan(side, side)
    grid = tile_grid(height, width, tile, upscaler.pad)
    return len(grid), work_amplification(grid) * height * width / side**2


def _image(kind: str, side: int) -> np.ndarray:
    if kind == "photo":
        photo = Image.fromarray(np.uint8(load_rgb(VALIDATION_IMAGES["astronaut"]) * 255))
        return np.asarray(photo.resize((side, side), Image.Resampling.LANCZOS), np.float32) / 255
    return np.random.default_rng(0).random((side, side, 3), dtype=np.float32)


def _backends(default: Engine, case: Case, vulkan: bool) -> dict[str, Engine]:
    """The other engines to time this model on (CPU only): each backend it has, and Vulkan if asked."""
    if default.device == "cuda" or case.variant is None:
        return {}  # classical filters, SRCNN and faithful run one way only
    engines = {"torch32": resolve("cpu", "torch", "fp32")}
    if default.machine is not None and default.machine.native_bf16:
        engines["torch16"] = resolve("cpu", "torch", "bf16")
    if case.variant is not None and resolve("cpu", "ncnn").placement(case.variant).backend == "ncnn":
        engines["ncnn"] = resolve("cpu", "ncnn")
        if vulkan:
            engines["vulkan"] = resolve("vulkan")
    return engines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", default=None, help="square input sides (default 128,512,1024 on CPU; 1024,2048 on CUDA)"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--models", default=",".join(s.id for s in builtin_models()))
    parser.add_argument("--variants", default="", help="weight files to time too, e.g. realcugan-se-x2")
    parser.add_argument("--image", choices=("noise", "photo"), default="noise", help="random or a photo")
    parser.add_argument("--threads", type=int, default=None, help="torch and ncnn threads (default all)")
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--device", default="auto", help="as MR_DEVICE, for the default column")
    parser.add_argument("--backend", default="auto", help="as MR_ENGINE_BACKEND, for the default column")
    parser.add_argument("--cpu-precision", default="auto", help="as MR_CPU_PRECISION, for the default column")
    parser.add_argument("--vulkan", action="store_true", help="also time the ncnn backend on Vulkan")
    parser.add_argument("--no-backends", action="store_true", help="time the default path only")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    install_official_weights(args.models_dir)
    default = resolve(args.device, args.backend, args.cpu_precision)
    threads = torch.get_num_threads()
    cuda = default.device == "cuda"
    device = torch.cuda.get_device_name() if cuda else f"CPU, {threads} threads"
    sizes = [int(s) for s in (args.size or ("1024,2048" if cuda else "128,512,1024")).split(",")]
    print(f"device: {device}; {default.describe()}; {args.image}; best of {args.repeat}")
    print(f"torch {torch.__version__}; ncnn {_ncnn_version()}")
    columns = [] if cuda or args.no_backends else ["torch32", "torch16", "ncnn"] + ["vulkan"] * args.vulkan
    if default.machine is not None and not default.machine.native_bf16:
        columns = [c for c in columns if c != "torch16"]
    print(
        f"{'model':25} {'x':>1} {'size':>5} {'default':>8} {'by':>12} {'win':>4} {'ampl':>5} {'vs 1st':>6}  "
        + " ".join(f"{stage:>5}" for stage in _STAGES)
        + "  "
        + " ".join(f"{c:>8}" for c in columns)
        + f" {'ref':>8} {'ratio':>5}"
    )
    by_file = {v.file_name.removesuffix(".safetensors"): v for v in VARIANTS}
    for case in _cases(args.models, args.variants, args.models_dir, default):
        variant = case.variant or by_file.get(case.name)
        first = None
        for side in sizes:
            image = _image(args.image, side)
            configure_engine(default)
            upscaler = case.load()
            place = default.placement(case.variant)
            by = f"{place.backend} {place.precision}" if case.variant else ""
            ours, shares = _timed(case, upscaler, image, args.repeat)
            first = first or ours
            windows = _windows(upscaler, side)
            row = f"{case.name:25} {case.scale:>1} {side:>5} {ours:>8.4f} {by:>12}"
            row += f" {windows[0]:>4} {windows[1]:>5.2f}" if windows else f" {'':>4} {'':>5}"
            row += f" {ours / first:>6.2f}  " + " ".join(f"{shares[stage]:>5.1f}" for stage in _STAGES) + "  "
            others = {} if args.no_backends else _backends(default, case, args.vulkan)
            for column in columns:
                if column not in others:
                    row += f" {'':>8}"
                    continue
                other = others[column].placement(case.variant)
                if (other.backend, other.device, other.precision) == (
                    place.backend,
                    place.device,
                    place.precision,
                ):
                    row += f" {ours:>8.4f}"  # the default path itself: timed above
                    continue
                configure_engine(others[column])
                row += f" {_timed(case, case.load(), image, args.repeat)[0]:>8.4f}"
            configure_engine(default)
            theirs = _theirs(case, variant, upscaler, image, args.models_dir, args.repeat)
            row += f" {theirs:>8.4f} {ours / theirs:>5.2f}" if theirs else f" {'':>8} {'':>5}"
            print(row, flush=True)


def _timed(case: Case, upscaler: Upscaler, image: np.ndarray, repeat: int) -> tuple[float, dict[str, float]]:
    """Input MP/s of the fastest of `repeat` runs, and the time per stage in percent.

    On the CPU the stages are that fastest run's. On CUDA they come from one more run whose clock waits
    for the GPU at every stage's edge, which stops work overlapping: the timed runs are left alone.
    """
    # cuDNN picks its algorithms, oneDNN builds its primitives for these shapes, on the first call.
    case.run(image)
    cuda = getattr(upscaler, "device_type", "cpu") == "cuda"
    best, shares = float("inf"), {}
    for _ in range(repeat):
        clock = StageClock()
        start = time.perf_counter()
        if cuda:
            case.run(image)
            torch.cuda.synchronize()
        else:
            with instrumented(clock, upscaler):
                clock.function("quant", case.run)(image)  # what the stages below leave: quantising
        seconds = time.perf_counter() - start
        if seconds < best:
            best, shares = seconds, clock.percent()
    if cuda:
        clock = StageClock(cuda=True)
        with instrumented(clock, upscaler):
            clock.function("quant", case.run)(image)
        shares = clock.percent()
    return image.shape[0] * image.shape[1] / 1e6 / best, shares


def _theirs(
    case: Case,
    variant: WeightVariant | None,
    upscaler: Upscaler,
    image: np.ndarray,
    models_dir: Path,
    repeat: int,
) -> float | None:
    """ncnn's input MP/s on the same image (the reference tiling's on CUDA), where there is one to run."""
    in_mp: float = image.shape[0] * image.shape[1] / 1e6
    if variant is None:
        return None
    if torch.cuda.is_available():
        return in_mp / _reference_seconds(case.name, image, models_dir, repeat)
    rrdb = isinstance(upscaler, TiledUpscaler) and upscaler.architecture == "ESRGAN"
    if rrdb and image.shape[0] > 512:
        return None
    return in_mp / _ncnn_seconds(variant, image, torch.get_num_threads(), repeat)


if __name__ == "__main__":
    main()
