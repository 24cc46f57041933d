"""runc's errors as one plain sentence with Docker's exit codes."""

from __future__ import annotations

from pathlib import Path

from dockyard.runtime.errors import clean_runtime_message, last_runtime_error, translate_runtime_error


def test_command_not_found_is_127() -> None:
    err = translate_runtime_error(
        'runc create failed: unable to start container process: exec: "foo": executable file not found in $PATH'
    )
    assert str(err) == 'exec: "foo": executable file not found in $PATH'
    assert err.exit_code == 127
    missing = translate_runtime_error(
        'runc create failed: unable to start container process: exec: "/foo": stat /foo: no such file or directory'
    )
    assert (str(missing), missing.exit_code) == ('exec: "/foo": stat /foo: no such file or directory', 127)


def test_permission_denied_is_126() -> None:
    err = translate_runtime_error('runc run failed: unable to start container process: exec: "/etc": permission denied')
    assert (str(err), err.exit_code) == ('exec: "/etc": permission denied', 126)


def test_other_errors_are_125_and_plain() -> None:
    err = translate_runtime_error(
        "runc create failed: unable to start container process: error during container init: "
        'error mounting "/h" to rootfs at "/etc/hostname": mount /h:/etc/hostname: not a directory'
    )
    assert err.exit_code == 125
    assert str(err).startswith('error mounting "/h" to rootfs at "/etc/hostname"')
    assert str(err).endswith("Check if the specified host path exists and is the expected type")
    assert clean_runtime_message("OCI runtime exec failed: exec failed: unable to start container process: x") == "x"


def test_last_runtime_error(tmp_path: Path) -> None:
    log = tmp_path / "oci-log"
    log.write_text(
        '{"level":"warning","msg":"ignored"}\n'
        "not json\n"
        '{"level":"error","msg":"first","time":"t"}\n'
        '{"level":"error","msg":"runc create failed: second","time":"t"}\n'
    )
    assert last_runtime_error(log) == "runc create failed: second"
    assert last_runtime_error(log, since=log.stat().st_size) is None
    assert last_runtime_error(tmp_path / "missing") is None
