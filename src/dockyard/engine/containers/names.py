"""Container names: validation (Docker's rule and wording) and generated ``adjective_surname`` names.

The word lists are our own: pleasant adjectives, and scientists and engineers whose work the field stands on.
As in Docker, a generated name is never ``boring_wozniak`` (Steve Wozniak is not boring); when a random pick is
taken, later attempts append a digit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from dockyard.errors import InvalidArgument

__all__ = ["ADJECTIVES", "SURNAMES", "generate_name", "validate_name"]

_VALID = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

ADJECTIVES = (
    "admiring", "agile", "amazing", "amiable", "ardent", "awesome", "blissful", "bold", "brave", "bright",
    "brilliant", "calm", "candid", "charming", "cheerful", "clever", "colorful", "cool", "courteous", "crisp",
    "curious", "dazzling", "dapper", "decisive", "determined", "devoted", "diligent", "dreamy", "eager",
    "earnest", "elastic", "elated", "elegant", "eloquent", "epic", "exciting", "fearless", "festive", "focused",
    "friendly", "frosty", "gallant", "generous", "gentle", "gifted", "gleaming", "glowing", "graceful",
    "gracious", "happy", "hardy", "heuristic", "hopeful", "humble", "inspiring", "intrepid", "jolly", "jovial",
    "joyful", "keen", "kind", "laughing", "lively", "loving", "lucid", "lucky", "luminous", "magical",
    "merry", "mellow", "modest", "musing", "mystifying", "nifty", "nimble", "noble", "optimistic", "patient",
    "peaceful", "playful", "pleasant", "plucky", "polite", "practical", "quick", "quiet", "radiant", "relaxed",
    "resolute", "romantic", "serene", "sharp", "shining", "sincere", "sleepy", "smiling", "sparkling",
    "spirited", "splendid", "steady", "stoic", "sunny", "sweet", "tender", "thoughtful", "tranquil", "trusting",
    "upbeat", "valiant", "vibrant", "vigilant", "vigorous", "vivid", "warm", "whimsical", "wise", "witty",
    "wonderful", "youthful", "zealous", "zen",
)  # fmt: skip

SURNAMES = (
    "agnesi", "allen", "babbage", "backus", "bardeen", "bartik", "bell", "berners_lee", "bohr", "boole",
    "borg", "bose", "brattain", "carson", "cerf", "chandrasekhar", "clarke", "codd", "conway", "corbato",
    "cray", "curie", "dahl", "darwin", "dijkstra", "easley", "einstein", "elion", "engelbart", "euclid",
    "euler", "faraday", "feynman", "franklin", "galois", "gauss", "germain", "goldberg", "goodall",
    "hamilton", "hawking", "heisenberg", "hertz", "hodgkin", "hollerith", "hopper", "hypatia", "jackson",
    "jemison", "johnson", "kahn", "kalam", "kay", "kepler", "khorana", "kilby", "knuth", "kowalevski",
    "lamarr", "lamport", "leakey", "leavitt", "lederberg", "liskov", "lovelace", "lumiere", "margulis",
    "maxwell", "mayer", "mccarthy", "mcclintock", "meitner", "mendel", "minsky", "mirzakhani", "moore",
    "morse", "napier", "nash", "neumann", "newton", "nightingale", "noether", "noyce", "ochoa", "pascal",
    "pasteur", "payne", "perlman", "pike", "planck", "poincare", "ramanujan", "raman", "ritchie", "rosalind",
    "rubin", "saha", "sammet", "shannon", "shockley", "sinoussi", "snyder", "somerville", "stallman",
    "stonebraker", "sutherland", "swanson", "tesla", "thompson", "torvalds", "turing", "varahamihira",
    "vaughan", "villani", "volta", "wescoff", "wilbur", "wiles", "williams", "wilson", "wing", "wozniak",
    "wright", "wu", "yalow", "yonath", "zhukovsky",
)  # fmt: skip


def validate_name(name: str) -> str:
    """The name without Docker's leading ``/``; InvalidArgument in Docker's words if it is not a valid one."""
    if not _VALID.match(name):
        raise InvalidArgument(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name.removeprefix("/")


class Chooser(Protocol):
    """What a name is picked with: ``random.Random`` (seeded, in tests) or :class:`_SystemChooser`."""

    def choice(self, seq: Sequence[str], /) -> str: ...

    def randrange(self, stop: int, /) -> int: ...


class _SystemChooser:
    """``random.SystemRandom``'s ``choice`` and ``randrange`` from ``os.urandom``, without importing ``random``
    (~2 ms at every ``run``/``create``: it seeds a Mersenne Twister and imports ``bisect`` and ``_sha512``).
    Uniform: a draw that would bias the modulo is drawn again."""

    @staticmethod
    def randrange(stop: int) -> int:
        limit = (1 << 32) - (1 << 32) % stop  # the largest multiple of stop in 32 bits
        while True:
            value = int.from_bytes(os.urandom(4), "little")
            if value < limit:
                return value % stop

    def choice(self, seq: Sequence[str]) -> str:
        return seq[self.randrange(len(seq))]


def _pick(rng: Chooser, retry: int) -> str:
    while True:
        name = f"{rng.choice(ADJECTIVES)}_{rng.choice(SURNAMES)}"
        if name != "boring_wozniak":
            break
    return f"{name}{rng.randrange(10)}" if retry > 0 else name


def generate_name(taken: Callable[[str], bool], rng: Chooser | None = None) -> str:
    """A random ``adjective_surname`` that ``taken`` says is free (digits appended after collisions)."""
    rng = rng or _SystemChooser()
    for retry in range(64):
        name = _pick(rng, retry // 4)
        if not taken(name):
            return name
    while True:  # practically unreachable: thousands of containers with every short name taken
        name = f"{_pick(rng, 1)}{rng.randrange(10**6)}"
        if not taken(name):
            return name
