"""Errors of storage downloads; the codes are part of the API contract."""

from app.errors import DomainError


class RangeNotSatisfiable(DomainError):
    code = "range_not_satisfiable"
    status_code = 416
    message = "The requested range starts past the end of the file."

    def __init__(self, size: int) -> None:
        super().__init__(
            f"The requested range starts past the end of the file ({size:,} bytes).",
            headers={"Content-Range": f"bytes */{size}"},
        )
