"""Every package's ``__all__`` names something real: a lazily imported name (``__getattr__`` tables) resolves."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import dockyard


def _packages() -> list[str]:
    names = ["dockyard"]
    for info in pkgutil.walk_packages(dockyard.__path__, "dockyard."):
        if info.ispkg:
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("package", _packages())
def test_every_public_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    public = getattr(module, "__all__", None)
    assert public is not None, f"{package} has no __all__"
    missing = [name for name in public if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not have: {missing}"
