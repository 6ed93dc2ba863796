"""The run store on disk: a manifest, Parquet shards written atomically, a writer's lock.

Every chunk of images becomes one shard of each table (``images``, ``words``, ``failures``),
written to a temporary file, flushed and renamed; the manifest, which indexes the shards
with their sizes and row counts, is replaced the same way afterwards. A crash therefore
leaves either a complete shard that the manifest lists or a file it does not list (ignored,
and removed by the next writer). A shard damaged later (truncated, edited) no longer matches
its index entry: readers refuse it, the next writer drops it and explains those images again.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError

FORMAT = "texplain-run/1"
MANIFEST = "manifest.json"
LOCK = ".lock"
TABLES = ("images", "words", "failures")
COMPARED = ("model", "sampling", "source")  # a rerun must match these to resume


class StoreError(InputError):
    """A run directory that cannot be used as asked: damaged, locked or from another run."""


def shard_path(directory: Path, table: str, part: int) -> Path:
    return directory / table / f"part-{part:05d}.parquet"


def read_manifest(directory) -> dict:
    """The manifest of a run directory, checked for its format."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise StoreError(f"{directory} is not a texplain run: {MANIFEST} not found")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise StoreError(f"{path} is damaged (not valid JSON: {err})") from err
    if manifest.get("format") != FORMAT:
        raise StoreError(f"{path}: unknown format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def check_shards(directory, manifest: dict) -> list[tuple[int, str]]:
    """Problems with the indexed shards (missing, truncated, unreadable): (part, message) each."""
    directory = Path(directory)
    problems = []
    for entry in manifest.get("shards", []):
        for table in TABLES:
            path = shard_path(directory, table, entry["part"])
            expected = entry["files"][table]
            if not path.is_file():
                problems.append((entry["part"], f"{path}: missing"))
                continue
            size = path.stat().st_size
            if size != expected["bytes"]:
                problems.append(
                    (entry["part"], f"{path}: {size} bytes on disk, {expected['bytes']} written (truncated?)")
                )
                continue
            try:
                rows = pq.read_metadata(path).num_rows
            except (OSError, pa.ArrowException) as err:
                problems.append((entry["part"], f"{path}: not readable as Parquet ({err})"))
                continue
            if rows != expected["rows"]:
                problems.append((entry["part"], f"{path}: {rows} rows, {expected['rows']} written"))
    return problems


def shard_files(directory, manifest: dict, table: str) -> list[str]:
    """The paths of one table's indexed shards, in order."""
    return [str(shard_path(Path(directory), table, entry["part"])) for entry in manifest.get("shards", [])]


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
    sampling or source values is refused with the differences, unless ``overwrite``.
    """

    def __init__(self, directory, head: dict, *, overwrite: bool = False):
        self.directory = directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise StoreError(f"{directory} is a file, not a run directory")
        exists = (directory / MANIFEST).exists()
        if not exists and directory.is_dir() and _foreign_files(directory):
            raise StoreError(f"{directory} is not empty and holds no texplain run: choose another --out")
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
            changed = [
                line for key in COMPARED for line in differences(manifest.get(key), head.get(key), f"{key}.")
            ]
            if changed:
                raise StoreError(
                    f"{self.directory} holds a run with other settings; resume needs the same model, "
                    "sampling and source. Differences:\n  " + "\n  ".join(changed) + "\n(use --overwrite, "
                    "overwrite=True, to start again there, or choose another --out)"
                )
            problems = check_shards(self.directory, manifest)
            self.dropped = [message for _, message in problems]
            bad = {part for part, _ in problems}
            manifest["shards"] = [s for s in manifest["shards"] if s["part"] not in bad]
            self._remove_unlisted(manifest)
            return self._save({**manifest, **head})
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return self._save({"format": FORMAT, **head, "created": now, "complete": False, "shards": []})

    def done_ids(self) -> set[int]:
        """Ids of the images already stored (explained or failed)."""
        done: set[int] = set()
        for table in ("images", "failures"):
            files = shard_files(self.directory, self.manifest, table)
            if files:
                done.update(pq.read_table(files, columns=["id"])["id"].to_pylist())
        return done

    def write_chunk(self, tables: dict[str, pa.Table]) -> None:
        """Append one shard of each table, then index it in the manifest."""
        shards = self.manifest["shards"]
        part = max((s["part"] for s in shards), default=-1) + 1
        files = {}
        for table in TABLES:
            data = tables[table]
            size = write_atomic(
                shard_path(self.directory, table, part),
                lambda path, data=data: pq.write_table(data, path, compression="zstd"),
            )
            files[table] = {"bytes": size, "rows": data.num_rows}
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
        (self.directory / MANIFEST).unlink()
        for table in TABLES:
            for path in (self.directory / table).glob("*"):
                if path.name.startswith((".tmp-", "part-")):
                    path.unlink()

    def _remove_unlisted(self, manifest: dict) -> None:
        """Delete shard files the manifest does not index: leftovers of a crash or a damaged shard."""
        listed = {Path(p).name for table in TABLES for p in shard_files(self.directory, manifest, table)}
        for table in TABLES:
            for path in (self.directory / table).glob("*"):
                if path.name.startswith(".tmp-") or (
                    path.name.startswith("part-") and path.name not in listed
                ):
                    path.unlink()


def _foreign_files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name not in (LOCK, *TABLES)]
