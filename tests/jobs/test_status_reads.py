"""Status reads of an active job: the ETA's model speed is read once a moment per process, not per read."""

from __future__ import annotations

from sqlalchemy import event

from app.estimates.service import heartbeat
from tests.jobs.test_submit import submit
from tests.support import current_runtime, png_bytes


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
