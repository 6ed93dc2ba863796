"""CaptionPairs from CSV, COCO JSON and plain lists, with real small PNGs."""

import json

import pytest
from PIL import Image
from torch.utils.data import Dataset

from texplain_widgets.data.captions import CaptionPairs
from texplain_widgets.errors import InputError


@pytest.fixture
def images(tmp_path):
    """Two 10x8 PNGs in tmp_path/imgs: red.png and blue.png."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("RGB", (10, 8), (255, 0, 0)).save(folder / "red.png")
    Image.new("L", (10, 8), 0).save(folder / "blue.png")  # any mode; loaded as RGB
    return folder


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def write_coco(path, images, annotations):
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return path


COCO_IMAGES = [{"id": 1, "file_name": "red.png"}, {"id": 7, "file_name": "blue.png"}]


# --- CSV ---------------------------------------------------------------------


def test_csv_round_trip(tmp_path, images):
    csv_path = write_csv(
        tmp_path / "caps.csv",
        'image,caption\nimgs/red.png,a red square\nimgs/blue.png," a dark, square "\n',
    )
    pairs = CaptionPairs.from_csv(csv_path)
    assert isinstance(pairs, Dataset) and len(pairs) == 2
    assert pairs.paths == [images / "red.png", images / "blue.png"]
    assert pairs.captions == ["a red square", "a dark, square"]
    image, caption = pairs[0]
    assert image.mode == "RGB" and image.size == (10, 8) and image.getpixel((0, 0)) == (255, 0, 0)
    assert caption == "a red square"
    assert pairs[1][0].mode == "RGB"


def test_csv_image_root_extra_columns_and_bom(tmp_path, images):
    csv_path = tmp_path / "caps.csv"
    csv_path.write_text("\ufeffid, caption ,image\n1,red,red.png\n", encoding="utf-8")
    pairs = CaptionPairs.from_csv(csv_path, image_root=images)
    assert pairs.paths == [images / "red.png"] and pairs.captions == ["red"]


def test_csv_missing_images_error(tmp_path, images):
    csv_path = write_csv(
        tmp_path / "caps.csv",
        "image,caption\nimgs/red.png,red\nimgs/gone1.png,x\nimgs/gone2.png,y\nimgs/gone1.png,z\n",
    )
    with pytest.raises(InputError, match=r"caps.csv: 2 image file\(s\) not found.*gone1.png.*gone2"):
        CaptionPairs.from_csv(csv_path)


def test_csv_missing_images_skip(tmp_path, images):
    csv_path = write_csv(
        tmp_path / "caps.csv",
        "image,caption\nimgs/red.png,red\nimgs/gone.png,x\nimgs/gone.png,y\n",
    )
    with pytest.warns(UserWarning, match=r"caps.csv: skipped 2 caption pair\(s\) whose 1 image"):
        pairs = CaptionPairs.from_csv(csv_path, on_missing="skip")
    assert pairs.paths == [images / "red.png"] and pairs.captions == ["red"]


def test_csv_all_missing_skip_leaves_nothing(tmp_path):
    csv_path = write_csv(tmp_path / "caps.csv", "image,caption\ngone.png,x\n")
    with pytest.warns(UserWarning), pytest.raises(InputError, match="caps.csv: no image-caption"):
        CaptionPairs.from_csv(csv_path, on_missing="skip")


def test_csv_bad_columns(tmp_path):
    csv_path = write_csv(tmp_path / "caps.csv", "file,text\na.png,x\n")
    with pytest.raises(InputError, match="caps.csv: .*image,caption; found file,text"):
        CaptionPairs.from_csv(csv_path)


def test_csv_empty_file(tmp_path):
    csv_path = write_csv(tmp_path / "caps.csv", "")
    with pytest.raises(InputError, match="caps.csv: .*found no header"):
        CaptionPairs.from_csv(csv_path)


def test_csv_header_only(tmp_path):
    csv_path = write_csv(tmp_path / "caps.csv", "image,caption\n")
    with pytest.raises(InputError, match="caps.csv: no image-caption pairs"):
        CaptionPairs.from_csv(csv_path)


def test_csv_empty_caption(tmp_path, images):
    csv_path = write_csv(tmp_path / "caps.csv", "image,caption\nimgs/red.png,red\nimgs/blue.png,  \n")
    with pytest.raises(InputError, match="caps.csv: line 3 has an empty image or caption"):
        CaptionPairs.from_csv(csv_path)


def test_csv_short_row(tmp_path, images):
    csv_path = write_csv(tmp_path / "caps.csv", "image,caption\nimgs/red.png\n")
    with pytest.raises(InputError, match="caps.csv: line 2"):
        CaptionPairs.from_csv(csv_path)


def test_csv_not_utf8(tmp_path):
    csv_path = tmp_path / "caps.csv"
    csv_path.write_bytes(b"image,caption\nred.png,caf\xe9\n")
    with pytest.raises(InputError, match="caps.csv: not a readable UTF-8 CSV"):
        CaptionPairs.from_csv(csv_path)


def test_csv_missing_file(tmp_path):
    with pytest.raises(InputError, match="nope.csv: no such caption file"):
        CaptionPairs.from_csv(tmp_path / "nope.csv")


def test_csv_image_root_missing(tmp_path):
    csv_path = write_csv(tmp_path / "caps.csv", "image,caption\na.png,x\n")
    with pytest.raises(InputError, match="nowhere: no such image folder.*caps.csv"):
        CaptionPairs.from_csv(csv_path, image_root=tmp_path / "nowhere")


# --- COCO --------------------------------------------------------------------


def test_coco_round_trip(tmp_path, images):
    annotations = [
        {"id": 10, "image_id": 7, "caption": "dark square\n"},
        {"id": 11, "image_id": 1, "caption": "red square"},
        {"id": 12, "image_id": 7, "caption": "black box"},
    ]
    path = write_coco(tmp_path / "captions.json", COCO_IMAGES, annotations)
    pairs = CaptionPairs.from_coco(path, images)
    assert len(pairs) == 3
    assert pairs.paths == [images / "blue.png", images / "red.png", images / "blue.png"]
    assert pairs.captions == ["dark square", "red square", "black box"]
    image, caption = pairs[1]
    assert image.getpixel((0, 0)) == (255, 0, 0) and caption == "red square"


def test_coco_missing_images_error_and_skip(tmp_path, images):
    coco_images = COCO_IMAGES + [{"id": 3, "file_name": "gone.png"}]
    annotations = [
        {"image_id": 1, "caption": "red"},
        {"image_id": 3, "caption": "lost"},
    ]
    path = write_coco(tmp_path / "captions.json", coco_images, annotations)
    with pytest.raises(InputError, match=r"captions.json: 1 image file\(s\) not found.*gone.png"):
        CaptionPairs.from_coco(path, images)
    with pytest.warns(UserWarning, match="captions.json: skipped 1"):
        pairs = CaptionPairs.from_coco(path, images, on_missing="skip")
    assert pairs.captions == ["red"]


def test_coco_malformed_json(tmp_path, images):
    path = tmp_path / "captions.json"
    path.write_text('{"images": [,]')
    with pytest.raises(InputError, match="captions.json: not a readable JSON file") as info:
        CaptionPairs.from_coco(path, images)
    assert isinstance(info.value.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize(
    "data, problem",
    [
        ({"images": []}, "missing key 'annotations'"),
        ({"images": [{"id": 1}], "annotations": []}, "missing key 'file_name'"),
        ({"images": COCO_IMAGES, "annotations": [{"image_id": 1}]}, "missing key 'caption'"),
        ([1, 2], "COCO captions format"),
    ],
)
def test_coco_wrong_structure(tmp_path, images, data, problem):
    path = tmp_path / "captions.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=f"captions.json: .*{problem}"):
        CaptionPairs.from_coco(path, images)


def test_coco_unknown_image_ids(tmp_path, images):
    annotations = [{"image_id": 99, "caption": "x"}, {"image_id": 1, "caption": "red"}]
    path = write_coco(tmp_path / "captions.json", COCO_IMAGES, annotations)
    with pytest.raises(InputError, match=r"captions.json: 1 annotation image_id\(s\).*99"):
        CaptionPairs.from_coco(path, images)


def test_coco_empty_caption(tmp_path, images):
    annotations = [{"image_id": 1, "caption": "red"}, {"image_id": 7, "caption": " "}]
    path = write_coco(tmp_path / "captions.json", COCO_IMAGES, annotations)
    with pytest.raises(InputError, match="captions.json: annotation 1 .image_id 7. has no caption"):
        CaptionPairs.from_coco(path, images)


def test_coco_no_annotations(tmp_path, images):
    path = write_coco(tmp_path / "captions.json", COCO_IMAGES, [])
    with pytest.raises(InputError, match="captions.json: no image-caption pairs"):
        CaptionPairs.from_coco(path, images)


def test_coco_missing_file_and_folder(tmp_path, images):
    with pytest.raises(InputError, match="nope.json: no such caption file"):
        CaptionPairs.from_coco(tmp_path / "nope.json", images)
    path = write_coco(tmp_path / "captions.json", COCO_IMAGES, [])
    with pytest.raises(InputError, match="nowhere: no such image folder"):
        CaptionPairs.from_coco(path, tmp_path / "nowhere")


# --- direct construction -----------------------------------------------------


def test_direct_pairs(images):
    pairs = CaptionPairs([(str(images / "red.png"), "red"), (images / "blue.png", "dark")])
    assert pairs.paths == [images / "red.png", images / "blue.png"]
    assert pairs.captions == ["red", "dark"]
    assert pairs[1][0].getpixel((0, 0)) == (0, 0, 0)


def test_direct_bad_input(images):
    with pytest.raises(InputError, match="no image-caption pairs"):
        CaptionPairs([])
    with pytest.raises(InputError, match="pair 0 .*red.png.* empty caption"):
        CaptionPairs([(images / "red.png", "")])
    with pytest.raises(InputError, match="on_missing"):
        CaptionPairs([(images / "red.png", "red")], on_missing="ignore")


def test_broken_image_reported_on_access(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not a png")
    pairs = CaptionPairs([(bad, "x")])
    with pytest.raises(InputError, match="bad.png: not an image file"):
        pairs[0]
