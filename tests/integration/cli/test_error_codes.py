"""What the engine refuses is reported as the docker CLI reports the daemon's refusals — ``Error response from
daemon: <message>``, exit status 1 — except by ``run``, whose 125 tells the engine's failure from the container's
own exit status. Each pair below was checked against docker 20.10 with a private dockerd."""

from __future__ import annotations

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.integration

DAEMON_ERRORS = [
    (("rmi", "nosuch"), "No such image: nosuch:latest"),
    (("image", "rm", "nosuch"), "No such image: nosuch:latest"),
    (("tag", "nosuch", "x"), "No such image: nosuch:latest"),
    (("history", "nosuch"), "No such image: nosuch:latest"),
    (("save", "-o", "{tmp}/x.tar", "nosuch"), "No such image: nosuch:latest"),
    (("commit", "nosuch"), "No such container: nosuch"),
    (("rm", "nosuch"), "No such container: nosuch"),
    (("volume", "inspect", "nosuch"), "get nosuch: no such volume"),
    (("volume", "rm", "nosuch"), "get nosuch: no such volume"),
    (("network", "inspect", "nosuch"), "network nosuch not found"),
    (("image", "prune", "-f", "--filter", "bogus=1"), "invalid filter 'bogus'"),
]


@pytest.mark.parametrize(("args", "message"), DAEMON_ERRORS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_daemon_errors_exit_1(cli: Cli, busybox: str, tmp_path: object, args: tuple[str, ...], message: str) -> None:
    r = cli(*(a.format(tmp=tmp_path) for a in args), check=False)
    assert (r.returncode, r.stderr) == (1, f"Error response from daemon: {message}\n")


def test_run_and_usage_errors_exit_125(cli: Cli, busybox: str) -> None:
    r = cli("run", "--rm", "--network", "nosuchnet", "busybox", "true", check=False)
    assert (r.returncode, r.stderr) == (
        125,
        "dockyard: Error response from daemon: network nosuchnet not found.\nSee 'dockyard run --help'.\n",
    )
    r = cli("run", "--rm", "busybox", "nosuchcommand", check=False)  # started: no help line, docker's 127
    assert (r.returncode, r.stderr) == (
        127,
        'dockyard: Error response from daemon: exec: "nosuchcommand": executable file not found in $PATH.\n',
    )
    r = cli("run", "--rm", "Busybox", check=False)  # the client's own parse: not the daemon's answer
    assert (r.returncode, r.stderr) == (
        125,
        "dockyard: invalid reference format: repository name must be lowercase.\nSee 'dockyard run --help'.\n",
    )
    r = cli("images", "--no-such-flag", check=False)
    assert r.returncode == 125 and "No such option" in r.stderr
    r = cli("inspect", "nosuch", check=False)  # the generic inspect's own words, as docker's CLI says them
    assert (r.returncode, r.stdout, r.stderr) == (1, "[]\n", "Error: No such object: nosuch\n")
