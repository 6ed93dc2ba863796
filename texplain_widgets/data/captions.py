"""Image-caption pairs from a CSV file, a COCO captions JSON or a plain list."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

from torch.utils.data import Dataset

from texplain_widgets.data.images import load_image
from texplain_widgets.errors import InputError

_SHOWN = 3  # how many missing names or bad ids an error message lists


class CaptionPairs(Dataset):
    """A dataset of (image path, caption); items are (RGB PIL image, caption).

    `CaptionPairs(pairs)` takes an iterable of (path, caption). Captions are
    stripped and must not be empty. Every image file is checked up front:
    `on_missing="error"` refuses missing ones, `"skip"` drops them with a warning.
    `source` names the caption file in messages.
    """

    def __init__(self, pairs, *, on_missing: str = "error", source: str = "caption pairs"):
        if on_missing not in ("error", "skip"):
            raise InputError(f'on_missing must be "error" or "skip", not {on_missing!r}')
        paths, captions = [], []
        for i, (path, caption) in enumerate(pairs):
            if not isinstance(caption, str) or not caption.strip():
                raise InputError(f"{source}: pair {i} ({path}) has an empty caption")
            paths.append(Path(path))
            captions.append(caption.strip())

        missing = {p for p in set(paths) if not p.is_file()}
        if missing and on_missing == "error":
            raise InputError(
                f"{source}: {len(missing)} image file(s) not found, e.g. "
                f"{', '.join(str(p) for p in sorted(missing)[:_SHOWN])}"
            )
        if missing:
            kept = [(p, c) for p, c in zip(paths, captions) if p not in missing]
            warnings.warn(
                f"{source}: skipped {len(paths) - len(kept)} caption pair(s) whose "
                f"{len(missing)} image file(s) are missing",
                stacklevel=2,
            )
            paths, captions = [p for p, _ in kept], [c for _, c in kept]
        if not paths:
            raise InputError(
                f"{source}: no image-caption pairs"
                + (" left after skipping missing images" if missing else "")
            )
        self.paths: list[Path] = paths
        self.captions: list[str] = captions
        self.source = source

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        return load_image(self.paths[index]), self.captions[index]

    @classmethod
    def from_csv(cls, csv_path, image_root=None, on_missing: str = "error") -> CaptionPairs:
        """Read a CSV with a header and columns `image,caption`; paths are relative to
        `image_root` (default: the CSV's folder)."""
        csv_path = _caption_file(csv_path)
        root = csv_path.parent if image_root is None else _folder(image_root, csv_path)
        pairs = []
        try:
            with csv_path.open(newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f)
                columns = [name.strip() for name in reader.fieldnames or []]
                if "image" not in columns or "caption" not in columns:
                    raise InputError(
                        f"{csv_path}: the header must name the columns image,caption; "
                        f"found {','.join(columns) or 'no header'}"
                    )
                reader.fieldnames = columns
                for row in reader:
                    image, caption = (row.get("image") or "").strip(), row.get("caption") or ""
                    if not image or not caption.strip():
                        raise InputError(f"{csv_path}: line {reader.line_num} has an empty image or caption")
                    pairs.append((root / image, caption))
        except (OSError, csv.Error, UnicodeDecodeError) as e:
            raise InputError(f"{csv_path}: not a readable UTF-8 CSV file ({e})") from e
        return cls(pairs, on_missing=on_missing, source=str(csv_path))

    @classmethod
    def from_coco(cls, annotations_json, image_dir, on_missing: str = "error") -> CaptionPairs:
        """Read COCO captions JSON (`images`: id, file_name; `annotations`: image_id,
        caption), one pair per annotation, images in `image_dir`."""
        json_path = _caption_file(annotations_json)
        root = _folder(image_dir, json_path)
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
            files = {image["id"]: image["file_name"] for image in data["images"]}
            annotations = [(a["image_id"], a["caption"]) for a in data["annotations"]]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{json_path}: not a readable JSON file ({e})") from e
        except (KeyError, TypeError) as e:
            problem = f"missing key {e}" if isinstance(e, KeyError) else str(e)
            raise InputError(
                f"{json_path}: not in COCO captions format ({problem}); expected 'images' "
                "with id and file_name, and 'annotations' with image_id and caption"
            ) from e
        unknown = sorted({str(i) for i, _ in annotations if i not in files})
        if unknown:
            raise InputError(
                f"{json_path}: {len(unknown)} annotation image_id(s) are not in 'images', "
                f"e.g. {', '.join(unknown[:_SHOWN])}"
            )
        pairs = []
        for n, (image_id, caption) in enumerate(annotations):
            if not isinstance(caption, str) or not caption.strip():
                raise InputError(f"{json_path}: annotation {n} (image_id {image_id}) has no caption text")
            pairs.append((root / files[image_id], caption))
        return cls(pairs, on_missing=on_missing, source=str(json_path))


def _caption_file(path) -> Path:
    """Return `path` as a Path if it is an existing file, else raise InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such caption file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a caption file")
    return path


def _folder(path, caption_file: Path) -> Path:
    """Return the image folder `path`, refusing one that does not exist."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such image folder (given for {caption_file})")
    return path
