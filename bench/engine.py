"""Engine throughput: input and output megapixels per second for each model, against ncnn on CPU.

    python bench/engine.py [--size 128] [--repeat 2] [--models realesr-animevideov3,...]
                           [--variants realcugan-se-x2,waifu2x-cunet-x2,...]

Prints one row per model and device: `--models` are registered model ids, run through the engine at their
native scale; `--variants` are weight files of models/weight_variants.py (file name without .safetensors),
run through the same tiled upscaler at their native scale. On CPU it also runs the ncnn runtime (PyPI
`ncnn`) on the same official .param/.bin at the same thread count, on the whole image with the pre-padding
the ncnn-vulkan tools add (and no tiling), and prints our/ncnn throughput. On CUDA it also runs the
reference approach of the original Real-ESRGAN inference code on the same weights (the whole image moved to
the GPU, then one tile at a time: tile 400, tile_pad 10, fp16, pasted without blending) and prints
ours/reference.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import torch

from models.builtin import builtin, builtin_models
from models.engine import upscale
from models.install import install_official_weights
from models.ncnn_convert import ncnn_files
from models.spandrel_upscaler import SpandrelUpscaler, load_spandrel, set_cpu_precision
from models.weight_variants import VARIANTS, WeightVariant


def _ignore(_fraction: float) -> None:
    return None


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
    ("waifu2x-cunet", 1): (28, 4, "edge", "Input1", "Eltwise4"),
    ("waifu2x-cunet", 2): (18, 2, "edge", "Input1", "Eltwise4"),
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", type=int, default=None, help="square input side in pixels (128 on CPU, 1024 on CUDA)"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--models", default=",".join(s.id for s in builtin_models()))
    parser.add_argument("--variants", default="", help="weight files to time too, e.g. realcugan-se-x2")
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument(
        "--cpu-precision", choices=("fp32", "bf16"), default="fp32", help="as MR_CPU_PRECISION"
    )
    args = parser.parse_args()
    set_cpu_precision(args.cpu_precision)
    install_official_weights(args.models_dir)
    threads = torch.get_num_threads()
    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name() if cuda else f"CPU, {threads} threads"
    args.size = args.size or (1024 if cuda else 128)
    image = np.random.default_rng(0).random((args.size, args.size, 3), dtype=np.float32)
    in_mp = args.size * args.size / 1e6
    precision = "fp16" if cuda else args.cpu_precision
    print(f"device: {device}; {precision}; input {args.size}x{args.size}; torch {torch.__version__}")
    other = "ref. in MP/s" if cuda else "ncnn in MP/s"
    print(f"{'model':26} {'scale':>5} {'in MP/s':>9} {'out MP/s':>9} {other:>13} {'ratio':>6}")
    by_file = {v.file_name.removesuffix(".safetensors"): v for v in VARIANTS}
    for name, scale, run in _runs(args.models, args.variants, image, args.models_dir):
        if cuda:
            run()  # warm-up
        seconds = _time(run, args.repeat)
        ours = in_mp / seconds
        row = f"{name:26} {scale:>5} {ours:>9.3f} {ours * scale * scale:>9.3f}"
        if name in by_file:
            if cuda:
                theirs = in_mp / _reference_seconds(name, image, args.models_dir, args.repeat)
            else:
                theirs = in_mp / _ncnn_seconds(by_file[name], image, threads, args.repeat)
            row += f" {theirs:>13.3f} {ours / theirs:>6.2f}"
        print(row, flush=True)


def _runs(
    model_ids: str, variants: str, image: np.ndarray, models_dir: Path
) -> Iterator[tuple[str, int, Callable[[], object]]]:
    """Name, scale and a timed call for each registered model, then for each weight file, loaded first."""
    for model_id in filter(None, model_ids.split(",")):
        spec = builtin(model_id)
        scale = max(spec.native_scale, 2)
        upscale(image[:8, :8], spec, scale, models_dir, _ignore)  # loads the weights
        yield model_id, scale, partial(upscale, image, spec, scale, models_dir, _ignore)
    for name in filter(None, variants.split(",")):
        upscaler = load_spandrel(models_dir / f"{name}.safetensors")
        scale = upscaler.native_scale

        def run(upscaler: SpandrelUpscaler = upscaler, scale: int = scale) -> None:
            for _band in upscaler.bands(image, scale, _ignore):
                pass

        yield name, scale, run


if __name__ == "__main__":
    main()
