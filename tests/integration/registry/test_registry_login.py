"""login / logout end to end: the registry checks the credentials before anything is saved; the docker CLI and
dockyard read each other's ~/.docker/config.json (and credential helpers)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.engine import Engine
from dockyard.errors import Unauthorized, Unavailable
from dockyard.oci.digest import Digest
from dockyard.registry.auth import AuthConfig
from dockyard.registry.client import RegistryClient
from dockyard.registry.login import verify_login
from dockyard.settings import Settings

from .servers import PASSWORD, USER, Distribution

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

DOCKER = shutil.which("docker")
UNENCRYPTED = (
    "\nWARNING! Your credentials are stored unencrypted in '{path}'.\n"
    "Configure a credential helper to remove this warning. See\n"
    "https://docs.docker.com/go/credential-store/\n\n"
)
INSECURE = "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"


def engine(tmp_path: Path) -> Engine:
    return Engine(Settings(root=tmp_path / "root"))


def dockyard(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKYARD_ROOT": str(tmp_path / "root")}
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def docker(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert DOCKER is not None
    # No daemon: `docker login` falls back to logging in from the client, as it does when dockerd is down.
    env = {**os.environ, "DOCKER_HOST": f"unix:///nonexistent-{os.getpid()}.sock"}
    return subprocess.run(
        [DOCKER, *args], input=stdin or "", capture_output=True, text=True, env=env, timeout=60, check=False
    )


needs_docker = pytest.mark.skipif(DOCKER is None, reason="docker client not installed")


# -- verifying credentials -------------------------------------------------------------------------------------


def test_basic_login(basic_registry: Distribution) -> None:
    status = verify_login(basic_registry.host, AuthConfig(username=USER, password=PASSWORD))
    assert status.status == "Login Succeeded" and status.identity_token == ""
    assert status.endpoint == f"http://{basic_registry.host}"
    with pytest.raises(Unauthorized) as info:
        verify_login(basic_registry.host, AuthConfig(username=USER, password="wrong"))
    assert info.value.message == (
        f"login attempt to http://{basic_registry.host}/v2/ failed with status: 401 Unauthorized"
    )


def test_bearer_login_goes_through_the_token_service(token_registry: Distribution) -> None:
    ts = token_registry.token_server
    assert ts is not None
    before = len(ts.requests)
    status = verify_login(token_registry.host, AuthConfig(username=USER, password=PASSWORD))
    assert status.status == "Login Succeeded"
    assert status.identity_token in ts.refresh_tokens
    method, query = ts.requests[before]
    assert method == "GET"
    assert query["account"] == [USER] and query["offline_token"] == ["true"] and query["client_id"] == ["dockyard"]
    assert query["service"] == [ts.service] and "scope" not in query
    with pytest.raises(Unauthorized) as info:
        verify_login(token_registry.host, AuthConfig(username=USER, password="wrong"))
    assert info.value.message == (
        f'Get "http://{token_registry.host}/v2/": unauthorized: incorrect username or password'
    )


def test_open_registry_accepts_any_login(open_registry: Distribution) -> None:
    assert verify_login(open_registry.url, AuthConfig(username="x", password="y")).status == "Login Succeeded"


def test_unknown_and_unreachable_hosts() -> None:
    with pytest.raises(Unavailable) as info:
        verify_login("nohost.invalid", AuthConfig(username="u", password="p"))
    assert info.value.message == 'Get "https://nohost.invalid/v2/": dial tcp: lookup nohost.invalid: no such host'


# -- the engine: verify, then save -------------------------------------------------------------------------------


def test_engine_login_saves_only_verified_credentials(
    basic_registry: Distribution, tmp_path: Path, docker_config: Path
) -> None:
    service = engine(tmp_path).distribution
    with pytest.raises(Unauthorized):
        service.login(basic_registry.host, USER, "wrong")
    assert not (docker_config / "config.json").exists()
    result = service.login(f"http://{basic_registry.host}/v2/", USER, PASSWORD)
    assert result.server_address == basic_registry.host
    assert result.unencrypted_file == docker_config / "config.json"
    saved = json.loads((docker_config / "config.json").read_text())
    assert saved == {"auths": {basic_registry.host: {"auth": "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"}}}
    creds = service.credentials_for(basic_registry.host)
    assert (creds.username, creds.password) == (USER, PASSWORD)
    # a wrong password later leaves the saved login alone
    with pytest.raises(Unauthorized):
        service.login(basic_registry.host, USER, "wrong")
    assert json.loads((docker_config / "config.json").read_text()) == saved
    # and the saved credentials work for the registry client
    data = os.urandom(100)
    with service.registry_client(_ref(basic_registry.host, "login/works"), push=True) as c:
        c.upload_blob(Digest.of(data), data)
    out = service.logout(basic_registry.host)
    assert out.server_address == basic_registry.host and out.errors == ()
    assert json.loads((docker_config / "config.json").read_text()) == {"auths": {}}


def _ref(host: str, path: str):  # type: ignore[no-untyped-def]
    from dockyard.oci.reference import parse_reference

    return parse_reference(f"{host}/{path}:latest")


def test_engine_login_with_identity_token(token_registry: Distribution, tmp_path: Path, docker_config: Path) -> None:
    service = engine(tmp_path).distribution
    result = service.login(token_registry.host, USER, PASSWORD)
    assert result.identity_token
    entry = json.loads((docker_config / "config.json").read_text())["auths"][token_registry.host]
    assert entry["identitytoken"] == result.identity_token
    assert "dGVzdHVzZXI6" in entry["auth"] and PASSWORD not in json.dumps(entry)  # user name kept, password not
    assert service.authenticate(token_registry.host, "", "", identity_token=result.identity_token).status


# -- the CLI -----------------------------------------------------------------------------------------------------


def test_cli_login_logout(basic_registry: Distribution, tmp_path: Path, docker_config: Path) -> None:
    host = basic_registry.host
    config = docker_config / "config.json"
    bad = dockyard(tmp_path, "login", host, "-u", USER, "-p", "wrong")
    assert bad.returncode == 1
    assert bad.stderr == (
        INSECURE + f"Error response from daemon: login attempt to http://{host}/v2/ failed with status: "
        "401 Unauthorized\n"
    )
    assert bad.stdout == "" and not config.exists()

    ok = dockyard(tmp_path, "login", host, "-u", USER, "-p", PASSWORD)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "Login Succeeded\n"
    assert ok.stderr == INSECURE + UNENCRYPTED.format(path=config)
    assert json.loads(config.read_text())["auths"][host] == {"auth": "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"}

    stdin = dockyard(tmp_path, "login", host, "-u", USER, "--password-stdin", stdin=PASSWORD + "\n")
    assert stdin.returncode == 0 and stdin.stdout == "Login Succeeded\n"
    assert stdin.stderr == UNENCRYPTED.format(path=config)

    again = dockyard(tmp_path, "login", host)  # no flags: the stored credentials are tried first
    assert again.returncode == 0, again.stderr
    assert again.stdout == (
        f"Authenticating with existing credentials... [Username: {USER}]\n"
        "To login with a different account, run 'docker logout' followed by 'docker login'\n\n"
        "Login Succeeded\n"
    )

    out = dockyard(tmp_path, "logout", host)
    assert (out.returncode, out.stdout, out.stderr) == (0, f"Removing login credentials for {host}\n", "")
    assert json.loads(config.read_text()) == {"auths": {}}

    tty = dockyard(tmp_path, "login", host, "-u", USER)
    assert tty.returncode == 1
    assert tty.stderr == "Error: Cannot perform an interactive login from a non TTY device\n"
    both = dockyard(tmp_path, "login", host, "-u", USER, "-p", "x", "--password-stdin")
    assert both.returncode == 1 and both.stderr == INSECURE + "--password and --password-stdin are mutually exclusive\n"
    nouser = dockyard(tmp_path, "login", host, "--password-stdin", stdin="x")
    assert nouser.returncode == 1 and nouser.stderr == "Must provide --username with --password-stdin\n"


def test_cli_logout_default_is_docker_hub(tmp_path: Path, docker_config: Path) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(
        json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}, "other:1": {"auth": "dTpw"}}})
    )
    out = dockyard(tmp_path, "logout")
    assert out.stdout == "Removing login credentials for https://index.docker.io/v1/\n"
    assert list(json.loads((docker_config / "config.json").read_text())["auths"]) == ["other:1"]


def test_cli_pull_and_push_are_wired(tmp_path: Path) -> None:
    pull = dockyard(tmp_path, "pull", "127.0.0.1:1/x")
    assert pull.stdout == "Using default tag: latest\n" and pull.returncode == 1
    assert pull.stderr.startswith('Error response from daemon: Get "http')
    assert pull.stderr.endswith("connect: connection refused\n")
    push = dockyard(tmp_path, "push", "-q", "127.0.0.1:1/x:v1")
    assert push.stderr == "An image does not exist locally with the tag: 127.0.0.1:1/x\n" and push.returncode == 1
    helptext = dockyard(tmp_path, "pull", "--help").stdout
    for flag in ("-a, --all-tags", "--platform", "-q, --quiet", "--tls-verify"):
        assert flag in helptext


# -- sharing logins with the docker CLI --------------------------------------------------------------------------


@needs_docker
def test_docker_reads_and_removes_our_login(basic_registry: Distribution, tmp_path: Path, docker_config: Path) -> None:
    host = basic_registry.host
    assert dockyard(tmp_path, "login", host, "-u", USER, "-p", PASSWORD).returncode == 0
    config = docker_config / "config.json"
    # our file already has extra keys docker knows
    data = json.loads(config.read_text())
    data["psFormat"] = "table {{.ID}}"
    config.write_text(json.dumps(data))
    out = docker("logout", host)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"Removing login credentials for {host}\n"
    assert json.loads(config.read_text()) == {"auths": {}, "psFormat": "table {{.ID}}"}


@needs_docker
def test_we_use_a_login_made_by_docker(basic_registry: Distribution, tmp_path: Path, docker_config: Path) -> None:
    host = basic_registry.host
    out = docker("login", host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert out.returncode == 0, out.stderr
    assert "Login Succeeded" in out.stdout
    service = engine(tmp_path).distribution
    creds = service.credentials_for(host)
    assert (creds.username, creds.password) == (USER, PASSWORD)
    data = os.urandom(1000)
    with service.registry_client(_ref(host, "from/docker"), push=True) as c:
        assert not c.upload_blob(Digest.of(data), data).mounted
    assert dockyard(tmp_path, "logout", host).returncode == 0
    assert json.loads((docker_config / "config.json").read_text())["auths"] == {}


@needs_docker
def test_we_use_an_identity_token_saved_by_docker(
    token_registry: Distribution, tmp_path: Path, docker_config: Path
) -> None:
    host = token_registry.host
    out = docker("login", host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert out.returncode == 0, out.stderr
    entry = json.loads((docker_config / "config.json").read_text())["auths"][host]
    assert entry.get("identitytoken"), entry  # docker kept the refresh token instead of the password
    creds = engine(tmp_path).distribution.credentials_for(host)
    assert creds.identity_token == entry["identitytoken"] and creds.password == ""
    data = os.urandom(1000)
    with RegistryClient(host, "docker/identity", credentials=creds, push=True) as c:
        c.upload_blob(Digest.of(data), data)
        assert c.read_blob(Digest.of(data)) == data


@needs_docker
def test_credential_helper_shared_with_docker(
    basic_registry: Distribution, tmp_path: Path, docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.registry.fake_credhelper import Keychain, install_helper

    bin_dir = tmp_path / "bin"
    install_helper(bin_dir, "test")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    keychain = Keychain(tmp_path / "keychain.json")
    monkeypatch.setenv("DOCKYARD_TEST_KEYCHAIN", str(keychain.path))
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"auths": {}, "credsStore": "test"}))
    host = basic_registry.host

    out = docker("login", host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert out.returncode == 0, out.stderr
    assert keychain.read() == {host: [USER, PASSWORD]}
    creds = engine(tmp_path).distribution.credentials_for(host)
    assert (creds.username, creds.password) == (USER, PASSWORD)

    assert dockyard(tmp_path, "logout", host).returncode == 0
    assert keychain.read() == {}

    ours = dockyard(tmp_path, "login", host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert ours.returncode == 0 and ours.stderr == ""  # no "unencrypted" warning with a helper
    assert keychain.read() == {host: [USER, PASSWORD]}
    assert json.loads((docker_config / "config.json").read_text()) == {"auths": {host: {}}, "credsStore": "test"}
    out = docker("logout", host)
    assert out.returncode == 0 and keychain.read() == {}


def _run_in_pty(args: list[str], answers: list[tuple[bytes, bytes]], env: dict[str, str]) -> tuple[int, bytes]:
    """Run a command on a new pseudo-terminal, answering each prompt; returns (exit status, everything shown)."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal
        os.execve(sys.executable, [sys.executable, *args], env)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                shown += chunk
            if pending and shown.endswith(pending[0][0]):
                os.write(fd, pending.pop(0)[1])
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown


def test_cli_prompts_on_a_terminal(basic_registry: Distribution, tmp_path: Path, docker_config: Path) -> None:
    env = {**os.environ, "DOCKYARD_ROOT": str(tmp_path / "root")}
    code, shown = _run_in_pty(
        ["-m", "dockyard", "login", basic_registry.host],
        [(b"Username: ", USER.encode() + b"\n"), (b"Password: ", PASSWORD.encode() + b"\n")],
        env,
    )
    text = shown.decode().replace("\r\n", "\n")
    assert code == 0, text
    assert text.startswith("Username: testuser\nPassword: \n")  # the password is not echoed
    assert PASSWORD not in text
    assert text.endswith("Login Succeeded\n")
    assert basic_registry.host in json.loads((docker_config / "config.json").read_text())["auths"]
    # saved credentials that no longer work: docker says so, then offers the saved user name as the default
    config = docker_config / "config.json"
    data = json.loads(config.read_text())
    data["auths"][basic_registry.host]["auth"] = "dGVzdHVzZXI6c3RhbGU="  # testuser:stale
    config.write_text(json.dumps(data))
    code, shown = _run_in_pty(
        ["-m", "dockyard", "login", basic_registry.host],
        [(f"Username ({USER}): ".encode(), b"\n"), (b"Password: ", PASSWORD.encode() + b"\n")],
        env,
    )
    text = shown.decode().replace("\r\n", "\n")
    assert code == 0, text
    assert text.startswith(
        f"Authenticating with existing credentials... [Username: {USER}]\n"
        "To login with a different account, run 'docker logout' followed by 'docker login'\n\n"
        "Stored credentials invalid or expired\n"
        f"Username ({USER}): \nPassword: \n"
    ), text
    assert text.endswith("Login Succeeded\n")
    assert json.loads(config.read_text())["auths"][basic_registry.host] == {"auth": "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"}


@needs_docker
def test_helper_that_cannot_store_reports_like_docker(
    basic_registry: Distribution, tmp_path: Path, docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.registry.fake_credhelper import install_helper

    bin_dir = tmp_path / "bin"
    install_helper(bin_dir, "test")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKYARD_TEST_KEYCHAIN", str(tmp_path / "keychain.json"))
    monkeypatch.setenv("DOCKYARD_TEST_KEYCHAIN_FAIL", "store")
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"auths": {}, "credsStore": "test"}))
    ours = dockyard(tmp_path, "login", basic_registry.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    theirs = docker("login", basic_registry.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    expected = "Error saving credentials: error storing credentials - err: exit status 1, out: `the keychain is locked`"
    assert ours.returncode == 1 and ours.stderr == expected + "\n"
    assert theirs.returncode == 1 and theirs.stderr.strip().endswith(expected)
    assert json.loads((docker_config / "config.json").read_text()) == {"auths": {}, "credsStore": "test"}
