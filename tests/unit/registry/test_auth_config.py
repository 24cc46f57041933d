"""~/.docker/config.json read and written as the docker CLI does, including credential helpers."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.registry.auth import (
    INDEX_SERVER,
    AuthConfig,
    DockerConfigFile,
    config_dir,
    convert_to_hostname,
    credentials_key,
    is_docker_hub,
    login_server_key,
)

from .fake_credhelper import Keychain


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_config_dir_follows_docker_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "x"))
    assert config_dir() == tmp_path / "x"
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home" / ".docker"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("http://127.0.0.1:5000", "127.0.0.1:5000"),
        ("https://myreg.example.com/v2/", "myreg.example.com"),
        ("https://myreg.example.com:8443/v1/", "myreg.example.com:8443"),
        ("myreg.example.com/some/path", "myreg.example.com"),
        ("http://[::1]:5000/", "[::1]:5000"),
    ],
)
def test_convert_to_hostname(given: str, expected: str) -> None:
    assert convert_to_hostname(given) == expected


def test_docker_hub_keys() -> None:
    for name in ("docker.io", "index.docker.io", "registry-1.docker.io", INDEX_SERVER, "https://index.docker.io/v1"):
        assert is_docker_hub(name), name
        assert login_server_key(name) == INDEX_SERVER
    assert login_server_key(None) == INDEX_SERVER
    assert login_server_key("") == INDEX_SERVER
    assert credentials_key("docker.io") == INDEX_SERVER
    assert credentials_key("127.0.0.1:5000") == "127.0.0.1:5000"
    assert login_server_key("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000"
    assert not is_docker_hub("ghcr.io")


def test_missing_file_is_an_empty_config(docker_config: Path) -> None:
    cfg = DockerConfigFile.load()
    assert cfg.path == docker_config / "config.json"
    assert not cfg.contains_auth()
    assert cfg.get_auth("127.0.0.1:5000").empty


def test_store_writes_dockers_format_with_mode_0600(docker_config: Path) -> None:
    cfg = DockerConfigFile.load()
    cfg.store_auth(AuthConfig(username="testuser", password="testpassword", server_address="127.0.0.1:5000"))
    path = docker_config / "config.json"
    # Byte for byte what docker 28 writes (json.MarshalIndent with a tab, no trailing newline).
    assert path.read_text() == (
        '{\n\t"auths": {\n\t\t"127.0.0.1:5000": {\n\t\t\t"auth": "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"\n\t\t}\n\t}\n}'
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(docker_config.stat().st_mode) == 0o700
    again = DockerConfigFile.load().get_auth("127.0.0.1:5000")
    assert (again.username, again.password, again.server_address) == ("testuser", "testpassword", "127.0.0.1:5000")
    assert not [p for p in docker_config.iterdir() if p.name != "config.json"], "temporary file left behind"


def test_unknown_keys_are_preserved(docker_config: Path) -> None:
    docker_config.mkdir()
    original = {
        "auths": {
            "other.example.com": {"auth": _b64("a:b"), "email": "a@example.com", "x-extra": 1},
        },
        "psFormat": "table {{.ID}}",
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
        "someFutureKey": {"nested": [1, 2, {"k": "v"}]},
        "HttpHeaders": {"User-Agent": "should-go", "X-Meta": "kept"},
    }
    (docker_config / "config.json").write_text(json.dumps(original))
    cfg = DockerConfigFile.load()
    cfg.store_auth(AuthConfig(username="u", password="p", server_address="127.0.0.1:5000"))
    saved = json.loads((docker_config / "config.json").read_text())
    assert next(iter(saved)) == "auths"
    assert saved["psFormat"] == "table {{.ID}}"
    assert saved["proxies"] == original["proxies"]
    assert saved["someFutureKey"] == original["someFutureKey"]
    assert saved["HttpHeaders"] == {"X-Meta": "kept"}
    assert saved["auths"]["other.example.com"] == original["auths"]["other.example.com"]
    assert saved["auths"]["127.0.0.1:5000"] == {"auth": _b64("u:p")}


def test_html_characters_escaped_like_go(docker_config: Path) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"auths": {}, "psFormat": "a<b>&c"}))
    cfg = DockerConfigFile.load()
    cfg.store_auth(AuthConfig(username="u", password="p", server_address="h:1"))
    text = (docker_config / "config.json").read_text()
    assert '"psFormat": "a\\u003cb\\u003e\\u0026c"' in text
    assert json.loads(text)["psFormat"] == "a<b>&c"


def test_existing_mode_and_symlink_are_kept(docker_config: Path, tmp_path: Path) -> None:
    docker_config.mkdir()
    real = tmp_path / "real-config.json"
    real.write_text('{"auths": {}}')
    real.chmod(0o640)
    (docker_config / "config.json").symlink_to(real)
    DockerConfigFile.load().store_auth(AuthConfig(username="u", password="p", server_address="h:1"))
    assert (docker_config / "config.json").is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert "h:1" in json.loads(real.read_text())["auths"]


def test_identity_token_and_plain_fields(docker_config: Path) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "tok.example.com": {"auth": _b64("user:"), "identitytoken": "refresh-123"},
                    "plain.example.com": {"username": "alice", "password": "secret"},
                    "https://legacy.example.com/v1/": {"auth": _b64("bob:pw")},
                }
            }
        )
    )
    cfg = DockerConfigFile.load()
    tok = cfg.get_auth("tok.example.com")
    assert (tok.username, tok.password, tok.identity_token) == ("user", "", "refresh-123")
    plain = cfg.get_auth("plain.example.com")
    assert (plain.username, plain.password) == ("alice", "secret")
    legacy = cfg.get_auth("legacy.example.com")  # legacy keys match by host name
    assert (legacy.username, legacy.password) == ("bob", "pw")
    # Re-saving an entry encodes the plain fields into "auth" as docker does.
    cfg.store_auth(AuthConfig(username="alice", password="secret2", server_address="plain.example.com"))
    saved = json.loads((docker_config / "config.json").read_text())["auths"]
    assert saved["plain.example.com"] == {"auth": _b64("alice:secret2")}
    cfg.store_auth(AuthConfig(username="user", identity_token="t2", server_address="tok.example.com"))
    saved = json.loads((docker_config / "config.json").read_text())["auths"]
    assert saved["tok.example.com"] == {"auth": _b64("user:"), "identitytoken": "t2"}


def test_erase_removes_only_that_entry(docker_config: Path) -> None:
    cfg = DockerConfigFile.load()
    cfg.store_auth(AuthConfig(username="u", password="p", server_address="a:1"))
    cfg.store_auth(AuthConfig(username="v", password="q", server_address="b:2"))
    DockerConfigFile.load().erase_auth("a:1")
    saved = json.loads((docker_config / "config.json").read_text())
    assert list(saved["auths"]) == ["b:2"]
    DockerConfigFile.load().erase_auth("b:2")
    assert json.loads((docker_config / "config.json").read_text()) == {"auths": {}}


def test_corrupt_file_is_reported(docker_config: Path) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text("{not json")
    with pytest.raises(InvalidArgument, match=r"config\.json"):
        DockerConfigFile.load()


def test_bad_auth_entry_is_reported(docker_config: Path) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"auths": {"h:1": {"auth": _b64("nocolon")}}}))
    with pytest.raises(InvalidArgument, match="Invalid auth configuration file"):
        DockerConfigFile.load().get_auth("h:1")


def test_docker_auth_config_env_takes_precedence(docker_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    DockerConfigFile.load().store_auth(AuthConfig(username="file", password="f", server_address="h:1"))
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", json.dumps({"auths": {"h:1": {"auth": _b64("env:e")}}}))
    got = DockerConfigFile.load().get_auth("h:1")
    assert (got.username, got.password) == ("env", "e")


def test_repr_hides_secrets() -> None:
    text = repr(AuthConfig(username="u", password="hunter2", identity_token="tok"))
    assert "hunter2" not in text and "tok" not in text


# -- credential helpers -------------------------------------------------------------------------------------


def test_creds_store_helper_round_trip(docker_config: Path, keychain: Keychain) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"auths": {}, "credsStore": "test"}))
    cfg = DockerConfigFile.load()
    cfg.store_auth(AuthConfig(username="alice", password="s3cret", server_address="127.0.0.1:5000"))
    # The secret went to the helper; the file keeps an empty entry, as docker's native store does.
    assert keychain.read() == {"127.0.0.1:5000": ["alice", "s3cret"]}
    saved = json.loads((docker_config / "config.json").read_text())
    assert saved == {"auths": {"127.0.0.1:5000": {}}, "credsStore": "test"}
    assert ["store", '{"ServerURL":"127.0.0.1:5000","Username":"alice","Secret":"s3cret"}\n'] in keychain.calls()

    got = DockerConfigFile.load().get_auth("127.0.0.1:5000")
    assert (got.username, got.password, got.server_address) == ("alice", "s3cret", "127.0.0.1:5000")
    assert ["get", "127.0.0.1:5000"] in keychain.calls()

    missing = DockerConfigFile.load().get_auth("nothere:1")
    assert missing.empty

    DockerConfigFile.load().erase_auth("127.0.0.1:5000")
    assert keychain.read() == {}
    assert json.loads((docker_config / "config.json").read_text())["auths"] == {}


def test_identity_token_in_helper_uses_token_username(docker_config: Path, keychain: Keychain) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"credsStore": "test"}))
    DockerConfigFile.load().store_auth(
        AuthConfig(username="alice", identity_token="refresh-xyz", server_address="reg.example.com")
    )
    assert keychain.read() == {"reg.example.com": ["<token>", "refresh-xyz"]}
    got = DockerConfigFile.load().get_auth("reg.example.com")
    assert (got.username, got.password, got.identity_token) == ("", "", "refresh-xyz")


def test_cred_helpers_per_registry(docker_config: Path, keychain: Keychain) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(
        json.dumps({"auths": {"plain:1": {"auth": _b64("p:q")}}, "credHelpers": {"helped:2": "test"}})
    )
    keychain.write({"helped:2": ["hank", "pw"]})
    cfg = DockerConfigFile.load()
    assert (cfg.get_auth("helped:2").username, cfg.get_auth("helped:2").password) == ("hank", "pw")
    assert cfg.get_auth("plain:1").username == "p"  # other registries stay in the file
    cfg.store_auth(AuthConfig(username="new", password="n", server_address="other:3"))
    assert "other:3" not in keychain.read()
    assert json.loads((docker_config / "config.json").read_text())["auths"]["other:3"] == {"auth": _b64("new:n")}


def test_missing_helper_binary_is_a_plain_error(docker_config: Path) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"credsStore": "nosuchhelper-xyz"}))
    with pytest.raises(FailedPrecondition) as info:
        DockerConfigFile.load().get_auth("h:1")
    assert info.value.message == (
        'error getting credentials - err: exec: "docker-credential-nosuchhelper-xyz": '
        "executable file not found in $PATH, out: ``"
    )


def test_helper_failure_output_is_reported(docker_config: Path, keychain: Keychain) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"credsStore": "test"}))
    with pytest.raises(InvalidArgument, match="no credentials server URL"):
        DockerConfigFile.load().store_auth(AuthConfig(username="a", password="b", server_address=""))


def test_helper_runs_with_callers_environment(docker_config: Path, keychain: Keychain) -> None:
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"credsStore": "test"}))
    DockerConfigFile.load().store_auth(AuthConfig(username="a", password="b", server_address="h:1"))
    assert os.environ["DOCKYARD_TEST_KEYCHAIN"] == str(keychain.path)
    assert keychain.read() == {"h:1": ["a", "b"]}
