"""Turn a photo of a handwritten digit into a 28 x 28 image that looks like MNIST.

MNIST's digits were made in a fixed way: light ink on a black background, the ink
scaled to fit a 20 x 20 box keeping its aspect ratio, then placed in a 28 x 28 field
so that its centre of mass sits in the middle. A model trained on MNIST only reads
digits made the same way, so each step below repeats one of those choices on a photo:

    read_image -> to_grayscale -> invert_if_light -> remove_background
    -> crop_to_ink -> set_stroke_width -> fit_in_box -> center_by_mass

:func:`to_mnist` runs them all; :func:`steps` returns every intermediate picture.
Two things MNIST's forms never had are handled on the way: the ruled or squared lines
of a notebook page are erased with the background, and an image holding several
digits side by side is refused (:func:`split_digits` reads each, left to right).
"""

from __future__ import annotations

import io
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from .errors import ImageError, SeveralDigitsError

EXAMPLES = Path(__file__).resolve().parent / "examples"
NUMERIC_MODES = ("I;16", "I;16B", "I;16L", "I", "F")  # Pillow modes of 16-bit and float scans
MIN_SIDE = 8  # pixels; smaller images cannot hold a readable digit
MAX_SIDE = 1024  # larger images are shrunk first, which keeps every step fast
BOX = 20  # MNIST fits the ink into a 20 x 20 box ...
SIZE = 28  # ... inside a 28 x 28 image ...
CENTRE = 14.0  # ... with the centre of mass at row 14, column 14 (measured on MNIST)
MIN_CONTRAST = 0.1  # ink must differ from the paper by a tenth of the grey range
NOISE_SIGMAS = 3.0  # grey levels within this many noise deviations count as paper
SPECK_FRACTION = 0.05  # ink blobs smaller than this share of the largest one are specks
MIN_INK = 8  # pixels; when even the largest blob is smaller, there are only specks
RULE_SPAN = 0.9  # a thin straight run of ink across this share of the page is a ruled line
RULE_PIECE = 0.05  # ... found as straight pieces this share of the page long (lines tilt)
RULE_SLOPES = np.linspace(-0.04, 0.04, 17)  # ... level, or tilted by up to 4 rows in 100
DIGIT_GAP = 0.1  # blobs this share of the ink's height apart, side by side, are two digits
DIGIT_HEIGHT = 0.5  # ... when each is at least this share of the tallest one's height
STROKE = 2.5  # pixels: MNIST's pen width in the 20 x 20 box (a digit traced that wide measures
#   about 2.8 by stroke_width at 28 x 28, as MNIST's digits do: median 2.85)
STROKE_SPREAD = 1.4  # strokes within this factor of STROKE, either way, are left as they are


def read_image(source: str | os.PathLike | bytes, name: str | None = None) -> Image.Image:
    """Open an image file (or the bytes of one) with Pillow, upright by its EXIF orientation.

    Raises:
        ImageError: naming the file (or ``name``): it is missing, empty, a folder, or not
            an image Pillow can decode.
    """
    label = name or _name(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageError(f"{label}: file is empty")
        return _decode(io.BytesIO(bytes(source)), label)
    path = Path(source)
    if not path.exists():
        raise ImageError(f"{label}: no such file")
    if path.is_dir():
        raise ImageError(f"{label}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageError(f"{label}: file is empty")
    return _decode(path, label)


def _decode(file, label: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                image.load()
                return ImageOps.exif_transpose(image)
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not an image file Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{label}: image is too large to be a photo of one digit") from None
    except OSError as error:
        raise ImageError(f"{label}: image cannot be decoded ({error.strerror or error})") from None
    except (SyntaxError, ValueError) as error:  # some Pillow decoders raise these
        raise ImageError(f"{label}: image cannot be decoded ({error})") from None


def to_grayscale(image: Image.Image | np.ndarray) -> np.ndarray:
    """Return the image as float32 grey levels in [0, 1] (1 is white), alpha laid on white.

    Accepts a Pillow image of any mode (L, RGB, RGBA, LA, P, 1, I;16, I, F, CMYK) or a
    NumPy array shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) of uint8, uint16, bool
    or floats in [0, 1]. Images larger than ``MAX_SIDE`` are shrunk, keeping the aspect.

    Raises:
        ImageError: the array has a shape that is not an image, or a side below ``MIN_SIDE``.
    """
    if isinstance(image, Image.Image):
        gray = _pillow_gray(image)
    else:
        gray = _array_gray(np.asarray(image))
    height, width = gray.shape
    if min(height, width) < MIN_SIDE:
        raise ImageError(f"image is {width}x{height} pixels, too small to hold a digit "
                         f"(needs at least {MIN_SIDE}x{MIN_SIDE})")
    return _limit_size(gray)


def _pillow_gray(image: Image.Image) -> np.ndarray:
    if image.mode == "F":
        return _array_gray(np.asarray(image))
    if image.mode in NUMERIC_MODES:  # 16-bit grey levels, whatever their range in this image
        return np.clip(np.asarray(image, dtype=np.float32) / 65535.0, 0, 1)
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB")
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _array_gray(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[-1] in (3, 4) and array.dtype == np.uint8:
        return _pillow_gray(Image.fromarray(array))  # the same grey levels as the file gives
    if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
        channels = _scaled(array)
        if array.shape[-1] == 4:  # lay the colour on white paper by its alpha
            alpha = channels[..., 3:]
            channels = channels[..., :3] * alpha + (1.0 - alpha)
        if channels.shape[-1] == 3:
            return (channels[..., :3] @ np.array([0.299, 0.587, 0.114])).astype(np.float32)
        return channels[..., 0].astype(np.float32)
    if array.ndim == 2:
        return _scaled(array).astype(np.float32)
    raise ImageError(f"an array of shape {array.shape} is not an image: expected (H, W) "
                     "grey levels or (H, W, 3|4) colours")


def _scaled(array: np.ndarray) -> np.ndarray:
    if array.dtype == bool:
        return array.astype(np.float64)
    if array.dtype == np.uint8:
        return array / 255.0
    if array.dtype == np.uint16:
        return array / 65535.0
    if np.issubdtype(array.dtype, np.integer):  # 8-bit or 16-bit levels in a wider type
        return np.clip(array / (255.0 if array.max(initial=0) <= 255 else 65535.0), 0, 1)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError("image array holds NaN or infinite values")
        return np.clip(array / (255.0 if array.max(initial=0) > 1 else 1.0), 0, 1)
    raise ImageError(f"an array of dtype {array.dtype} is not an image")


def _limit_size(gray: np.ndarray) -> np.ndarray:
    height, width = gray.shape
    scale = MAX_SIDE / max(height, width)
    if scale >= 1:
        return gray
    size = (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))
    return np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.BOX), np.float32)


def border_mask(shape: tuple[int, int]) -> np.ndarray:
    """Return True on the image's outer frame (5% of the shorter side), usually just paper."""
    width = max(1, round(0.05 * min(shape)))
    mask = np.ones(shape, dtype=bool)
    mask[width:-width, width:-width] = False
    return mask


def border(gray: np.ndarray) -> np.ndarray:
    """Return the pixels of the image's outer frame."""
    return gray[border_mask(gray.shape)]


def invert_if_light(gray: np.ndarray) -> np.ndarray:
    """Return the image as bright ink on a dark background, inverting it only if needed.

    The paper's grey level is the median of the border; the ink is whatever lies
    farthest from it. When the darkest ink is farther below the paper than the
    brightest is above it, the ink is dark on light paper and the image is inverted.
    White-on-black input such as MNIST is returned unchanged.
    """
    paper = float(np.median(border(gray)))
    smooth = ndimage.uniform_filter(gray, size=3)  # so single noisy pixels do not decide
    darker, lighter = paper - float(smooth.min()), float(smooth.max()) - paper
    if darker > lighter or (darker == lighter and paper > 0.5):
        return (1.0 - gray).astype(np.float32)
    return gray.astype(np.float32)


def background(ink: np.ndarray) -> np.ndarray:
    """Estimate the paper's level everywhere as a plane fitted to the border.

    A plane follows an even shadow or light falling off across the page. Border
    pixels far from the first fit (ink touching the edge, the ends of ruled lines) are
    left out of the second.
    """
    height, width = ink.shape
    rows, cols = np.nonzero(border_mask(ink.shape))
    design = np.stack([np.ones(rows.size), rows / height, cols / width], axis=1)
    values = ink[rows, cols].astype(np.float64)
    keep = np.ones(rows.size, dtype=bool)
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        residual = values - design @ coef
        residual -= np.median(residual)  # ruled lines at the edges pull the first fit up
        keep = np.abs(residual) <= max(3 * _noise(residual), 0.02)
    row, col = np.ogrid[:height, :width]
    return (coef[0] + coef[1] * row / height + coef[2] * col / width).astype(np.float32)


def _noise(values: np.ndarray) -> float:
    """Return a robust standard deviation: the median absolute deviation, scaled."""
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def remove_background(ink: np.ndarray) -> np.ndarray:
    """Subtract the paper's level and ruled lines, drop levels within its noise, scale ink to 1.

    Raises:
        ImageError: nothing stands out from the paper, so there is no digit to read.
    """
    residual = ink - background(ink)
    noise = _noise(border(residual))
    floor = max(NOISE_SIGMAS * noise, 0.02)
    cleaned = erase_rules(np.clip(residual - floor, 0, None))
    strokes = cleaned[cleaned > 0]
    peak = float(np.percentile(strokes, 99)) if strokes.size else 0.0
    if peak + floor < max(MIN_CONTRAST, 2 * NOISE_SIGMAS * noise):
        raise ImageError("no digit found: the image is blank (no ink stands out from the paper)")
    return np.clip(cleaned / peak, 0, 1).astype(np.float32)


def erase_rules(ink: np.ndarray) -> np.ndarray:
    """Subtract the ruled (or squared) lines of the paper from bright ink on black.

    A line of a notebook page runs thin and straight from edge to edge, which no stroke
    of a digit does: straight pieces of ink (a grey opening with a short line as the
    structuring element) lined up along a row, at a slight tilt of the photo, across
    ``RULE_SPAN`` of the page are a line. Subtracting the line's level (and its noise)
    along the line's rows, rather than blanking them, keeps what is left of the strokes
    that cross it.
    """
    ink = ink.astype(np.float32)
    rules = _rule_rows(ink) | _rule_rows(ink.T).T  # the columns: the lines of squared paper
    if not rules.any():
        return ink
    pieces = ink[rules & (ink > 0)]  # the lines' own grey levels, and how much they vary
    level = float(np.median(pieces)) + NOISE_SIGMAS * _noise(pieces) if pieces.size else 0.0
    return np.clip(ink - np.where(rules, level, 0), 0, None)


def _rule_rows(ink: np.ndarray) -> np.ndarray:
    """Return where ruled lines run along the rows of ``ink`` (level, or slightly tilted)."""
    height, width = ink.shape
    pieces = ndimage.grey_opening(ink, size=(1, max(5, round(RULE_PIECE * width))))
    band = ndimage.maximum_filter1d(pieces > 0, 3, axis=0)  # a line may drift by a pixel
    before = np.pad(band.cumsum(axis=1), ((0, 0), (1, 0)))  # ink before each column, by row
    rules = np.zeros(ink.shape, dtype=bool)
    for slope in RULE_SLOPES:
        blocks = _level_blocks(slope, width)
        pad = max(abs(shift) for _, _, shift in blocks)  # a line may leave by the top or bottom
        covered, inside = np.zeros(height + 2 * pad), np.zeros(height + 2 * pad)
        for start, stop, shift in blocks:  # row r of the page is row r - shift + pad, level
            level = slice(pad - shift, pad - shift + height)
            covered[level] += before[:, stop] - before[:, start]
            inside[level] += stop - start
        lines = (inside >= width / 4) & (covered >= RULE_SPAN * np.maximum(inside, 1))
        near = np.flatnonzero(ndimage.binary_dilation(lines))
        for start, stop, shift in blocks:
            rows = near - pad + shift
            rules[rows[(rows >= 0) & (rows < height)], start:stop] = True
    return rules


def _level_blocks(slope: float, width: int) -> list[tuple[int, int, int]]:
    """Split the columns into runs that a line of ``slope`` crosses at one row offset."""
    shifts = np.round(slope * (np.arange(width) - width / 2)).astype(int)
    edges = np.flatnonzero(np.diff(shifts)) + 1
    starts, stops = np.r_[0, edges], np.r_[edges, width]
    return [(int(a), int(b), int(shifts[a])) for a, b in zip(starts, stops)]


def ink_mask(cleaned: np.ndarray) -> np.ndarray:
    """Return where the ink is: every blob of ink pixels except isolated specks."""
    labels, count = ndimage.label(cleaned > 0, structure=np.ones((3, 3)))
    if count == 0:
        return np.zeros(cleaned.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0  # the background is no blob
    if sizes.max() < MIN_INK:
        return np.zeros(cleaned.shape, dtype=bool)
    return (sizes >= SPECK_FRACTION * sizes.max())[labels]


def digit_columns(mask: np.ndarray) -> list[slice]:
    """Return the column ranges of the separate digits in an ink mask, left to right.

    Blobs whose columns overlap, or lie closer than ``DIGIT_GAP`` of the ink's height,
    belong to one digit (the detached bar of a 5, a broken stroke). A group shorter than
    ``DIGIT_HEIGHT`` of the tallest (a dot, a dash) is no digit of its own: it joins the
    nearest digit.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return []
    gap = max(2, DIGIT_GAP * (rows[-1] - rows[0] + 1))
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    boxes = sorted((box[1].start, box[1].stop, box[0].stop - box[0].start)
                   for box in ndimage.find_objects(labels) if box is not None)
    groups = []  # [first column, end column, height]
    for start, stop, height in boxes:
        if groups and start < groups[-1][1] + gap:
            groups[-1] = [groups[-1][0], max(groups[-1][1], stop), max(groups[-1][2], height)]
        else:
            groups.append([start, stop, height])
    tallest = max(height for _, _, height in groups)
    digits = [group for group in groups if group[2] >= DIGIT_HEIGHT * tallest]
    for start, stop, height in groups:  # small marks join the nearest digit
        if height < DIGIT_HEIGHT * tallest:
            near = min(digits, key=lambda d: min(abs(start - d[1]), abs(d[0] - stop)))
            near[0], near[1] = min(near[0], start), max(near[1], stop)
    return [slice(start, stop) for start, stop, _ in digits]


def crop_to_ink(cleaned: np.ndarray) -> np.ndarray:
    """Cut the image down to the bounding box of its ink, erasing specks around it.

    Raises:
        ImageError: the ink is too small to be a digit, or it is several digits.
    """
    mask = ink_mask(cleaned)
    found = digit_columns(mask)
    if len(found) > 1:
        raise SeveralDigitsError(f"holds {len(found)} digits side by side, not one: crop it to one "
                         "digit, or read each with digitlib.imaging.split_digits")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0 or max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < 3:
        raise ImageError("no digit found: the only ink is a few specks")
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return np.where(mask, cleaned, 0)[box].astype(np.float32)


def stroke_width(ink: np.ndarray, close_gaps: bool = False) -> float:
    """Return the mean width of the ink's strokes in pixels: twice its area over its outline.

    A stroke of width w and length L covers w * L pixels and is outlined by about 2 * L of
    them, so the ratio does not depend on how long the strokes are. ``close_gaps`` first fills
    gaps of a pixel (the dots of a dithered scan, the grain of pencil), which would otherwise
    count as outline and make strokes look thin.
    """
    mask = np.pad(ink > 0.5 * float(ink.max()), 2)
    if close_gaps:
        mask = ndimage.binary_closing(mask)
    outline = mask & ~ndimage.binary_erosion(mask)
    return 2.0 * float(mask.sum()) / max(1, int(outline.sum()))


def grainy(crop: np.ndarray, box: int = BOX) -> bool:
    """Return whether gaps of a pixel in ``crop`` are grain: it is more than twice ``box`` high or wide.

    In a large crop they are the dots of a scan or the grain of pencil; at MNIST's size they
    can be the inside of a loop.
    """
    return max(crop.shape) > 2 * box


def set_stroke_width(crop: np.ndarray, box: int = BOX, stroke: float = STROKE) -> np.ndarray:
    """Redraw the strokes of a cropped digit as wide as MNIST's will be once it is fitted in the box.

    MNIST's writers used pens about an eighth of a digit's height wide; a fine pen photographed
    up close draws far thinner strokes, which shrink to faint lines of less than a pixel. Much
    thinner strokes are thickened: every pixel within the missing half-width of the ink becomes
    ink. Much thicker ones (a marker) are thinned the same way, from the outside in, unless that
    would leave almost nothing. Strokes within ``STROKE_SPREAD`` of MNIST's are left alone, so
    most MNIST digits pass through unchanged (the thickest few are thinned).
    """
    mask = crop > 0.5 * float(crop.max())
    want = stroke * max(crop.shape) / box  # MNIST's width, in this image's pixels
    width = stroke_width(crop, close_gaps=grainy(crop, box))
    if width < want / STROKE_SPREAD:
        grow = (want - width) / 2
        pad = int(np.ceil(grow)) + 1
        near = ndimage.distance_transform_edt(~np.pad(mask, pad)) <= grow
        redrawn = np.maximum(np.pad(crop, pad), near.astype(np.float32))
    elif width > STROKE_SPREAD * want:
        core = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1] > (width - want) / 2
        if core.sum() < 0.2 * mask.sum():
            return crop
        redrawn = np.where(core, crop, 0).astype(np.float32)
    else:
        return crop
    rows, cols = np.flatnonzero(redrawn.any(axis=1)), np.flatnonzero(redrawn.any(axis=0))
    return redrawn[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32)


def fit_in_box(crop: np.ndarray, box: int = BOX) -> np.ndarray:
    """Resize the ink so its longer side is ``box`` pixels, keeping its aspect ratio.

    Pillow's Lanczos filter averages over every source pixel when it shrinks
    (anti-aliasing), which gives the soft grey edges MNIST's digits have. Its slight
    overshoot above 1 is clipped; ink too faint to reach 1 is brightened until it does.
    """
    height, width = crop.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(Image.fromarray(crop.astype(np.float32)).resize(
        size, Image.Resampling.LANCZOS), dtype=np.float32)
    peak = float(resized.max())
    return np.clip(resized / min(max(peak, 1e-6), 1.0), 0, 1).astype(np.float32)


def center_by_mass(fitted: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Place the ink in a ``size`` x ``size`` image with its centre of mass in the middle.

    MNIST shifted each digit by whole pixels so that the centre of mass of its ink
    lands on row 14, column 14; the ink never leaves the image.
    """
    height, width = fitted.shape
    centre_row, centre_col = ndimage.center_of_mass(fitted)
    top = int(np.clip(round(CENTRE * size / SIZE - centre_row), 0, size - height))
    left = int(np.clip(round(CENTRE * size / SIZE - centre_col), 0, size - width))
    image = np.zeros((size, size), dtype=np.float32)
    image[top:top + height, left:left + width] = fitted
    return image


def steps(source, name: str | None = None, restroke: bool = True) -> dict[str, np.ndarray]:
    """Run every preprocessing step on a photo; return each step's result by name.

    Args:
        source: a path, the bytes of an image file, a Pillow image, or an array.
        name: what to call the image in errors (default: its path, or a description).
        restroke: redraw the strokes as wide as MNIST's pen (``False`` skips that step,
            to see what it does; ``restroked`` is then the crop itself).

    Returns:
        A dict from step name to image, in order: ``original`` (as read, for display),
        ``grayscale``, ``inverted``, ``cleaned``, ``cropped``, ``restroked`` (strokes as
        wide as MNIST's), ``fitted`` (20 x 20 at most) and ``mnist`` (28 x 28 float32 in
        [0, 1], what the model reads).

    Raises:
        ImageError: naming the image and why it holds no readable digit.
    """
    name = name or _name(source)
    with _named(name):
        image = _open(source, name)
        result = {"original": _display(image)}
        result["grayscale"] = to_grayscale(image)
        result["inverted"] = invert_if_light(result["grayscale"])
        result["cleaned"] = remove_background(result["inverted"])
        result.update(_from_cleaned(result["cleaned"], restroke))
    return result


def _from_cleaned(cleaned: np.ndarray, restroke: bool) -> dict[str, np.ndarray]:
    """Run the steps from crop to centre on one digit's cleaned ink; return each by name."""
    result = {"cropped": crop_to_ink(cleaned)}
    result["restroked"] = set_stroke_width(result["cropped"]) if restroke else result["cropped"]
    result["fitted"] = fit_in_box(result["restroked"])
    result["mnist"] = center_by_mass(result["fitted"])
    return result


def to_mnist(source, name: str | None = None, restroke: bool = True) -> np.ndarray:
    """Turn a photo (path, file bytes, Pillow image or array) into an MNIST-style digit.

    Returns:
        float32 array (28, 28) in [0, 1], bright ink on black, like one image of
        ``digitlib.prepare_images`` without its channel axis.

    Raises:
        ImageError: naming the image and the reason it holds no readable digit.
    """
    return steps(source, name, restroke)["mnist"]


def split_digits(source, name: str | None = None, restroke: bool = True) -> list[np.ndarray]:
    """Turn an image of one or more digits side by side into MNIST-style digits, left to right.

    Raises:
        ImageError: naming the image and the reason it holds no readable digit.
    """
    name = name or _name(source)
    with _named(name):
        cleaned = remove_background(invert_if_light(to_grayscale(_open(source, name))))
        mask = ink_mask(cleaned)
        digits = []
        for columns in digit_columns(mask) or [slice(None)]:
            one = np.zeros_like(cleaned)
            one[:, columns] = np.where(mask, cleaned, 0)[:, columns]
            digits.append(_from_cleaned(one, restroke)["mnist"])
    return digits


def plain_resize(source, name: str | None = None) -> np.ndarray:
    """Shrink the whole photo to 28 x 28 grey levels, the naive way (for comparison)."""
    name = name or _name(source)
    with _named(name):
        gray = to_grayscale(_open(source, name))
    small = Image.fromarray(gray).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(small, dtype=np.float32), 0, 1)


def _open(source, name: str):
    if isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        return read_image(source, name)
    return source


@contextmanager
def _named(name: str):
    """Put the image's name in front of any ImageError raised inside the block."""
    try:
        yield
    except ImageError as error:
        if str(error).startswith(f"{name}: "):
            raise
        raise type(error)(f"{name}: {error}") from None


def _name(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "image data"
    if isinstance(source, Image.Image):
        return f"{source.width}x{source.height} {source.mode} image"
    return f"image array of shape {np.shape(source)}"


def _display(image) -> np.ndarray:
    if not isinstance(image, Image.Image):
        return np.asarray(image)
    if image.mode in ("L", "RGB", "RGBA") + NUMERIC_MODES:
        return np.asarray(image)
    has_alpha = "A" in image.mode or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))


def example_photos() -> list[Path]:
    """Return the example photos shipped with digitlib, named ``<kind>_<digit>_<n>``."""
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".png", ".jpg"))


def synthetic_photo(digit: np.ndarray, rng: np.random.Generator, scale=(2.0, 6.0),
                    margin=(0.2, 1.5), noise: float = 0.03) -> np.ndarray:
    """Turn one MNIST digit into a photo-like RGB image of dark ink on tinted paper.

    The digit is enlarged by a random factor in ``scale``, placed at a random spot in
    a frame with random margins (``margin`` times the digit's size on each side),
    coloured like a pen on paper under uneven light, and given Gaussian noise.

    Returns:
        uint8 array (H, W, 3).
    """
    size = round(SIZE * rng.uniform(*scale))
    ink = np.asarray(Image.fromarray(np.asarray(digit, dtype=np.uint8)).resize(
        (size, size), Image.Resampling.BICUBIC), dtype=np.float64) / 255.0
    pad = [round(size * rng.uniform(*margin)) for _ in range(4)]  # top, bottom, left, right
    alpha = np.pad(ink, ((pad[0], pad[1]), (pad[2], pad[3])))
    paper = rng.uniform(0.72, 0.97) * (1 - rng.uniform(0, 0.12, size=3))  # tinted
    pen = rng.uniform(0.0, 0.3) * np.array([1.0, 1.0, 1.0]) + rng.uniform(0, 0.25, size=3)
    light = _light(alpha.shape, rng)
    photo = (paper * (1 - alpha[..., None]) + pen * alpha[..., None]) * light[..., None]
    photo += rng.normal(0, noise, size=photo.shape)
    return np.clip(np.round(photo * 255), 0, 255).astype(np.uint8)


def _light(shape, rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.indices(shape) / np.array(shape).reshape(2, 1, 1)
    slope_row, slope_col = rng.uniform(-0.12, 0.12, size=2)
    return 1.0 + slope_row * (rows - 0.5) + slope_col * (cols - 0.5)
