"""Container names: Docker's rule and wording, generated adjective_surname names."""

from __future__ import annotations

import random
import re

import pytest

from dockyard.engine.containers.names import ADJECTIVES, SURNAMES, generate_name, validate_name
from dockyard.errors import InvalidArgument


def test_valid_names() -> None:
    assert validate_name("web") == "web"
    assert validate_name("/web") == "web"
    assert validate_name("a.b-c_d9") == "a.b-c_d9"


@pytest.mark.parametrize("name", ["a", "-web", "we b", "wéb", "/", ""])
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_name(name)
    assert err.value.message == f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"


def test_generated_names_look_like_dockers() -> None:
    rng = random.Random(7)
    for _ in range(200):
        name = generate_name(lambda n: False, rng)
        assert re.fullmatch(r"[a-z]+_[a-z_]+", name)
        adjective, _, surname = name.partition("_")
        assert adjective in ADJECTIVES and surname in SURNAMES
        assert name != "boring_wozniak"
        validate_name(name)


def test_generated_names_avoid_taken_ones_with_digits() -> None:
    taken: set[str] = set()
    rng = random.Random(1)
    for _ in range(300):
        taken.add(generate_name(taken.__contains__, rng))
    assert len(taken) == 300


def test_a_nearly_full_namespace_still_yields_a_free_name() -> None:
    base = {f"{a}_{s}" for a in ADJECTIVES for s in SURNAMES}
    name = generate_name(lambda n: n in base, random.Random(3))
    assert name not in base and re.fullmatch(r"[a-z]+_[a-z_]+\d+", name)


def test_word_lists_are_clean() -> None:
    assert "boring" not in ADJECTIVES or "wozniak" in SURNAMES
    assert len(set(ADJECTIVES)) == len(ADJECTIVES) and len(set(SURNAMES)) == len(SURNAMES)
    assert all(re.fullmatch(r"[a-z]+", a) for a in ADJECTIVES)
    assert all(re.fullmatch(r"[a-z_]+", s) for s in SURNAMES)
