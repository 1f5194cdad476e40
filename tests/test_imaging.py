"""Tests of digitlib.imaging: MNIST-style preprocessing of photos, every mode, every bad file."""

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

import digitlib as dl
from digitlib import imaging


@pytest.fixture(scope="module")
def digits():
    """Return 20 real MNIST digits (from the sample, always available offline)."""
    mnist = dl.load_mnist("sample")
    return mnist.x_test[:20], mnist.y_test[:20]


def on_paper(digit, scale=4, pad=((40, 90), (120, 30)), paper=230, ink=40):
    """Return an MNIST digit enlarged, as dark ink on light paper, off-centre (uint8 L)."""
    big = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale),
                                                   Image.Resampling.BICUBIC)) / 255.0
    alpha = np.pad(big, pad)
    return np.round(paper * (1 - alpha) + ink * alpha).astype(np.uint8)


def close(a, b, tolerance=0.04):
    """Return whether two 28x28 images differ by less than ``tolerance`` on average."""
    return float(np.abs(np.asarray(a) - np.asarray(b)).mean()) < tolerance


def alike(a, b, at_least=0.9):
    """Return whether two images correlate pixel by pixel, placed within a pixel of each other.

    Centring by whole pixels can land a digit one pixel away from where MNIST put it.
    """
    best = max(np.corrcoef(np.roll(a, (dy, dx), axis=(0, 1)).ravel(), np.ravel(b))[0, 1]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    return float(best) >= at_least


# --- the whole pipeline ---------------------------------------------------------------------

def test_to_mnist_gives_float32_28x28_in_unit_range(digits):
    out = imaging.to_mnist(on_paper(digits[0][0]))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == pytest.approx(1.0)
    assert dl.prepare_images(out).shape == (1, 28, 28, 1)


def thinned_ones(source, x, same) -> int:
    """Check that each digit comes back the same (``same``) or, if drawn thick, thinner; count those."""
    thinned = 0
    for digit in x:
        out = imaging.to_mnist(source(digit))
        if not same(out, digit / 255.0):  # one of MNIST's thickest digits, thinned
            assert imaging.stroke_width(out) < imaging.stroke_width(digit)
            assert alike(out, digit / 255.0, at_least=0.7)
            thinned += 1
    return thinned


def test_mnist_digits_pass_through_almost_unchanged(digits):
    same = lambda a, b: close(a, b, tolerance=0.02)  # noqa: E731
    assert thinned_ones(lambda digit: digit, digits[0], same) <= 0.2 * len(digits[0])


def test_photo_of_a_digit_comes_back_like_the_digit(digits):
    assert thinned_ones(on_paper, digits[0], alike) <= 0.2 * len(digits[0])


@pytest.mark.parametrize("pad", [((10, 600), (10, 700)), ((600, 10), (700, 10)),
                                 ((300, 300), (20, 900))])
def test_digit_anywhere_in_a_large_frame_is_centred(digits, pad):
    digit = digits[0][1]
    out = imaging.to_mnist(on_paper(digit, scale=3, pad=pad))
    assert np.allclose(ndimage.center_of_mass(out), (14, 14), atol=0.6)
    assert alike(out, digit / 255.0)


def test_huge_photo_is_shrunk_and_still_read(digits):
    page = on_paper(digits[0][2], scale=30, pad=((200, 1300), (900, 1100)))
    assert max(page.shape) > 2 * imaging.MAX_SIDE
    assert imaging.steps(page)["grayscale"].shape[1] == imaging.MAX_SIDE
    assert alike(imaging.to_mnist(page), digits[0][2] / 255.0)


def test_steps_are_returned_in_order_and_end_with_to_mnist(digits):
    page = on_paper(digits[0][3])
    result = imaging.steps(page)
    assert list(result) == ["original", "grayscale", "inverted", "cleaned", "cropped",
                            "restroked", "fitted", "mnist"]
    assert result["original"] is not None and result["grayscale"].shape == page.shape
    assert max(result["fitted"].shape) == imaging.BOX
    np.testing.assert_array_equal(result["mnist"], imaging.to_mnist(page))


def test_plain_resize_keeps_the_paper(digits):
    plain = imaging.plain_resize(on_paper(digits[0][0]))
    assert plain.shape == (28, 28) and plain.dtype == np.float32
    assert np.median(plain) > 0.8  # light paper everywhere: nothing like MNIST


# --- each step ------------------------------------------------------------------------------

def test_invert_if_light_inverts_dark_ink_on_light_paper_only(digits):
    light = on_paper(digits[0][0]) / 255.0
    dark = 1.0 - light
    assert np.median(imaging.invert_if_light(light)) < 0.2
    np.testing.assert_allclose(imaging.invert_if_light(dark), dark, atol=1e-6)


def test_invert_if_light_judges_ink_not_brightness(digits):
    # dim photo: paper only 0.45 grey, ink darker still -> the ink is dark, so invert
    dim = (0.45 - 0.35 * np.pad(digits[0][0] / 255.0, 20)).astype(np.float32)
    assert imaging.invert_if_light(dim).max() > 0.8
    # chalk on a mid-grey board -> the ink is light, so leave it
    board = (0.55 + 0.4 * np.pad(digits[0][0] / 255.0, 20)).astype(np.float32)
    np.testing.assert_allclose(imaging.invert_if_light(board), board)


def test_remove_background_follows_uneven_light(digits):
    ink = np.pad(digits[0][0] / 255.0, 60).astype(np.float32) * 0.5
    rows, cols = np.indices(ink.shape)
    shaded = ink + 0.1 + 0.3 * cols / cols.max() + 0.1 * rows / rows.max()  # a lit corner
    cleaned = imaging.remove_background(shaded.astype(np.float32))
    assert cleaned.max() == pytest.approx(1.0)
    assert cleaned[:40].max() == 0 and cleaned[:, -40:].max() == 0  # paper is black
    assert alike(imaging.to_mnist(shaded), digits[0][0] / 255.0)


def test_remove_background_drops_noise():
    rng = np.random.default_rng(0)
    page = np.full((200, 200), 0.1) + rng.normal(0, 0.03, (200, 200))
    page[80:120, 95:105] = 0.8  # one bar of ink
    cleaned = imaging.remove_background(page.astype(np.float32))
    assert (cleaned[:60] > 0).mean() < 0.01  # the noise is gone ...
    assert cleaned[85:115, 97:103].min() > 0.9  # ... the ink is not


def test_crop_to_ink_ignores_specks():
    page = np.zeros((300, 300), dtype=np.float32)
    page[100:180, 140:160] = 1.0  # a stroke
    for row, col in [(10, 10), (290, 280), (20, 250), (250, 30)]:
        page[row:row + 2, col:col + 2] = 1.0  # dust
    crop = imaging.crop_to_ink(page)
    assert crop.shape == (80, 20)


def test_crop_to_ink_keeps_every_large_piece_of_a_digit():
    page = np.zeros((200, 200), dtype=np.float32)
    page[40:50, 60:140] = 1.0  # the detached top bar of a 5 ...
    page[60:160, 60:75] = 1.0  # ... and its body
    assert imaging.crop_to_ink(page).shape == (120, 80)


def stroke(width: int, side: int = 200) -> np.ndarray:
    """Return a crop holding an L of two strokes ``width`` pixels wide, ``side`` pixels long."""
    crop = np.zeros((side, side // 2), dtype=np.float32)
    crop[:, :width] = 1.0
    crop[-width:, :] = 1.0
    return crop


@pytest.mark.parametrize("width", [3, 10, 30])
def test_stroke_width_measures_a_stroke(width):
    assert imaging.stroke_width(stroke(width)) == pytest.approx(width, rel=0.15)


def test_set_stroke_width_thickens_a_fine_pen_to_mnists_width():
    fine = stroke(2)  # 2 of 200 pixels: a twentieth of a pixel once fitted in 20 x 20
    restroked = imaging.set_stroke_width(fine)
    want = imaging.STROKE * max(restroked.shape) / imaging.BOX
    assert imaging.stroke_width(restroked) == pytest.approx(want, rel=0.2)
    assert restroked.shape[0] > fine.shape[0]  # the ends grow too: nothing is cut off
    fitted = imaging.fit_in_box(restroked)
    assert imaging.stroke_width(fitted) == pytest.approx(imaging.STROKE, abs=1.0)


def test_set_stroke_width_thins_a_marker_and_leaves_mnists_width_alone():
    marker = stroke(60)  # 6 pixels once fitted
    thinner = imaging.set_stroke_width(marker)
    want = imaging.STROKE * max(marker.shape) / imaging.BOX
    assert abs(imaging.stroke_width(thinner) - want) < 0.5 * abs(imaging.stroke_width(marker) - want)
    usual = stroke(25)  # 2.5 pixels once fitted: as MNIST's
    np.testing.assert_array_equal(imaging.set_stroke_width(usual), usual)


def test_set_stroke_width_keeps_a_thick_ring_a_ring():
    rows, cols = np.indices((200, 160))
    radius = np.hypot(rows - 100, cols - 80)
    ring = ((radius > 30) & (radius < 75)).astype(np.float32)  # a 0 written with a marker
    thinner = imaging.set_stroke_width(ring)
    assert 0 < thinner.sum() < ring.sum()
    labels, pieces = ndimage.label(np.pad(thinner, 1) == 0)
    assert pieces == 2  # still one ring: the hole and the outside stay apart


def test_to_mnist_reads_a_fine_pen_as_mnist_wide_strokes():
    page = np.full((400, 400), 0.9, dtype=np.float32)
    page[60:340, 200:203] = 0.1  # a 1 written with a fine pen: 3 pixels of 280
    digit = imaging.to_mnist(page)
    assert imaging.stroke_width(digit) >= 2.0 and digit.max() == pytest.approx(1.0)
    assert (digit > 0.5).sum(axis=1).max() >= 2  # at least two pixels across


def test_restroke_false_skips_only_that_step():
    page = np.full((400, 400), 0.9, dtype=np.float32)
    page[60:340, 200:203] = 0.1
    steps = imaging.steps(page, restroke=False)
    assert steps["restroked"] is steps["cropped"]
    plain = imaging.center_by_mass(imaging.fit_in_box(imaging.crop_to_ink(steps["cleaned"])))
    np.testing.assert_array_equal(imaging.to_mnist(page, restroke=False), plain)
    (split,) = imaging.split_digits(page, restroke=False)
    np.testing.assert_array_equal(split, plain)
    assert (plain > 0.5).sum() < (imaging.to_mnist(page) > 0.5).sum()  # the 1 is wider restroked


def test_grainy_closes_gaps_only_in_a_crop_larger_than_twice_the_box():
    dotted = stroke(12, side=100)
    dotted[::2, ::2] = 0.0  # a dithered scan: a hole in every other pixel
    assert imaging.grainy(dotted) and not imaging.grainy(dotted[:40, :40])
    assert imaging.stroke_width(dotted) < 3  # every hole counts as outline
    assert imaging.stroke_width(dotted, close_gaps=True) == pytest.approx(12, rel=0.2)
    np.testing.assert_array_equal(imaging.set_stroke_width(dotted), dotted)  # 12 of 100: MNIST's


def test_fit_in_box_keeps_the_aspect_ratio():
    crop = np.ones((150, 60), dtype=np.float32)
    fitted = imaging.fit_in_box(crop)
    assert fitted.shape == (20, 8) and fitted.max() == pytest.approx(1.0)
    assert imaging.fit_in_box(np.ones((3, 400), dtype=np.float32)).shape == (1, 20)


def test_center_by_mass_puts_the_centre_of_mass_at_14_14():
    fitted = np.full((20, 12), 0.3, dtype=np.float32)
    fitted[:8] = 1.0  # mass near the top: the box must sit lower than its geometric centre
    out = imaging.center_by_mass(fitted)
    assert out.shape == (28, 28) and out.sum() == pytest.approx(fitted.sum())
    assert np.allclose(ndimage.center_of_mass(out), (14, 14), atol=0.5)
    assert np.flatnonzero(out.any(axis=1))[0] > (28 - 20) // 2


def test_center_by_mass_never_pushes_ink_out():
    fitted = np.zeros((20, 20), dtype=np.float32)
    fitted[:3, :3] = 1.0  # all the mass in one corner
    out = imaging.center_by_mass(fitted)
    assert out.sum() == pytest.approx(fitted.sum()) and out[8:11, 8:11].min() == 1.0


# --- image modes and formats -----------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(digits):
    return imaging.to_mnist(on_paper(digits[0][4]))


def rgb_photo(digit):
    gray = on_paper(digit)
    return np.stack([gray, gray * 0.95, gray * 0.85], axis=-1).astype(np.uint8)


def save(tmp_path, name, image, **options):
    path = tmp_path / name
    image.save(path, **options)
    return path


def test_rgb_png_and_jpeg(tmp_path, digits, reference):
    rgb = Image.fromarray(rgb_photo(digits[0][4]))
    assert close(imaging.to_mnist(save(tmp_path, "d.png", rgb)), reference)
    assert close(imaging.to_mnist(save(tmp_path, "d.jpg", rgb, quality=70)), reference)


def test_rgba_with_transparent_background_is_laid_on_white(tmp_path, digits, reference):
    alpha = 255 - on_paper(digits[0][4], paper=255, ink=0)
    rgba = np.zeros(alpha.shape + (4,), dtype=np.uint8)  # transparent pixels are black
    rgba[..., 3] = alpha
    path = save(tmp_path, "d.png", Image.fromarray(rgba))
    assert Image.open(path).mode == "RGBA"
    assert close(imaging.to_mnist(path), reference)
    assert close(imaging.to_mnist(rgba), reference)  # the same as an array


def test_palette_png(tmp_path, digits, reference):
    palette = Image.fromarray(rgb_photo(digits[0][4])).quantize(16)
    path = save(tmp_path, "d.png", palette)
    assert Image.open(path).mode == "P"
    assert close(imaging.to_mnist(path), reference)


def test_palette_png_with_transparency(tmp_path, digits, reference):
    image = Image.fromarray(on_paper(digits[0][4], paper=255, ink=0)).convert("P")
    path = save(tmp_path, "d.png", image, transparency=255)  # white is see-through
    assert "transparency" in Image.open(path).info
    assert close(imaging.to_mnist(path), reference)


def test_sixteen_bit_grayscale_png(tmp_path, digits, reference):
    faint = on_paper(digits[0][4]).astype(np.float64) / 255.0 * 0.3 + 0.6  # low contrast
    path = save(tmp_path, "d.png", Image.fromarray(np.round(faint * 65535).astype(np.uint16)))
    assert Image.open(path).mode.startswith("I")
    assert close(imaging.to_mnist(path), reference)


@pytest.mark.parametrize("mode", ["L", "LA", "1", "CMYK"])
def test_other_pillow_modes(digits, reference, mode):
    image = Image.fromarray(on_paper(digits[0][4])).convert(mode)
    assert close(imaging.to_mnist(image), reference, tolerance=0.06)


@pytest.mark.parametrize("convert", [
    lambda g: g, lambda g: g[..., None], lambda g: g / 255.0, lambda g: g.astype(np.uint16) * 257,
    lambda g: np.stack([g] * 3, axis=-1), lambda g: g.astype(np.int64),
], ids=["uint8", "hw1", "float", "uint16", "rgb", "int64"])
def test_numpy_arrays(digits, reference, convert):
    assert close(imaging.to_mnist(convert(on_paper(digits[0][4]))), reference)


def test_boolean_array_reads_like_black_and_white(digits):
    ink = on_paper(digits[0][4]) > 128
    np.testing.assert_allclose(imaging.to_mnist(ink),
                               imaging.to_mnist(ink.astype(np.uint8) * 255), atol=1e-5)


def test_exif_orientation_is_applied(tmp_path, digits, reference):
    upright = Image.fromarray(rgb_photo(digits[0][4]))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = save(tmp_path, "d.jpg", upright.rotate(90, expand=True), exif=exif, quality=90)
    assert close(imaging.to_mnist(path), reference)


def test_bytes_of_a_file(tmp_path, digits, reference):
    path = save(tmp_path, "d.png", Image.fromarray(rgb_photo(digits[0][4])))
    assert close(imaging.to_mnist(path.read_bytes(), name="upload.png"), reference)


# --- files and arrays that hold no digit -----------------------------------------------------

def blank_noisy(tmp_path):
    rng = np.random.default_rng(0)
    noise = np.clip(200 + rng.normal(0, 8, (120, 160)), 0, 255).astype(np.uint8)
    return save(tmp_path, "noisy.png", Image.fromarray(noise))


def specks_only(tmp_path):
    page = Image.new("L", (200, 200), 235)
    ImageDraw.Draw(page).point([(50, 50), (120, 80)], fill=0)
    return save(tmp_path, "specks.png", page)


BAD_FILES = {
    "not an image": (lambda t: t / "notes.png", b"these are not pixels", "not an image"),
    "empty": (lambda t: t / "empty.png", b"", "file is empty"),
    "truncated": (lambda t: t / "cut.png", None, "cannot be decoded"),
    "too small": (lambda t: save(t, "tiny.png", Image.new("L", (5, 30), 255)), None,
                  "too small"),
    "blank": (lambda t: save(t, "blank.png", Image.new("RGB", (300, 200), "white")), None,
              "blank"),
    "blank jpeg": (lambda t: save(t, "blank.jpg", Image.new("RGB", (300, 200), (240, 235, 220)),
                                  quality=60), None, "blank"),
    "blank noisy": (blank_noisy, None, "blank"),
    "specks only": (specks_only, None, "no digit"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_raises_image_error_naming_it(tmp_path, digits, case):
    make, content, fragment = BAD_FILES[case]
    path = make(tmp_path)
    if content is not None:
        path.write_bytes(content)
    if case == "truncated":
        full = save(tmp_path, "full.png", Image.fromarray(rgb_photo(digits[0][0])))
        path.write_bytes(full.read_bytes()[:400])
    with pytest.raises(dl.ImageError) as caught:
        imaging.to_mnist(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and fragment in message
    assert "\n" not in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(dl.ImageError, match=r"nowhere\.png: no such file$"):
        imaging.to_mnist(tmp_path / "nowhere.png")
    with pytest.raises(dl.ImageError, match="is a folder"):
        imaging.to_mnist(tmp_path)


@pytest.mark.parametrize("array, fragment", [
    (np.zeros((5, 5), np.uint8), "too small"),
    (np.zeros((40, 40, 2), np.uint8), "not an image"),
    (np.zeros((4, 40, 40, 3), np.uint8), "not an image"),
    (np.full((40, 40), np.nan), "NaN"),
    (np.full((40, 40), 255, np.uint8), "blank"),
])
def test_bad_arrays_raise_image_error(array, fragment):
    with pytest.raises(dl.ImageError, match=fragment) as caught:
        imaging.to_mnist(array)
    assert str(caught.value).startswith("image array of shape")


# --- the photos shipped with digitlib --------------------------------------------------------

def test_example_photos_are_small_named_and_readable():
    photos = imaging.example_photos()
    assert len(photos) >= 8
    modes = {Image.open(p).mode for p in photos}
    assert {"RGB", "RGBA", "P", "L"} <= modes and any(m.startswith("I") for m in modes)
    assert {p.suffix for p in photos} == {".png", ".jpg"}
    for path in photos:
        assert path.stat().st_size < 60_000
        assert path.stem.split("_")[1] in "0123456789"
        assert imaging.to_mnist(path).shape == (28, 28)


def test_synthetic_photo_is_seeded(digits):
    first = imaging.synthetic_photo(digits[0][0], np.random.default_rng(3))
    again = imaging.synthetic_photo(digits[0][0], np.random.default_rng(3))
    other = imaging.synthetic_photo(digits[0][0], np.random.default_rng(4))
    np.testing.assert_array_equal(first, again)
    assert first.ndim == 3 and first.shape[2] == 3 and first.dtype == np.uint8
    assert min(first.shape[:2]) >= 2 * 28
    assert first.shape != other.shape or not np.array_equal(first, other)
