"""ADD <url>: downloads, kept between builds and revalidated with ``If-None-Match``/``If-Modified-Since``.

Each URL has a directory under ``<root>/cache/build-remote/<sha256(url)>/`` holding the last body (``data``) and
what the server said about it (``meta.json``: ETag, Last-Modified, filename, digest). A rebuild asks the server
whether the file changed; a ``304 Not Modified`` reuses the stored body. The body's digest goes into the step's
cache key, so the step is rebuilt exactly when the downloaded content changes.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import posixpath
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from dockyard.errors import InvalidArgument, Unavailable

__all__ = ["Download", "RemoteCache", "filename_for"]

log = logging.getLogger(__name__)

_SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


@dataclass(frozen=True)
class Download:
    url: str
    path: Path  # the stored body
    filename: str  # the name the file gets in the image ("" when the URL has none)
    digest: str  # sha256:<hex> of the body
    mtime: float | None  # from Last-Modified


def filename_for(url: str, content_disposition: str = "") -> str:
    """moby's ``getFilenameForDownload``: the URL path's last element, else Content-Disposition's filename."""
    path = unquote(urlparse(url).path)
    if path and not path.endswith("/"):
        base = posixpath.basename(path)
        if base:
            return base
    if content_disposition:
        from email.message import Message

        msg = Message()
        msg["content-disposition"] = content_disposition
        name = msg.get_param("filename", header="content-disposition")
        if isinstance(name, str) and name and not name.endswith("/"):
            return posixpath.basename(name)
    return ""


def _parse_http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.timestamp() if parsed is not None else None


class RemoteCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, url: str) -> Path:
        return self.root / hashlib.sha256(url.encode()).hexdigest()

    def fetch(self, url: str, *, timeout: float = 60.0) -> Download:
        """The body of ``url``, from the store when the server says it has not changed."""
        import httpx

        lowered = url.lower()
        if not lowered.startswith(("http://", "https://")):
            raise InvalidArgument(f"ADD failed: {url}: only http and https URLs can be downloaded")
        d = self._dir(url)
        meta_path = d / "meta.json"
        meta: dict[str, object] = {}
        try:
            loaded = json.loads(meta_path.read_text())
            if isinstance(loaded, dict) and (d / "data").is_file():
                meta = loaded
        except (OSError, ValueError):
            meta = {}
        headers = {}
        if meta.get("etag"):
            headers["If-None-Match"] = str(meta["etag"])
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = str(meta["last_modified"])
        import ssl

        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=_SYSTEM_CA) if os.path.isfile(_SYSTEM_CA) else True
        )
        try:
            with (
                httpx.Client(follow_redirects=True, timeout=timeout, verify=verify) as client,
                client.stream("GET", url, headers=headers) as response,
            ):
                if response.status_code == 304 and meta:
                    log.debug("ADD %s: not modified", url)
                    return self._download(url, d, meta)
                if response.status_code >= 400:
                    raise Unavailable(
                        f"ADD failed: failed to GET {url} with status {response.status_code} {response.reason_phrase}"
                    )
                d.mkdir(parents=True, exist_ok=True)
                tmp = d / f".data-{os.getpid()}-{secrets.token_hex(4)}"
                h = hashlib.sha256()
                try:
                    with open(tmp, "wb") as out:
                        for chunk in response.iter_bytes(1 << 20):
                            h.update(chunk)
                            out.write(chunk)
                    os.replace(tmp, d / "data")
                finally:
                    if tmp.exists():
                        tmp.unlink()
                meta = {
                    "url": url,
                    "etag": response.headers.get("etag", ""),
                    "last_modified": response.headers.get("last-modified", ""),
                    "filename": filename_for(url, response.headers.get("content-disposition", "")),
                    "digest": "sha256:" + h.hexdigest(),
                }
                tmp_meta = d / f".meta-{os.getpid()}"
                tmp_meta.write_text(json.dumps(meta))
                os.replace(tmp_meta, meta_path)
                return self._download(url, d, meta)
        except httpx.HTTPError as exc:
            raise Unavailable(f"ADD failed: failed to GET {url}: {exc}") from exc

    @staticmethod
    def _download(url: str, d: Path, meta: dict[str, object]) -> Download:
        last = str(meta.get("last_modified") or "")
        return Download(
            url=url,
            path=d / "data",
            filename=str(meta.get("filename") or ""),
            digest=str(meta.get("digest") or ""),
            mtime=_parse_http_date(last) if last else None,
        )
