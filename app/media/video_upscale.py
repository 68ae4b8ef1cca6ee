"""Upscaling a clip on a worker, one frame at a time: decode, upscale, encode, mux; audio and subtitles
are copied packet for packet.

Nothing holds the clip: a frame is decoded, upscaled and handed to the encoder before the next is
decoded, and the result is written to a file as it grows (the encoder keeps at most `_LOOKAHEAD_FRAMES`
frames for its rate control). Frames keep their own timestamps, so the frame rate (constant or not), the
frame count and the duration are the input's; rotation, pixel aspect and colour tags are copied to the
encoder.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np
from av.audio.codeccontext import AudioCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from app.media.errors import CorruptVideo, UnsupportedOutputFormat
from app.media.video_probe import (
    CONTAINER_NAMES,
    OUTPUT_CODECS,
    VideoInfo,
    copied_streams,
    main_video_stream,
    open_video,
)

Progress = Callable[[float], None]
# Upscales one frame: HxWx3 float32 RGB in [0, 1] -> (H*scale)x(W*scale)x3 uint8, reporting its progress.
FrameUpscaler = Callable[[np.ndarray, Progress], np.ndarray]

# `output_quality` 1-100 -> CRF, linear through two anchors per encoder: the default quality 92 is CRF 18
# for x264 (its "visually lossless" point) and CRF 31 for VP9 (Google's figure for 1080p); quality 50 is
# x264 28 and VP9 45. Quality 100 gives x264 16 and VP9 28; quality 1 gives 40 and 61.
_CRF_AT_92 = {"mp4": 18.0, "webm": 31.0}
_CRF_PER_QUALITY = {"mp4": 10 / 42, "webm": 14 / 42}
_CRF_MAX = {"mp4": 51, "webm": 63}
# Frames an encoder may hold for its rate control (x264's rc-lookahead, libvpx's lag-in-frames). Their
# defaults, 40 and 25, would hold up to 480 MB of 4K frames; 10 costs a few percent of size at equal CRF.
_LOOKAHEAD_FRAMES = 10
# Container tags never copied: they describe the input's file and encoder, not the clip.
_FILE_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder"}
_STREAM_TAGS = ("language", "title", "handler_name")
_UNSPECIFIED = 2  # AVCOL_*_UNSPECIFIED for primaries, transfer and matrix alike
_RGB_MATRIX, _BT709 = 0, 1  # AVCOL_SPC_RGB (libx264rgb, gbrp) and AVCOL_SPC_BT709
# Packets read to find each copied stream's first one for `check_container_carries`: a muxer interleaves
# its streams within a second or two, a few hundred packets even for 1,000-packet-a-second audio.
_FIRST_PACKETS_READ = 2048
# The result's video codec per container (what OUTPUT_CODECS' encoders write).
_VIDEO_CODECS = {"mp4": "h264", "webm": "vp9"}
_HIGH_DEPTH = ("10", "12", "16")


def crf_for(output_format: str, quality: int) -> int:
    """The encoder's constant-rate factor for an `output_quality` (higher quality, lower CRF)."""
    crf = _CRF_AT_92[output_format] + (92 - quality) * _CRF_PER_QUALITY[output_format]
    return max(0, min(_CRF_MAX[output_format], round(crf)))


@dataclass(frozen=True)
class VideoTarget:
    """How the result is written: container (mp4 or webm), quality and which tags are kept."""

    format: str
    quality: int
    metadata_mode: str


def upscale_video(
    data: bytes,
    info: VideoInfo,
    scale: int,
    target: VideoTarget,
    path: Path,
    upscale_frame: FrameUpscaler,
    progress: Progress,
) -> int:
    """Write the upscaled clip to `path`; returns the frames written. Progress is reported per frame (and
    within a frame, as the engine reports it)."""
    options = {"movflags": "+faststart"} if target.format == "mp4" else {}
    with (
        open_video(data, info.format) as source,
        av.open(str(path), mode="w", format=target.format, options=options) as sink,
    ):
        video = main_video_stream(source)
        copies = copied_streams(source)
        encoder = _add_encoder(sink, video, info, scale, target)
        outputs = {stream.index: _add_copy(sink, stream) for stream in copies}
        _copy_tags(source, sink, target.metadata_mode)
        written = 0
        try:
            for packet in source.demux(video, *copies):
                if packet.stream.index != video.index:
                    if packet.dts is not None:
                        packet.stream = outputs[packet.stream.index]
                        sink.mux(packet)
                    continue
                for frame in packet.decode():
                    assert isinstance(frame, VideoFrame)

                    def within(fraction: float, done: int = written) -> None:
                        progress((done + fraction) / info.frames)

                    sink.mux(encoder.encode(_upscaled(frame, encoder, upscale_frame, within)))
                    written += 1
                    progress(written / info.frames)
            sink.mux(encoder.encode())
        except av.error.FFmpegError as exc:
            raise CorruptVideo() from exc
    return written


def _add_encoder(
    sink: av.container.OutputContainer, video: VideoStream, info: VideoInfo, scale: int, target: VideoTarget
) -> VideoStream:
    source = video.codec_context
    lookahead = "rc-lookahead" if target.format == "mp4" else "lag-in-frames"
    options = {"crf": str(crf_for(target.format, target.quality)), lookahead: str(_LOOKAHEAD_FRAMES)}
    if target.format == "webm":
        options.update({"b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"})
    rate = video.average_rate or video.guessed_rate or Fraction(25)
    stream = sink.add_stream(OUTPUT_CODECS[target.format], rate=rate, options=options)
    assert isinstance(stream, VideoStream)
    stream.width, stream.height = source.width * scale, source.height * scale
    stream.pix_fmt = "yuv420p"
    # The encoder counts in the input's time base, so every frame keeps its own timestamp.
    stream.time_base = video.time_base
    context = stream.codec_context
    if video.time_base is not None:
        context.time_base = video.time_base
    for tag in ("color_primaries", "color_trc"):
        setattr(context, tag, getattr(source, tag))
    # Every frame is written as 4:2:0 YUV, so an RGB clip is converted like any other; its RGB matrix tag
    # would say the YUV is RGB (libvpx refuses the first frame, H.264 players show wrong colours), so the
    # result says BT.709, the matrix `_upscaled` converts it with.
    context.colorspace = _BT709 if source.colorspace == _RGB_MATRIX else source.colorspace
    context.color_range = source.color_range or 1  # unspecified is limited (MPEG) range
    if video.sample_aspect_ratio:
        context.sample_aspect_ratio = video.sample_aspect_ratio
    if info.rotation:
        stream.set_display_rotation(info.rotation)
    _copy_stream_tags(video, stream)
    return stream


def _add_copy(sink: av.container.OutputContainer, stream: av.stream.Stream) -> av.stream.Stream:
    copy = sink.add_stream_from_template(stream)
    _copy_stream_tags(stream, copy)
    copy.disposition = stream.disposition
    context = copy.codec_context
    if isinstance(context, AudioCodecContext):
        layout = context.layout
        # Channels without an order (Matroska's PCM: "2 channels") get the usual layout for their count
        # ("2c" is stereo): MP4 takes such a stream's header, then refuses it when writing its trailer.
        if layout.name == f"{layout.nb_channels} channels":
            with contextlib.suppress(ValueError):  # no usual layout for 9 channels: MP4 refuses them
                context.layout = av.AudioLayout(f"{layout.nb_channels}c")
    return copy


def check_container_carries(data: bytes, info: VideoInfo, scale: int, output_format: str) -> None:
    """Refuse a result the output container cannot write, by writing it in memory as the worker will:
    the video stream at its size and the copied streams as `upscale_video` adds them, the header, each
    copied stream's first packet, the trailer. No encoder is opened (libvpx takes 0.5 s and 450 MB for a
    4K frame): their size limits are checked by `video_probe.check_output_format`.

    A container's list of codecs is not enough: MP4 lists PCM, then refuses Matroska's PCM in its trailer.
    """
    # The video is not decoded, so FFmpeg's opening need not decode its first frames (200 ms at 1080p).
    with open_video(data, info.format, headers_only=True) as source:
        sink = av.open(io.BytesIO(), mode="w", format=output_format)
        try:
            video = main_video_stream(source)
            # The coded size, as `_add_encoder` sets it (the display size, turned back by the rotation).
            width, height = (info.height, info.width) if info.rotation % 180 else (info.width, info.height)
            sink.add_mux_stream(
                _VIDEO_CODECS[output_format],
                rate=video.average_rate or video.guessed_rate or Fraction(25),
                width=width * scale,
                height=height * scale,
            )
            copies = copied_streams(source)
            outputs = {stream.index: _add_copy(sink, stream) for stream in copies}
            sink.start_encoding()
            for packet in _first_packets(source, copies):
                packet.stream = outputs[packet.stream.index]
                sink.mux(packet)
            sink.close()
        except (av.error.FFmpegError, ValueError) as exc:
            _close_quietly(sink)
            raise UnsupportedOutputFormat(
                f"A {CONTAINER_NAMES[output_format]} result cannot carry this clip's "
                f"{', '.join(name.upper() for name in info.copied_codecs)} streams unchanged "
                f"({_muxer_says(exc)}): upload the clip with stereo AAC audio for MP4, or Opus for WebM."
            ) from exc


def _first_packets(
    source: av.container.InputContainer, streams: list[av.stream.Stream]
) -> Iterator[av.Packet[av.stream.Stream]]:
    """Each stream's first packet with a timestamp, within the first `_FIRST_PACKETS_READ` packets."""
    if not streams:
        return
    waiting = {stream.index for stream in streams}
    for read, packet in enumerate(source.demux(*streams)):
        if read >= _FIRST_PACKETS_READ:
            return
        if packet.stream.index in waiting and packet.dts is not None and packet.size:
            waiting.discard(packet.stream.index)
            yield packet
            if not waiting:
                return


def _muxer_says(exc: Exception) -> str:
    """FFmpeg's own line about a refusal ("unsupported channel layout") where PyAV kept it."""
    log = getattr(exc, "log", None)
    if isinstance(log, tuple) and len(log) == 3 and str(log[2]).strip():
        return f"the muxer says: {str(log[2]).strip()}"
    # PyAV's own refusals ("'mp4' format does not support 'tta' codec") say why; FFmpeg's codes do not.
    return "the muxer refuses them" if isinstance(exc, av.error.FFmpegError) else str(exc)


def _close_quietly(sink: av.container.OutputContainer) -> None:
    # A refused dry run's trailer may fail too; the error that refused it is the one to report.
    with contextlib.suppress(av.error.FFmpegError):
        sink.close()


def _copy_stream_tags(source: av.stream.Stream, target: av.stream.Stream) -> None:
    for tag in _STREAM_TAGS:
        if tag in source.metadata:
            target.metadata[tag] = source.metadata[tag]


def _copy_tags(
    source: av.container.InputContainer, sink: av.container.OutputContainer, metadata_mode: str
) -> None:
    """Container tags and chapters as the job's `metadata` says: `all`; `default` without locations;
    `none` without any (rotation and colour are part of the picture and always kept)."""
    if metadata_mode == "none":
        return
    for key, value in source.metadata.items():
        if key in _FILE_TAGS or (metadata_mode == "default" and "location" in key.lower()):
            continue
        sink.metadata[key] = value
    chapters = source.chapters()
    if chapters:
        sink.set_chapters(chapters)


def _upscaled(
    frame: VideoFrame, encoder: VideoStream, upscale_frame: FrameUpscaler, progress: Progress
) -> VideoFrame:
    """One decoded frame through the model, back as a frame in the encoder's format and colours."""
    deep = any(depth in frame.format.name for depth in _HIGH_DEPTH)
    colour_range = frame.color_range or 1
    if deep:
        pixels = frame.to_ndarray(format="rgb48le", src_color_range=colour_range).astype(np.float32) / 65535.0
    else:
        pixels = frame.to_ndarray(format="rgb24", src_color_range=colour_range).astype(np.float32) / 255.0
    upscaled = VideoFrame.from_ndarray(upscale_frame(pixels, progress), format="rgb24")
    context = encoder.codec_context
    matrix = context.colorspace if context.colorspace != _UNSPECIFIED else None
    out = upscaled.reformat(
        format="yuv420p",
        src_colorspace=matrix,
        dst_colorspace=matrix,
        dst_color_range=context.color_range,
    )
    out.pts, out.time_base = frame.pts, frame.time_base
    out.duration = frame.duration
    out.color_primaries, out.color_trc = context.color_primaries, context.color_trc
    return out
