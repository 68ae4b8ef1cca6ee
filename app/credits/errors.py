"""Errors of the credits domain."""

from app.errors import DomainError


class InsufficientCredits(DomainError):
    code = "insufficient_credits"
    status_code = 402
    message = "Your credit balance is too low for this job."
