"""Every instruction with Docker's semantics, on busybox: stages, ARG scoping, ONBUILD, SHELL, heredocs, ADD,
--chown/--chmod, WORKDIR, USER, metadata, and layers that carry deletions as OCI whiteouts."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.build.conftest import layer_dirs, layer_tar_names, raw_config, read_in_image, write_context

pytestmark = pytest.mark.integration


def test_multi_stage_copy_from_stage_index_and_target(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(
        ctx,
        {
            "Dockerfile": (
                "FROM busybox AS builder\n"
                "RUN mkdir /out && echo compiled > /out/app && echo extra > /out/extra\n"
                "FROM busybox AS tester\n"
                "RUN echo tested > /tested\n"
                "FROM busybox\n"
                "COPY --from=builder /out/app /usr/local/bin/app\n"
                "COPY --from=0 /out/ /all/\n"
                "COPY --from=tester /tested /\n"
            )
        },
    )
    out = cli("build", "-t", "ms", str(ctx)).stdout
    assert "Step 8/8 : COPY --from=tester /tested /" in out
    assert read_in_image(state_root, "ms", "/usr/local/bin/app") == "compiled\n"
    assert read_in_image(state_root, "ms", "/all/extra") == "extra\n"
    assert read_in_image(state_root, "ms", "/tested") == "tested\n"
    assert read_in_image(state_root, "ms", "/out/app") is None  # only what was copied
    # --target stops at a stage; steps are counted up to it
    out = cli("build", "--target", "builder", "-t", "only-builder", str(ctx)).stdout
    assert "Step 2/2 : RUN mkdir" in out and "tester" not in out
    assert read_in_image(state_root, "only-builder", "/out/app") == "compiled\n"


def test_arg_scoping_meta_args_and_build_args(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(
        ctx,
        {
            "Dockerfile": (
                "ARG BASE=busybox\n"
                "ARG SHARED=meta\n"
                "FROM ${BASE} AS first\n"
                'RUN echo "before:[$SHARED]" > /before\n'
                "ARG SHARED\n"
                "ARG LOCAL=default\n"
                "ENV FROM_ENV=$LOCAL\n"
                'RUN echo "$SHARED $LOCAL $FROM_ENV" > /args\n'
                "FROM busybox\n"
                'RUN echo "second:[$LOCAL]" > /second\n'
            )
        },
    )
    out = cli("build", "--build-arg", "LOCAL=given", "--target", "first", "-t", "args", str(ctx)).stdout
    assert out.splitlines()[2:4] == ["Step 1/8 : ARG BASE=busybox", "Step 2/8 : ARG SHARED=meta"]
    assert read_in_image(state_root, "args", "/before") == "before:[]\n"  # meta ARGs need an ARG in the stage
    assert read_in_image(state_root, "args", "/args") == "meta given given\n"
    assert "FROM_ENV=given" in raw_config(state_root, "args")["config"]["Env"]  # type: ignore[index, operator]
    cli("build", "--build-arg", "LOCAL=given", "-t", "second", str(ctx))
    assert read_in_image(state_root, "second", "/second") == "second:[]\n"  # nothing in scope in a new stage
    out = cli("build", "--build-arg", "LOCAL=other", "--target", "first", "-t", "args", str(ctx)).stdout
    misses = [line for line in out.splitlines() if line.startswith("cache miss")]
    assert misses == ["cache miss at step 7/8 (ENV FROM_ENV=$LOCAL): build arg LOCAL changed (given -> other)"]


def test_run_sees_args_and_env_and_history_records_args(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(
        ctx,
        {"Dockerfile": 'FROM busybox\nARG V=1\nENV E=env\nRUN echo "$V $E" > /out\n'},
    )
    cli("build", "--build-arg", "V=7", "-t", "runargs", str(ctx))
    assert read_in_image(state_root, "runargs", "/out") == "7 env\n"
    history = raw_config(state_root, "runargs")["history"]
    assert history[-1]["created_by"] == '|1 V=7 /bin/sh -c echo "$V $E" > /out'  # type: ignore[index]
    assert history[-3]["created_by"] == "/bin/sh -c #(nop)  ARG V=1"  # type: ignore[index]
    config = raw_config(state_root, "runargs")["config"]
    assert "V=7" not in config["Env"]  # type: ignore[index, operator]
    # a different value rebuilds RUN and the line says why
    out = cli("build", "--build-arg", "V=8", "-t", "runargs", str(ctx)).stdout
    assert 'cache miss at step 4/4 (RUN echo "$V $E" > /out): build arg V changed (7 -> 8)' in out


def test_onbuild_triggers_run_in_the_child(cli: Cli, busybox: str, tmp_path: Path, state_root: Path) -> None:
    parent = write_context(
        tmp_path / "parent",
        {"Dockerfile": "FROM busybox\nONBUILD COPY marker.txt /marker\nONBUILD RUN echo triggered > /trig\n"},
    )
    cli("build", "-t", "with-triggers", str(parent))
    assert raw_config(state_root, "with-triggers")["config"]["OnBuild"] == [  # type: ignore[index]
        "COPY marker.txt /marker",
        "RUN echo triggered > /trig",
    ]
    child = write_context(tmp_path / "child", {"Dockerfile": "FROM with-triggers\n", "marker.txt": "from child\n"})
    out = cli("build", "-t", "child", str(child)).stdout
    assert "# Executing 2 build triggers" in out
    assert read_in_image(state_root, "child", "/marker") == "from child\n"
    assert read_in_image(state_root, "child", "/trig") == "triggered\n"
    assert "OnBuild" not in raw_config(state_root, "child")["config"]  # type: ignore[operator]


def test_shell_heredocs_and_exec_form(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(
        ctx,
        {
            "Dockerfile": (
                "FROM busybox\n"
                "ENV WHO=world\n"
                "COPY <<EOF /greeting.txt\n"
                "hello $WHO\n"
                "EOF\n"
                "COPY <<'RAW' /raw.txt\n"
                "not $EXPANDED\n"
                "RAW\n"
                "RUN <<EOF\n"
                "echo one > /one\n"
                "echo two > /two\n"
                "EOF\n"
                "RUN <<EOF\n"
                "#!/bin/sh\n"
                'echo "script $WHO" > /script\n'
                "EOF\n"
                'SHELL ["/bin/sh", "-ec"]\n'
                "RUN echo $0 $- > /shell\n"
                'RUN ["/bin/sh", "-c", "echo exec > /exec"]\n'
            )
        },
    )
    cli("build", "-t", "heredocs", str(ctx))
    assert read_in_image(state_root, "heredocs", "/greeting.txt") == "hello world\n"
    assert read_in_image(state_root, "heredocs", "/raw.txt") == "not $EXPANDED\n"
    assert read_in_image(state_root, "heredocs", "/two") == "two\n"
    assert read_in_image(state_root, "heredocs", "/script") == "script world\n"
    assert "e" in (read_in_image(state_root, "heredocs", "/shell") or "").split()[-1]
    assert read_in_image(state_root, "heredocs", "/exec") == "exec\n"
    assert raw_config(state_root, "heredocs")["config"]["Shell"] == ["/bin/sh", "-ec"]  # type: ignore[index]


def test_add_archives_copy_chown_chmod_and_wildcards(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("pkg/readme.txt")
        data = b"packed\n"
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    write_context(
        ctx,
        {
            "Dockerfile": (
                "FROM busybox\n"
                "ADD pkg.tar.gz /opt/\n"
                "COPY pkg.tar.gz /copied/\n"
                "COPY --chown=1000:100 --chmod=640 conf/ /etc/app/\n"
                "COPY --chown=nobody:nogroup *.txt /texts/\n"
                "RUN stat -c '%u:%g %a %n' /etc/app/a.conf /texts/one.txt /texts/two.txt > /owners\n"
            ),
            "pkg.tar.gz": gzip.compress(buf.getvalue()),
            "conf/a.conf": "a=1\n",
            "one.txt": "1",
            "two.txt": "2",
        },
    )
    cli("build", "-t", "adds", str(ctx))
    assert read_in_image(state_root, "adds", "/opt/pkg/readme.txt") == "packed\n"
    assert read_in_image(state_root, "adds", "/copied/pkg.tar.gz") is not None
    owners = (read_in_image(state_root, "adds", "/owners") or "").splitlines()
    assert owners == [
        "1000:100 640 /etc/app/a.conf",
        "65534:65534 644 /texts/one.txt",
        "65534:65534 644 /texts/two.txt",
    ]


def test_add_url_downloads_are_cached_by_content(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    served = ctx.parent / "served"
    served.mkdir()
    (served / "data.txt").write_text("v1\n")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(served), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.txt"
        write_context(ctx, {"Dockerfile": f"FROM busybox\nADD {url} /dl/\n"})
        cli("build", "-t", "url", str(ctx))
        assert read_in_image(state_root, "url", "/dl/data.txt") == "v1\n"
        dl = layer_dirs(state_root, "url")[-1] / "dl" / "data.txt"
        assert oct(os.stat(dl).st_mode & 0o777) == oct(0o600)
        assert cli("build", "-t", "url", str(ctx)).stdout.count("Using cache") == 1
        (served / "data.txt").write_text("v2 longer\n")
        later = os.stat(served / "data.txt").st_mtime + 10  # Last-Modified has a one-second resolution
        os.utime(served / "data.txt", (later, later))
        out = cli("build", "-t", "url", str(ctx)).stdout
        assert "Using cache" not in out
        assert read_in_image(state_root, "url", "/dl/data.txt") == "v2 longer\n"
    finally:
        server.shutdown()
        server.server_close()


def test_workdir_user_volume_entrypoint_and_metadata(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(
        ctx,
        {
            "Dockerfile": (
                "FROM busybox\n"
                "WORKDIR /srv\n"
                "WORKDIR data\n"
                "RUN pwd > /pwd\n"
                "USER nobody\n"
                "RUN id -u > /tmp/uid\n"
                "USER root\n"
                "VOLUME /data /cache\n"
                'ENTRYPOINT ["/bin/sh", "-c"]\n'
                'LABEL maintainer=me version="1 0"\n'
                "STOPSIGNAL SIGQUIT\n"
                "HEALTHCHECK --interval=5s --retries=3 CMD true\n"
                "EXPOSE 80 53/udp\n"
            )
        },
    )
    cli("build", "--label", "team=pango", "-t", "meta", str(ctx))
    assert read_in_image(state_root, "meta", "/pwd") == "/srv/data\n"
    assert read_in_image(state_root, "meta", "/tmp/uid") == "65534\n"
    c = raw_config(state_root, "meta")["config"]
    assert isinstance(c, dict)
    assert c["WorkingDir"] == "/srv/data" and c["User"] == "root"
    assert c["Volumes"] == {"/data": {}, "/cache": {}}
    assert c["Entrypoint"] == ["/bin/sh", "-c"] and "Cmd" not in c  # ENTRYPOINT drops the inherited CMD
    assert c["Labels"] == {"maintainer": "me", "version": "1 0", "team": "pango"}
    assert c["StopSignal"] == "SIGQUIT"
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Retries": 3}
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    history = [h["created_by"] for h in raw_config(state_root, "meta")["history"]]  # type: ignore[index, union-attr]
    assert "/bin/sh -c #(nop) WORKDIR /srv/data" in history
    assert '/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" \'\\x03\'}' in history
    assert "/bin/sh -c #(nop)  VOLUME [/data /cache]" in history
    assert history[-1] == "/bin/sh -c #(nop)  LABEL team=pango"


def test_layers_carry_deletions_as_whiteouts_and_replaced_dirs_as_opaque(
    cli: Cli, busybox: str, ctx: Path, state_root: Path
) -> None:
    write_context(
        ctx,
        {
            "Dockerfile": (
                "FROM busybox\n"
                "RUN mkdir -p /data/old && echo x > /data/old/file && echo keep > /data/keep\n"
                "RUN rm /data/keep && rm -rf /data/old && mkdir /data/old && echo new > /data/old/new\n"
            )
        },
    )
    cli("build", "-t", "wh", str(ctx))
    names = layer_tar_names(state_root, "wh")
    assert "data/.wh.keep" in names
    assert "data/old/.wh..wh..opq" in names and "data/old/new" in names
    assert names.index("data/old/.wh..wh..opq") == names.index("data/old") + 1
    assert read_in_image(state_root, "wh", "/data/keep") is None
    assert read_in_image(state_root, "wh", "/data/old/new") == "new\n"
    # RUN layers hold only what the command changed: no mount points, no /etc/hosts
    assert sorted(os.listdir(layer_dirs(state_root, "wh")[-2])) == ["data"]


def test_run_network_modes(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(
        ctx, {"Dockerfile": "FROM busybox\nRUN ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d ' ' | sort > /links\n"}
    )
    cli("build", "--network", "none", "-t", "none", str(ctx))
    assert read_in_image(state_root, "none", "/links") == "lo\n"
    cli("build", "--no-cache", "-t", "bridge", str(ctx))
    assert (read_in_image(state_root, "bridge", "/links") or "").split() == ["eth0", "lo"]
    cli("build", "--no-cache", "--network", "host", "-t", "host", str(ctx))
    assert len((read_in_image(state_root, "host", "/links") or "").split()) > 2


def test_proxy_args_reach_run_but_not_history_or_cache_key(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(ctx, {"Dockerfile": 'FROM busybox\nRUN echo "[$HTTP_PROXY]" > /proxy\n'})
    cli("build", "--build-arg", "HTTP_PROXY=http://proxy.invalid:3128", "-t", "proxied", str(ctx))
    assert read_in_image(state_root, "proxied", "/proxy") == "[http://proxy.invalid:3128]\n"
    history = raw_config(state_root, "proxied")["history"]
    assert history[-1]["created_by"] == '/bin/sh -c echo "[$HTTP_PROXY]" > /proxy'  # type: ignore[index]
    # a different proxy is "transparent": the step stays cached, as in Docker
    out = cli("build", "--build-arg", "HTTP_PROXY=http://other.invalid:3128", "-t", "proxied", str(ctx)).stdout
    assert "Using cache" in out
