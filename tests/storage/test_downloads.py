"""Downloads from local-disk storage over real HTTP (uvicorn on loopback): streamed, with byte ranges for
media players, the result's media type and its name; the archive reads results a chunk at a time."""

from __future__ import annotations

import threading
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn

from app.jobs.archive import ArchiveEntry, zip_stream
from app.storage.byte_ranges import byte_range
from app.storage.errors import RangeNotSatisfiable
from app.storage.local import CHUNK_BYTES
from app.storage.signed_urls import SignedObject, sign, signing_key
from tests import support
from tests.jobs.test_lifecycle import run
from tests.video.clips import Clip, make_clip


@pytest.mark.parametrize(
    ("header", "span"),
    [
        (None, None),
        ("bytes=0-", (0, 1000)),
        ("bytes=0-1", (0, 2)),
        ("bytes=100-199", (100, 200)),
        ("bytes=900-5000", (900, 1000)),  # an end past the object is cut to it
        ("bytes=-100", (900, 1000)),
        ("bytes=-5000", (0, 1000)),
        ("BYTES = 5 - 9", (5, 10)),
        ("bytes=5-2", None),  # invalid: the whole object
        ("bytes=0-1,5-6", None),  # several ranges: the whole object (players ask for one)
        ("items=0-1", None),
        ("bytes=" + "9" * 5000 + "-", None),  # no real position: ignored, not a 500
        ("bytes=abc", None),
        ("bytes=-", None),
    ],
)
def test_range_headers(header, span):
    assert byte_range(header, 1000) == span


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(RangeNotSatisfiable) as raised:
        byte_range(header, 1000)
    assert raised.value.headers == {"Content-Range": "bytes */1000"}


@pytest.fixture
def live_api(settings) -> Iterator[str]:
    """The API served by uvicorn on a free loopback port, in this process (its settings, its storage)."""
    from app.main import create_app

    port = support.free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def _link(settings, key: str, filename: str, media_type: str) -> str:
    token = sign(signing_key(settings), SignedObject(key, filename, media_type, int(time.time()) + 60))
    return f"/v1/files/{token}"


def test_a_stored_file_is_streamed_with_byte_ranges(settings, live_api):
    size = 3 * CHUNK_BYTES + 123  # several chunks: the route never holds the whole file
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    support.current_runtime().storage.put("results/clip.mp4", data, "video/mp4")
    link = _link(settings, "results/clip.mp4", "Été_x2.mp4", "video/mp4")
    with httpx.Client(base_url=live_api, timeout=30) as http:
        whole = http.get(link)
        assert whole.status_code == 200
        assert whole.content == data
        assert whole.headers["content-length"] == str(size)
        assert whole.headers["content-type"] == "video/mp4"
        assert whole.headers["accept-ranges"] == "bytes"
        assert whole.headers["content-disposition"] == (
            "attachment; filename=\"Ete_x2.mp4\"; filename*=UTF-8''%C3%89t%C3%A9_x2.mp4"
        )
        etag = whole.headers["etag"]

        with http.stream("GET", link, headers={"Range": "bytes=0-"}) as streamed:
            assert streamed.status_code == 206
            sizes = [len(chunk) for chunk in streamed.iter_raw()]
        assert sum(sizes) == size and len(sizes) > 1

        middle = http.get(link, headers={"Range": f"bytes={CHUNK_BYTES - 10}-{CHUNK_BYTES + 9}"})
        assert middle.status_code == 206
        assert middle.content == data[CHUNK_BYTES - 10 : CHUNK_BYTES + 10]
        assert middle.headers["content-range"] == f"bytes {CHUNK_BYTES - 10}-{CHUNK_BYTES + 9}/{size}"
        assert middle.headers["content-length"] == "20"
        assert middle.headers["content-type"] == "video/mp4"

        tail = http.get(link, headers={"Range": "bytes=-100"})
        assert (tail.status_code, tail.content) == (206, data[-100:])

        past = http.get(link, headers={"Range": f"bytes={size}-"})
        assert past.status_code == 416
        assert past.headers["content-range"] == f"bytes */{size}"
        assert past.json()["error"]["code"] == "range_not_satisfiable"

        # If-Range: a range only of the same file; another version gets the whole file.
        same = http.get(link, headers={"Range": "bytes=0-9", "If-Range": etag})
        assert (same.status_code, same.content) == (206, data[:10])
        other = http.get(link, headers={"Range": "bytes=0-9", "If-Range": '"another"'})
        assert (other.status_code, len(other.content)) == (200, size)

        # HEAD, as download managers and players ask first: the GET's headers, no body.
        head = http.head(link)
        assert (head.status_code, head.content) == (200, b"")
        for name in ("content-length", "content-type", "accept-ranges", "etag", "content-disposition"):
            assert head.headers[name] == whole.headers[name]

        support.current_runtime().storage.delete("results/clip.mp4")
        assert http.get(link).status_code == 404
        assert http.head(link).status_code == 404
        assert http.head(link.replace("/v1/files/", "/v1/files/x")).status_code == 404


def test_a_video_result_plays_from_its_link_in_ranges(signup, settings, live_api):
    user = signup()
    response = user.post(
        "/v1/jobs",
        files={
            "file": ("Ferien am Meer.webm", make_clip(Clip(container="webm", codec="libvpx-vp9", audio=None)))
        },
        data={"model": "nearest", "scale": "2"},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["filename"] == "Ferien am Meer.webm"
    run(job["id"])
    headers = {"Authorization": user.headers["Authorization"]}
    with httpx.Client(base_url=live_api, headers=headers, timeout=30, follow_redirects=True) as http:
        whole = http.get(f"/v1/jobs/{job['id']}/result")
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "video/webm"
        assert whole.headers["content-disposition"] == 'attachment; filename="Ferien am Meer_x2.webm"'
        first = http.get(f"/v1/jobs/{job['id']}/result", headers={"Range": "bytes=0-3"})
        assert (first.status_code, first.content) == (206, whole.content[:4])
        assert first.content == b"\x1a\x45\xdf\xa3"  # EBML: the WebM's own first bytes


def test_the_archive_holds_one_chunk_of_a_large_result_at_a_time(settings, tmp_path):
    """A video result can be hundreds of MB: the zip is written from chunks, never from a whole object."""
    storage = support.current_runtime().storage
    big = 48 * 1024 * 1024
    storage.put("results/big.mp4", bytes(big), "video/mp4")
    storage.put("results/small.png", b"png", "image/png")
    entries = [
        ArchiveEntry("big_x2.mp4", "results/big.mp4", datetime(2026, 11, 28, 12, 30, tzinfo=UTC)),
        ArchiveEntry("gone_x2.png", "results/deleted-meanwhile.png", None),  # its retention ended
        ArchiveEntry("small_x2.png", "results/small.png", None),
    ]
    path = tmp_path / "results.zip"
    tracemalloc.start()
    try:
        with path.open("wb") as out:
            for part in zip_stream(storage, entries):
                assert len(part) <= 2 * CHUNK_BYTES
                out.write(part)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"{peak / 2**20:.1f} MiB held at once for a {big // 2**20} MiB result"
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["big_x2.mp4", "small_x2.png"]
        assert archive.getinfo("big_x2.mp4").file_size == big
        assert archive.getinfo("big_x2.mp4").date_time == (2026, 11, 28, 12, 30, 0)
        assert archive.read("small_x2.png") == b"png"
        assert archive.testzip() is None  # every CRC right
