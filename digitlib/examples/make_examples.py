"""Write the example photos of lesson 06 into this folder, the same bytes every time.

Run it from the repository root with a full copy of MNIST:

    DIGITLIB_DATA=/path/to/mnist python digitlib/examples/make_examples.py

Each file is named ``<kind>_<digit>_<letter>.<ext>``, so its true digit is in its name.

- ``photo_*``: the first MNIST *test* digit of its class (never seen in training), made
  to look like a photo the way a reader's would: dark ink on tinted paper, enlarged,
  off-centre in a larger frame, uneven light, noise. Each one also stresses one part of
  the preprocessing: two JPEGs, a transparent PNG, a palette PNG, a 16-bit scan, a small
  digit in a corner under a shadow, chalk on a blackboard, dust specks.
- ``drawn_*``: digits drawn with thick pen strokes by Pillow's ``ImageDraw``.

Every file stays under 60 KB.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

import digitlib as dl
from digitlib.imaging import synthetic_photo

HERE = Path(__file__).resolve().parent
MAX_BYTES = 60_000


def first_test_digit(mnist, digit: int) -> np.ndarray:
    """Return the first test image of ``digit``."""
    return mnist.x_test[np.flatnonzero(mnist.y_test == digit)[0]]


def photo(mnist, digit: int, seed: int, **options) -> np.ndarray:
    """Return a photo-like RGB array of the first test image of ``digit``."""
    return synthetic_photo(first_test_digit(mnist, digit), np.random.default_rng(seed),
                           **options)


def transparent(mnist, digit: int) -> Image.Image:
    """Return the digit as dark ink on a fully transparent background (RGBA)."""
    ink = Image.fromarray(first_test_digit(mnist, digit)).resize((112, 112),
                                                                 Image.Resampling.BICUBIC)
    alpha = np.pad(np.asarray(ink), ((30, 50), (70, 20)))
    rgba = np.zeros(alpha.shape + (4,), dtype=np.uint8)  # transparent pixels are black
    rgba[..., :3] = (20, 30, 90)
    rgba[..., 3] = alpha
    rgba[alpha == 0, :3] = 0
    return Image.fromarray(rgba)


def sixteen_bit(mnist, digit: int) -> Image.Image:
    """Return a faint pencil digit on grey paper as a 16-bit grayscale scan."""
    rgb = photo(mnist, digit, seed=4, scale=(3.0, 3.0), margin=(0.2, 0.5), noise=0.004)
    gray = rgb.astype(np.float64).mean(axis=2) / 255.0
    faint = 0.55 + 0.3 * gray  # pencil: the ink is only a little darker than the paper
    return Image.fromarray(np.round(faint * 65535).astype(np.uint16))


def small_in_corner(mnist, digit: int) -> Image.Image:
    """Return a small digit near the bottom-right corner of a big page, in a shadow."""
    rng = np.random.default_rng(6)
    ink = np.asarray(Image.fromarray(first_test_digit(mnist, digit)).resize(
        (70, 70), Image.Resampling.BICUBIC), dtype=np.float64) / 255.0
    alpha = np.pad(ink, ((175, 15), (225, 25)))  # a 260 x 320 page
    page = 0.9 * (1 - alpha) + 0.15 * alpha + rng.normal(0, 0.01, alpha.shape)
    shadow = np.linspace(0.55, 1.0, alpha.shape[1])[np.newaxis, :]  # darker to the left
    return Image.fromarray(np.clip(np.round(page * shadow * 255), 0, 255).astype(np.uint8))


def blackboard(mnist, digit: int) -> Image.Image:
    """Return the digit in white chalk on a dark green board: light ink, no inversion."""
    rng = np.random.default_rng(7)
    ink = np.asarray(Image.fromarray(first_test_digit(mnist, digit)).resize(
        (120, 120), Image.Resampling.BICUBIC), dtype=np.float64) / 255.0
    alpha = np.pad(ink, ((20, 40), (60, 30)))[..., np.newaxis]
    board, chalk = np.array([0.16, 0.25, 0.2]), np.array([0.92, 0.92, 0.88])
    rgb = board * (1 - alpha) + chalk * alpha + rng.normal(0, 0.006, alpha.shape[:2] + (3,))
    return Image.fromarray(np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8))


def dusty(mnist, digit: int) -> Image.Image:
    """Return a photo with dark dust specks scattered over the paper."""
    image = Image.fromarray(photo(mnist, digit, seed=8, scale=(4.0, 4.0), margin=(0.2, 0.8)))
    draw, rng = ImageDraw.Draw(image), np.random.default_rng(8)
    for _ in range(25):
        x, y = rng.integers(0, image.width), rng.integers(0, image.height)
        r = int(rng.integers(1, 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(60, 55, 50))
    return image


def drawn_three() -> Image.Image:
    """Return a 3 drawn as two arcs with a thick black pen on white."""
    image = Image.new("RGB", (220, 280), "white")
    draw = ImageDraw.Draw(image)
    draw.arc((60, 40, 160, 140), start=200, end=90, fill="black", width=16)
    draw.arc((55, 125, 165, 235), start=270, end=150, fill="black", width=16)
    return image


def drawn_five() -> Image.Image:
    """Return a 5 drawn with a blue marker on light grey paper, slightly slanted."""
    image = Image.new("RGB", (240, 260), (225, 225, 220))
    draw = ImageDraw.Draw(image)
    blue = (30, 40, 150)
    draw.line([(160, 45), (92, 45), (82, 128)], fill=blue, width=14, joint="curve")
    draw.arc((62, 105, 172, 215), start=215, end=150, fill=blue, width=14)
    return image.rotate(-6, fillcolor=(225, 225, 220), resample=Image.Resampling.BICUBIC)


def examples(mnist) -> dict[str, Image.Image]:
    """Return every example image by its file name."""
    palette = Image.fromarray(photo(mnist, 0, seed=3, noise=0.01)).quantize(16)
    jpeg = Image.fromarray(photo(mnist, 2, seed=1)).filter(ImageFilter.GaussianBlur(1.2))
    return {
        "photo_7_a.png": Image.fromarray(photo(mnist, 7, seed=0, scale=(4, 4), margin=(0.2, 0.6),
                                                noise=0.01)),
        "photo_2_b.jpg": jpeg,
        "photo_1_c.png": transparent(mnist, 1),
        "photo_0_d.png": palette,
        "photo_4_e.png": sixteen_bit(mnist, 4),
        "photo_9_f.png": small_in_corner(mnist, 9),
        "photo_6_g.png": blackboard(mnist, 6),
        "photo_8_h.jpg": dusty(mnist, 8),
        "drawn_3_a.png": drawn_three(),
        "drawn_5_b.png": drawn_five(),
    }


def main() -> None:
    """Write the examples and print each file's size and mode."""
    mnist = dl.load_mnist()
    if not mnist.is_full:
        raise SystemExit("needs the full MNIST test set: set DIGITLIB_DATA")
    for name, image in examples(mnist).items():
        data = encode(image, Path(name).suffix)
        if len(data) > MAX_BYTES:
            raise SystemExit(f"{name} is {len(data):,} bytes, over the {MAX_BYTES:,} limit")
        (HERE / name).write_bytes(data)
        print(f"{name:15} {image.mode:5} {image.width}x{image.height}  {len(data) / 1000:.1f} KB")


def encode(image: Image.Image, suffix: str) -> bytes:
    """Return the image as the bytes of a JPEG (quality 85) or an optimised PNG."""
    stream = io.BytesIO()
    if suffix == ".jpg":
        image.save(stream, format="JPEG", quality=85)
    else:
        image.save(stream, format="PNG", optimize=True)
    return stream.getvalue()


if __name__ == "__main__":
    main()
