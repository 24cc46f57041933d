"""The store's tables (component ``store``), as ordered migrations. Never edit a shipped migration: append.

::

    layers          chain_id PK ─┐ parent ──► layers.chain_id     one unpacked layer (overlay lower dir)
                    diff_id, link (short name in overlay/l/), size (file bytes), created
    images          id PK (config digest) ── top_layer ──► layers.chain_id
                    manifest_digest, manifest_media_type, size, created (config), added, parent (image id)
    image_blobs     (image_id ► images, digest)         blobs an image needs: manifest, config, layers
    image_tags      name PK (docker.io/library/x:tag) ► images.id
    image_digests   (repo, digest) ► images.id           RepoDigests: manifests pulled/pushed by digest
    snapshots       key PK, parent ► layers.chain_id     active read-write layers (containers, builds)
    leases          id PK, pid                          work in progress: protects resources from GC
    lease_resources (lease_id ► leases, kind, key)      kind: blob | layer | image
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE layers (
        chain_id TEXT PRIMARY KEY,
        parent   TEXT REFERENCES layers(chain_id),
        diff_id  TEXT NOT NULL,
        link     TEXT NOT NULL UNIQUE,
        size     INTEGER NOT NULL,
        created  REAL NOT NULL
    );
    CREATE INDEX layers_parent ON layers(parent);
    CREATE TABLE images (
        id                  TEXT PRIMARY KEY,
        manifest_digest     TEXT NOT NULL,
        manifest_media_type TEXT NOT NULL,
        top_layer           TEXT REFERENCES layers(chain_id),
        size                INTEGER NOT NULL,
        created             TEXT NOT NULL,
        added               REAL NOT NULL,
        parent              TEXT
    );
    CREATE TABLE image_blobs (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        digest   TEXT NOT NULL,
        PRIMARY KEY (image_id, digest)
    );
    CREATE INDEX image_blobs_digest ON image_blobs(digest);
    CREATE TABLE image_tags (
        name     TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        created  REAL NOT NULL
    );
    CREATE INDEX image_tags_image ON image_tags(image_id);
    CREATE TABLE image_digests (
        repo     TEXT NOT NULL,
        digest   TEXT NOT NULL,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        PRIMARY KEY (repo, digest)
    );
    CREATE INDEX image_digests_image ON image_digests(image_id);
    CREATE TABLE snapshots (
        key     TEXT PRIMARY KEY,
        parent  TEXT REFERENCES layers(chain_id),
        kind    TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE leases (
        id      TEXT PRIMARY KEY,
        pid     INTEGER NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE lease_resources (
        lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
        kind     TEXT NOT NULL,
        key      TEXT NOT NULL,
        PRIMARY KEY (lease_id, kind, key)
    );
    """,
]
