"""Errors of reading, checking and writing images and videos; the codes are part of the API contract."""

from app.errors import DomainError


class EmptyFile(DomainError):
    code = "empty_file"
    status_code = 400
    message = "The uploaded file is empty."


class UnsupportedImage(DomainError):
    code = "unsupported_image"
    status_code = 415
    message = (
        "The file is not an image or video in a supported format: images PNG, JPEG, WebP, GIF, BMP or TIFF; "
        "videos MP4, MOV or WebM."
    )


class AnimatedImage(DomainError):
    code = "animated_image"
    status_code = 415
    message = "Animated images are not supported; upload a single frame."


class CorruptImage(DomainError):
    code = "corrupt_image"
    status_code = 422
    message = "The image is damaged or truncated and cannot be decoded."


class ImageTooLarge(DomainError):
    code = "image_too_large"
    status_code = 422
    message = "The image has more pixels than allowed."


class OutputTooLarge(DomainError):
    code = "output_too_large"
    status_code = 422
    message = "The upscaled image would have more pixels than allowed; pick a smaller scale."


class DecoderBusy(DomainError):
    code = "server_busy"
    status_code = 503
    message = "Too many images are being checked right now; retry in a moment."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "2"})


class UnsupportedVideo(DomainError):
    code = "unsupported_video"
    status_code = 415
    message = "The video is not in a supported format (H.264, H.265, VP8, VP9 or AV1 in MP4, MOV or WebM)."


class CorruptVideo(DomainError):
    code = "corrupt_video"
    status_code = 422
    message = "The video is damaged or truncated and cannot be decoded."


class VideoTooLong(DomainError):
    code = "video_too_long"
    status_code = 422
    message = "The video is longer than allowed; see the limits in GET /v1/models."


class UnsupportedOutputFormat(DomainError):
    code = "unsupported_output_format"
    status_code = 422
    message = "This output format does not fit the upload (images: png, jpeg, webp; videos: mp4, webm)."
