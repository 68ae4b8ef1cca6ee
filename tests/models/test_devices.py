"""Where models run: MR_DEVICE, MR_ENGINE_BACKEND and MR_CPU_PRECISION resolved against a machine."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from models.devices import DeviceUnavailable, Machine, VulkanDevice, probe, resolve, variant_of
from models.zoo import find_variant
from tests.support import ROOT, free_port, mindrender, service_env, wait_job, worker_args

PLAIN_CPU = Machine("a CPU", ("avx2", "fma"))
BF16_CPU = Machine("a CPU with bf16", ("avx2", "avx512f", "avx512_bf16"))
LAVAPIPE = VulkanDevice(0, "llvmpipe (LLVM 15.0.6, 256 bits)", "cpu")
RADEON = VulkanDevice(1, "AMD Radeon RX 7600", "discrete")
REAL_ESRGAN = ("realesrgan-x4plus", "realesrgan-x4plus-anime", "realesr-animevideov3")


def test_auto_uses_cuda_then_mps_then_a_hardware_vulkan_gpu_then_the_cpu() -> None:
    assert resolve(machine=Machine("c", (), cuda=("H100",), vulkan=(RADEON,))).device == "cuda"
    assert resolve(machine=Machine("c", (), mps=True, vulkan=(RADEON,))).device == "mps"
    engine = resolve(machine=Machine("c", (), vulkan=(LAVAPIPE, RADEON)))
    assert (engine.device, engine.vulkan) == ("vulkan", RADEON)
    # A software Vulkan device is slower than the CPU backends: auto never picks it, an explicit ask does.
    assert resolve(machine=Machine("c", (), vulkan=(LAVAPIPE,))).device == "cpu"
    assert resolve("vulkan", machine=Machine("c", (), vulkan=(LAVAPIPE,))).vulkan == LAVAPIPE
    # One worker per GPU: MR_VULKAN_DEVICE names it.
    both = Machine("c", (), vulkan=(LAVAPIPE, RADEON))
    assert resolve("vulkan", machine=both, vulkan_index=0).vulkan == LAVAPIPE


def test_a_device_the_machine_lacks_is_refused_never_replaced_by_the_cpu() -> None:
    with pytest.raises(DeviceUnavailable, match="mesa-vulkan-drivers libvulkan1"):
        resolve("vulkan", machine=PLAIN_CPU)
    with pytest.raises(DeviceUnavailable, match="no CUDA GPU"):
        resolve("cuda", machine=PLAIN_CPU)
    with pytest.raises(DeviceUnavailable, match="no Apple GPU"):
        resolve("mps", machine=PLAIN_CPU)
    with pytest.raises(DeviceUnavailable, match="CPU or Vulkan"):
        resolve("cuda", "ncnn", machine=Machine("c", (), cuda=("H100",)))
    with pytest.raises(DeviceUnavailable, match="excludes"):
        resolve("vulkan", "torch", machine=Machine("c", (), vulkan=(RADEON,)))
    with pytest.raises(DeviceUnavailable, match="MR_VULKAN_DEVICE=3"):
        resolve("vulkan", machine=Machine("c", (), vulkan=(LAVAPIPE, RADEON)), vulkan_index=3)
    # ncnn asked for on a CUDA machine runs on its CPU: the operator chose the backend.
    assert resolve("auto", "ncnn", machine=Machine("c", (), cuda=("H100",))).device == "cpu"


def test_cpu_precision_is_bf16_only_where_the_cpu_has_it_natively() -> None:
    assert resolve(machine=BF16_CPU).cpu_precision == "bf16"
    assert resolve(machine=Machine("amx", ("amx_tile", "amx_bf16"))).cpu_precision == "bf16"
    assert resolve(machine=PLAIN_CPU).cpu_precision == "fp32"
    assert resolve(precision="fp32", machine=BF16_CPU).cpu_precision == "fp32"  # the override holds


@pytest.mark.parametrize(
    ("model", "scale", "on_fp32_cpus", "on_bf16_cpus"),
    [
        ("realesrgan-x4plus", 4, "torch", "torch"),
        ("realesrgan-x4plus-anime", 4, "torch", "torch"),
        ("realesr-animevideov3", 4, "ncnn", "torch"),
        ("waifu2x-photo", 2, "ncnn", "ncnn"),
        ("waifu2x-anime", 2, "ncnn", "ncnn"),
    ],
)
def test_auto_picks_the_backend_the_measured_table_says_is_faster(
    model: str, scale: int, on_fp32_cpus: str, on_bf16_cpus: str
) -> None:
    variant = find_variant(model, scale)
    # At 512 px, torch fp32 measured 1.68x / 1.54x our ncnn backend on RRDB, 0.66x on Compact and 0.43x on
    # waifu2x upconv_7; bf16 torch 1.62-3.06x on Real-ESRGAN, 0.86x on upconv_7.
    assert resolve(machine=PLAIN_CPU).placement(variant).backend == on_fp32_cpus
    assert resolve(machine=BF16_CPU).placement(variant).backend == on_bf16_cpus
    assert resolve("cpu", "torch", machine=PLAIN_CPU).placement(variant).backend == "torch"
    assert resolve("cpu", "ncnn", machine=BF16_CPU).placement(variant).backend == "ncnn"


def test_networks_without_an_ncnn_graph_stay_on_torch_and_say_so() -> None:
    cugan = find_variant("realcugan-se", 2)
    assert resolve("cpu", "ncnn", machine=PLAIN_CPU).placement(cugan).backend == "torch"
    on_vulkan = resolve("vulkan", machine=Machine("c", (), vulkan=(RADEON,)))
    assert on_vulkan.placement(find_variant("realsr-df2k", 4)).device == "vulkan"
    place = on_vulkan.placement(cugan)
    assert (place.backend, place.device, place.why) == ("torch", "cpu", "no Vulkan path for this network")
    assert on_vulkan.torch_device == "cpu"
    assert variant_of("realcugan-se-x2.safetensors") == cugan and variant_of("operator.pth") is None


def test_the_probe_reads_this_machine() -> None:
    machine = probe()
    flags = Path("/proc/cpuinfo").read_text().split("flags")[1].splitlines()[0].split()
    assert machine.native_bf16 == ("avx512_bf16" in flags or "amx_bf16" in flags)
    assert all(device.name for device in machine.vulkan)


def test_mindrender_devices_lists_devices_and_where_each_model_runs() -> None:
    shown = subprocess.run(
        mindrender("devices"), env=service_env(device="cpu"), cwd=ROOT, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("CPU ") and "\nVulkan " in shown.stdout and "\nCUDA " in shown.stdout
    assert "Jobs run with: device cpu" in shown.stdout
    rows = {line.split()[0]: line.split()[1:4] for line in shown.stdout.splitlines() if "  torch  " in line}
    rows |= {line.split()[0]: line.split()[1:4] for line in shown.stdout.splitlines() if "  ncnn  " in line}
    assert set(REAL_ESRGAN) <= set(rows) and rows["realcugan-se"][:2] == ["torch", "cpu"]
    assert "llvmpipe" not in shown.stderr  # ncnn's own device report stays off the terminal


@pytest.mark.parametrize("command", ["mindrender worker", "celery worker", "mindrender serve"])
def test_a_worker_asked_for_vulkan_without_a_driver_refuses_to_start(command: str, tmp_path: Path) -> None:
    env = service_env(device="vulkan", data_dir=str(tmp_path))
    env["VK_ICD_FILENAMES"] = str(tmp_path / "no-driver.json")  # the Vulkan loader finds no device
    args = {
        "mindrender worker": mindrender("worker", "--queues", "gpu"),
        "celery worker": worker_args("gpu"),
        "mindrender serve": mindrender("serve", "--port", str(free_port())),
    }[command]
    start = time.monotonic()
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "MR_DEVICE=vulkan, but no Vulkan device was found" in done.stdout + done.stderr
    assert time.monotonic() - start < 60  # at start, not after a job
    if command == "mindrender serve":
        assert not (tmp_path / "mindrender.db").exists()  # before migrations: nothing was started


def test_a_served_worker_runs_jobs_with_the_settings_engine(
    tmp_path: Path, models_dir: Path, http_client_factory
) -> None:
    """`mindrender serve`'s worker configures its pool processes from MR_CPU_PRECISION and MR_ENGINE_BACKEND:
    its result is the in-process engine's under the same settings, not the unconfigured default's."""
    import io

    import numpy as np
    from PIL import Image

    from models.engine import configure_engine, default_engine, upscale_to_integers
    from models.zoo import builtin
    from tests.e2e.conftest import embedded

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (24, 28, 3), dtype=np.uint8)
    png = io.BytesIO()
    Image.fromarray(pixels).save(png, "PNG")
    settings = {"device": "cpu", "engine_backend": "torch", "cpu_precision": "bf16"}
    with embedded(tmp_path, models_dir=str(models_dir), **settings) as service:
        anonymous = http_client_factory(service.url)
        body = anonymous.post("/v1/accounts", json={"email": "e@example.com", "password": "correct horse"})
        user = http_client_factory(service.url, body.json()["api_key"])
        files = {"file": ("in.png", png.getvalue(), "image/png")}
        job = user.post("/v1/jobs", files=files, data={"model": "realesr-animevideov3", "scale": "4"}).json()
        assert wait_job(user, job["id"])["status"] == "succeeded"
        served = np.asarray(Image.open(io.BytesIO(user.get(f"/v1/jobs/{job['id']}/result").content)))

    spec, image = builtin("realesr-animevideov3"), pixels.astype(np.float32) / 255
    results = {}
    try:
        for precision in ("bf16", "fp32"):
            configure_engine(resolve("cpu", "torch", precision))  # type: ignore[arg-type]
            results[precision] = upscale_to_integers(image, spec, 4, models_dir, lambda _: None, 8)
    finally:
        configure_engine(default_engine())
    assert served.shape == results["bf16"].shape == (96, 112, 3)
    bf16_gap = np.abs(served.astype(int) - results["bf16"]).mean()
    fp32_gap = np.abs(served.astype(int) - results["fp32"]).mean()
    assert bf16_gap < 0.01 < fp32_gap  # the worker ran bf16, as set; fp32 differs on many pixels
