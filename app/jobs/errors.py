"""Errors of the jobs domain; the codes are part of the API contract (media errors: app/media/errors.py)."""

from app.errors import DomainError


class FileTooLarge(DomainError):
    code = "file_too_large"
    status_code = 413
    message = "The uploaded file is larger than allowed."


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


class InputMissing(DomainError):
    code = "input_missing"
    status_code = 500
    message = "The uploaded image was no longer stored; refunded."


class InvalidArchive(DomainError):
    code = "invalid_archive"
    status_code = 422
    message = "Give 1 to 100 job ids."
