"""Layer gzip: one standard member, stored blocks for what does not compress, the same bytes whatever the threads."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest
from isal import isal_zlib

from dockyard.oci.digest import Digest
from dockyard.store.layergzip import BLOCK, gzip_blocks


def compress(data: bytes, threads: int = 2) -> tuple[bytes, Digest, int]:
    out = io.BytesIO()
    digest, size = gzip_blocks(io.BytesIO(data).read, out.write, threads=threads)
    return out.getvalue(), digest, size


TEXT = b"".join(b"line %d of a text file that compresses well\n" % i for i in range(200_000))


@pytest.mark.parametrize("name", ["empty", "tiny", "text", "random", "mixed"])
def test_every_gzip_reader_gets_the_data_back(name: str) -> None:
    data = {
        "empty": b"",
        "tiny": b"x",
        "text": TEXT,
        "random": os.urandom(2 * BLOCK + 1000),
        "mixed": os.urandom(BLOCK) + TEXT + os.urandom(1000),
    }[name]
    blob, digest, size = compress(data)
    assert gzip.decompress(blob) == data
    assert zlib.decompress(blob, 31) == data
    assert isal_zlib.decompress(blob, 31) == data
    assert digest == Digest.of(data)
    assert size == len(data)
    assert blob[:3] == b"\x1f\x8b\x08"


def test_the_output_does_not_depend_on_the_number_of_threads() -> None:
    data = os.urandom(BLOCK + 5) + TEXT * 2
    blobs = {compress(data, threads)[0] for threads in (1, 2, 4)}
    assert len(blobs) == 1


def test_incompressible_data_is_stored_and_compressible_data_shrinks() -> None:
    noise = os.urandom(3 * BLOCK)
    blob, _, _ = compress(noise)
    assert len(noise) < len(blob) < len(noise) * 1.001  # stored: 5 bytes per 64 kB
    text_blob, _, _ = compress(TEXT)
    assert len(text_blob) < len(TEXT) / 5


def test_each_block_has_the_32_kb_before_it_as_dictionary() -> None:
    """A block repeating the end of the previous one is a few back-references, not stored bytes."""
    head = os.urandom(BLOCK)
    blob, _, _ = compress(head + head[-4000:])
    assert gzip.decompress(blob) == head + head[-4000:]
    assert len(blob) < BLOCK + 1000  # without the dictionary the 4000 random bytes would be stored too
