"""Docker Engine API JSON shapes, shared by the API server and the CLI's ``inspect``/``--format`` output.

JSON for Docker clients lives here (and in oci/ codecs and store/db.py), nowhere else. One module per noun.
"""

from dockyard.api.schemas.common import go_json
from dockyard.api.schemas.images import image_history, image_inspect, image_summary

__all__ = ["go_json", "image_history", "image_inspect", "image_summary"]
