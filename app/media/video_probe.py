"""Recognising and checking uploaded videos with PyAV (FFmpeg), before anything is charged or stored.

A video is recognised by its first bytes, never by its name: ISO base media (MP4, MOV) or EBML (WebM,
Matroska). Its container's headers are read first in Python (`container_header`), and a clip claiming more
frames, seconds, pixels or packets than allowed is refused before FFmpeg opens it. It is then opened with
its one demuxer, so FFmpeg never probes other formats (playlists that name other files, image sequences).
The header gives the codec, size, rotation and frame rate; an MP4's frames are counted from its sample
tables, other clips' by demuxing, which reads a bounded number of packets without decoding them, so a clip
is priced and its limits checked cheaply; `check_video_decodes` then decodes every frame once (the costly
half, about 500 frames/s at 720p on the 2-core VM).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import av
import av.container
from av.video.stream import VideoStream

from app.media.container_header import ContainerHeader, TrackHeader, read_container_header, sample_data_end
from app.media.errors import (
    CorruptVideo,
    ImageTooLarge,
    OutputTooLarge,
    UnsupportedOutputFormat,
    UnsupportedVideo,
    VideoTooLong,
)

# The video codecs accepted, by FFmpeg's codec names (AV1 is decoded by libdav1d in PyAV's wheels).
VIDEO_CODECS = ("h264", "hevc", "vp8", "vp9", "av1")
VIDEO_OUTPUT_FORMATS = {"mp4": "video/mp4", "webm": "video/webm"}
# What the result is encoded with, per output container.
OUTPUT_CODECS = {"mp4": "libx264", "webm": "libvpx-vp9"}
_DEMUXERS = {"mp4": "mov", "mov": "mov", "webm": "matroska", "mkv": "matroska"}
# ISO base media files that are still images (AVIF, HEIF): not videos, and not an accepted image format.
_STILL_IMAGE_BRANDS = {
    b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"
}  # fmt: skip
# Old QuickTime files may start without `ftyp`, with one of these boxes.
_QUICKTIME_FIRST_BOXES = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
# Decoder options while FFmpeg probes a clip whose frames are not wanted (`open_video(headers_only=True)`).
_HEADERS_ONLY = {"skip_frame": "all", "threads": "1"}
# A Matroska file is taken as truncated when its streams end this long before the duration in its header
# (plus two frames): a writer's declared duration and its last packet agree to a few milliseconds.
_TRUNCATION_TOLERANCE_SECONDS = 0.2
# Packets a second the sound and subtitle streams may add to a clip's frames: AAC and Opus send about 50
# a second per track, so 250 leaves room for several tracks; a million tiny ones are refused.
PACKETS_PER_SECOND = 250


@dataclass(frozen=True)
class VideoLimits:
    """What a clip may be: its length and frame count, and each output frame's pixels."""

    max_seconds: float
    max_frames: int
    max_output_pixels: int
    # Pixels of one input frame, checked from the header before FFmpeg opens the file (None: unchecked).
    max_frame_pixels: int | None = None

    @property
    def max_packets(self) -> int:
        """Packets of all streams a clip may hold: its frames, and sound and subtitles at
        `PACKETS_PER_SECOND` for its longest allowed length."""
        return self.max_frames + int(min(self.max_seconds * PACKETS_PER_SECOND, 2**62))


@dataclass(frozen=True)
class VideoInfo:
    """What a clip's header and packets say, as shown in the job's `input` and `video`.

    `width` and `height` are the size as displayed (a 90-degree rotation swaps the coded size).
    """

    width: int
    height: int
    format: str
    codec: str
    frames: int
    fps: float
    duration: float
    rotation: int
    copied_codecs: tuple[str, ...]
    # False when `frames` and `duration` are estimated from the declared length (read_video_header's
    # `count_frames=False` on a clip whose headers do not count its frames).
    frames_exact: bool = True

    @property
    def pixels(self) -> int:
        """Pixels of one frame."""
        return self.width * self.height


CONTAINER_NAMES = {"mp4": "MP4", "webm": "WebM"}
_ENCODER_NAMES = {"mp4": "H.264", "webm": "VP9"}
# The largest side each encoder opens at, measured with PyAV 18.1's libx264 and libvpx-vp9: x264 opens
# 16x16384 and 16384x16 and refuses 16x16386 ("Generic error in an external library"); libvpx opens
# 16x65536 and refuses 16x65538.
ENCODER_MAX_SIDE = {"mp4": 16384, "webm": 65536}


def video_container(data: bytes) -> str | None:
    """`mp4`, `mov`, `webm` or `mkv` when the bytes start like one of those containers, else None."""
    if data.startswith(_EBML_MAGIC):
        return "webm" if b"webm" in data[:64] else "mkv"
    box = data[4:8]
    if box == b"ftyp":
        brand = data[8:12]
        if brand in _STILL_IMAGE_BRANDS:
            return None
        return "mov" if brand == b"qt  " else "mp4"
    return "mov" if box in _QUICKTIME_FIRST_BOXES else None


def default_video_format(input_format: str) -> str:
    """A WebM comes back as WebM (VP9), anything else as MP4 (H.264)."""
    return "webm" if input_format == "webm" else "mp4"


@contextmanager
def open_video(
    data: bytes, container_format: str, *, headers_only: bool = False
) -> Iterator[av.container.InputContainer]:
    """The clip opened with its own demuxer only; a file FFmpeg cannot parse is `corrupt_video`.

    `headers_only` is for reading the streams' parameters, not their frames: the decoders FFmpeg opens to
    probe the streams then parse headers without decoding pictures (H.264's probe otherwise decodes
    several frames, outside the decode budget: +54 MB for 4096x4096, +3 MB with it). Its decoders leave
    some fields unset (an H.264 stream's pix_fmt): decode from a container opened without it.
    """
    options = _HEADERS_ONLY if headers_only else {}
    try:
        # Tags are arbitrary bytes in a damaged file: undecodable ones are replaced, not an error.
        container = av.open(
            io.BytesIO(data),
            mode="r",
            format=_DEMUXERS[container_format],
            options=options,
            metadata_errors="replace",
        )
    except av.error.FFmpegError as exc:
        raise CorruptVideo() from exc
    try:
        yield container
    finally:
        container.close()


def main_video_stream(container: av.container.InputContainer) -> VideoStream:
    """The clip's picture: its first video stream that is not cover art."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise UnsupportedVideo("The file holds no video stream.")


def copied_streams(container: av.container.InputContainer) -> list[av.stream.Stream]:
    """The audio and subtitle streams, which the result carries unchanged."""
    return [stream for stream in container.streams if stream.type in ("audio", "subtitle")]


def read_video_header(
    data: bytes, container_format: str, limits: VideoLimits, *, count_frames: bool = True
) -> VideoInfo:
    """What a clip is, from its headers and, where they do not give the frame count, its packets; nothing
    is decoded.

    The container's own headers are read first (`container_header`): a clip whose tables claim more
    frames, seconds, pixels or packets than the limits is refused before FFmpeg opens it, since FFmpeg
    indexes every claimed sample on opening. An MP4's frames are then counted from its sample tables;
    a Matroska/WebM or fragmented clip's by demuxing, which reads at most `limits.max_packets` packets.
    With `count_frames` False such a clip is not demuxed: its frames are estimated from its declared
    length and `frames_exact` is False (a quote the balance cannot cover needs no more).

    Refuses what is not an accepted codec, longer than the limits, or truncated (samples or packets
    short of what the header announces), so a clip is priced and refused before anything costly runs.
    """
    header = read_container_header(data, container_format)
    track = _check_claims(data, header, limits)
    with open_video(data, container_format, headers_only=True) as container:
        stream = main_video_stream(container)
        codec = codec_name(stream)
        if codec not in VIDEO_CODECS:
            raise UnsupportedVideo(
                f"The video is {codec}; accepted are H.264, H.265, VP8, VP9 and AV1 in MP4, MOV or WebM."
            )
        declared = container.duration / av.time_base if container.duration else None
        if declared is not None and declared > limits.max_seconds:
            raise VideoTooLong(_too_long(f"{declared:.1f} s long", limits))
        if stream.frames > limits.max_frames:
            raise VideoTooLong(_too_long(f"{stream.frames:,} frames long", limits))
        fps = float(_rate(stream))
        counted = _count_from_tables(data, header, track, stream)
        if counted is None and not count_frames:
            counted = _estimate(track, declared, fps, limits)
        if counted is None:
            counted = _count_packets(container, stream, declared, limits)
        copied = tuple(_decoder_name(s) for s in copied_streams(container))
    width, height = stream.codec_context.width, stream.codec_context.height
    if width < 1 or height < 1:
        raise CorruptVideo("The video has no picture size.")
    # The display rotation from the header (MP4 `tkhd` matrix, Matroska Projection), as FFmpeg reads it
    # and attaches it to frames: nothing is decoded to learn it.
    rotation = track.rotation if track is not None else 0
    if rotation % 180:
        width, height = height, width
    return VideoInfo(
        width=width,
        height=height,
        format=container_format,
        codec=codec,
        frames=counted.frames,
        fps=fps,
        duration=counted.seconds,
        rotation=rotation,
        copied_codecs=copied,
        frames_exact=counted.exact,
    )


def codec_name(stream: av.stream.Stream) -> str:
    """The stream's codec as FFmpeg names the format (`av1`), not the decoder that reads it (`libdav1d`);
    `unknown` for one no decoder in this FFmpeg reads."""
    context = stream.codec_context
    if context is None or context.codec is None:
        return "unknown"
    return str(context.codec.canonical_name or context.name)


def _decoder_name(stream: av.stream.Stream) -> str:
    """A copied stream's decoder name (what `check_output_format` compares), `unknown` without one."""
    context = stream.codec_context
    return "unknown" if context is None or context.codec is None else str(context.name)


def _check_claims(data: bytes, header: ContainerHeader, limits: VideoLimits) -> TrackHeader | None:
    """Refuse what the container's headers claim beyond the limits, before FFmpeg reads them; the video
    track's header, when the container has one."""
    track = header.video
    if track is not None:
        pixels = track.width * track.height
        if limits.max_frame_pixels is not None and pixels > limits.max_frame_pixels:
            width, height = track.width, track.height
            if track.rotation % 180:
                width, height = height, width
            raise ImageTooLarge(
                f"The video's frames are {width}x{height}; at most {limits.max_frame_pixels:,} pixels are "
                "accepted."
            )
        frames = max(track.samples, track.timed_samples)
        if frames > limits.max_frames:
            raise VideoTooLong(_too_long(f"{frames:,} frames long", limits))
        seconds = track.seconds
        if seconds is not None and seconds > limits.max_seconds:
            raise VideoTooLong(_too_long(f"{seconds:.1f} s long", limits))
    if header.duration is not None and header.duration > limits.max_seconds:
        raise VideoTooLong(_too_long(f"{header.duration:.1f} s long", limits))
    for each in header.tracks:
        # Raw audio's "samples" are audio samples, and an old QuickTime description may give a compressed
        # one's size as 1 byte (IMA4: 34 bytes hold 64): FFmpeg indexes it by chunk, bounded below.
        if not each.raw_audio and each.sample_bytes * each.samples > len(data):
            raise CorruptVideo(
                f"The file's sample tables claim {each.sample_bytes * each.samples:,} bytes of samples; "
                f"it holds {len(data):,} bytes."
            )
    packets = max([header.packets] + [each.chunks for each in header.tracks])
    if packets > limits.max_packets:
        raise UnsupportedVideo(_too_many_packets(f"{packets:,}", limits))
    return track


def _too_many_packets(count: str, limits: VideoLimits) -> str:
    return (
        f"The clip's streams hold {count} packets; at most {limits.max_packets:,} are accepted (its frames "
        f"and {PACKETS_PER_SECOND} a second for sound and subtitles)."
    )


def _too_long(what: str, limits: VideoLimits) -> str:
    return (
        f"The clip is {what}; at most {limits.max_seconds:g} s and {limits.max_frames:,} frames are accepted."
    )


def _rate(stream: VideoStream) -> Fraction:
    return stream.average_rate or stream.guessed_rate or Fraction(25)


@dataclass(frozen=True)
class _Count:
    frames: int
    seconds: float
    exact: bool = True


def _count_from_tables(
    data: bytes, header: ContainerHeader, track: TrackHeader | None, stream: VideoStream
) -> _Count | None:
    """An MP4's frames and length from its sample tables, where they hold every sample (not fragmented,
    and FFmpeg's count agrees); refuses samples the file does not hold."""
    if track is None or header.fragmented or not track.samples or track.seconds is None:
        return None
    if track.timed_samples != track.samples:
        raise CorruptVideo(
            f"The video's sample tables disagree: {track.samples} sizes, {track.timed_samples} times."
        )
    if stream.frames and stream.frames != track.samples:
        return None  # read differently from FFmpeg: the packets decide
    end = max(sample_data_end(data, each) for each in header.tracks)
    if end > len(data):
        raise CorruptVideo(f"The file is truncated: its samples run to byte {end:,}, it holds {len(data):,}.")
    return _Count(track.samples, track.seconds)


def _estimate(
    track: TrackHeader | None, declared: float | None, fps: float, limits: VideoLimits
) -> _Count | None:
    """Frames as the declared length implies (Matroska's frame duration, else the frame rate), at most the
    limit (the count decides past it); None when the file declares no length."""
    if declared is None:
        return None
    frame_seconds = track.frame_seconds if track is not None and track.frame_seconds > 0 else 1 / fps
    frames = min(max(1, round(declared / frame_seconds)), limits.max_frames)
    return _Count(frames, declared, exact=False)


def _count_packets(
    container: av.container.InputContainer, stream: VideoStream, declared: float | None, limits: VideoLimits
) -> _Count:
    """Frames of the video stream and its length, from its packets; refuses a truncated file, and stops
    at `limits.max_packets` packets of all streams (a million tiny audio packets took 8-13 s)."""
    frames, packets, first, end, streams_end = 0, 0, math.inf, -math.inf, -math.inf
    frame_seconds = float(1 / _rate(stream))
    try:
        for packet in container.demux():
            packets += 1
            if packets > limits.max_packets:
                raise UnsupportedVideo(_too_many_packets(f"more than {limits.max_packets:,}", limits))
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue
            start = float(packet.pts * packet.time_base)
            # A packet without a duration (some Matroska writers) lasts one frame period.
            lasts = float(packet.duration * packet.time_base) if packet.duration else frame_seconds
            stop = start + lasts
            streams_end = max(streams_end, stop)
            if packet.stream.index != stream.index:
                continue
            frames += 1
            if frames > limits.max_frames:
                raise VideoTooLong(_too_long(f"more than {limits.max_frames:,} frames long", limits))
            first, end = min(first, start), max(end, stop)
    except av.error.FFmpegError as exc:
        raise CorruptVideo() from exc
    if frames == 0:
        raise CorruptVideo("The video has no frames.")
    if stream.frames and frames != stream.frames:
        raise CorruptVideo(
            f"The file is truncated: its header lists {stream.frames} frames, it holds {frames}."
        )
    seconds = max(end - first, 0.0)
    if seconds > limits.max_seconds:
        raise VideoTooLong(_too_long(f"{seconds:.1f} s long", limits))
    if declared is not None and streams_end < declared - _TRUNCATION_TOLERANCE_SECONDS - 2 * frame_seconds:
        raise CorruptVideo(
            f"The file is truncated: its header says {declared:.2f} s, "
            f"its streams end at {streams_end:.2f} s."
        )
    return _Count(frames, seconds)


def check_video_decodes(data: bytes, info: VideoInfo) -> None:
    """Decode every frame once: damaged data, a changing frame size or a missing frame is refused."""
    decoded, size = 0, None
    with open_video(data, info.format) as container:
        try:
            for frame in container.decode(main_video_stream(container)):
                if frame.is_corrupt:
                    raise CorruptVideo(f"Frame {decoded + 1} of the video is damaged.")
                size = size or (frame.width, frame.height)
                if (frame.width, frame.height) != size:
                    raise UnsupportedVideo("The video changes its frame size midway; upload one size.")
                decoded += 1
        except av.error.FFmpegError as exc:
            raise CorruptVideo() from exc
    if decoded != info.frames:
        raise CorruptVideo(f"Only {decoded} of the video's {info.frames} frames decode.")


def check_output_format(info: VideoInfo, output_format: str, scale: int) -> None:
    """Refuse an output container that cannot carry the clip's audio and subtitles unchanged, or a frame
    size its encoder cannot take: for H.264, odd sides (4:2:0 needs even ones) or past 16,384 pixels; for
    VP9, past 65,536. (`video_upscale.check_container_carries` then writes the container in memory.)"""
    if output_format not in VIDEO_OUTPUT_FORMATS:
        raise UnsupportedOutputFormat(
            f"A video comes back as {' or '.join(VIDEO_OUTPUT_FORMATS)}, not {output_format}."
        )
    foreign = _foreign_codecs(info, output_format)
    if foreign:
        other = next(fmt for fmt in VIDEO_OUTPUT_FORMATS if fmt != output_format)
        # Name the other container only where it lists them all (TTA audio fits neither).
        remedy = (
            f"choose {CONTAINER_NAMES[other]} (output_format={other})."
            if not _foreign_codecs(info, other)
            else "upload the clip with AAC audio for MP4, or Opus for WebM."
        )
        raise UnsupportedOutputFormat(
            f"A {CONTAINER_NAMES[output_format]} result cannot carry this clip's "
            f"{', '.join(name.upper() for name in foreign)} streams unchanged: {remedy}"
        )
    width, height = info.width * scale, info.height * scale
    most = ENCODER_MAX_SIDE[output_format]
    if max(width, height) > most:
        raise OutputTooLarge(
            f"At x{scale} the frames would be {width}x{height}, and {_ENCODER_NAMES[output_format]} "
            f"frames are at most {most:,} pixels a side: pick a smaller scale"
            + (", or output_format=webm (VP9: 65,536)." if output_format == "mp4" else ".")
        )
    if output_format == "mp4" and (width % 2 or height % 2):
        raise UnsupportedOutputFormat(
            f"At x{scale} the frames would be {width}x{height}, and H.264 needs even sides: pick an even "
            "scale, or output_format=webm."
        )


def _foreign_codecs(info: VideoInfo, output_format: str) -> list[str]:
    """The clip's copied codecs that the output container does not list (FFmpeg's own table)."""
    with av.open(io.BytesIO(), mode="w", format=output_format) as probe:
        supported = probe.supported_codecs
    return sorted({codec for codec in info.copied_codecs if codec not in supported})
