"""Small clips made with PyAV for the video tests: a few dozen tiny frames, an audio track, tags."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

AUDIO_RATE = 48000
BT709 = 1
RGB_MATRIX = 0  # AVCOL_SPC_RGB: what libx264rgb writes


@dataclass(frozen=True)
class Clip:
    """What to write: container, codecs, size, frames, frame rate, and the extras a test looks for."""

    container: str = "mp4"
    codec: str = "libx264"
    audio: str | None = "aac"
    layout: str = "stereo"
    pix_fmt: str = "yuv420p"
    width: int = 64
    height: int = 48
    frames: int = 24
    fps: int = 24
    rotation: int = 0
    subtitles: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    seed: int = 0


def make_clip(clip: Clip = Clip()) -> bytes:
    """The clip's file bytes: moving random blocks (texture for the models), BT.709 colour tags, a sine
    tone as long as the video, and optionally a subtitle cue."""
    with tempfile.TemporaryDirectory() as folder, scheduling_kept():
        path = Path(folder) / f"clip.{clip.container}"
        with av.open(str(path), "w", format=clip.container) as out:
            for key, value in clip.tags.items():
                out.metadata[key] = value
            video = out.add_stream(clip.codec, rate=clip.fps)
            assert isinstance(video, av.video.stream.VideoStream)
            video.width, video.height, video.pix_fmt = clip.width, clip.height, clip.pix_fmt
            context = video.codec_context
            context.color_primaries = context.color_trc = BT709
            context.colorspace = BT709 if clip.pix_fmt.startswith("yuv") else RGB_MATRIX
            if clip.rotation:
                video.set_display_rotation(clip.rotation)
            audio = _add_audio(out, clip.audio, clip.layout)
            subtitles = out.add_mux_stream(clip.subtitles) if clip.subtitles else None
            for index, frame in enumerate(_frames(clip)):
                frame.pts = index
                out.mux(video.encode(frame))
            out.mux(video.encode())
            if audio is not None:
                _write_tone(out, audio, seconds=Fraction(clip.frames, clip.fps))
            if subtitles is not None:
                _write_cue(out, subtitles, clip.subtitles == "mov_text")
        return path.read_bytes()


@contextmanager
def scheduling_kept() -> Iterator[None]:
    """The calling thread's scheduling policy as it was, whatever the encoder did to it.

    SVT-AV1 (PyAV's `libsvtav1`), run as root, moves the thread that opens it to real-time priority
    (SCHED_FIFO 99), and every process that thread starts afterwards inherits it. A test worker left so
    started its browser and services at real time, where Playwright's driver and Chromium spun at 97 % of a
    core each and starved the machine: the CI runs that timed out. (The service encodes with libx264 and
    libvpx-vp9 only, which leave it alone.)
    """
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        yield
    finally:
        if (os.sched_getscheduler(0), os.sched_getparam(0)) != (policy, param):
            os.sched_setscheduler(0, policy, param)


def _frames(clip: Clip):
    rng = np.random.default_rng(clip.seed)
    blocks = rng.integers(0, 256, (clip.height // 4 + 1, clip.width // 4 + 1, 3), dtype=np.uint8)
    texture = blocks.repeat(4, 0).repeat(4, 1)
    for index in range(clip.frames):
        shifted = np.roll(texture, index, axis=1)[: clip.height, : clip.width]
        yield av.VideoFrame.from_ndarray(np.ascontiguousarray(shifted), format="rgb24")


def _add_audio(out: av.container.OutputContainer, codec: str | None, layout: str):
    if codec is None:
        return None
    stream = out.add_stream(codec, rate=AUDIO_RATE)
    stream.layout = layout
    return stream


def _write_tone(out: av.container.OutputContainer, stream, seconds: Fraction) -> None:
    total = int(AUDIO_RATE * seconds)
    size = stream.codec_context.frame_size or 1024
    for start in range(0, total, size):
        count = min(size, total - start)
        wave = 0.2 * np.sin(2 * np.pi * 440 * np.arange(start, start + count) / AUDIO_RATE)
        layout = stream.codec_context.layout
        # Packed 16-bit samples, every channel the same: PyAV's planar from_ndarray fails on layouts
        # without an order ("9 channels").
        samples = np.repeat(np.rint(wave * 32767).astype(np.int16), layout.nb_channels)
        frame = av.AudioFrame.from_ndarray(samples[None], format="s16", layout=layout)
        frame.sample_rate, frame.pts = AUDIO_RATE, start
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def _write_cue(out: av.container.OutputContainer, stream, mov_text: bool) -> None:
    """One subtitle packet at 0.1 s, as a subtitle encoder would write it (mov_text: length-prefixed)."""
    packet = av.Packet(b"\x00\x05Hello" if mov_text else b"Hello")
    packet.stream = stream
    packet.time_base = Fraction(1, 1000)
    packet.pts = packet.dts = 100
    packet.duration = 500
    out.mux(packet)


@dataclass(frozen=True)
class Probe:
    """What a video file holds, read back with PyAV: frame sizes, count, rate, streams, tags."""

    frame_sizes: set[tuple[int, int]]
    frames: int
    fps: Fraction | None
    video_seconds: float
    audio_seconds: float | None
    audio_codec: str | None
    subtitle_codec: str | None
    rotation: int
    colorspace: int
    metadata: dict[str, str]
    codec: str


def probe(data: bytes) -> Probe:
    with tempfile.NamedTemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        with av.open(handle.name) as container:
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            subtitle = container.streams.subtitles[0] if container.streams.subtitles else None
            sizes, frames, rotation = set(), 0, 0
            for frame in container.decode(video):
                sizes.add((frame.width, frame.height))
                rotation = frame.rotation
                frames += 1
            return Probe(
                frame_sizes=sizes,
                frames=frames,
                fps=video.average_rate,
                video_seconds=_seconds(handle.name, video.index),
                audio_seconds=_seconds(handle.name, audio.index) if audio else None,
                audio_codec=audio.codec_context.name if audio else None,
                subtitle_codec=subtitle.codec_context.name if subtitle else None,
                rotation=rotation,
                colorspace=video.codec_context.colorspace,
                metadata=dict(container.metadata),
                codec=video.codec_context.name,
            )


def _seconds(path: str, index: int) -> float:
    """A stream's length from its packets: first start to last end."""
    with av.open(path) as container:
        stream = container.streams[index]
        spans = [
            (float(p.pts * p.time_base), float((p.pts + (p.duration or 0)) * p.time_base))
            for p in container.demux(stream)
            if p.pts is not None and p.size
        ]
    return max(end for _, end in spans) - min(start for start, _ in spans)
