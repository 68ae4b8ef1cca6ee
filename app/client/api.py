"""A small typed wrapper over the public HTTP API, used by the command-line client."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

SUFFIXES = {
    "png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif", "bmp": "bmp", "tiff": "tiff",
    "mp4": "mp4", "webm": "webm",
}  # fmt: skip


class ApiError(Exception):
    """An error answered by the service, with its machine-readable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status = status
        self.code = code


def _raise_for_error(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", response.text[:200] or response.reason_phrase
    raise ApiError(response.status_code, code, message)


def _json(response: httpx.Response) -> Any:
    """The answer's JSON body, or ApiError for an error answer."""
    _raise_for_error(response)
    return response.json()


@dataclass(frozen=True)
class Staged:
    """A file ready to name in requests: already in the service's storage (`upload_id`: a quote and the job
    read it there), or sent with each request (`upload_id` None: a service without direct uploads)."""

    path: Path
    upload_id: str | None = None

    def post(self, http: httpx.Client, url: str, fields: dict[str, str], **kwargs: Any) -> httpx.Response:
        """POST a form naming this file: by `upload_id`, or with the file itself as `file`."""
        if self.upload_id is not None:
            return http.post(url, data={**fields, "upload_id": self.upload_id}, **kwargs)
        with self.path.open("rb") as handle:
            files = {"file": (self.path.name, handle, "application/octet-stream")}
            return http.post(url, data=fields, files=files, **kwargs)


class ApiClient:
    """One authenticated connection to a Mind Render service."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 60.0) -> None:
        # Redirects are followed for downloads; httpx drops the Authorization header when a redirect leaves
        # the API's origin (a presigned S3 link), so the key never reaches the storage server.
        auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={**auth, "User-Agent": "mindrender-cli"},
            timeout=timeout,
            follow_redirects=True,
        )
        # Whether to try sending files straight to the service's storage (`stage`); off after the first
        # answer or bucket that says it cannot work.
        self.direct_uploads = True

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def stage(self, path: Path) -> Staged:
        """Send a file once, straight to the service's storage (POST /v1/uploads, then the bucket's presigned
        POST), so that its quote and its job both name it instead of carrying it. A service without direct
        uploads (local storage), or a bucket that this machine cannot reach or that refuses the post, gets the
        file with each request instead, for the rest of this client's files too."""
        if not self.direct_uploads:
            return Staged(path)
        try:
            ticket = _json(self.http.post("/v1/uploads", json={"filename": path.name}))
        except ApiError as exc:
            # direct_upload_unavailable: the service keeps files on its own disk (404, 405: a service older
            # than direct uploads).
            if exc.code == "direct_upload_unavailable" or exc.status in (404, 405):
                self.direct_uploads = False
                return Staged(path)
            raise
        largest = int(ticket["max_bytes"])
        if path.stat().st_size > largest:
            raise ApiError(413, "file_too_large", f"The file is larger than {largest:,} bytes.")
        # Not through self.http: the bucket must not see the API key.
        with path.open("rb") as handle:
            try:
                stored = httpx.post(
                    ticket["url"],
                    data=ticket["fields"],
                    files={"file": (path.name, handle, "application/octet-stream")},
                    timeout=self.http.timeout,
                )
            except httpx.TransportError:
                stored = None
        if stored is None or not stored.is_success:
            # The bucket's address is not reachable from here (an in-cluster endpoint), or a proxy, a region
            # or an outage refused the post: the API takes the file. The slot is never claimed; the
            # service's sweeper deletes it.
            self.direct_uploads = False
            return Staged(path)
        return Staged(path, str(ticket["id"]))

    def submit(self, staged: Staged, fields: dict[str, str], idempotency_key: str) -> dict[str, Any]:
        """Submit one file as a job; the idempotency key makes a retried submission safe."""
        response = staged.post(self.http, "/v1/jobs", fields, headers={"Idempotency-Key": idempotency_key})
        job: dict[str, Any] = _json(response)
        return job

    def quote(self, staged: Staged, fields: dict[str, str]) -> dict[str, Any]:
        """What submitting this file with these fields would run, charge and take (POST /v1/jobs/quote):
        the same form and checks as the submission, nothing charged or kept."""
        quote: dict[str, Any] = _json(staged.post(self.http, "/v1/jobs/quote", fields))
        return quote

    def job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = _json(self.http.get(f"/v1/jobs/{job_id}"))
        return job

    def download(self, job_id: str, target: Path) -> int:
        """Stream a job's result into `target` (written whole or not at all); returns its size in bytes."""
        partial = target.with_name(f".{target.name}.part")
        try:
            with self.http.stream("GET", f"/v1/jobs/{job_id}/result") as response:
                if not response.is_success:
                    response.read()
                    _raise_for_error(response)
                with partial.open("wb") as handle:
                    for chunk in response.iter_bytes():
                        handle.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target.stat().st_size

    def account(self) -> dict[str, Any]:
        account: dict[str, Any] = _json(self.http.get("/v1/account"))
        return account

    def recent_jobs(self, limit: int) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = _json(self.http.get("/v1/jobs", params={"limit": limit}))["jobs"]
        return jobs

    def models(self) -> list[dict[str, Any]]:
        models: list[dict[str, Any]] = _json(self.http.get("/v1/models"))
        return models

    def presets(self) -> list[dict[str, Any]]:
        """The presets the service offers (GET /v1/presets): auto and the named use cases."""
        presets: list[dict[str, Any]] = _json(self.http.get("/v1/presets"))
        return presets

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (refunded) and delete its files."""
        job: dict[str, Any] = _json(self.http.delete(f"/v1/jobs/{job_id}"))
        return job
