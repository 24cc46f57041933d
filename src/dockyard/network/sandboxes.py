"""Container network namespaces (Docker's sandboxes), pinned at ``<root>/run/netns/<container id>``.

A namespace is recorded in the ``sandboxes`` table (state ``creating``) before it is made, so a process killed in
between leaves a row the manager's next reconcile removes together with the namespace. ``netns`` does the kernel
side.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.network import netns

if TYPE_CHECKING:
    from dockyard.network.manager import NetworkManager

__all__ = ["create_namespace", "delete_namespace"]


def create_namespace(m: NetworkManager, container_id: str, *, pending: bool = False) -> Path:
    """A new network namespace for the container; with ``pending`` its row stays ``creating`` until attached."""
    with m.locked():
        path = m.namespace_path(container_id)
        if netns.exists(path) and m.state.sandbox(container_id):
            return path
        with m.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO sandboxes (container_id, path, state) VALUES (?, ?, 'creating')",
                (container_id, str(path)),
            )
        netns.remove(path)
        netns.create(path)
        if not pending:
            with m.db.transaction() as conn:
                conn.execute("UPDATE sandboxes SET state = 'active' WHERE container_id = ?", (container_id,))
        return path


def delete_namespace(m: NetworkManager, container_id: str) -> None:
    """The container's namespace gone, and its row."""
    path = Path(m.state.sandbox(container_id) or m.namespace_path(container_id))
    netns.remove(path)
    with m.db.transaction() as conn:
        conn.execute("DELETE FROM sandboxes WHERE container_id = ?", (container_id,))
