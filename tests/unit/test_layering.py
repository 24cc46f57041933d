"""The import rules of DESIGN.md section 3, checked on every module (including function-level imports).

cli, api -> engine -> build, registry, runtime, network -> store -> oci, errors (and the base modules: settings,
configfile, timeutil, pids). ``cli`` may also use
``api``: its JSON shapes (``api.schemas``) and, for ``system service``, the server itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "dockyard"
BASE = {"errors", "configfile", "settings", "timeutil", "pids", "oci", "__init__", "__main__"}
ALLOWED: dict[str, set[str]] = {
    "oci": {"oci", "errors"},
    "errors": set(),
    "configfile": {"errors"},
    "settings": {"errors", "configfile"},
    "timeutil": set(),
    "pids": set(),
    "store": BASE | {"store"},
    "build": BASE | {"store", "build", "runtime", "network", "registry"},
    "registry": BASE | {"store", "registry"},
    "runtime": BASE | {"store", "runtime", "network"},
    "network": BASE | {"store", "network"},
    "engine": BASE | {"store", "build", "registry", "runtime", "network", "engine"},
    "api": BASE | {"engine", "api", "store", "registry", "network", "runtime", "build"},
    "cli": BASE | {"engine", "cli", "api", "store", "registry", "network", "runtime", "build"},
}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("dockyard")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dockyard"):
            out.append(node.module)
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_layering(path: Path) -> None:
    pkg = _package(path)
    if pkg in ("__init__", "__main__"):
        return
    allowed = ALLOWED[pkg]
    for module in _imports(path):
        parts = module.split(".")
        if len(parts) == 1:
            continue  # "import dockyard" / "from dockyard import __version__"
        target = parts[1]
        dotted = ".".join(parts[1:3])
        assert target in allowed or dotted in allowed, f"{path.relative_to(SRC)} imports {module} ({pkg} -> {target})"


def test_every_package_declares_all() -> None:
    for init in SRC.rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        names = [
            t.id
            for n in tree.body
            if isinstance(n, ast.Assign | ast.AnnAssign)
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
            if isinstance(t, ast.Name)
        ]
        assert "__all__" in names, f"{init.relative_to(SRC)} has no __all__"
