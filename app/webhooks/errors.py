"""Errors of the webhooks domain."""

from app.errors import DomainError


class WebhookUrlNotAllowed(DomainError):
    code = "webhook_url_not_allowed"
    status_code = 422
    message = "Webhook URLs must be http(s) and reach a public internet address."


class UnknownEventType(DomainError):
    code = "unknown_event_type"
    status_code = 422
    message = "Unknown event type."


class EndpointNotFound(DomainError):
    code = "webhook_endpoint_not_found"
    status_code = 404
    message = "No such webhook endpoint."


class EndpointLimit(DomainError):
    code = "webhook_endpoint_limit"
    status_code = 409
    message = "This account has the most webhook endpoints allowed; delete one first."


class DeliveryNotFound(DomainError):
    code = "webhook_delivery_not_found"
    status_code = 404
    message = "No such webhook delivery."
