"""Status reads of an active job: the ETA's model speed is read once a moment per process, not per read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from app.estimates.service import heartbeat
from tests.jobs.test_submit import submit
from tests.support import current_runtime, png_bytes

IDLE = 0  # psycopg's TransactionStatus.IDLE: no transaction open on the connection


def test_polling_an_active_job_reads_its_model_speed_once_then_answers_from_memory(signup):
    user = signup()
    # "A moment" is an hour here, so that a slow machine cannot let the kept speed lapse between reads.
    user.app.state.recent_speeds.kept_seconds = 3600.0
    job = submit(user, png_bytes(32, 32)).json()
    speed_reads: list[str] = []

    def seen(_conn, _cursor, statement: str, *_args) -> None:
        if "model_speeds" in statement or "workers_seen" in statement:
            speed_reads.append(statement)

    engine = user.app.state.runtime.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        answers = [user.get(f"/v1/jobs/{job['id']}").json() for _ in range(3)]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert all(
        a["status"] == "queued" and a["eta_seconds"] >= job["estimated_seconds"] - 0.5 for a in answers
    )
    assert speed_reads == []  # the submission's answer read it already


def test_a_lapsed_speed_is_read_again_and_the_eta_sees_a_new_worker(signup):
    user = signup()
    user.app.state.recent_speeds.kept_seconds = 0.0  # every read finds it lapsed
    first = submit(user, png_bytes(200, 200), model="realesr-animevideov3", scale=4).json()
    second = submit(user, png_bytes(200, 200), model="realesr-animevideov3", scale=4).json()
    alone = user.get(f"/v1/jobs/{second['id']}").json()["eta_seconds"]
    with current_runtime().unit_of_work() as session:
        heartbeat(session, "worker-a", ["cpu", "gpu"], "cpu")
        heartbeat(session, "worker-b", ["cpu", "gpu"], "cpu")
    shared = user.get(f"/v1/jobs/{second['id']}").json()["eta_seconds"]
    # The job ahead is shared among two live workers now.
    assert shared < alone
    assert shared >= second["estimated_seconds"] - 0.5 and first["status"] == "queued"


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[bool, str]]]:
    """Each statement run while the block runs, and whether it opened a transaction (psycopg
    sends a BEGIN, one round trip, before a statement on an idle connection outside autocommit)."""
    seen: list[tuple[bool, str]] = []

    def on(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        dbapi = conn.connection.dbapi_connection
        opens = not dbapi.autocommit and dbapi.info.transaction_status == IDLE
        seen.append((opens, " ".join(statement.split())))

    event.listen(engine, "before_cursor_execute", on)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on)


@pytest.mark.integration
def test_on_postgres_reads_open_no_transaction_and_a_submission_one(configure, postgres_url):
    """Authentication's key lookup and a status read only read: each statement runs on its own, without
    the BEGIN and COMMIT round trips around them (four of a status read's seven). A submission's writes
    are one transaction, and it reads the account only to find the key: its balance check before decoding
    uses that read, and the hold returns the low-balance threshold (no SELECT of their own); the model's
    speed for its estimate is one statement, its live workers and measured speeds together, with the work
    queued ahead for its answer's ETA. A status read
    reads the job and the work ahead of it (its ETA's sum) in one statement."""
    from app.main import create_app

    settings = configure(database_url=postgres_url)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        created = client.post("/v1/accounts", json={"email": "r@example.com", "password": "correct horse"})
        assert created.status_code == 201, created.text
        client.cookies.clear()
        auth = {"Authorization": f"Bearer {created.json()['api_key']}"}
        files = {"file": ("a.png", png_bytes(32, 32), "image/png")}
        form = {"model": "bicubic", "scale": "2"}
        first = client.post("/v1/jobs", files=files, data=form, headers=auth)  # the key's touch is done
        assert first.status_code == 202, first.text
        client.app.state.recent_speeds.kept_seconds = 3600.0  # type: ignore[attr-defined]
        engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
        with statements(engine) as by_submission:
            job = client.post("/v1/jobs", files=files, data=form, headers=auth).json()
        with statements(engine) as by_read:
            read = client.get(f"/v1/jobs/{job['id']}", headers=auth)
    assert read.status_code == 200 and read.json()["status"] == "queued" and read.json()["eta_seconds"] > 0
    assert [statement for opens, statement in by_read if opens] == []
    # The key's lookup, then the job with the work queued ahead of it (the first job) for its ETA.
    assert len(by_read) == 2 and "sum(" in by_read[1][1], by_read
    ahead = first.json()["estimated_seconds"]
    assert read.json()["eta_seconds"] >= ahead + job["estimated_seconds"] - 0.5
    assert len([statement for opens, statement in by_submission if opens]) == 1, by_submission
    of_accounts = [statement.split()[0] for _, statement in by_submission if "accounts" in statement]
    assert of_accounts == ["SELECT", "UPDATE"], by_submission  # the key's lookup, the hold
    of_speeds = [statement for _, statement in by_submission if "model_speeds" in statement]
    assert len(of_speeds) == 1 and "workers_seen" in of_speeds[0], by_submission
    # The work queued ahead (the first job), for the answer's ETA, is read in that statement too.
    assert [statement for _, statement in by_submission if "sum(" in statement] == of_speeds
    assert job["eta_seconds"] >= first.json()["estimated_seconds"] + job["estimated_seconds"] - 0.5
