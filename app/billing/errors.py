"""Errors of the billing domain."""

from app.errors import DomainError


class BillingDisabled(DomainError):
    code = "billing_disabled"
    status_code = 503
    message = "Billing is not configured on this service."


class InvalidSignature(DomainError):
    code = "invalid_signature"
    status_code = 400
    message = "The Stripe-Signature header does not verify for this body."


class UnknownProduct(DomainError):
    code = "unknown_product"
    status_code = 422
    message = "Give exactly one of `plan` or `pack`, from GET /v1/billing/plans."


class NoBillingCustomer(DomainError):
    code = "no_billing_customer"
    status_code = 409
    message = "This account has not bought anything yet; there is no subscription to manage."


class StripeUnavailable(DomainError):
    code = "payment_provider_error"
    status_code = 502
    message = "Stripe could not be reached or refused the request; try again."
