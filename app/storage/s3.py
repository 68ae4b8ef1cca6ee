"""S3-compatible storage (AWS S3, MinIO, Cloudflare R2, ...) through boto3; credentials the AWS way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from app.storage.base import CHUNK_BYTES, ObjectInfo
from app.storage.disposition import attachment

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Storage:
    """Objects under `prefix/` in one bucket; results are handed out as short-lived presigned URLs."""

    def __init__(
        self, bucket: str, prefix: str, endpoint_url: str | None, public_endpoint_url: str | None
    ) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        config = Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"})
        self.client: Any = boto3.client("s3", endpoint_url=endpoint_url, config=config)
        # Links are signed for the address clients use (signing is local: this client never connects).
        self.signer: Any = (
            self.client
            if public_endpoint_url == endpoint_url
            else boto3.client("s3", endpoint_url=public_endpoint_url, config=config)
        )

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.prefix + key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        # upload_file sends large files in parts; the object appears whole when the upload completes.
        extra = {"ContentType": content_type}
        self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs=extra)

    def _get_object(self, key: str, **params: str) -> Any:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key), **params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(key) from exc
            raise

    def get(self, key: str) -> bytes:
        body: bytes = self._get_object(key)["Body"].read()
        return body

    def stat(self, key: str) -> ObjectInfo:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(key) from exc
            raise
        return ObjectInfo(int(head["ContentLength"]), str(head["ETag"]))

    def read_chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            return
        last = "" if end is None else str(end - 1)
        span = {} if start == 0 and end is None else {"Range": f"bytes={start}-{last}"}
        body = self._get_object(key, **span)["Body"]
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise

    def keys(self, prefix: str = "") -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :]

    def presigned_url(self, key: str, expires_in: int, filename: str, content_type: str) -> str | None:
        """A GET URL valid for `expires_in` seconds that downloads the object as an attachment."""
        url: str = self.signer.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": attachment(filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_in,
        )
        return url

    def presigned_post(self, key: str, max_bytes: int, expires_in: int) -> tuple[str, dict[str, str]] | None:
        """The bucket itself refuses a body outside 1..max_bytes (content-length-range)."""
        post = self.signer.generate_presigned_post(
            Bucket=self.bucket,
            Key=self._key(key),
            Conditions=[["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return str(post["url"]), {k: str(v) for k, v in post["fields"].items()}

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def ensure_lifecycle(self, days: int) -> None:
        """Expire everything under our prefix after `days`: the safety net behind the sweeper."""
        self.client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "mindrender-retention",
                        "Filter": {"Prefix": self.prefix},
                        "Status": "Enabled",
                        "Expiration": {"Days": days},
                    }
                ]
            },
        )
