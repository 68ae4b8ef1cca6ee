"""An upload as the submission sees it, image or video alike: its header, its limits, its full check.

Which one it is comes from the file's first bytes (`video_probe.video_container`), never from its name.
"""

from __future__ import annotations

import io

from PIL import Image

from app.config import Settings
from app.media.decode_budget import DecodeBudget
from app.media.errors import ImageTooLarge, OutputTooLarge, UnsupportedOutputFormat
from app.media.image_codec import (
    MAX_OUTPUT_SIDE,
    OUTPUT_FORMATS,
    ImageInfo,
    check_decodes,
    default_output_format,
    read_header,
)
from app.media.video_probe import (
    VideoInfo,
    VideoLimits,
    check_output_format,
    check_video_decodes,
    default_video_format,
    main_video_stream,
    open_video,
    read_video_header,
    video_container,
)
from app.media.video_upscale import check_container_carries

MediaInfo = ImageInfo | VideoInfo
# Decoding a video holds its reference frames (up to 16 in H.264, 1.5 bytes a pixel) and a frame per
# decoding thread: counted as six images' worth of the decode budget (30 bytes a pixel).
VIDEO_DECODE_IMAGES = 6


def video_limits(settings: Settings) -> VideoLimits:
    return VideoLimits(
        max_seconds=settings.max_video_seconds,
        max_frames=settings.max_video_frames,
        max_output_pixels=settings.max_video_output_pixels,
        max_frame_pixels=settings.max_input_pixels,
    )


def read_media_header(settings: Settings, data: bytes, *, count_frames: bool = True) -> MediaInfo:
    """What an upload is, from its header (and, for a video whose header does not count its frames, its
    packets, unless `count_frames` is False): cheap, nothing decoded."""
    container = video_container(data)
    if container is None:
        return read_header(data, settings.max_input_pixels)
    info = read_video_header(data, container, video_limits(settings), count_frames=count_frames)
    if info.pixels > settings.max_input_pixels:
        raise ImageTooLarge(
            f"The video's frames are {info.width}x{info.height}; at most {settings.max_input_pixels:,} "
            "pixels are accepted."
        )
    return info


def frames_of(info: MediaInfo) -> int:
    """Frames the job upscales: one for an image."""
    return info.frames if isinstance(info, VideoInfo) else 1


def video_frames_of(info: MediaInfo) -> int:
    """A video's frames, each priced at least `MIN_FRAME_OUTPUT_PIXELS`; none for an image."""
    return info.frames if isinstance(info, VideoInfo) else 0


def default_output_of(info: MediaInfo) -> str:
    if isinstance(info, VideoInfo):
        return default_video_format(info.format)
    return default_output_format(info.format)


def check_output(settings: Settings, data: bytes, info: MediaInfo, scale: int, output_format: str) -> None:
    """Refuse an output the worker could not write: too large (for this service, or for the format) or in
    a format that does not fit (for a video, one whose container cannot carry its streams)."""
    width, height = info.width * scale, info.height * scale
    if isinstance(info, VideoInfo):
        check_output_format(info, output_format, scale)
        if width * height > settings.max_video_output_pixels:
            raise OutputTooLarge(
                f"At x{scale} each frame would be {width}x{height}; at most "
                f"{settings.max_video_output_pixels:,} pixels per video frame are allowed."
            )
        check_container_carries(data, info, scale, output_format)
        return
    if output_format not in OUTPUT_FORMATS:
        raise UnsupportedOutputFormat(
            f"An image comes back as {', '.join(OUTPUT_FORMATS)}, not {output_format}."
        )
    if width * height > settings.max_output_pixels:
        raise OutputTooLarge(
            f"At x{scale} the result would be {width}x{height}; "
            f"at most {settings.max_output_pixels:,} output pixels are allowed."
        )
    most = MAX_OUTPUT_SIDE[output_format]
    if max(width, height) > most:
        fits = [fmt for fmt, side in MAX_OUTPUT_SIDE.items() if side >= max(width, height)]
        raise OutputTooLarge(
            f"At x{scale} the result would be {width}x{height}, and a {output_format.upper()} image is at "
            f"most {most:,} pixels a side: pick a smaller scale, or output_format={' or '.join(fits)}."
        )


def check_media_decodes(budget: DecodeBudget, data: bytes, info: MediaInfo) -> None:
    """Decode the upload once, within the API's decode budget (the costly half of validation)."""
    if isinstance(info, VideoInfo):
        with budget.hold(info.pixels * VIDEO_DECODE_IMAGES):
            check_video_decodes(data, info)
        return
    with budget.hold(info.width * info.height):
        check_decodes(data)


def still_of(data: bytes, info: MediaInfo) -> bytes:
    """An image to read the content and damage from: the image itself, or a video's first frame (PNG)."""
    if not isinstance(info, VideoInfo):
        return data
    with open_video(data, info.format) as container:
        frame = next(container.decode(main_video_stream(container)))
        still = Image.fromarray(frame.to_ndarray(format="rgb24"))
    buffer = io.BytesIO()
    still.save(buffer, "PNG")
    return buffer.getvalue()
