"""Engine services: the one API behind both the CLI and the Docker Engine API server.

``Engine(settings)`` opens nothing until a service is used: ``engine.images`` opens the store,
``engine.containers`` the runtime, and so on, each imported lazily so that short commands stay fast.
"""

from __future__ import annotations

from functools import cached_property

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing or settings: the fast ``ps`` imports
if TYPE_CHECKING:  # engine.containers.rows, and with it this package, and needs neither
    from dockyard.engine.builds import BuildService
    from dockyard.engine.containers import ContainerService
    from dockyard.engine.distribution import DistributionService
    from dockyard.engine.images import ImageService
    from dockyard.engine.networks import NetworkService
    from dockyard.engine.system import SystemService
    from dockyard.engine.volumes import VolumeService
    from dockyard.settings import Settings
    from dockyard.store import Database, Store

__all__ = ["Engine"]


class Engine:
    """Lazily-constructed services over one state root."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def database(self) -> Database:
        """The connection to the root's database the store and the container service share (opening one costs
        ~1 ms: a container start needs both). The network manager keeps its own (``synchronous=NORMAL``)."""
        from dockyard.store import open_database

        return open_database(self.settings.layout.db)

    @cached_property
    def store(self) -> Store:
        from dockyard.store import Store

        store = Store.open(self.settings.layout, self.database)
        store.recover()  # leftovers of killed processes are cleaned up by the next command that opens the store
        return store

    @cached_property
    def images(self) -> ImageService:
        from dockyard.engine.images import ImageService

        return ImageService(self)

    @cached_property
    def containers(self) -> ContainerService:
        from dockyard.engine.containers import ContainerService

        return ContainerService(self)

    @cached_property
    def networks(self) -> NetworkService:
        from dockyard.engine.networks import NetworkService

        return NetworkService(self)

    @cached_property
    def volumes(self) -> VolumeService:
        from dockyard.engine.volumes import VolumeService

        return VolumeService(self)

    @cached_property
    def builds(self) -> BuildService:
        from dockyard.engine.builds import BuildService

        return BuildService(self)

    @cached_property
    def distribution(self) -> DistributionService:
        from dockyard.engine.distribution import DistributionService

        return DistributionService(self)

    @cached_property
    def system(self) -> SystemService:
        from dockyard.engine.system import SystemService

        return SystemService(self)
