"""Whether a process ID names a live process: the one check every layer makes of owners, monitors and lock holders.

``pid_alive`` is what the store asks of the owner of a lease, an ingest or a trash directory, the engine of a
container's monitor or the process that started it, the runtime of conmon: a process that exists and is not a
zombie (one that exited, or was killed, and waits for its parent to reap it does nothing any more: its leases and
locks may go). The state is read from ``/proc/<pid>/stat``; where that cannot be read for another reason than the
process being gone (``hidepid``), the process counts as alive when a signal 0 reaches it, or would but for
permission.
"""

from __future__ import annotations

import errno
import os

__all__ = ["pid_alive"]


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie; False for ``pid <= 0`` (never a process group)."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return False
        return _signal_reaches(pid)
    end = stat.rfind(b")")  # the command name may hold spaces and parentheses
    return stat[end + 2 : end + 3] not in (b"Z", b"X", b"")


def _signal_reaches(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
