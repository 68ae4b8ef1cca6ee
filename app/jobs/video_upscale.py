"""Upscaling a clip on a worker, one frame at a time: decode, upscale, encode, mux; audio and subtitles
are copied packet for packet.

Nothing holds the clip: a frame is decoded, upscaled and handed to the encoder before the next is
decoded, and the result is written to a file as it grows (the encoder keeps at most `_LOOKAHEAD_FRAMES`
frames for its rate control). Frames keep their own timestamps, so the frame rate (constant or not), the
frame count and the duration are the input's; rotation, pixel aspect and colour tags are copied to the
encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from app.jobs.errors import CorruptVideo
from app.jobs.video_probe import OUTPUT_CODECS, VideoInfo, copied_streams, main_video_stream, open_video

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
    for tag in ("color_primaries", "color_trc", "colorspace"):
        setattr(context, tag, getattr(source, tag))
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
    return copy


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
