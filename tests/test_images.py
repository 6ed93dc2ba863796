"""load_image and list_images on real files built with PIL and numpy."""

import io

import numpy as np
import pytest
from PIL import Image

from texplain_widgets.data.images import IMAGE_EXTENSIONS, list_images, load_image
from texplain_widgets.errors import InputError


def save(image, path, **kwargs):
    image.save(path, **kwargs)
    return path


def pixel(image, xy=(0, 0)):
    return image.getpixel(xy)


# --- conversions -------------------------------------------------------------


def test_rgb_png_round_trip(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    out = load_image(save(Image.fromarray(array), tmp_path / "a.png"))
    assert out.mode == "RGB" and out.size == (10, 12)
    assert np.array_equal(np.asarray(out), array)


def test_str_path_accepted(tmp_path):
    path = save(Image.new("RGB", (9, 9), (1, 2, 3)), tmp_path / "a.bmp")
    assert pixel(load_image(str(path))) == (1, 2, 3)


def test_rgba_composited_on_white(tmp_path):
    image = Image.new("RGBA", (8, 8), (255, 0, 0, 255))
    image.putpixel((1, 0), (255, 0, 0, 0))
    image.putpixel((2, 0), (0, 0, 0, 128))
    out = load_image(save(image, tmp_path / "a.png"))
    assert out.mode == "RGB"
    assert pixel(out, (0, 0)) == (255, 0, 0)
    assert pixel(out, (1, 0)) == (255, 255, 255)
    assert pixel(out, (2, 0)) == (127, 127, 127)


def test_la_composited_on_white(tmp_path):
    image = Image.new("LA", (8, 8), (40, 255))
    image.putpixel((1, 0), (40, 0))
    out = load_image(save(image, tmp_path / "a.png"))
    assert pixel(out, (0, 0)) == (40, 40, 40)
    assert pixel(out, (1, 0)) == (255, 255, 255)


def palette_image():
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 10, 200, 30] + [0, 0, 0] * 254)
    image.putpixel((0, 0), 0)
    return image


def test_palette_without_transparency(tmp_path):
    out = load_image(save(palette_image(), tmp_path / "a.png"))
    assert out.mode == "RGB"
    assert pixel(out, (0, 0)) == (0, 0, 0)
    assert pixel(out, (1, 0)) == (10, 200, 30)


@pytest.mark.parametrize("name", ["a.png", "a.gif"])
def test_palette_with_transparency_is_white(tmp_path, name):
    out = load_image(save(palette_image(), tmp_path / name, transparency=0))
    assert out.mode == "RGB"
    assert pixel(out, (0, 0)) == (255, 255, 255)
    assert pixel(out, (1, 0)) == (10, 200, 30)


def test_grayscale(tmp_path):
    out = load_image(save(Image.new("L", (8, 8), 100), tmp_path / "a.png"))
    assert out.mode == "RGB" and pixel(out) == (100, 100, 100)


def test_bilevel(tmp_path):
    image = Image.new("1", (8, 8), 0)
    image.putpixel((1, 0), 1)
    out = load_image(save(image, tmp_path / "a.png"))
    assert pixel(out, (0, 0)) == (0, 0, 0) and pixel(out, (1, 0)) == (255, 255, 255)


def test_16bit_png_scaled_by_257(tmp_path):
    array = np.zeros((8, 8), dtype=np.uint16)
    array[0, :3] = [65535, 257 * 100, 0]
    path = save(Image.fromarray(array), tmp_path / "a.png")
    assert Image.open(path).mode.startswith("I;16")
    out = load_image(path)
    assert out.mode == "RGB"
    assert [pixel(out, (x, 0)) for x in range(3)] == [(255,) * 3, (100,) * 3, (0,) * 3]


def test_16bit_big_endian_scaled_by_257():
    image = Image.frombytes("I;16B", (8, 8), np.full((8, 8), 257 * 7, dtype=">u2").tobytes())
    assert pixel(load_image(image)) == (7, 7, 7)


def test_32bit_int_holding_16bit_data():
    array = np.full((8, 8), 257 * 50, dtype=np.int32)
    array[0, 0] = 65535
    out = load_image(Image.fromarray(array))
    assert pixel(out, (0, 0)) == (255, 255, 255) and pixel(out, (1, 0)) == (50, 50, 50)


def test_32bit_int_full_range():
    array = np.full((8, 8), 2**31 - 1, dtype=np.int32)
    array[0, 0] = -5
    out = load_image(Image.fromarray(array))
    assert pixel(out, (0, 0)) == (0, 0, 0) and pixel(out, (1, 0)) == (255, 255, 255)


def test_float_image_clipped_to_unit_range():
    array = np.full((8, 8), 0.2, dtype=np.float32)
    array[0, :2] = [2.0, -1.0]
    out = load_image(Image.fromarray(array))
    assert [pixel(out, (x, 0)) for x in range(3)] == [(255,) * 3, (0,) * 3, (51,) * 3]


def test_cmyk_jpeg(tmp_path):
    image = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red
    out = load_image(save(image, tmp_path / "a.jpg"))
    assert out.mode == "RGB"
    assert np.allclose(pixel(out), (255, 0, 0), atol=8)


def test_exif_rotation_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (20, 0, 40, 20))  # left red, right blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display is 90 degrees clockwise
    out = load_image(save(image, tmp_path / "a.jpg", exif=exif.tobytes(), quality=95))
    assert out.size == (20, 40)
    assert np.allclose(pixel(out, (10, 5)), (255, 0, 0), atol=8)  # left went to the top
    assert np.allclose(pixel(out, (10, 35)), (0, 0, 255), atol=8)


def test_pil_input_is_copied_not_mutated():
    image = Image.new("RGB", (8, 8), (5, 6, 7))
    out = load_image(image)
    assert out is not image and pixel(out) == (5, 6, 7)
    gray = Image.new("L", (8, 8), 9)
    assert load_image(gray).mode == "RGB" and gray.mode == "L"


# --- numpy arrays ------------------------------------------------------------


def test_array_gray_uint8():
    out = load_image(np.full((9, 8), 77, dtype=np.uint8))
    assert out.mode == "RGB" and out.size == (8, 9) and pixel(out) == (77, 77, 77)


def test_array_rgb_and_rgba():
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[..., 1] = 200
    assert pixel(load_image(rgb)) == (0, 200, 0)
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)  # fully transparent black
    assert pixel(load_image(rgba)) == (255, 255, 255)


def test_array_float_unit_range():
    out = load_image(np.full((8, 8, 3), 0.2))
    assert pixel(out) == (51, 51, 51)


def test_array_float_out_of_range_refused():
    with pytest.raises(InputError, match=r"array .*\[0, 1\].*255"):
        load_image(np.full((8, 8, 3), 200.0))


@pytest.mark.parametrize(
    "array, problem",
    [
        (np.zeros((8, 8, 2), dtype=np.uint8), "shape"),
        (np.zeros((8,), dtype=np.uint8), "shape"),
        (np.zeros((8, 8, 3), dtype=np.int64), "int64"),
        (np.full((8, 8), np.nan), r"\[0, 1\]"),
    ],
)
def test_array_bad_shape_or_dtype(array, problem):
    with pytest.raises(InputError, match=problem):
        load_image(array)


def test_empty_array_refused_as_too_small():
    with pytest.raises(InputError, match="smaller than the minimum"):
        load_image(np.zeros((0, 8), dtype=np.uint8))


def test_unsupported_source_type():
    with pytest.raises(InputError, match="not int"):
        load_image(3)


# --- refusals ----------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nope.png: no such file"):
        load_image(tmp_path / "nope.png")


def test_directory(tmp_path):
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(InputError, match="dir.png: is a folder"):
        load_image(tmp_path / "dir.png")


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not an image\n")
    with pytest.raises(InputError, match="notes.jpg: not an image file") as info:
        load_image(path)
    assert info.value.__cause__ is not None


def test_truncated_jpeg(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InputError, match="cut.jpg: cannot decode.*truncated") as info:
        load_image(path)
    assert isinstance(info.value.__cause__, OSError)


def test_too_small(tmp_path):
    path = save(Image.new("RGB", (1, 1)), tmp_path / "dot.png")
    with pytest.raises(InputError, match="dot.png: the image is 1x1 pixels.*minimum of 8"):
        load_image(path)
    assert load_image(path, min_size=1).size == (1, 1)


def test_too_small_on_one_side(tmp_path):
    path = save(Image.new("RGB", (100, 5)), tmp_path / "strip.png")
    with pytest.raises(InputError, match="strip.png: the image is 100x5"):
        load_image(path)


def test_more_pixels_than_max_pixels(tmp_path):
    path = save(Image.new("1", (4000, 4000)), tmp_path / "big.png")
    with pytest.raises(InputError, match="big.png: 4000x4000 is 16,000,000 pixels.*10,000,000"):
        load_image(path, max_pixels=10_000_000)


def test_decompression_bomb_beyond_pillow_limit(tmp_path):
    path = save(Image.new("1", (12000, 12000)), tmp_path / "bomb.png")
    assert path.stat().st_size < 1_000_000
    with pytest.raises(InputError, match="bomb.png: too many pixels") as info:
        load_image(path, max_pixels=10_000_000)
    assert isinstance(info.value.__cause__, Image.DecompressionBombWarning)


# --- list_images -------------------------------------------------------------


def test_list_images_sorted_filtered(tmp_path):
    for name in ["b.PNG", "a.jpg", "c.WebP", "notes.txt", ".hidden.png", "noext"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"")
    assert list_images(tmp_path) == [tmp_path / n for n in ["a.jpg", "b.PNG", "c.WebP"]]


def test_list_images_recursive_skips_hidden_folders(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".cache").mkdir()
    (tmp_path / "a.tif").write_bytes(b"")
    (tmp_path / "sub" / "b.gif").write_bytes(b"")
    (tmp_path / ".cache" / "c.png").write_bytes(b"")
    assert list_images(tmp_path, recursive=True) == [tmp_path / "a.tif", tmp_path / "sub" / "b.gif"]


def test_image_extensions_are_lowercase_suffixes():
    assert all(e.startswith(".") and e == e.lower() for e in IMAGE_EXTENSIONS)
    assert {".jpg", ".jpeg", ".png", ".tiff"} <= set(IMAGE_EXTENSIONS)


def test_list_images_empty_folder(tmp_path):
    with pytest.raises(InputError, match=f"{tmp_path.name}: no image files.*\\.jpg.*\\.tiff"):
        list_images(tmp_path)


def test_list_images_only_text(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(InputError, match="no image files"):
        list_images(tmp_path)


def test_list_images_missing_folder(tmp_path):
    with pytest.raises(InputError, match="gone: no such folder"):
        list_images(tmp_path / "gone")


def test_list_images_on_a_file(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="a.png: is a file, not a folder"):
        list_images(path)
