"""Errors of the accounts domain."""

from app.errors import DomainError


class EmailTaken(DomainError):
    code = "email_taken"
    status_code = 409
    message = "An account with this email already exists."


class InvalidLogin(DomainError):
    code = "invalid_credentials"
    status_code = 401
    message = "Wrong email or password."


class CrossSiteRequest(DomainError):
    code = "cross_site_request"
    status_code = 403
    message = "Cookie-authenticated requests must come from this site."
