"""Hostile MP4 and Matroska files written box by box: headers that claim what the bytes are not."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

IDENTITY = (1.0, 0.0, 0.0, 1.0)
ROTATE_90 = (0.0, 1.0, -1.0, 0.0)  # the matrix FFmpeg writes for a display rotation of 90 degrees


def box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, *parts: bytes, version: int = 0, flags: int = 0) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags), *parts)


def _matrix(abcd: tuple[float, float, float, float]) -> bytes:
    a, b, c, d = (round(value * 65536) for value in abcd)
    return struct.pack(">9i", a, b, 0, c, d, 0, 0, 0, 1 << 30)


def _visual_entry(codec: bytes, width: int, height: int) -> bytes:
    return box(
        codec,
        bytes(6) + struct.pack(">H", 1) + bytes(16),
        struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1),
        bytes(32) + struct.pack(">Hh", 24, -1),
    )


def _sound_entry(codec: bytes) -> bytes:
    return box(
        codec, bytes(6) + struct.pack(">H", 1) + bytes(8), struct.pack(">HHHHI", 2, 16, 0, 0, 48000 << 16)
    )


def track(
    *,
    handler: bytes,
    track_id: int,
    samples: int,
    sample_size: int,
    chunk_offset: int,
    delta: int = 1000,
    timescale: int = 24000,
    entry: bytes = b"",
    width: int = 0,
    height: int = 0,
    matrix: tuple[float, float, float, float] = IDENTITY,
    timed: int | None = None,
) -> bytes:
    """A `trak` whose tables claim `samples` samples of `sample_size` bytes, all in one chunk."""
    timed = samples if timed is None else timed
    tkhd = full_box(
        b"tkhd",
        struct.pack(">IIIII", 0, 0, track_id, 0, 1000) + bytes(8) + struct.pack(">hhhH", 0, 0, 0, 0),
        _matrix(matrix),
        struct.pack(">II", width << 16, height << 16),
        flags=3,
    )
    # The media header says one second, whatever the tables claim.
    mdhd = full_box(b"mdhd", struct.pack(">IIIIHH", 0, 0, timescale, timescale, 0x55C4, 0))
    hdlr = full_box(b"hdlr", struct.pack(">I", 0), handler, bytes(12), b"handler\x00")
    stsd = full_box(b"stsd", struct.pack(">I", 1), entry)
    stts = full_box(b"stts", struct.pack(">III", 1, timed, delta))
    stsc = full_box(b"stsc", struct.pack(">IIII", 1, 1, samples, 1))
    # Sizes of 0 bytes: one size per sample is written out, each of 1 byte.
    sizes = struct.pack(f">{samples}I", *[1] * samples) if not sample_size else b""
    stsz = full_box(b"stsz", struct.pack(">II", sample_size, samples), sizes)
    stco = full_box(b"stco", struct.pack(">II", 1, chunk_offset))
    stbl = box(b"stbl", stsd, stts, stsc, stsz, stco)
    return box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", stbl)))


def movie_header(seconds: int = 1) -> bytes:
    return full_box(
        b"mvhd",
        struct.pack(">IIII", 0, 0, 1000, seconds * 1000),
        struct.pack(">IH", 0x10000, 0x100) + bytes(10),
        _matrix(IDENTITY),
        bytes(24) + struct.pack(">I", 3),
    )


FTYP = box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
MDAT_BODY = bytes(4096)
# Samples start right after the `mdat` box's header, which follows `ftyp`.
DATA_OFFSET = len(FTYP) + 8


def lying_mp4(
    frames: int,
    *,
    width: int = 64,
    height: int = 64,
    codec: bytes = b"avc1",
    matrix: tuple[float, float, float, float] = IDENTITY,
    audio_samples: int = 0,
    audio_sample_size: int = 1,
    audio_delta: int = 1024,
    frame_size: int = 1,
    timed_frames: int | None = None,
) -> bytes:
    """A few KB of MP4 whose video track claims `frames` frames (and its audio track `audio_samples`)."""
    tracks = [
        track(
            handler=b"vide",
            track_id=1,
            samples=frames,
            sample_size=frame_size,
            chunk_offset=DATA_OFFSET,
            entry=_visual_entry(codec, width, height),
            width=width,
            height=height,
            matrix=matrix,
            timed=timed_frames,
        )
    ]
    if audio_samples:
        tracks.append(
            track(
                handler=b"soun",
                track_id=2,
                samples=audio_samples,
                sample_size=audio_sample_size,
                chunk_offset=DATA_OFFSET,
                delta=audio_delta,
                timescale=48000,
                entry=_sound_entry(b"mp4a" if audio_delta != 1 else b"sowt"),
            )
        )
    return FTYP + box(b"mdat", MDAT_BODY) + box(b"moov", movie_header(), *tracks)


def fragmented_mp4(frames_per_fragment: int, fragments: int = 1, track_id: int = 1) -> bytes:
    """An MP4 whose movie header declares an empty video track and whose fragments' runs claim
    `frames_per_fragment` samples each, with no per-sample fields (so they take no bytes)."""
    empty = track(
        handler=b"vide",
        track_id=1,
        samples=0,
        sample_size=0,
        chunk_offset=DATA_OFFSET,
        entry=_visual_entry(b"avc1", 64, 64),
        width=64,
        height=64,
    )
    trex = full_box(b"trex", struct.pack(">IIIII", 1, 1, 1000, 1, 0))
    moov = box(b"moov", movie_header(), empty, box(b"mvex", trex))
    parts = [FTYP, moov]
    for sequence in range(fragments):
        tfhd = full_box(b"tfhd", struct.pack(">I", track_id), flags=0x20000)  # default-base-is-moof
        trun = full_box(b"trun", struct.pack(">I", frames_per_fragment))
        mfhd = full_box(b"mfhd", struct.pack(">I", sequence + 1))
        parts += [box(b"moof", mfhd, box(b"traf", tfhd, trun)), box(b"mdat", bytes(64))]
    return b"".join(parts)


# Matroska


def element(element_id: int, body: bytes) -> bytes:
    """An EBML element: its id's own bytes, an 8-byte size, the body."""
    return (
        element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
        + (0x01 << 56 | len(body)).to_bytes(8, "big")
        + body
    )


def uint(element_id: int, value: int) -> bytes:
    return element(element_id, value.to_bytes(8, "big"))


def lying_mkv(*, width: int = 64, height: int = 64, seconds: float = 1.0, roll: float | None = None) -> bytes:
    """A Matroska header (no clusters) claiming a video track of width x height and a length in seconds."""
    ebml = element(0x1A45DFA3, element(0x4282, b"matroska"))
    info = element(0x1549A966, uint(0x2AD7B1, 1_000_000) + element(0x4489, struct.pack(">d", seconds * 1000)))
    video = uint(0xB0, width) + uint(0xBA, height)
    if roll is not None:
        video += element(0x7670, element(0x7675, struct.pack(">f", roll)))
    entry = element(
        0xAE, uint(0xD7, 1) + uint(0x83, 1) + element(0x86, b"V_MPEG4/ISO/AVC") + element(0xE0, video)
    )
    return ebml + element(0x18538067, info + element(0x1654AE6B, entry))


def into_first_track(data: bytes, extra: bytes) -> bytes:
    """A real clip (its `moov` last, as PyAV writes it) with `extra` appended inside its first `trak`,
    after the track's own tables."""
    out = bytearray(data)
    moov, trak = out.index(b"moov") - 4, out.index(b"trak") - 4
    trak_end = trak + struct.unpack_from(">I", out, trak)[0]
    out[trak_end:trak_end] = extra
    for at in (moov, trak):
        struct.pack_into(">I", out, at, struct.unpack_from(">I", out, at)[0] + len(extra))
    return bytes(out)


def swallowing_moov(data: bytes) -> bytes:
    """A file whose `moov` (right after `ftyp`) claims to run to the end, so the boxes after it, fragments
    included, are read as its children, as FFmpeg reads them."""
    out = bytearray(data)
    moov = out.index(b"moov") - 4
    struct.pack_into(">I", out, moov, len(out) - moov)
    return bytes(out)


def many_audio_packets(path: Path, packets: int) -> bytes:
    """A one-second 64x48 H.264 clip in Matroska with `packets` tiny PCM audio packets, 1 ms apart."""
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("pcm_s16le", rate=48000)
        audio.layout = "mono"
        for index in range(25):
            pixels = np.full((48, 64, 3), index * 10, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        for index in range(packets):
            tiny = av.Packet(b"\x00\x00")
            tiny.stream = audio
            tiny.time_base = Fraction(1, 1000)
            tiny.pts = tiny.dts = index
            tiny.duration = 1
            out.mux(tiny)
    return path.read_bytes()
