"""The `mindrender` command: serve (all-in-one), api, worker, beat, migrate, models, upscale, account."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from app.client.commands import add_client_commands
from app.config import get_settings


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.celery_app", *args]


def _worker_args(queues: str, concurrency: int, with_beat: bool) -> list[str]:
    settings = get_settings()
    args = ["worker", "--queues", queues, "--concurrency", str(concurrency), "--loglevel", "INFO"]
    if with_beat:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        args += ["--beat", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    return _celery(*args)


def _migrate() -> None:
    from app.migrate import upgrade_database

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)


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
    """API + one worker with embedded beat, on the embedded defaults unless MR_ settings say otherwise."""
    settings = get_settings()
    _migrate()
    # Its own process group: the embedded beat runs in a child of the worker that must go down with it.
    worker = subprocess.Popen(
        _worker_args("gpu,cpu", settings.worker_concurrency, with_beat=True), start_new_session=True
    )
    print(f"Mind Render on http://{ns.host}:{ns.port}  (data in {settings.data_dir})", flush=True)
    print(
        f"Try: curl -s -X POST http://{ns.host}:{ns.port}/v1/accounts -H 'content-type: application/json' "
        '-d \'{"email": "me@example.com", "password": "correct horse"}\'',
        flush=True,
    )
    # uvicorn re-raises SIGTERM after a graceful shutdown: make it an exit, so `finally` stops the worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        _run_api(ns.host, ns.port)
    finally:
        _stop_group(worker)
    return 0


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (the running job finishes), then no process of the group may outlive us."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def cmd_api(ns: argparse.Namespace) -> int:
    if ns.workers > 1 and not get_settings().rate_limit_url:
        print(
            f"mindrender api: --workers {ns.workers} needs MR_RATE_LIMIT_URL (a redis:// URL): without it "
            "each process keeps its own rate-limit counters, and every limit is multiplied by their number.",
            file=sys.stderr,
        )
        return 2
    if not ns.no_migrate:
        _migrate()
    _run_api(ns.host, ns.port, ns.workers)
    return 0


def cmd_worker(ns: argparse.Namespace) -> int:
    args = _worker_args(ns.queues, ns.concurrency or get_settings().worker_concurrency, with_beat=False)
    os.execv(args[0], args)


def cmd_beat(_: argparse.Namespace) -> int:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    args = _celery("beat", "--schedule", str(settings.data_dir / "celerybeat-schedule"), "--loglevel", "INFO")
    os.execv(args[0], args)


def cmd_migrate(_: argparse.Namespace) -> int:
    _migrate()
    print("database schema is up to date")
    return 0


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
    worker.add_argument("--queues", default="gpu,cpu", help="comma-separated: gpu, cpu")
    worker.add_argument("--concurrency", type=int, default=None)
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("beat", help="the Celery beat scheduler (sweeper)").set_defaults(func=cmd_beat)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    models = sub.add_parser("models", help="model weights")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    models_sub.add_parser("install", help="install and check model weights").set_defaults(func=cmd_models)
    add_client_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    return int(ns.func(ns))


if __name__ == "__main__":
    sys.exit(main())
