"""Leftovers of builds whose process died (``kill -9`` mid-step): their snapshots, runc containers, networks
and work directories. Each build leases its snapshots (``LeaseKind.SNAPSHOT``) before preparing them, so a
``build`` snapshot without a live lease belongs to nobody. Runs at the start of every build; cheap when there is
nothing to do (one query, one directory scan).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from typing import TYPE_CHECKING

from dockyard.pids import pid_alive
from dockyard.store.leases import LeaseKind

if TYPE_CHECKING:
    from dockyard.build.seams import NetworkSeam
    from dockyard.store import Store

__all__ = ["cleanup_stale"]

log = logging.getLogger(__name__)


def _live_snapshot_keys(store: Store) -> set[str]:
    rows = store.db.query(
        """SELECT r.key, l.pid FROM lease_resources r JOIN leases l ON l.id = r.lease_id WHERE r.kind = ?""",
        (LeaseKind.SNAPSHOT,),
    )
    return {r["key"] for r in rows if pid_alive(int(r["pid"]))}


def cleanup_stale(store: Store, network: NetworkSeam | None = None) -> int:
    """Remove what dead builds left behind; return how many snapshots went."""
    removed = 0
    keys = [r["key"] for r in store.db.query("SELECT key FROM snapshots WHERE kind = 'build'")]
    if keys:
        live = _live_snapshot_keys(store)
        for key in keys:
            if key in live:
                continue
            log.info("removing the leftovers of build step %s", key[:12])
            _forget_container(store, key, network)
            with contextlib.suppress(Exception):
                store.snapshots.remove(key)
            removed += 1
    tmp = store.layout.tmp
    if tmp.is_dir():
        for entry in os.scandir(tmp):
            parts = entry.name.split("-")
            stale_dir = entry.name.startswith("build-") and len(parts) >= 2 and parts[1].isdigit()
            if stale_dir and not pid_alive(int(parts[1])):
                shutil.rmtree(entry.path, ignore_errors=True)
    return removed


def _forget_container(store: Store, container_id: str, network: NetworkSeam | None) -> None:
    """A RUN container may still exist in runc and hold a network namespace."""
    runc = shutil.which("runc")
    if runc:
        import subprocess  # here: ~5 ms at import, and only a crashed build's leftovers need it

        with contextlib.suppress(Exception):
            subprocess.run(
                [runc, f"--root={store.layout.run / 'runc'}", "delete", "--force", container_id],
                capture_output=True,
                timeout=30,
                check=False,
            )
    if network is not None:
        with contextlib.suppress(Exception):
            network.release(container_id)
