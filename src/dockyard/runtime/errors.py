"""runc's failures as one plain sentence, with the exit code ``docker run`` would give (moby
``translateContainerdStartErr``): 127 when the command does not exist, 126 when it cannot be invoked, 125 else."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dockyard.errors import FailedPrecondition

__all__ = ["ContainerStartError", "clean_runtime_message", "last_runtime_error", "translate_runtime_error"]

_PREFIXES = re.compile(
    r"^(?:OCI runtime \w+ failed: |runc \w+ failed: |unable to start container process: |"
    r"error during container init: |container_linux\.go:\d+: [^:]+ caused: |exec failed: )"
)
_NOT_DIR_HINT = (
    ": Are you trying to mount a directory onto a file (or vice-versa)? "
    "Check if the specified host path exists and is the expected type"
)


class ContainerStartError(FailedPrecondition):
    """The container's process could not be started. ``exit_code`` is what ``docker run`` exits with:
    127 (command not found), 126 (cannot invoke: permission denied, wrong architecture), 125 (anything else)."""

    def __init__(self, message: str, *, exit_code: int = 125, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code


def clean_runtime_message(message: str) -> str:
    """Drop runc's layered prefixes: ``runc create failed: unable to start container process: exec: "foo": ...``
    becomes ``exec: "foo": ...``."""
    text = message.strip()
    while True:
        stripped = _PREFIXES.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


def translate_runtime_error(message: str) -> ContainerStartError:
    text = clean_runtime_message(message)
    if "executable file not found" in text or "no such file or directory" in text:
        return ContainerStartError(text, exit_code=127)
    if "permission denied" in text:
        return ContainerStartError(text, exit_code=126)
    if "not a directory" in text:
        return ContainerStartError(text + _NOT_DIR_HINT)
    return ContainerStartError(text)


def last_runtime_error(log: Path, *, since: int = 0) -> str | None:
    """The last error message runc wrote to its JSON ``--log`` file (from byte ``since`` on)."""
    try:
        with open(log, "rb") as f:
            f.seek(since)
            data = f.read()
    except OSError:
        return None
    message = None
    for line in data.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal") and entry.get("msg"):
            message = str(entry["msg"])
    return message
