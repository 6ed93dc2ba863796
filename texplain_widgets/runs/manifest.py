"""A run's ``manifest.json``: its formats, and the one check of its schema every reader goes through.

Format ``texplain-run/2`` indexes each shard file with its size, rows and SHA-256, and its
images were sampled with random streams of their own. ``texplain-run/1`` (no checksums, the
images of a run shared their streams) is still read, never resumed or extended.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import InputError

FORMAT = "texplain-run/2"
OLD_FORMATS = ("texplain-run/1",)  # read, not resumed
MANIFEST = "manifest.json"
TABLES = ("images", "words", "failures")
OBJECTS = ("model", "sampling", "source")  # the head every writer records
MEND = (
    "the manifest is texplain's index of the run's shards: restore the copy that was edited, or "
    "rebuild the run with `texplain run ... --overwrite` (overwrite=True)"
)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class StoreError(InputError):
    """A run directory that cannot be used as asked: damaged, locked or from another run."""


def read_manifest(directory) -> dict:
    """The manifest of a run directory, its schema checked (see :func:`manifest_problem`)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise StoreError(f"{directory} is not a texplain run: {MANIFEST} not found")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise StoreError(f"{path} is damaged (not valid JSON: {err}); {MEND}") from err
    if isinstance(manifest, dict) and manifest.get("format") not in (FORMAT, *OLD_FORMATS):
        raise StoreError(
            f"{path}: unknown format {manifest.get('format')!r}, expected {FORMAT!r} "
            "(a run written by a newer texplain-widgets? upgrade it to read the run)"
        )
    problem = manifest_problem(manifest)
    if problem:
        raise StoreError(f"{path}: {problem}; {MEND}")
    return manifest


def manifest_problem(manifest) -> str | None:
    """What makes ``manifest`` unusable (its first problem), or None."""
    if not isinstance(manifest, dict):
        return f"must hold a JSON object, found {_kind(manifest)}"
    for key in OBJECTS:
        if not isinstance(manifest.get(key), dict):
            return f'"{key}" must be an object, found {_shown(manifest.get(key))}'
    n_images = manifest["source"].get("n_images", 0)
    if not _whole(n_images):
        return f"source.n_images must be a whole number >= 0, found {_shown(n_images)}"
    batch_size = manifest["sampling"].get("batch_size")
    if batch_size is not None and not (_whole(batch_size) and batch_size > 0):
        return f"sampling.batch_size must be a whole number >= 1 or null, found {_shown(batch_size)}"
    if not isinstance(manifest.get("complete", False), bool):
        return f'"complete" must be true or false, found {_shown(manifest["complete"])}'
    shards = manifest.get("shards")
    if not isinstance(shards, list):
        return f'no "shards" list (the index of the shard files), found {_shown(shards)}'
    seen: dict[int, int] = {}
    for index, shard in enumerate(shards):
        problem = _shard_problem(shard, f"shards[{index}]", manifest["format"] == FORMAT)
        if problem:
            return problem
        if shard["part"] in seen:
            return f"part {shard['part']} is listed twice (shards[{seen[shard['part']]}] and shards[{index}])"
        seen[shard["part"]] = index
    return None


def _shard_problem(shard, where: str, checksums: bool) -> str | None:
    if not isinstance(shard, dict):
        return f"{where} must be an object, found {_shown(shard)}"
    if not _whole(shard.get("part")):
        return f"{where}.part must be a whole number >= 0, found {_shown(shard.get('part'))}"
    files = shard.get("files")
    if not isinstance(files, dict):
        return f"{where}.files must be an object with {', '.join(TABLES)}, found {_shown(files)}"
    for table in TABLES:
        entry = files.get(table)
        if not isinstance(entry, dict):
            return f"{where}.files.{table} must be an object, found {_shown(entry)}"
        for field in ("bytes", "rows"):
            if not _whole(entry.get(field)):
                return f"{where}.files.{table}.{field} must be a whole number >= 0, found {_shown(entry.get(field))}"
        digest = entry.get("sha256")
        if checksums and not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
            return f"{where}.files.{table}.sha256 must be 64 hex digits, found {_shown(digest)}"
    return None


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _kind(value) -> str:
    return {list: "a list", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)


def _shown(value) -> str:
    text = "nothing" if value is None else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
