"""Containers' own headers, read before FFmpeg opens a clip: what real clips say, what lying ones cost.

FFmpeg indexes every sample an MP4's tables claim when it opens the file (20,000,000 claimed frames in a
5 KB file took 1.4 GB); these tests build such files box by box and check they are refused from the
headers, within a memory bound measured in a child process.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest

from app.media.container_header import read_container_header, sample_data_end
from app.media.errors import CorruptVideo, ImageTooLarge, UnsupportedVideo, VideoTooLong
from app.media.video_probe import VideoLimits, read_video_header, video_container
from bench.hostile_clips import (
    ROTATE_90,
    box,
    fragmented_mp4,
    full_box,
    into_first_track,
    lying_mkv,
    lying_mp4,
    swallowing_moov,
)
from tests.video.clips import Clip, make_clip, probe

# The service's defaults (app/config.py): 300 s, 18,000 frames, 4K output, 25 MP input.
LIMITS = VideoLimits(
    max_seconds=300, max_frames=18_000, max_output_pixels=3840 * 2160, max_frame_pixels=25_000_000
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "clip",
    [
        Clip(),
        Clip(rotation=90),
        Clip(rotation=180, codec="libx265"),
        Clip(rotation=270),
        Clip(container="mov", audio="pcm_s16le", rotation=90),
        Clip(container="matroska", rotation=90),
        Clip(container="matroska", rotation=270, audio="pcm_s16le"),
        Clip(container="webm", codec="libvpx-vp9", audio="libopus"),
    ],
    ids=["mp4", "mp4-90", "hevc-180", "mp4-270", "mov-pcm-90", "mkv-90", "mkv-270-pcm", "webm"],
)
def test_the_headers_say_what_ffmpeg_reads(clip):
    data = make_clip(clip)
    container = video_container(data)
    assert container is not None
    header = read_container_header(data, container)
    video = header.video
    assert video is not None
    expected = probe(data)
    assert (video.width, video.height) == (clip.width, clip.height)
    assert video.rotation == expected.rotation % 360 == clip.rotation
    assert video.codec == expected.codec
    if container in ("mp4", "mov"):
        assert video.samples == video.timed_samples == expected.frames
        assert video.seconds == pytest.approx(expected.video_seconds, abs=1e-3)
        assert all(0 < sample_data_end(data, track) <= len(data) for track in header.tracks)
    else:
        assert video.samples == 0  # Matroska does not count its blocks in the header
        assert video.frame_seconds == pytest.approx(1 / clip.fps, rel=1e-3)
        assert header.duration == pytest.approx(clip.frames / clip.fps, abs=0.05)


@pytest.mark.parametrize("frames", [20_000_000, 50_000_000])
def test_a_lying_sample_table_is_refused_from_the_header(frames):
    data = lying_mp4(frames)
    assert len(data) < 6_000
    with pytest.raises(VideoTooLong, match=f"{frames:,} frames long"):
        read_video_header(data, "mp4", LIMITS)


def test_fragments_that_claim_millions_of_frames_are_refused():
    data = fragmented_mp4(10_000_000, fragments=2)
    assert len(data) < 2_000
    with pytest.raises(VideoTooLong, match="20,000,000 frames long"):
        read_video_header(data, "mp4", LIMITS)


def test_tables_out_of_place_are_read_where_ffmpeg_reads_them():
    """FFmpeg dispatches a box by its type wherever it is: a `stsz` in a track's `udta` after its own
    tables sets its sample count, and fragments inside an oversized `moov` are read as fragments."""
    hidden = box(b"udta", full_box(b"stsz", struct.pack(">II", 1, 20_000_000)))
    with pytest.raises(VideoTooLong, match="20,000,000 frames long"):
        read_video_header(into_first_track(make_clip(Clip(audio=None)), hidden), "mp4", LIMITS)
    with pytest.raises(VideoTooLong, match="20,000,000 frames long"):
        read_video_header(swallowing_moov(fragmented_mp4(20_000_000)), "mp4", LIMITS)


def test_samples_the_file_cannot_hold_are_refused():
    # 20 million one-byte audio samples in 5 KB: FFmpeg would index them all (1.4 GB) before reading any.
    data = lying_mp4(24, audio_samples=20_000_000)
    with pytest.raises(CorruptVideo, match="claim 20,000,000 bytes of samples"):
        read_video_header(data, "mp4", LIMITS)


def test_raw_audio_is_bounded_by_its_chunks_not_its_sample_size():
    """An old QuickTime sound description may say 1 byte a sample for compressed audio (IMA4 packs 64
    samples in 34 bytes): such a track's samples are not refused by bytes, and FFmpeg indexes it by chunk."""
    data = bytearray(make_clip(Clip(container="mov", audio="pcm_s16le")))
    audio_stsz = data.index(b"stsz", data.index(b"stsz") + 4)
    assert struct.unpack_from(">II", data, audio_stsz + 8) == (4, 48_000)  # 4 bytes a sample, 48,000 of them
    struct.pack_into(">I", data, audio_stsz + 8, 1000)  # 48 MB claimed in a 0.2 MB file
    header = read_container_header(bytes(data), "mov")
    assert [track.raw_audio for track in header.tracks] == [False, True]
    assert sample_data_end(bytes(data), header.tracks[1]) < len(data)
    assert read_video_header(bytes(data), "mov", LIMITS).frames == 24


def test_more_packets_than_a_clip_needs_are_refused_from_the_header():
    # One size per sample, written out: the tables are real, but 100,000 audio packets for 24 frames is
    # more than the packets bound (18,000 frames + 250 a second for 10 s).
    limits = VideoLimits(max_seconds=10, max_frames=18_000, max_output_pixels=10**8)
    data = lying_mp4(24, audio_samples=100_000, audio_sample_size=0)
    with pytest.raises(UnsupportedVideo, match="100,024 packets"):
        read_video_header(data, "mp4", limits)


def test_tables_that_disagree_are_refused():
    data = lying_mp4(24, timed_frames=23)
    with pytest.raises(CorruptVideo, match="disagree"):
        read_video_header(data, "mp4", LIMITS)


@pytest.mark.parametrize(
    ("data", "container", "message"),
    [
        (lying_mp4(24, width=8192, height=8192, codec=b"hvc1"), "mp4", "8192x8192"),
        (lying_mp4(24, width=8192, height=4000, matrix=ROTATE_90), "mp4", "4000x8192"),
        (lying_mkv(width=8192, height=8192), "mkv", "8192x8192"),
    ],
    ids=["mp4-hevc", "mp4-rotated", "mkv"],
)
def test_frames_too_large_are_refused_from_the_header(data, container, message):
    with pytest.raises(ImageTooLarge, match=message):
        read_video_header(data, container, LIMITS)


def test_a_real_clip_claiming_large_frames_in_its_header_is_refused_before_it_is_opened():
    """A real HEVC clip whose sample description says 8192x8192 (its bitstream says 64x48)."""
    data = bytearray(make_clip(Clip(codec="libx265", audio=None)))
    entry = data.index(b"stsd") + 16  # the first sample entry's four letters (FFmpeg writes hev1)
    assert data[entry : entry + 4] in (b"hev1", b"hvc1")
    data[entry + 28 : entry + 32] = struct.pack(">HH", 8192, 8192)
    with pytest.raises(ImageTooLarge, match="8192x8192"):
        read_video_header(bytes(data), "mp4", LIMITS)


def test_a_matroska_length_beyond_the_limit_is_refused_from_the_header():
    with pytest.raises(VideoTooLong, match=r"100000\.0 s long"):
        read_video_header(lying_mkv(seconds=100_000), "mkv", LIMITS)


def test_the_rotation_comes_from_the_header_and_nothing_is_decoded():
    """Every frame's data zeroed: the header read still answers (rotation included), as nothing is decoded;
    the full decode refuses it later, within the decode budget."""
    data = bytearray(make_clip(Clip(codec="libx265", audio=None, rotation=90)))
    at = data.index(b"mdat") + 4
    end = at - 8 + int.from_bytes(data[at - 8 : at - 4], "big")
    data[at:end] = bytes(end - at)
    info = read_video_header(bytes(data), "mp4", LIMITS)
    assert (info.width, info.height, info.rotation, info.frames) == (48, 64, 90, 24)


def test_a_compressed_movie_header_is_refused():
    data = lying_mp4(24).replace(b"moov", b"cmov", 1)
    with pytest.raises(UnsupportedVideo, match="compressed"):
        read_container_header(data, "mp4")


def test_a_file_of_a_million_boxes_is_refused_after_a_bounded_walk():
    data = box(b"ftyp", b"isom") + box(b"free") * 600_000
    with pytest.raises(UnsupportedVideo, match="500,000 boxes"):
        read_container_header(data, "mp4")


def test_any_bytes_raise_nothing_but_domain_errors():
    """Truncations, flipped bytes and spliced boxes of real and hostile files: the parser answers or raises
    a domain error, never anything else."""
    rng = random.Random(31)
    seeds = [
        (make_clip(), "mp4"),
        (make_clip(Clip(container="webm", codec="libvpx-vp9", audio="libopus")), "webm"),
        (lying_mp4(20_000_000, audio_samples=1000), "mp4"),
        (fragmented_mp4(1000, fragments=3), "mp4"),
        (lying_mkv(roll=90.0), "mkv"),
    ]
    for _ in range(1500):
        data, container = rng.choice(seeds)
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(mutated))
            mutated[at] = rng.choice([0, 1, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        if rng.random() < 0.3:
            mutated = mutated[: rng.randrange(len(mutated))]
        try:
            header = read_container_header(bytes(mutated), container)
        except (CorruptVideo, UnsupportedVideo):
            continue
        for track in header.tracks:
            if track.samples <= LIMITS.max_packets and track.chunks <= LIMITS.max_packets:
                sample_data_end(bytes(mutated), track)


_PROBE_CHILD = textwrap.dedent(
    """
    import json, sys
    from app.media.errors import DomainError
    from app.media.video_probe import VideoLimits, read_video_header
    limits = VideoLimits(300, 18_000, 3840 * 2160, 25_000_000)
    # This process's own high-water mark (ru_maxrss would start at the parent's size at fork).
    peak_kb = lambda: next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    answer = None
    if sys.argv[1] != "-":
        data = open(sys.argv[1], "rb").read()
        try:
            read_video_header(data, "mp4", limits)
            answer = "accepted"
        except DomainError as exc:
            answer = exc.code
    print(json.dumps([answer, peak_kb()]))
    """
)


def _child(path: str) -> tuple[str | None, int]:
    """What a fresh process answers for the file at `path` ("-": only the imports), and its peak KB."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE_CHILD, path],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    answer, peak_kb = json.loads(done.stdout.strip().splitlines()[-1])
    return answer, peak_kb


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("20-million-frames", lying_mp4(20_000_000), "video_too_long"),
        ("50-million-frames", lying_mp4(50_000_000), "video_too_long"),
        ("20-million-audio-samples", lying_mp4(24, audio_samples=20_000_000), "corrupt_video"),
        ("20-million-fragment-samples", fragmented_mp4(20_000_000), "video_too_long"),
        ("fragments-inside-moov", swallowing_moov(fragmented_mp4(20_000_000)), "video_too_long"),
        (
            "stsz-in-udta",
            into_first_track(
                make_clip(Clip(audio=None)),
                box(b"udta", full_box(b"stsz", struct.pack(">II", 1, 20_000_000))),
            ),
            "video_too_long",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_lying_header_costs_under_100_mb(tmp_path, name, data, code):
    """Peak memory of a process that refuses the clip, against one that only imports the same modules."""
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(data)
    _, baseline_kb = _child("-")
    answer, peak_kb = _child(str(path))
    assert answer == code
    assert (peak_kb - baseline_kb) / 1024 < 100, (peak_kb, baseline_kb)


def _flat_h264(path: Path, side: int, frames: int = 2) -> None:
    """A gray side x side H.264 MP4: a few KB that decode to side*side*1.5 bytes a frame."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((side, side, 3), 128, np.uint8), format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def test_reading_a_large_clip_decodes_no_frame(tmp_path):
    """One 4096x4096 frame is 25 MB decoded: reading the clip stays well under it (it used to decode the
    first frame for its rotation, and FFmpeg's H.264 probe decoded several: +54 MB at opening alone)."""
    path = tmp_path / "large.mp4"
    _flat_h264(path, 4096)
    _, baseline_kb = _child("-")
    answer, peak_kb = _child(str(path))
    assert answer == "accepted"
    assert (peak_kb - baseline_kb) / 1024 < 20, (peak_kb, baseline_kb)
