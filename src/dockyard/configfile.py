"""The state root and its ``config.json``: where they are and what the file holds, checked.

stdlib only (``os``, ``json``), so the fast paths of the command line (``dockyard ps``) can find a root and
refuse exactly the configurations :func:`dockyard.settings.load_settings` refuses, without the value classes of
``settings.py``. Paths are strings here; ``settings`` wraps them in ``pathlib`` objects.
"""

from __future__ import annotations

import json
import os

from dockyard.errors import InvalidArgument

__all__ = ["DEFAULT_ROOT", "STRING_LISTS", "SYSTEM_CONFIG", "read_config", "root_path"]

DEFAULT_ROOT = "/var/lib/dockyard"
SYSTEM_CONFIG = "/etc/dockyard/config.json"
STRING_LISTS = ("insecure-registries", "registry-mirrors")  # keys whose value must be a list of strings


def root_path(root: str | os.PathLike[str] | None = None) -> str:
    """The state root: the explicit argument, else ``$DOCKYARD_ROOT``, else ``/var/lib/dockyard``; made
    absolute against the working directory but not normalized (as ``pathlib.Path.absolute``)."""
    if root:
        return os.path.join(os.getcwd(), os.fspath(root))
    env = os.environ.get("DOCKYARD_ROOT")
    return os.path.join(os.getcwd(), env) if env else DEFAULT_ROOT


def read_config(root: str, system_config: str = SYSTEM_CONFIG) -> dict[str, object]:
    """The settings object of ``<root>/config.json`` (else of the system file; ``{}`` when neither exists),
    checked: a JSON object whose :data:`STRING_LISTS` keys hold lists of strings."""
    data: dict[str, object] = {}
    for candidate in (os.path.join(root, "config.json"), system_config):
        if os.path.isfile(candidate):
            try:
                with open(candidate, encoding="utf-8") as f:
                    loaded = json.loads(f.read())
            except (OSError, ValueError) as exc:
                raise InvalidArgument(f"settings: cannot read {candidate}: {exc}") from exc
            if not isinstance(loaded, dict):
                raise InvalidArgument(f"settings: {candidate}: expected a JSON object")
            data = loaded
            break
    for key in STRING_LISTS:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidArgument(f"settings: {key!r} must be a list of strings")
    return data
