"""Errors of choosing a model; the codes are part of the API contract."""

from app.errors import DomainError


class UnknownModel(DomainError):
    code = "unknown_model"
    status_code = 422
    message = "No model with that id; see GET /v1/models."


class UnknownPreset(DomainError):
    code = "unknown_preset"
    status_code = 422
    message = "No such preset; see GET /v1/presets."


class ModelOrPresetRequired(DomainError):
    code = "model_or_preset_required"
    status_code = 422
    message = "Give exactly one of `model` or `preset`."


class UnsupportedScale(DomainError):
    code = "unsupported_scale"
    status_code = 422
    message = "Scale must be one of 2, 3, 4 or 8."


class ModelUnavailable(DomainError):
    code = "model_unavailable"
    status_code = 503
    message = "This model's weights are not installed on this service right now; try another model."


class UnsupportedOption(DomainError):
    code = "unsupported_option"
    status_code = 422
    message = "This model has no weights for that combination of scale, denoise and conservative."
