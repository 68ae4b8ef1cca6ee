"""deploy/kubernetes/: every manifest valid against the Kubernetes schemas (offline), KEDA's ScaledObject
with the fields it needs, and every name in them one that exists: settings, Secrets, routes, commands, queues.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from sqlalchemy import create_engine, text

from app.broker.names import JOB_QUEUES
from app.cli import build_parser
from app.config import Settings
from tests.jobs.test_submit import submit
from tests.support import ROOT, png_bytes

FOLDER = ROOT / "deploy/kubernetes"
KUSTOMIZATION = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
MANIFESTS = {
    path.name: [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for path in sorted(FOLDER.glob("*.yaml"))
    if path.name != "kustomization.yaml"
}
RESOURCES = [doc for docs in MANIFESTS.values() for doc in docs]
KEDA = "keda.sh/v1alpha1"
# The oldest Kubernetes the manifests are meant for (docs/operations.md) and the newest the package carries.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
# boto3 reads the S3 credentials itself; every other variable must be a setting.
BOTO_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
SETTINGS = {f"MR_{name.upper()}" for name in Settings.model_fields}


def _named(kind: str, api_version: str | None = None) -> dict[str, dict[str, Any]]:
    return {
        r["metadata"]["name"]: r
        for r in RESOURCES
        if r["kind"] == kind and (api_version is None or r["apiVersion"] == api_version)
    }


DEPLOYMENTS = _named("Deployment")
JOBS = _named("Job")
SECRETS = _named("Secret")
CONFIG_MAPS = _named("ConfigMap")


def _pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in {**DEPLOYMENTS, **JOBS}.items():
        yield name, resource["spec"]["template"]["spec"]


def _containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, pod in _pod_specs():
        for container in pod["containers"]:
            yield f"{name}/{container['name']}", container


def _gpu_deployment() -> dict[str, Any]:
    [gpu] = [
        d
        for d in DEPLOYMENTS.values()
        if any("nvidia.com/gpu" in c.get("resources", {}).get("limits", {}) for c in _spec(d)["containers"])
    ]
    return gpu


def _spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_validates_against_the_schemas_strictly(version: str) -> None:
    checked = 0
    for resource in RESOURCES:
        if resource["apiVersion"] == KEDA:
            continue  # a CRD: checked field by field below
        # strict: a misspelt field (readynessProbe, terminationGracePeriod) is an error, not ignored.
        kubernetes_validate.validate(resource, version, strict=True)
        checked += 1
    assert checked >= 12


def test_the_kustomization_lists_every_manifest_and_names_the_docker_images() -> None:
    assert sorted(KUSTOMIZATION["resources"]) == sorted(MANIFESTS)
    namespaces = {r["metadata"].get("namespace") for r in RESOURCES if r["kind"] != "Namespace"}
    assert namespaces == {KUSTOMIZATION["namespace"]}
    # The images are those the Dockerfiles build (docker build -t NAME) and compose runs.
    built = {
        tag
        for path in (ROOT / "docker").glob("*.Dockerfile")
        for tag in re.findall(r"docker build -f \S+ -t (\S+) \.", path.read_text())
    }
    used = {container["image"] for _, container in _containers()}
    assert used == built == {image["name"] for image in KUSTOMIZATION["images"]}
    assert _spec(_gpu_deployment())["containers"][0]["image"] == "mindrender-worker"


def test_every_variable_the_pods_get_is_a_setting_or_boto3s() -> None:
    for name, config in {**CONFIG_MAPS, **SECRETS}.items():
        if name.startswith("mindrender-keda-"):
            continue  # KEDA's own, never a pod's environment (checked below)
        for key in {**config.get("data", {}), **config.get("stringData", {})}:
            assert key in SETTINGS | BOTO_VARIABLES, f"{name}: {key} is not a setting"
    for name, container in _containers():
        for variable in container.get("env", []):
            assert variable["name"] in SETTINGS, f"{name}: {variable['name']} is not a setting"
    secrets = SECRETS["mindrender-secrets"]["stringData"]
    for required in ("MR_DATABASE_URL", "MR_BROKER_URL", "MR_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"):
        assert required in secrets
    assert secrets["MR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert secrets["MR_BROKER_URL"].startswith("redis://")
    assert CONFIG_MAPS["mindrender-config"]["data"]["MR_STORAGE_URL"].startswith("s3://")
    # The values parse as the settings they are (a number where a number is asked, say).
    Settings(
        **{k[3:].lower(): v for k, v in CONFIG_MAPS["mindrender-config"]["data"].items() if k in SETTINGS}
    )


def test_every_secret_and_config_map_a_pod_refers_to_exists() -> None:
    refs = 0
    for name, container in _containers():
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                assert source["secretRef"]["name"] in SECRETS, name
            else:
                assert source["configMapRef"]["name"] in CONFIG_MAPS, name
            refs += 1
        for variable in container.get("env", []):
            ref = variable.get("valueFrom", {})
            if "secretKeyRef" in ref:
                secret = SECRETS[ref["secretKeyRef"]["name"]]
                assert ref["secretKeyRef"]["key"] in secret["stringData"], name
            if "configMapKeyRef" in ref:
                config = CONFIG_MAPS[ref["configMapKeyRef"]["name"]]
                assert ref["configMapKeyRef"]["key"] in config["data"], name
        # Every process gets every setting: the database, broker and storage are everyone's.
        assert {s.get("secretRef", {}).get("name") for s in container["envFrom"]} >= {"mindrender-secrets"}
    assert refs == 2 * len(list(_containers()))


def test_every_command_is_a_real_mindrender_command_on_real_queues() -> None:
    parser = build_parser()
    commands = {name: container["command"] for name, container in _containers()}
    for name, command in commands.items():
        assert command[0] == "mindrender", name
        parsed = parser.parse_args(command[1:])  # an unknown command or option exits (SystemExit)
        if parsed.command == "worker":
            assert set(parsed.queues.split(",")) <= set(JOB_QUEUES), name
    ran = {command[1] for command in commands.values()}
    assert ran == {"api", "worker", "beat", "migrate"}
    assert "--no-migrate" in commands["mindrender-api/api"]
    assert commands["mindrender-migrate/migrate"] == ["mindrender", "migrate"]
    assert _option(_spec(_gpu_deployment())["containers"][0]["command"], "--queues") == "gpu"


def test_gpu_workers_take_one_gpu_each_on_gpu_nodes_and_outlast_a_job_when_stopped() -> None:
    gpu = _gpu_deployment()
    spec = _spec(gpu)
    [container] = spec["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert _option(container["command"], "--concurrency") == "1"  # one worker process per GPU
    assert spec["nodeSelector"] and any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"])
    # KEDA owns the count: a fixed one would be reset to on every apply.
    assert "replicas" not in gpu["spec"]
    # Warm shutdown finishes the running job: the grace period outlasts its hard time limit.
    config = CONFIG_MAPS["mindrender-config"]["data"]
    hard_limit = int(config.get("MR_JOB_SOFT_TIME_LIMIT", Settings().job_soft_time_limit)) + 60
    for deployment in DEPLOYMENTS.values():
        if "worker" in deployment["spec"]["template"]["spec"]["containers"][0]["command"]:
            assert _spec(deployment)["terminationGracePeriodSeconds"] > hard_limit


def test_beat_is_exactly_one_replaced_never_doubled() -> None:
    [beat] = [d for d in DEPLOYMENTS.values() if _spec(d)["containers"][0]["command"][1] == "beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert not any(
        r["spec"]["scaleTargetRef"]["name"] == beat["metadata"]["name"]
        for r in _named("ScaledObject", KEDA).values()
    )


def test_every_deployment_but_beat_has_a_disruption_budget_selecting_its_pods() -> None:
    budgets = _named("PodDisruptionBudget").values()
    for name, deployment in DEPLOYMENTS.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        matching = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(matching) == (0 if deployment["spec"].get("replicas") == 1 else 1), name


def test_the_api_probes_and_service_reach_routes_the_app_serves(client) -> None:
    [api] = [d for d in DEPLOYMENTS.values() if _spec(d)["containers"][0]["command"][1] == "api"]
    [container] = _spec(api)["containers"]
    port = _option(container["command"], "--port")
    assert [p["containerPort"] for p in container["ports"]] == [int(port)]
    paths = {}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] in (int(port), container["ports"][0]["name"])
        paths[probe] = get["path"]
    assert paths["livenessProbe"] == "/healthz" and paths["readinessProbe"] == "/readyz"
    for path in set(paths.values()):
        assert client.get(path).status_code == 200, path
    [service] = _named("Service").values()
    assert service["spec"]["selector"].items() <= api["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] in (int(port), container["ports"][0]["name"])


def test_keda_scales_the_gpu_workers_on_their_queued_and_running_jobs_down_to_zero() -> None:
    """KEDA's CRDs are not in the Kubernetes schemas: the fields it requires, and what they name."""
    [scaled] = _named("ScaledObject", KEDA).values()
    spec = scaled["spec"]
    gpu = _gpu_deployment()
    assert scaled["metadata"]["name"] and scaled["metadata"]["namespace"] == gpu["metadata"]["namespace"]
    assert spec["scaleTargetRef"]["name"] == gpu["metadata"]["name"]
    assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    assert spec["minReplicaCount"] == 0 and spec["maxReplicaCount"] >= 1
    for field in ("pollingInterval", "cooldownPeriod"):
        assert isinstance(spec[field], int) and spec[field] > 0
    triggers = {trigger["type"]: trigger for trigger in spec["triggers"]}
    assert sorted(triggers) == ["postgresql", "redis"]
    for trigger in triggers.values():
        # KEDA's trigger metadata is a map of strings: a bare number is refused by its admission webhook.
        assert all(isinstance(value, str) for value in trigger["metadata"].values()), trigger

    redis = triggers["redis"]["metadata"]
    queues = _option(_spec(gpu)["containers"][0]["command"], "--queues").split(",")
    assert queues == ["gpu"] and redis["listName"] in JOB_QUEUES
    assert redis["listName"] == "gpu" and int(redis["listLength"]) >= 1
    # The Redis KEDA watches is the Celery broker: same host, port and database.
    broker = urlsplit(SECRETS["mindrender-secrets"]["stringData"]["MR_BROKER_URL"])
    assert redis["address"] == f"{broker.hostname}:{broker.port}"
    assert redis["databaseIndex"] == broker.path.strip("/")
    # The broker has a password: KEDA gets it through a TriggerAuthentication from a Secret that exists.
    assert broker.password
    assert _trigger_secret(triggers["redis"], "password")

    # The jobs KEDA counts are those of the workers' queue, in the service's database, one worker a job.
    postgres = triggers["postgresql"]["metadata"]
    assert f"queue = '{queues[0]}'" in postgres["query"] and float(postgres["targetQueryValue"]) == 1
    database = urlsplit(SECRETS["mindrender-secrets"]["stringData"]["MR_DATABASE_URL"])
    connection = urlsplit(_trigger_secret(triggers["postgresql"], "connection"))
    assert database.scheme == "postgresql+psycopg" and connection.scheme == "postgresql"  # libpq's, for KEDA
    assert (connection.hostname, connection.port, connection.path, connection.username) == (
        database.hostname, database.port, database.path, database.username
    )  # fmt: skip


def _trigger_secret(trigger: dict[str, Any], parameter: str) -> str:
    """The value a trigger's TriggerAuthentication gives `parameter`, from the Secret it names."""
    authentication = _named("TriggerAuthentication", KEDA)[trigger["authenticationRef"]["name"]]
    [target] = authentication["spec"]["secretTargetRef"]
    assert target["parameter"] == parameter
    value: str = SECRETS[target["name"]]["stringData"][target["key"]]
    return value


def test_the_job_count_keda_reads_is_the_gpu_queues_queued_and_running_jobs(configure, postgres_url, signup):
    """The ScaledObject's query on the real schema, after the migrations, with a job in each case."""
    configure(database_url=postgres_url)
    user = signup()
    ids = [submit(user, png_bytes(12, 10, seed=seed)).json()["id"] for seed in range(5)]
    cases = [
        ("gpu", "queued"), ("gpu", "running"), ("gpu", "succeeded"), ("cpu", "running"), ("gpu", "failed")
    ]  # fmt: skip
    [scaled] = _named("ScaledObject", KEDA).values()
    [query] = [t["metadata"]["query"] for t in scaled["spec"]["triggers"] if t["type"] == "postgresql"]
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            for job_id, (queue, status) in zip(ids, cases, strict=True):
                connection.execute(
                    text("UPDATE jobs SET queue = :queue, status = :status WHERE id = :id"),
                    {"queue": queue, "status": status, "id": job_id},
                )
            assert connection.execute(text(query)).scalar_one() == 2
    finally:
        engine.dispose()


def test_the_operations_guide_covers_kubernetes() -> None:
    guide = (ROOT / "docs/operations.md").read_text()
    section = guide.split("## Kubernetes", 1)[1].split("\n## ", 1)[0]
    for needed in ("kubectl apply -k deploy/kubernetes", "mindrender-migrate", "KEDA", "nvidia.com/gpu"):
        assert needed in section, needed
