"""GET /v1/files/{token}: a stored object behind a signed, expiring link (local-disk storage; S3 serves its
own presigned URLs), streamed in chunks, with byte ranges so a video can be seeked before it is all sent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, status
from fastapi.responses import Response, StreamingResponse

from app.errors import ErrorBody, NotFound
from app.runtime import Runtime, RuntimeDep
from app.storage.base import ObjectInfo
from app.storage.byte_ranges import byte_range
from app.storage.disposition import attachment
from app.storage.signed_urls import SignedObject, signing_key, verify

files_router = APIRouter(prefix="/v1/files", tags=["jobs"])


@files_router.get(
    "/{token}",
    summary="Download a stored result through a signed, expiring link (byte ranges supported)",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The whole file, streamed, as an attachment named after the upload"},
        206: {"description": "The byte range the `Range` header asked for, with `Content-Range`"},
        404: {"model": ErrorBody, "description": "Unknown, forged or expired link, or the file was deleted"},
        416: {
            "model": ErrorBody,
            "description": "`range_not_satisfiable`: the range starts past the end "
            "(with `Content-Range: bytes */size`)",
        },
    },
)
def download_file(
    token: str,
    runtime: RuntimeDep,
    range_header: Annotated[
        str | None, Header(alias="Range", description="One range, e.g. `bytes=0-` (others: the whole file).")
    ] = None,
    if_range: Annotated[
        str | None, Header(alias="If-Range", description="The ETag of a partly downloaded copy.")
    ] = None,
) -> StreamingResponse:
    signed, info = _stored(runtime, token)
    # If-Range (RFC 9110 13.1.5): a range only of the version the client holds; otherwise the whole file.
    span = byte_range(range_header, info.size) if if_range in (None, info.etag) else None
    return StreamingResponse(
        runtime.storage.read_chunks(signed.key, *(span or (0, info.size))),
        status_code=status.HTTP_206_PARTIAL_CONTENT if span else status.HTTP_200_OK,
        media_type=signed.content_type,
        headers=_headers(signed, info, span),
    )


@files_router.head(
    "/{token}",
    summary="A stored result's headers (size, type, name, ETag) without its body",
    responses={404: {"description": "Unknown, forged or expired link, or the file was deleted"}},
)
def file_headers(token: str, runtime: RuntimeDep) -> Response:
    """What download managers and media players ask first: the size, that ranges work, the name."""
    signed, info = _stored(runtime, token)
    return Response(media_type=signed.content_type, headers=_headers(signed, info, None))


def _stored(runtime: Runtime, token: str) -> tuple[SignedObject, ObjectInfo]:
    signed = verify(signing_key(runtime.settings), token)
    if signed is None:
        raise NotFound("This download link is invalid or has expired.")
    try:
        return signed, runtime.storage.stat(signed.key)
    except FileNotFoundError:
        raise NotFound("This file has been deleted.") from None
    except ValueError:  # a key outside storage: only a leaked secret key could sign one
        raise NotFound("This download link is invalid or has expired.") from None


def _headers(signed: SignedObject, info: ObjectInfo, span: tuple[int, int] | None) -> dict[str, str]:
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": attachment(signed.filename),
        "ETag": info.etag,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    start, end = span or (0, info.size)
    headers["Content-Length"] = str(end - start)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    return headers
