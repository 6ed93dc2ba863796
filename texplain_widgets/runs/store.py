"""The run store on disk: a manifest, Parquet shards written atomically, a writer's lock.

Every chunk of images becomes one shard of each table (``images``, ``words``, ``failures``),
written to a temporary file, flushed and renamed; the manifest, which indexes the shards
with their sizes, row counts and SHA-256 checksums, is replaced the same way afterwards. A crash
therefore leaves either a complete shard that the manifest lists or a file it does not list
(ignored, and removed by the next writer). A shard damaged later (truncated, edited, a flipped
bit) no longer matches its index entry: readers refuse it, the next writer drops it and explains
those images again. A writer refuses a directory holding anything a run does not write, and
deletes only the file names it writes.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .manifest import FORMAT, MANIFEST, TABLES, StoreError, read_manifest
from .shards import (
    LOCK,
    TEMPORARY_NAME,
    check_shards,
    file_sha256,
    foreign_files,
    removable,
    shard_dataset,
    shard_files,
    shard_path,
)

__all__ = [  # the store's API, some of it defined in .manifest and .shards
    "FORMAT",
    "StoreError",
    "StoreWriter",
    "check_shards",
    "differences",
    "read_manifest",
    "shard_files",
    "shard_path",
    "write_atomic",
]
COMPARED = ("model", "sampling", "source")  # a rerun must match these to resume
UNCOMPARED_SAMPLING = ("batch_size",)  # recorded, not compared: it changes only rounding


def differences(stored, given, prefix: str = "") -> list[str]:
    """Dotted keys where two JSON-like values differ, with both values, e.g.
    ``sampling.n_sentences: stored 64, given 32``."""
    if isinstance(stored, dict) and isinstance(given, dict):
        out = []
        for key in sorted(set(stored) | set(given), key=str):
            out += differences(stored.get(key), given.get(key), f"{prefix}{key}.")
        return out
    if stored != given:
        return [f"{prefix.rstrip('.')}: stored {_short(stored)}, given {_short(given)}"]
    return []


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def write_atomic(path: Path, write) -> int:
    """Call ``write(temporary_path)``, flush it to disk, rename it to ``path``; returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a run is for others to read
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path.stat().st_size


class Lock:
    """An exclusive lock on a run directory, released by the OS when its process dies."""

    def __init__(self, directory: Path):
        self.path = directory / LOCK
        self.handle = open(self.path, "a+")  # noqa: SIM115 (held until release())
        try:
            _lock(self.handle)
        except OSError as err:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            raise StoreError(
                f"{directory} is being written by {holder}: two runs cannot write one store "
                "(wait for it to finish, or choose another --out)"
            ) from err
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"process {os.getpid()}")
        self.handle.flush()

    def release(self) -> None:
        if not self.handle.closed:
            _unlock(self.handle)
            self.handle.close()


def _lock(handle) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock(handle) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class StoreWriter:
    """Writes a run: locks the directory, resumes or refuses what is there, appends shards.

    ``head`` holds the manifest's ``model``, ``sampling`` and ``source`` (JSON values) and
    anything else to record (``package_version``...). An existing run with other model,
    sampling or source values is refused with the differences, unless ``overwrite``; so is a
    directory holding files a run does not write (named), and a run of an older format.
    """

    def __init__(self, directory, head: dict, *, overwrite: bool = False):
        self.directory = directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise StoreError(f"{directory} is a file, not a run directory")
        foreign = foreign_files(directory) if directory.is_dir() else []
        if foreign:
            listed = ", ".join(foreign[:8]) + (f" and {len(foreign) - 8} more" if len(foreign) > 8 else "")
            raise StoreError(
                f"{directory} is not empty: it holds {listed}, which a texplain run does not write "
                "(a run's directory holds only manifest.json and its images/, words/ and failures/ "
                "shards); nothing was changed: move those files, or choose another --out"
            )
        exists = (directory / MANIFEST).exists()
        directory.mkdir(parents=True, exist_ok=True)
        self.lock = Lock(directory)
        try:
            self.dropped: list[str] = []
            self.manifest = self._start(head, exists, overwrite)
        except BaseException:
            self.lock.release()
            raise

    def _start(self, head: dict, exists: bool, overwrite: bool) -> dict:
        if exists and overwrite:
            self._clear()
        elif exists:
            manifest = read_manifest(self.directory)
            _check_resumable(self.directory, manifest, head)
            problems = check_shards(self.directory, manifest)
            self.dropped = [message for _, message in problems]
            bad = {part for part, _ in problems}
            manifest["shards"] = [s for s in manifest["shards"] if s["part"] not in bad]
            self._remove_unlisted(manifest)
            sampling = {**head.get("sampling", {})}
            for key in UNCOMPARED_SAMPLING:  # the stored value stays: it describes the stored shards
                if key in manifest["sampling"]:
                    sampling[key] = manifest["sampling"][key]
            return self._save({**manifest, **head, "sampling": sampling})
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return self._save({"format": FORMAT, **head, "created": now, "complete": False, "shards": []})

    def done_ids(self) -> set[int]:
        """Ids of the images already stored (explained or failed)."""
        done: set[int] = set()
        for table in ("images", "failures"):
            ids = shard_dataset(self.directory, self.manifest, table).to_table(columns=["id"])["id"]
            done.update(ids.to_pylist())
        return done

    def write_chunk(self, tables: dict[str, pa.Table]) -> None:
        """Append one shard of each table, then index it (size, rows, SHA-256) in the manifest."""
        shards = self.manifest["shards"]
        part = max((s["part"] for s in shards), default=-1) + 1
        files = {}
        for table in TABLES:
            data, path = tables[table], shard_path(self.directory, table, part)
            size = write_atomic(
                path, lambda temporary, data=data: pq.write_table(data, temporary, compression="zstd")
            )
            files[table] = {"bytes": size, "rows": data.num_rows, "sha256": file_sha256(path)}
        self._save({**self.manifest, "shards": [*shards, {"part": part, "files": files}]})

    def record(self, key: str, value) -> None:
        """Set one more manifest entry (a JSON value), e.g. the run's ``reference``."""
        self._save({**self.manifest, key: value})

    def finish(self, complete: bool) -> None:
        self._save({**self.manifest, "complete": complete})

    def close(self) -> None:
        self.lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _save(self, manifest: dict) -> dict:
        manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        text = json.dumps(manifest, indent=1)
        write_atomic(self.directory / MANIFEST, lambda path: Path(path).write_text(text))
        self.manifest = manifest
        return manifest

    def _clear(self) -> None:
        """Delete the run's own files (only the names the store writes: see __init__'s check)."""
        (self.directory / MANIFEST).unlink()
        self._remove_unlisted({"shards": []})

    def _remove_unlisted(self, manifest: dict) -> None:
        """Delete shard files the manifest does not index: leftovers of a crash or a damaged shard."""
        listed = {Path(p).name for table in TABLES for p in shard_files(self.directory, manifest, table)}
        for path in self.directory.iterdir():
            if path.is_file() and TEMPORARY_NAME.fullmatch(path.name):
                path.unlink()  # a manifest's temporary, left by a crash
        for table in TABLES:
            folder = self.directory / table
            for path in folder.iterdir() if folder.is_dir() else ():
                if removable(path) and path.name not in listed:
                    path.unlink()


def _check_resumable(directory: Path, manifest: dict, head: dict) -> None:
    """Refuse to resume a run of an older format, or of another model, sampling or source."""
    if manifest["format"] != FORMAT:
        raise StoreError(
            f"{directory} holds a {manifest['format']} run, made by an older version of texplain-widgets "
            "whose images shared random streams: it can be read, but not resumed or extended; rebuild "
            "it with --overwrite (overwrite=True), or choose another --out"
        )
    changed = [
        line
        for key in COMPARED
        for line in differences(_compared(key, manifest.get(key)), _compared(key, head.get(key)), f"{key}.")
    ]
    if changed:
        raise StoreError(
            f"{directory} holds a run with other settings; resume needs the same model, "
            "sampling and source. Differences:\n  " + "\n  ".join(changed) + "\n(use --overwrite, "
            "overwrite=True, to start again there, or choose another --out)"
        )


def _compared(key: str, value):
    if key == "sampling" and isinstance(value, dict):
        return {name: v for name, v in value.items() if name not in UNCOMPARED_SAMPLING}
    return value
