"""Errors of the jobs domain; the codes are part of the API contract."""

from app.errors import DomainError


class EmptyFile(DomainError):
    code = "empty_file"
    status_code = 400
    message = "The uploaded file is empty."


class FileTooLarge(DomainError):
    code = "file_too_large"
    status_code = 413
    message = "The uploaded file is larger than allowed."


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


class JobNotFound(DomainError):
    code = "job_not_found"
    status_code = 404
    message = "No such job."


class ResultNotReady(DomainError):
    code = "result_not_available"
    status_code = 409
    message = "This job has no result to download (it has not succeeded, or its result expired)."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422
    message = "This Idempotency-Key was used with a different request."


class IdempotencyKeyInFlight(DomainError):
    code = "idempotency_key_in_flight"
    status_code = 409
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


class InvalidCursor(DomainError):
    code = "invalid_cursor"
    status_code = 400
    message = "The pagination cursor is not valid."


class DirectUploadUnavailable(DomainError):
    code = "direct_upload_unavailable"
    status_code = 409
    message = "Direct uploads need S3 storage; send the file in POST /v1/jobs instead."


class UploadNotFound(DomainError):
    code = "upload_not_found"
    status_code = 404
    message = "No such upload, or it was already used or has expired."


class FileOrUploadRequired(DomainError):
    code = "file_or_upload_required"
    status_code = 422
    message = "Send exactly one of `file` and `upload_id`."


class DecoderBusy(DomainError):
    code = "server_busy"
    status_code = 503
    message = "Too many images are being checked right now; retry in a moment."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "2"})


class InputMissing(DomainError):
    code = "input_missing"
    status_code = 500
    message = "The uploaded image was no longer stored; refunded."


class InvalidArchive(DomainError):
    code = "invalid_archive"
    status_code = 422
    message = "Give 1 to 100 job ids."


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
