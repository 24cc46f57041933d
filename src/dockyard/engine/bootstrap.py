"""Base images without any registry: ``busybox`` from Debian's busybox-static, ``debian:*`` with mmdebstrap.

The root filesystem tars are cached (``/var/cache/dockyard/bootstrap`` or ``$DOCKYARD_CACHE``), shared by
every state root, so tests and repeated bootstraps do not rebuild them. Images are reproducible: the same
cached tar always gives the same image ID.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.oci.descriptor import host_platform
from dockyard.oci.image import ContainerConfig, History, ImageConfig
from dockyard.oci.reference import Reference, parse_reference
from dockyard.store.commit import ingest_layer_stream, write_image

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.store.images import ImageRecord

__all__ = ["BOOTSTRAP_IMAGES", "BootstrapReport", "bootstrap", "cache_dir"]

log = logging.getLogger(__name__)

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEBIAN_MIRROR = "http://deb.debian.org/debian"  # unless DOCKYARD_DEBIAN_MIRROR says otherwise
DEBIAN_SECURITY = "http://deb.debian.org/debian-security"  # unless DOCKYARD_DEBIAN_SECURITY_MIRROR says otherwise

# What debuerreotype's "slimify" removes from debian:*-slim, as dpkg path filters that stay in the image
# (so packages installed later are slimmed the same way).
SLIM_DPKG_OPTS = [
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/groff/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/linda/*",
    "path-exclude=/usr/share/lintian/overrides/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/man/*",
]
# The official images' apt settings (debuerreotype's docker-* snippets).
DOCKER_APT_OPTS = [
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
    '/var/cache/apt/*.bin || true"; };',
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
    '/var/cache/apt/*.bin || true"; };',
    'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";',
    'Acquire::Languages "none";',
    'Acquire::GzipIndexes "true"; Acquire::CompressionTypes::Order:: "gz";',
    'Apt::AutoRemove::SuggestsImportant "false";',
]

BOOTSTRAP_IMAGES = ("busybox", "debian:bookworm-slim", "debian:trixie-slim", "debian:bookworm", "debian:trixie")


@dataclass(frozen=True)
class BootstrapReport:
    reference: Reference
    image_id: str
    cached_rootfs: Path
    built_rootfs: bool


def cache_dir() -> Path:
    return Path(os.environ.get("DOCKYARD_CACHE", "/var/cache/dockyard")) / "bootstrap"


def bootstrap(
    engine: Engine, name: str, *, refresh: bool = False, log_line: Callable[[str], None] | None = None
) -> BootstrapReport:
    say = log_line or (lambda _s: None)
    ref = parse_reference(name).with_default_tag()
    if ref.domain != "docker.io":
        raise InvalidArgument(f"bootstrap: {name}: only busybox and debian:<suite>[-slim] can be bootstrapped")
    repo = ref.familiar_name
    if repo == "busybox":
        tar_path, built = _busybox_rootfs(refresh)
        config = ContainerConfig(env=(DEFAULT_PATH,), cmd=("sh",))
        comment = "bootstrapped by dockyard from Debian's busybox-static"
        created_by = "/bin/sh -c #(nop) ADD busybox-static rootfs in / "
    elif repo == "debian":
        tag = ref.tag or "latest"
        suite, _, flavour = tag.partition("-")
        if suite == "latest":
            suite = "bookworm"
        if suite not in ("bookworm", "trixie", "bullseye", "sid", "testing", "stable") or flavour not in ("", "slim"):
            raise InvalidArgument(f"bootstrap: unsupported Debian tag {tag!r} (try bookworm-slim or trixie-slim)")
        tar_path, built = _debian_rootfs(suite, flavour == "slim", refresh, say)
        config = ContainerConfig(env=(DEFAULT_PATH,), cmd=("bash",))
        comment = f"bootstrapped by dockyard with mmdebstrap ({suite}{' slim' if flavour else ''})"
        created_by = f"/bin/sh -c #(nop) ADD rootfs.tar.xz in / # mmdebstrap {suite}"
    else:
        raise InvalidArgument(f"bootstrap: {name}: only busybox and debian:<suite>[-slim] can be bootstrapped")
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(tar_path.stat().st_mtime)))
    store = engine.store
    say(f"Importing {tar_path} as {ref.familiar}")
    with store.lease() as lease, open(tar_path, "rb") as f:
        layer = ingest_layer_stream(store, lease, f, None)
        plat = host_platform()
        image_config = ImageConfig(
            architecture=plat.architecture,
            os="linux",
            created=created,
            config=config,
            diff_ids=(layer.diff_id,),
            history=(
                History(created=created, created_by=created_by, comment=comment),
                History(
                    created=created,
                    created_by=f"/bin/sh -c #(nop)  CMD {json.dumps(list(config.cmd or ()))}",
                    empty_layer=True,
                ),
            ),
        )
        record, _ = write_image(store, lease, image_config.to_json(), [layer], tags=[ref])
    return BootstrapReport(ref, str(record.id), tar_path, built)


def _busybox_rootfs(refresh: bool) -> tuple[Path, bool]:
    busybox = Path("/bin/busybox")
    if not busybox.is_file():
        raise FailedPrecondition("bootstrap busybox: /bin/busybox not found", hint="apt-get install -y busybox-static")
    out = cache_dir() / "busybox.tar"
    stamp = int(busybox.stat().st_mtime)
    if out.is_file() and not refresh and int(out.stat().st_mtime) == stamp:
        return out, False
    applets = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:

        def add_dir(name: str, mode: int = 0o755) -> None:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, mode, stamp
            tar.addfile(ti)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), mode, stamp
            tar.addfile(ti, io.BytesIO(data))

        for d in (
            "bin",
            "dev",
            "etc",
            "home",
            "lib",
            "proc",
            "root",
            "sys",
            "usr",
            "usr/bin",
            "usr/sbin",
            "sbin",
            "var",
            "var/spool",
            "var/spool/mail",
            "var/www",
        ):
            add_dir(d, 0o700 if d == "root" else 0o755)
        add_dir("tmp", 0o1777)
        data = busybox.read_bytes()
        add_file("bin/busybox", data, 0o755)
        seen = {"bin/busybox"}
        for applet in applets:
            path = applet.lstrip("/")
            if path in seen or "/" not in path:
                continue
            seen.add(path)
            ti = tarfile.TarInfo(path)
            ti.type, ti.linkname, ti.mode, ti.mtime = tarfile.LNKTYPE, "bin/busybox", 0o755, stamp
            tar.addfile(ti)
        add_file(
            "etc/passwd",
            (
                b"root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nbin:x:2:2:bin:/bin:/bin/false\n"
                b"sys:x:3:3:sys:/dev:/bin/false\nsync:x:4:100:sync:/bin:/bin/sync\nmail:x:8:8:mail:/var/spool/mail:/bin/false\n"
                b"www-data:x:33:33:www-data:/var/www:/bin/false\noperator:x:37:37:Operator:/var:/bin/false\n"
                b"nobody:x:65534:65534:nobody:/home:/bin/false\n"
            ),
        )
        add_file(
            "etc/group",
            (
                b"root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nlp:x:7:\nmail:x:8:\nkmem:x:9:\n"
                b"wheel:x:10:root\ncdrom:x:11:\ndialout:x:18:\nfloppy:x:19:\nvideo:x:28:\naudio:x:29:\ntape:x:32:\n"
                b"www-data:x:33:\noperator:x:37:\nutmp:x:43:\nplugdev:x:46:\nstaff:x:50:\nlock:x:54:\nnetdev:x:82:\n"
                b"users:x:100:\nnogroup:x:65534:\n"
            ),
        )
        add_file("etc/shadow", b"root:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n", 0o600)
        add_file("etc/nsswitch.conf", b"hosts: files dns\n")
    os.utime(tmp, (stamp, stamp))
    os.replace(tmp, out)
    return out, True


def _debian_rootfs(suite: str, slim: bool, refresh: bool, say: Callable[[str], None]) -> tuple[Path, bool]:
    out = cache_dir() / f"debian-{suite}{'-slim' if slim else ''}.tar"
    if out.is_file() and not refresh:
        return out, False
    if shutil.which("mmdebstrap") is None:
        raise FailedPrecondition("bootstrap debian: mmdebstrap not found", hint="apt-get install -y mmdebstrap")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}.tar")
    security = f"{suite}-security" if suite not in ("sid", "testing") else None
    # read when used, not at import: the warm helper's children get their client's environment after it
    mirror = os.environ.get("DOCKYARD_DEBIAN_MIRROR", DEBIAN_MIRROR)
    sources = [f"deb {mirror} {suite} main"]
    if suite not in ("sid",):
        sources.append(f"deb {mirror} {suite}-updates main")
    if security:
        sources.append(f"deb {os.environ.get('DOCKYARD_DEBIAN_SECURITY_MIRROR', DEBIAN_SECURITY)} {security} main")
    cmd = ["mmdebstrap", "--variant=minbase", "--format=tar", "--skip=output/dev", "--mode=root"]
    for opt in DOCKER_APT_OPTS:
        cmd.append(f"--aptopt={opt}")
    if slim:
        cmd += [f"--dpkgopt={o}" for o in SLIM_DPKG_OPTS]
    merged_usr_hook = Path("/usr/share/mmdebstrap/hooks/merged-usr")
    if suite in ("bookworm", "stable") and merged_usr_hook.is_dir():
        # merged /usr set up by the hook, as debuerreotype does, instead of the usrmerge package (and perl)
        cmd.append(f"--hook-dir={merged_usr_hook}")
    cmd += [
        '--customize-hook=rm -f "$1"/etc/hostname "$1"/etc/resolv.conf',
        '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log',
        suite,
        str(tmp),
        *sources,
    ]
    say(f"Running mmdebstrap for {suite}{' (slim)' if slim else ''} (this takes about a minute)")
    log.debug("running %s", cmd)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise FailedPrecondition(f"bootstrap debian:{suite}: mmdebstrap failed: {tail}")
    os.replace(tmp, out)
    return out, True


def describe(record: ImageRecord) -> str:  # pragma: no cover - convenience for logs
    return f"{record.id.short} {' '.join(t.familiar for t in record.tags)}"
