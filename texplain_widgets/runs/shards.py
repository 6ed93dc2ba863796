"""A run's shard files: their names, their check against the manifest's index, and reading them.

Readers go through :func:`shard_dataset` / :func:`shard_connection`, which hand DuckDB and
pyarrow the exact file paths: a run directory named ``runs/exp[1]`` or ``runs/a*b`` is never
taken for a glob pattern matching other runs' shards.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .manifest import TABLES

LOCK = ".lock"
SHARD_NAME = re.compile(r"part-\d{5,}\.parquet")
GLOB = re.compile(r"[*?\[\]{}]")  # what DuckDB's read_parquet would read as a glob
TEMPORARY_NAME = re.compile(r"\.tmp-\w+\.(parquet|json)")  # write_atomic's, left by a crash


def shard_path(directory: Path, table: str, part: int) -> Path:
    return Path(directory) / table / f"part-{part:05d}.parquet"


def shard_files(directory, manifest: dict, table: str) -> list[str]:
    """The paths of one table's indexed shards, in order."""
    return [str(shard_path(Path(directory), table, entry["part"])) for entry in manifest["shards"]]


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_shards(directory, manifest: dict) -> list[tuple[int, str]]:
    """Problems with the indexed shards (missing, truncated, changed, unreadable): (part, message) each.

    A file is checked against its index entry: size, then SHA-256 (runs of format 2), then the
    row count in its Parquet footer.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    problems = []
    for entry in manifest["shards"]:
        part = entry["part"]
        for table in TABLES:
            path = shard_path(directory, table, part)
            expected = entry["files"][table]
            if not path.is_file():
                problems.append((part, f"{path}: missing"))
                continue
            size = path.stat().st_size
            if size != expected["bytes"]:
                problems.append(
                    (part, f"{path}: {size} bytes on disk, {expected['bytes']} written (truncated?)")
                )
                continue
            if "sha256" in expected and file_sha256(path) != expected["sha256"]:
                problems.append((part, f"{path}: its bytes changed since written (SHA-256 checksum differs)"))
                continue
            try:
                rows = pq.read_metadata(path).num_rows
            except (OSError, pa.ArrowException) as err:
                problems.append((part, f"{path}: not readable as Parquet ({err})"))
                continue
            if rows != expected["rows"]:
                problems.append((part, f"{path}: {rows} rows, {expected['rows']} written"))
    return problems


def foreign_files(directory: Path) -> list[str]:
    """Entries of a would-be run directory that a run does not write (relative paths, sorted)."""
    foreign = []
    for path in sorted(Path(directory).iterdir()):
        if path.name in TABLES and path.is_dir() and not path.is_symlink():
            foreign += [
                f"{path.name}/{inner.name}"
                for inner in sorted(path.iterdir())
                if not _own_file(inner, SHARD_NAME)
            ]
        elif not (path.name in ("manifest.json", LOCK) and path.is_file()) and not _own_file(path, None):
            foreign.append(path.name)
    return foreign


def removable(path: Path) -> bool:
    """Whether ``path`` is a file name the store writes in a table folder (a shard or a temporary)."""
    return _own_file(path, SHARD_NAME)


def _own_file(path: Path, shard: re.Pattern | None) -> bool:
    named = TEMPORARY_NAME.fullmatch(path.name) or (shard is not None and shard.fullmatch(path.name))
    return bool(named) and path.is_file() and not path.is_symlink()


def shard_dataset(directory, manifest: dict, table: str):
    """A pyarrow dataset of one table's indexed shards, by their exact paths (no globbing)."""
    import pyarrow.dataset as ds
    import pyarrow.fs

    from .tables import SCHEMAS

    files = shard_files(directory, manifest, table)
    return ds.dataset(files, schema=SCHEMAS[table], format="parquet", filesystem=pyarrow.fs.LocalFileSystem())


def shard_connection(directory, manifest: dict, tables=("images", "words")):
    """A DuckDB connection in which each of ``tables`` is a view of its indexed shards.

    DuckDB's own Parquet reader (``read_parquet`` over the exact file list) reads only the
    columns and row groups a query needs, about twice as fast as a registered pyarrow dataset on
    a 10,000-image run (``benchmarks/discovery.py``); it reads a path as a glob, though, so a run
    whose path holds ``*``, ``?`` or ``[`` (or one without shards) keeps the pyarrow dataset of
    :func:`shard_dataset`, which takes paths as they are.
    """
    import duckdb

    connection = duckdb.connect()
    for table in tables:
        files = shard_files(directory, manifest, table)
        if files and not GLOB.search(str(directory)):
            paths = ", ".join("'" + path.replace("'", "''") + "'" for path in files)
            connection.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{paths}])")
        else:
            connection.register(table, shard_dataset(directory, manifest, table))
    return connection
