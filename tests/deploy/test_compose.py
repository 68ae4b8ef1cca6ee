"""What can be checked of the deployment without a Docker engine: the compose file and the Dockerfiles."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.config import Settings
from tests.support import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILES = {"api": ROOT / "docker/api.Dockerfile", "worker": ROOT / "docker/worker.Dockerfile"}


def test_compose_names_every_part_of_the_service():
    assert {"postgres", "redis", "minio", "api", "worker", "worker-cpu", "beat"} <= set(SERVICES)
    for name in ("postgres", "redis", "minio", "api", "worker", "worker-cpu"):
        assert "healthcheck" in SERVICES[name], name
    named_volumes = set(COMPOSE["volumes"])
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in named_volumes, source


def test_every_mr_setting_in_compose_is_one_the_code_reads():
    known = {f"MR_{name.upper()}" for name in Settings.model_fields}
    for name, service in SERVICES.items():
        environment = service.get("environment", {})
        for key in environment:
            if key.startswith("MR_"):
                assert key in known, f"{name}: {key} is not a setting"
    api_env = SERVICES["api"]["environment"]
    for required in (
        "MR_DATABASE_URL",
        "MR_BROKER_URL",
        "MR_STORAGE_URL",
        "MR_S3_ENDPOINT_URL",
        "MR_SECRET_KEY",
    ):
        assert required in api_env
    assert api_env["MR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert api_env["MR_BROKER_URL"].startswith("redis://")
    assert api_env["MR_STORAGE_URL"].startswith("s3://")


def test_processes_run_the_documented_commands():
    assert SERVICES["api"]["command"][:2] == ["mindrender", "api"]
    assert SERVICES["beat"]["command"] == ["mindrender", "beat"]
    assert SERVICES["worker"]["command"][:4] == ["mindrender", "worker", "--queues", "gpu"]
    assert "--concurrency" in SERVICES["worker"]["command"]
    devices = SERVICES["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert SERVICES["migrate"]["command"] == ["mindrender", "migrate"]
    for name in ("api", "worker", "worker-cpu", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_dockerfiles_install_with_make_install_and_run_as_a_user():
    for name, path in DOCKERFILES.items():
        text = path.read_text()
        assert "RUN make install EXTRAS=" in text, name
        user = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
        assert user and user[-1] not in ("root", "0"), name
        for source in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE):
            for part in source.split():
                assert (ROOT / part).exists(), f"{name}: COPY {part} does not exist"
        build = next(
            s["build"]
            for s in SERVICES.values()
            if s.get("build", {}).get("dockerfile") == str(path.relative_to(ROOT))
        )
        assert Path(ROOT / build["context"]).resolve() == ROOT
