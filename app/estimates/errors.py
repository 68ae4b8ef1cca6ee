"""Errors of estimates."""

from app.errors import DomainError


class JobTooSlow(DomainError):
    code = "job_too_slow"
    status_code = 422
    message = "This job would take longer than the time limit; pick a faster model, a smaller scale or image."
