"""Why a step missed the cache: compare its inputs with the last build of the same Dockerfile step.

Sentences, not digests: ``app.py changed (content)``, ``build arg VERSION changed (1 -> 2)``, ``the instruction
changed (was: RUN pip install flask)``, ``the base image python:3.11-slim changed (1c7128a655f6 -> 9d2e4f3a1b2c)``.
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Sequence

from dockyard.build.cache import CacheEntry, CacheInputs, SourceFile

__all__ = ["MAX_FILES", "diff_manifests", "explain_miss"]

MAX_FILES = 5


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12] or "scratch"


def _perm(mode: int) -> str:
    return f"{stat.S_IMODE(mode):o}"


def _readable(instruction: str) -> str:
    """``/bin/sh -c #(nop)  ENV A=1`` -> ``ENV A=1``; other instructions as they are."""
    _head, sep, tail = instruction.partition("#(nop)")
    return tail.strip() if sep else instruction


def _arg_change(name: str, before: dict[str, str], after: dict[str, str]) -> str:
    if name not in before:
        return f"build arg {name} added ({name}={after[name]})"
    if name not in after:
        return f"build arg {name} removed"
    return f"build arg {name} changed ({before[name]} -> {after[name]})"


def diff_manifests(old: Sequence[SourceFile], new: Sequence[SourceFile], limit: int = MAX_FILES) -> list[str]:
    """What changed between two file lists, one phrase per path (at most ``limit``, then ``and N more``)."""
    before = {f.path: f for f in old}
    after = {f.path: f for f in new}
    out: list[str] = []
    for path in sorted(set(before) | set(after)):
        a = before.get(path)
        b = after.get(path)
        shown = path or "."
        if a is None:
            out.append(f"{shown} added")
            continue
        if b is None:
            out.append(f"{shown} removed")
            continue
        what: list[str] = []
        if a.kind != b.kind:
            what.append(f"type {a.kind} -> {b.kind}")
        elif a.content != b.content:
            what.append("link target" if b.kind == "symlink" else "content")
        if _perm(a.mode) != _perm(b.mode):
            what.append(f"mode {_perm(a.mode)} -> {_perm(b.mode)}")
        if (a.uid, a.gid) != (b.uid, b.gid):
            what.append(f"owner {a.uid}:{a.gid} -> {b.uid}:{b.gid}")
        if what:
            out.append(f"{shown} changed ({', '.join(what)})")
    if len(out) > limit > 0:
        return [*out[:limit], f"and {len(out) - limit} more"]
    return out


def explain_miss(
    current: CacheInputs,
    previous: CacheEntry | None,
    *,
    manifest_of: Callable[[str], Sequence[SourceFile] | None],
    current_manifest: Sequence[SourceFile] | None = None,
    base_name: str = "",
    image_exists: Callable[[str], bool] | None = None,
    limit: int = MAX_FILES,
) -> list[str]:
    """The reasons ``current`` missed, given the last entry recorded for the same Dockerfile step.

    ``base_name`` is the stage's FROM image when this is the stage's first step (a changed parent is then a changed
    base image); ``image_exists`` tells whether an entry's image is still in the store.
    """
    if previous is None:
        return ["no earlier build of this step"]
    old = previous.inputs
    if previous.key == current.key:
        if image_exists is not None and not image_exists(previous.image_id):
            return [f"its cached image {_short(previous.image_id)} was removed"]
        return ["the cache entry is no longer usable"]
    reasons: list[str] = []
    if old.parent != current.parent:
        if base_name:
            reasons.append(f"the base image {base_name} changed ({_short(old.parent)} -> {_short(current.parent)})")
        else:
            reasons.append(
                f"the step before produced a different image ({_short(old.parent)} -> {_short(current.parent)})"
            )
    if old.instruction != current.instruction:
        if old.display and old.display == current.display:
            # the same line expands differently: say which build arg did it, if one did
            scope_before, scope_after = dict(old.scope), dict(current.scope)
            args = [
                k for k in sorted(set(scope_before) | set(scope_after)) if scope_before.get(k) != scope_after.get(k)
            ]
            if args and not (dict(old.args) or dict(current.args)):
                reasons += [_arg_change(k, scope_before, scope_after) for k in args]
            elif not args:
                reasons.append(
                    f"it expands differently (was: {_readable(old.instruction)}; now: {_readable(current.instruction)})"
                )
        else:
            reasons.append(f"the instruction changed (was: {old.display or _readable(old.instruction)})")
    old_args = dict(old.args)
    new_args = dict(current.args)
    for name in sorted(set(old_args) | set(new_args)):
        if old_args.get(name) != new_args.get(name):
            reasons.append(_arg_change(name, old_args, new_args))
    if old.sources != current.sources:
        before = manifest_of(old.manifest) if old.manifest else None
        after = current_manifest if current_manifest is not None else manifest_of(current.manifest)
        files = diff_manifests(before, after, limit) if before is not None and after is not None else []
        if files:
            reasons += files
        elif old.instruction == current.instruction:
            reasons.append("the source files changed")
    if dict(old.extra) != dict(current.extra) and old.instruction == current.instruction:
        for name in sorted(set(dict(old.extra)) | set(dict(current.extra))):
            if dict(old.extra).get(name) != dict(current.extra).get(name):
                reasons.append("the image config it makes changed" if name == "config" else f"{name} changed")
    return reasons or ["the cache key changed"]
