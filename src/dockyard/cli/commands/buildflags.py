"""``dockyard build``'s options as plain rows: the one table its click command (``buildflow.BUILD_FLAGS``, made
from it), the command line's fast path and the build record (``cli/buildrecord/``) all parse with.

Each row is ``cli/argscan.py``'s ``(spellings, dest, kind, default, off switches, choices)`` followed by docker's
help text. Tuples rather than ``flagtable.FlagSpec``\\s, so that the build record reads the table without importing
``dataclasses``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BUILD_OPTIONS"]

BUILD_OPTIONS: tuple[tuple[tuple[str, ...], str, str, Any, tuple[str, ...], tuple[str, ...], str], ...] = (
    (("-t", "--tag"), "tags", "multiple", (), (), (), "Name and optionally a tag in the 'name:tag' format"),
    (("-f", "--file"), "dockerfile", "value", "", (), (), "Name of the Dockerfile (default: 'PATH/Dockerfile')"),
    (("--build-arg",), "build_args", "multiple", (), (), (), "Set build-time variables"),
    (("--target",), "target", "value", "", (), (), "Set the target build stage to build"),
    (("--no-cache",), "no_cache", "flag", False, (), (), "Do not use cache when building the image"),
    (("--pull",), "pull", "flag", False, (), (), "Always attempt to pull a newer version of the image"),
    (("--label",), "labels", "multiple", (), (), (), "Set metadata for an image"),
    (("-q", "--quiet"), "quiet", "flag", False, (), (), "Suppress the build output and print image ID on success"),
    (("--iidfile",), "iidfile", "value", "", (), (), "Write the image ID to the file"),
    (("--network",), "network", "value", "default", (), (),
     "Networking mode for the RUN instructions: default, host, none"),
    (("--progress",), "progress", "value", "auto", (), ("auto", "plain", "tty", "quiet"),
     "Type of progress output: plain (the classic builder's), quiet (only the image ID)"),
    (("--host-ca",), "host_ca", "flag", None, ("--no-host-ca",), (),
     "Trust the host's CA certificates in RUN steps (mounted read-only, never stored in the image)"),
    (("--explain-cache",), "explain_cache", "flag", False, (), (),
     "Say for every step why it was (not) taken from the cache"),
    (("--rm",), "remove", "flag", True, ("--no-rm",), (), "Remove intermediate containers after a successful build"),
    (("--force-rm",), "force_rm", "flag", False, (), (), "Always remove intermediate containers"),
    (("--platform",), "platform", "value", "", (), (), "Set platform if server is multi-platform capable"),
    (("--add-host",), "add_hosts", "multiple", (), (), (), "Add a custom host-to-IP mapping (host:ip)"),
)  # fmt: skip
