"""The ``docker-credential-<name>`` helper protocol (docker-credential-helpers ``client`` package).

A helper is a program on ``$PATH`` run with one argument, ``get``, ``store``, ``erase`` or ``list``:

* ``get``: stdin is the server URL (no newline); stdout is ``{"ServerURL","Username","Secret"}``. A helper that has
  nothing answers ``credentials not found in native keychain`` on stdout and exits non-zero.
* ``store``: stdin is ``{"ServerURL","Username","Secret"}`` followed by a newline.
* ``erase``: stdin is the server URL.
* ``list``: stdin is ``unused``; stdout maps server URLs to user names.

An identity token is stored with the user name ``<token>`` and the token as the secret.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.errors import FailedPrecondition, InvalidArgument

__all__ = [
    "CREDENTIALS_NOT_FOUND",
    "HELPER_PREFIX",
    "TOKEN_USERNAME",
    "HelperCredentials",
    "HelperResult",
    "HelperRunner",
    "helper_erase",
    "helper_get",
    "helper_list",
    "helper_store",
    "run_helper",
]

log = logging.getLogger(__name__)

HELPER_PREFIX = "docker-credential-"
TOKEN_USERNAME = "<token>"
CREDENTIALS_NOT_FOUND = "credentials not found in native keychain"
_MISSING_SERVER_URL = "no credentials server URL"
_MISSING_USERNAME = "no credentials username"
HELPER_TIMEOUT = 120.0


@dataclass(frozen=True)
class HelperResult:
    returncode: int
    stdout: bytes
    error: str = ""  # set when the program could not be run at all


@dataclass(frozen=True)
class HelperCredentials:
    server_url: str
    username: str
    secret: str


#: Runs ``program action`` with ``stdin``; a seam so tests and callers can substitute it.
HelperRunner = Callable[[str, str, bytes], HelperResult]


def run_helper(program: str, action: str, stdin: bytes) -> HelperResult:
    """Run a credential helper as Docker does (``exec.Command(program, action)`` with the caller's env)."""
    path = shutil.which(program)
    if path is None:
        return HelperResult(-1, b"", f'exec: "{program}": executable file not found in $PATH')
    try:
        proc = subprocess.run(
            [path, action],
            input=stdin,
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            env=os.environ.copy(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return HelperResult(-1, b"", f"{program} {action}: timed out after {HELPER_TIMEOUT:.0f}s")
    except OSError as exc:
        return HelperResult(-1, b"", f"fork/exec {path}: {exc.strerror}")
    if proc.stderr:
        log.debug("%s %s stderr: %s", program, action, proc.stderr.decode(errors="replace").strip())
    return HelperResult(proc.returncode, proc.stdout)


def _go_exit(result: HelperResult) -> str:
    return result.error or f"exit status {result.returncode}"


def _check(result: HelperResult, verb: str) -> None:
    if result.returncode == 0 and not result.error:
        return
    out = result.stdout.decode(errors="replace").strip()
    if out in (_MISSING_SERVER_URL, _MISSING_USERNAME):
        raise InvalidArgument(out)
    raise FailedPrecondition(f"error {verb} credentials - err: {_go_exit(result)}, out: `{out}`")


def helper_get(helper: str, server_url: str, runner: HelperRunner = run_helper) -> HelperCredentials | None:
    """The helper's credentials for ``server_url``; None when it has none."""
    result = runner(HELPER_PREFIX + helper, "get", server_url.encode())
    if result.returncode != 0 or result.error:
        if result.stdout.decode(errors="replace").strip() == CREDENTIALS_NOT_FOUND:
            return None
        _check(result, "getting")
    try:
        obj = json.loads(result.stdout)
    except ValueError as exc:
        raise FailedPrecondition(f"error getting credentials - err: {exc}, out: `{result.stdout!r}`") from exc
    if not isinstance(obj, dict):
        raise FailedPrecondition("error getting credentials - err: helper output is not a JSON object")
    return HelperCredentials(
        server_url=str(obj.get("ServerURL") or server_url),
        username=str(obj.get("Username") or ""),
        secret=str(obj.get("Secret") or ""),
    )


def helper_store(helper: str, creds: HelperCredentials, runner: HelperRunner = run_helper) -> None:
    payload = json.dumps(
        {"ServerURL": creds.server_url, "Username": creds.username, "Secret": creds.secret}, separators=(",", ":")
    )
    _check(runner(HELPER_PREFIX + helper, "store", payload.encode() + b"\n"), "storing")


def helper_erase(helper: str, server_url: str, runner: HelperRunner = run_helper) -> None:
    _check(runner(HELPER_PREFIX + helper, "erase", server_url.encode()), "erasing")


def helper_list(helper: str, runner: HelperRunner = run_helper) -> dict[str, str]:
    result = runner(HELPER_PREFIX + helper, "list", b"unused")
    _check(result, "listing")
    try:
        obj = json.loads(result.stdout)
    except ValueError as exc:
        raise FailedPrecondition(f"error listing credentials - err: {exc}") from exc
    if not isinstance(obj, dict):
        return {}
    return {str(k): str(v) for k, v in obj.items()}
