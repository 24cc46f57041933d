"""Golden Dockerfile cases: every ``<case>/Dockerfile`` is parsed and typed, and the result (the AST dump in
BuildKit's s-expression format plus the typed instruction stream) or the error must equal ``<case>/expected.json``.

Regenerate after an intended change with ``DOCKYARD_UPDATE_GOLDEN=1 python3 -m pytest tests/golden/dockerfile``
and review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.build.dockerfile import DockerfileError, Instruction, parse, parse_dockerfile

HERE = Path(__file__).parent
CASES = sorted(p.name for p in HERE.iterdir() if (p / "Dockerfile").is_file())


def _instruction(instr: Instruction) -> dict[str, Any]:
    return {"kind": str(instr.kind), **dataclasses.asdict(instr)}


def render(data: bytes) -> dict[str, Any]:
    try:
        df = parse_dockerfile(data)
    except DockerfileError as exc:
        return {"error": exc.message, "legacy_error": exc.legacy_message, "line": exc.line, "end_line": exc.end_line}
    ast = parse(data)
    return {
        "ast": [node.dump() for node in ast.nodes],
        "escape_token": df.escape_token,
        "directives": [[d.name, d.value, d.line] for d in df.directives],
        "warnings": [w.short for w in df.warnings],
        "meta_args": [_instruction(a) for a in df.meta_args],
        "stages": [
            {
                "index": s.index,
                "name": s.name,
                "base_name": s.base_name,
                "platform": s.platform,
                "comment": s.comment,
                "from": _instruction(s.from_instruction),
                "instructions": [_instruction(i) for i in s.instructions],
            }
            for s in df.stages
        ],
    }


def test_enough_cases() -> None:
    negative = [c for c in CASES if json.loads((HERE / c / "expected.json").read_text()).get("error")]
    assert len(negative) >= 15
    assert len(CASES) - len(negative) >= 15


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    data = (HERE / case / "Dockerfile").read_bytes()
    got = json.loads(json.dumps(render(data)))
    expected_path = HERE / case / "expected.json"
    if os.environ.get("DOCKYARD_UPDATE_GOLDEN") == "1":
        expected_path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    expected = json.loads(expected_path.read_text())
    assert got == expected
