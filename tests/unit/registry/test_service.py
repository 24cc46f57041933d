"""``DistributionService.pull`` / ``push`` (what the CLI, the API and ``run`` call) over an in-memory registry."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from dockyard.cli.progress import ProgressPrinter
from dockyard.engine import Engine
from dockyard.engine.distribution import DistributionService, PullOptions, PushOptions
from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci.reference import Reference
from dockyard.registry.auth import AuthConfig
from dockyard.registry.client import RegistryClient
from dockyard.registry.progress import ProgressEvent
from dockyard.registry.transport import RetryPolicy
from dockyard.settings import Settings

from .fakeregistry import FakeRegistry, make_image, publish

HOST = "reg.example.com"


class Service(DistributionService):
    def __init__(self, engine: Engine, registry: FakeRegistry) -> None:
        super().__init__(engine, config_dir=None)
        self.registry = registry

    def registry_client(
        self,
        reference: Reference,
        *,
        push: bool = False,
        credentials: AuthConfig | None = None,
        tls_verify: bool | None = None,
    ) -> RegistryClient:
        return RegistryClient(
            reference.domain,
            reference.path,
            transport=httpx.MockTransport(self.registry),
            retry=RetryPolicy(2, 0, 0),
            push=push,
            tls_verify=True,
        )


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def service(tmp_path: Path, registry: FakeRegistry) -> Service:
    return Service(Engine(Settings(root=tmp_path / "root")), registry)


class Lines:
    """A sink that prints like ``dockyard pull | cat`` and checks that events never arrive concurrently."""

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.printer = ProgressPrinter(self.out, terminal=False)
        self.busy = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        assert self.busy.acquire(blocking=False), "two events at once"
        try:
            time.sleep(0.0005)  # a slow terminal: overlapping calls would be caught here
            self.printer(event)
        finally:
            self.busy.release()

    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()


def test_pull_reports_the_image_and_the_status_line(service: Service, registry: FakeRegistry) -> None:
    image = make_image([{f"f{i}": os.urandom(100_000)} for i in range(4)])
    digest = publish(registry, "pango/get-started", image, "part2")
    sink = Lines()
    report = service.pull(f"{HOST}/pango/get-started:part2", PullOptions(), sink)
    assert report.reference == f"{HOST}/pango/get-started:part2"
    assert (report.digest, report.image_id, report.updated) == (digest, image.id, True)
    assert sink.lines()[-1] == f"Status: Downloaded newer image for {HOST}/pango/get-started:part2"
    again = Lines()
    report = service.pull(f"{HOST}/pango/get-started:part2", PullOptions(), again)
    assert not report.updated
    assert again.lines()[-1] == f"Status: Image is up to date for {HOST}/pango/get-started:part2"
    assert service.engine.images.resolve(f"{HOST}/pango/get-started:part2").id.hex == image.id[7:]


def test_pull_all_tags(service: Service, registry: FakeRegistry) -> None:
    publish(registry, "r/x", make_image([{"a": b"1"}]), "v1")
    publish(registry, "r/x", make_image([{"a": b"2"}]), "v2")
    sink = Lines()
    report = service.pull(f"{HOST}/r/x", PullOptions(all_tags=True), sink)
    assert report.reference == f"{HOST}/r/x"
    assert [line for line in sink.lines() if "Pulling from" in line] == ["v1: Pulling from r/x", "v2: Pulling from r/x"]
    assert sink.lines()[-1] == f"Status: Downloaded newer image for {HOST}/r/x"
    with pytest.raises(InvalidArgument, match="tag can't be used with --all-tags/-a"):
        service.pull(f"{HOST}/r/x:v1", PullOptions(all_tags=True))


def test_push_one_tag_and_all_tags(service: Service, registry: FakeRegistry) -> None:
    publish(registry, "r/src", make_image([{"a": os.urandom(10_000)}]), "v1")
    service.pull(f"{HOST}/r/src:v1")
    images = service.engine.images
    for tag in ("a", "b"):
        images.tag(f"{HOST}/r/src:v1", f"{HOST}/r/dst:{tag}")
    sink = Lines()
    report = service.push(f"{HOST}/r/dst:a", PushOptions(), sink)
    assert sink.lines()[0] == f"The push refers to repository [{HOST}/r/dst]"
    assert sink.lines()[-1] == f"a: digest: {report.digest} size: {report.size}"
    sink = Lines()
    report = service.push(f"{HOST}/r/dst", PushOptions(all_tags=True), sink)
    assert [line.split(":")[0] for line in sink.lines() if ": digest: " in line] == ["a", "b"]
    assert report.reference == f"{HOST}/r/dst"
    with pytest.raises(NotFound, match=f"^tag does not exist: {HOST}/r/dst:c$"):
        service.push(f"{HOST}/r/dst:c")
    with pytest.raises(NotFound, match=f"^An image does not exist locally with the tag: {HOST}/r/none$"):
        service.push(f"{HOST}/r/none")
    with pytest.raises(InvalidArgument, match="cannot push a digest reference"):
        service.push(f"{HOST}/r/dst@{report.digest}")
    with pytest.raises(NotFound, match="does not match the specified platform: wanted linux/arm64"):
        service.push(f"{HOST}/r/dst:a", PushOptions(platform="linux/arm64"))


def test_concurrency_comes_from_the_settings(tmp_path: Path, registry: FakeRegistry) -> None:
    engine = Engine(Settings(root=tmp_path / "root", extra={"max-concurrent-downloads": 1}))
    service = Service(engine, registry)
    image = make_image([{f"f{i}": os.urandom(100_000)} for i in range(3)])
    publish(registry, "r/x", image)
    registry.delay = 0.002
    sink = Lines()
    service.pull(f"{HOST}/r/x", PullOptions(), sink)
    assert registry.max_in_flight == 1
    assert len([line for line in sink.lines() if line.endswith("Waiting")]) == 2
    bad = Service(Engine(Settings(root=tmp_path / "root", extra={"max-concurrent-uploads": "many"})), registry)
    service.engine.images.tag(f"{HOST}/r/x", f"{HOST}/r/y:v1")
    with pytest.raises(InvalidArgument, match="'max-concurrent-uploads' must be a positive integer"):
        bad.push(f"{HOST}/r/y:v1")
