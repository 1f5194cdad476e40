"""Measure where each trained network breaks: moved, turned, resized, thinned digits, and digits that are not MNIST.

Usage (from the repository root, with DIGITLIB_DATA pointing at a full MNIST copy):

    digitlib run -p model default --run-dir runs/default --last 4     # and seed, kerasio, best
    python benchmarks/robustness.py --model default=runs/default/mnist.keras \\
        --model seed=runs/seed/mnist.keras --train augmented previous-default

``--model NAME=FILE`` reads a network a run trained; ``--train`` trains a variant here on the
lessons' 54,000-image split, as lesson 4 does (benchmarks/lesson_fit.py):
``previous-default`` is the default network before it cropped the border and strided its
first convolution (for issue 27's "no worse than before"); ``unshifted`` is the default until
2026-12-03, today's network without its random shifts of up to 2 pixels (both in batches of
128, as they were trained then); ``augmented`` is today's network with random shifts, turns and
zooms that act only while it trains, ``mild`` milder ones (shifts of 2 pixels, turns of 8° and
zooms of 10%), ``stroked`` shifts and strokes made thinner or thicker; ``default`` is today's
default, trained here beside them. Results files before 2026-12-03 name a ``shifted`` variant:
the default of then behind 2-pixel shifts, which is today's default network in batches of 128.

The test sets, none of which any recipe was tuned on:

- MNIST's 10,000 test digits as stored, then moved 1 to 4 pixels (in one of eight directions,
  drawn per digit), turned by ±10° and ±20°, scaled by 0.7 and 1.2 about the centre, with
  strokes thinned and thickened (a grey erosion or dilation of 2 × 2 pixels);
- scikit-learn's 1,797 handwritten digits (UCI "optical recognition of handwritten digits":
  43 writers, none of them MNIST's, 8 × 8 pixels), enlarged and made MNIST-style by
  ``digitlib.imaging.to_mnist``;
- each digit written in the handwriting fonts of Debian's font packages found here
  (fonts-dkg-handwriting, fonts-breip, fonts-bwht, fonts-femkeklaver, fonts-humor-sans,
  fonts-comic-neue, fonts-dancingscript, fonts-kaushanscript, fonts-ecolier-court), rendered
  as photos (tinted paper, uneven light, noise, a slight turn), plain and on ruled paper,
  then read through ``to_mnist``;
- the same fonts' digits traced by a pen: each glyph thinned to its centre line (Zhang and
  Suen's thinning), then drawn along it with a round pen 3%, 6% or 12% of the digit's height
  wide (a fine pen on a close photo, a felt tip, MNIST's own width), photographed the same way.

``--no-restroke`` reads every photo without ``digitlib.imaging.set_stroke_width``, as
``to_mnist`` did before that step existed, to measure what it adds.

Results go to OUT.md and OUT.json (--out; by default benchmarks/results/robustness-YYYY-MM-DD),
never over an existing file.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from _common import (UNSHIFTED_BATCH_SIZE, default_network_layers, lessons_split, machine,
                     out_path, random_strokes, write_text)

FONT_FILES = ("dkg", "breip", "BecauseWe", "femkeklaver", "Humor-Sans", "ComicNeue",
              "DancingScript", "KaushanScript", "Ecolier")  # the packages' file names
RENDERS = 3  # photos of each digit in each font, each placed and turned at random
PENS = (0.03, 0.06, 0.12)  # pen widths of the traced digits, as shares of a digit's height


# --- test sets: each returns 28 x 28 float images in [0, 1] and their labels ---------------

def moved(x, pixels: int, rng):
    """Return each digit moved ``pixels`` in one of eight directions, drawn per digit."""
    directions = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx])
    picks = directions[rng.integers(0, 8, size=len(x))] * pixels
    return np.stack([ndimage.shift(image, shift, order=0) for image, shift in zip(x, picks)])


def turned(x, degrees: float):
    """Return each digit turned by ``degrees`` about the image centre."""
    return np.clip(ndimage.rotate(x, degrees, axes=(2, 1), reshape=False, order=1), 0, 1)


def scaled(x, factor: float):
    """Return each digit scaled by ``factor`` about the image centre, still 28 x 28."""
    out = np.zeros_like(x)
    for k, image in enumerate(x):
        zoomed = ndimage.zoom(image, factor, order=1)
        size = zoomed.shape[0]
        if size >= 28:
            start = (size - 28) // 2
            out[k] = zoomed[start:start + 28, start:start + 28]
        else:
            start = (28 - size) // 2
            out[k, start:start + size, start:start + size] = zoomed
    return np.clip(out, 0, 1)


def stroked(x, thicker: bool):
    """Return each digit with its strokes thickened or thinned by a 2 x 2 grey dilation or erosion."""
    change = ndimage.grey_dilation if thicker else ndimage.grey_erosion
    return np.stack([change(image, size=(2, 2)) for image in x])


def uci_digits(restroke: bool = True):
    """Return scikit-learn's 1,797 handwritten 8 x 8 digits, made MNIST-style by to_mnist."""
    from sklearn.datasets import load_digits

    from digitlib.imaging import to_mnist

    data = load_digits()
    framed = np.pad(data.images / 16.0, ((0, 0), (4, 4), (4, 4)))  # their ink touches the edge
    images = [np.asarray(Image.fromarray(image.astype(np.float32)).resize(
        (96, 96), Image.Resampling.BILINEAR)) for image in framed]
    return np.stack([to_mnist(image, restroke=restroke) for image in images]), data.target


def font_files() -> list[Path]:
    """Return the handwriting fonts installed here (one file per font), by name."""
    from matplotlib import font_manager

    found = sorted({Path(p) for p in font_manager.findSystemFonts()
                    if any(Path(p).name.startswith(name) for name in FONT_FILES)})
    return found


SIDE = 240  # pixels of each photo's side


def glyph(font: ImageFont.FreeTypeFont, digit: int, rng) -> np.ndarray:
    """Return ``digit`` written in ``font`` as ink from 0 to 1, placed and turned at random."""
    canvas = Image.new("L", (SIDE, SIDE), 0)
    draw = ImageDraw.Draw(canvas)
    box = draw.textbbox((0, 0), str(digit), font=font)
    width, height = box[2] - box[0], box[3] - box[1]
    left = rng.uniform(0.1, 0.9) * (SIDE - width) - box[0]
    top = rng.uniform(0.1, 0.9) * (SIDE - height) - box[1]
    draw.text((left, top), str(digit), fill=255, font=font)
    return np.asarray(canvas.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR),
                      dtype=np.float64) / 255.0


def thinned(mask: np.ndarray) -> np.ndarray:
    """Return a shape's centre line, one pixel wide: Zhang and Suen's thinning (1984)."""
    image = np.pad(mask, 1).astype(np.uint8)
    while True:
        changed = False
        for first in (True, False):
            # the eight neighbours, clockwise from the one above: P2 ... P9 in the paper
            p = [np.roll(image, shift, axis=(0, 1)) for shift in
                 ((1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1))]
            count = sum(p)
            crossings = sum((p[k] == 0) & (p[(k + 1) % 8] == 1) for k in range(8))
            if first:
                side = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                side = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            remove = (image == 1) & (count >= 2) & (count <= 6) & (crossings == 1) & side
            if remove.any():
                image[remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def traced(ink: np.ndarray, pen: float) -> np.ndarray:
    """Return the glyph's centre line drawn with a round pen ``pen`` times its height wide."""
    mask = ink > 0.5
    rows = np.flatnonzero(mask.any(axis=1))
    radius = max(0.5, pen * (rows[-1] - rows[0] + 1) / 2)
    line = ndimage.distance_transform_edt(~thinned(mask)) <= radius
    return ndimage.gaussian_filter(line.astype(np.float64), 0.7)  # the pen's soft edge


def font_photo(font: ImageFont.FreeTypeFont, digit: int, rng, ruled: bool,
               pen: float | None = None) -> np.ndarray:
    """Return an RGB photo of ``digit`` written in ``font`` (or traced by a ``pen``): dark ink on lit, tinted paper."""
    ink = glyph(font, digit, rng)
    if pen is not None:
        ink = traced(ink, pen)
    paper = rng.uniform(0.75, 0.97) * (1 - rng.uniform(0, 0.1, size=3))
    photo = np.ones((SIDE, SIDE, 3)) * paper
    if ruled:
        rows = np.arange(SIDE)[:, None] + rng.uniform(-0.02, 0.02) * np.arange(SIDE)[None, :]
        line = (rows % rng.uniform(22, 34)) < 2
        photo[line] = photo[line] * np.array([0.6, 0.72, 0.98])  # light-blue rules
    colour = rng.uniform(0.0, 0.3) + rng.uniform(0, 0.2, size=3)  # the ink's, dark and tinted
    photo = photo * (1 - ink[..., None]) + colour * ink[..., None]
    light = 1.0 + rng.uniform(-0.12, 0.12) * (np.arange(SIDE) / SIDE - 0.5)
    photo = photo * light[:, None, None] + rng.normal(0, 0.02, size=photo.shape)
    return np.clip(np.round(photo * 255), 0, 255).astype(np.uint8)


def font_digits(fonts: list[Path], ruled: bool, seed: int, pen: float | None = None,
                restroke: bool = True):
    """Return every digit in every font (traced by ``pen``) as photos made MNIST-style by to_mnist."""
    from digitlib.imaging import to_mnist

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for path in fonts:
        font = ImageFont.truetype(str(path), size=150)
        for digit in range(10):
            for _ in range(RENDERS):
                images.append(to_mnist(font_photo(font, digit, rng, ruled, pen), restroke=restroke))
                labels.append(digit)
    return np.stack(images), np.array(labels)


def test_sets(x_test, y_test, seed: int, restroke: bool = True) -> dict:
    """Return every test set by name: (images, labels, what it is)."""
    rng = np.random.default_rng(seed)
    sets = {"MNIST test digits": (x_test, y_test, "as stored")}
    for pixels in (1, 2, 3, 4):
        sets[f"moved {pixels} px"] = (moved(x_test, pixels, rng), y_test, "MNIST test, moved")
    for degrees in (-20, -10, 10, 20):
        sets[f"turned {degrees:+d}°"] = (turned(x_test, degrees), y_test, "MNIST test, turned")
    for factor in (0.7, 1.2):
        sets[f"scaled {factor}"] = (scaled(x_test, factor), y_test, "MNIST test, scaled")
    sets["strokes thinned"] = (stroked(x_test, False), y_test, "MNIST test, 2 x 2 erosion")
    sets["strokes thickened"] = (stroked(x_test, True), y_test, "MNIST test, 2 x 2 dilation")
    uci, uci_labels = uci_digits(restroke)
    sets["UCI handwritten digits"] = (uci, uci_labels, "43 writers, not MNIST's")
    fonts = font_files()
    if fonts:
        for ruled in (False, True):
            x, y = font_digits(fonts, ruled, seed, restroke=restroke)
            paper = "ruled paper" if ruled else "plain paper"
            sets[f"handwriting fonts, {paper}"] = (
                x, y, f"{len(fonts)} fonts x 10 digits x {RENDERS} photos")
        for pen in PENS:
            x, y = font_digits(fonts, False, seed, pen, restroke)
            sets[f"fonts traced, pen {pen:.0%} of height"] = (
                x, y, f"{len(fonts)} fonts x 10 digits x {RENDERS} photos")
    return sets


# --- networks ---------------------------------------------------------------------------------

def previous_default():
    """Build the default network as it was before it cropped the border (SpaceToDepth, 2 pools)."""
    import digitlib as dl
    from custom_layers import MaxPool2x2, SpaceToDepth

    layers = dl.models.keras.layers
    return dl.models.keras.Sequential([
        dl.models.keras.Input((28, 28, 1)), SpaceToDepth(2),
        layers.Conv2D(32, 3, activation="relu"), MaxPool2x2(),
        layers.Conv2D(128, 3, activation="relu"), MaxPool2x2(),
        layers.Flatten(), layers.Dropout(0.1), layers.Dense(256, activation="relu"),
        layers.Dropout(0.3), layers.Dense(10, activation="softmax")], name="previous_default")


def behind(name: str, *augment):
    """Build today's default network behind the ``augment`` layers instead of its own shifts."""
    import digitlib as dl

    keras = dl.models.keras
    return keras.Sequential([keras.Input((28, 28, 1)), *augment, *default_network_layers()],
                            name=name)


def unshifted_default():
    """Build the default until 2026-12-03: today's network without its random shifts."""
    return behind("unshifted")


def augmented_default():
    """Build today's default behind random shifts, turns and zooms that act only in training."""
    layers = behind_layers()
    return behind("augmented", layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
                  layers.RandomRotation(15 / 360, fill_mode="constant"),
                  layers.RandomZoom((-0.2, 0.2), fill_mode="constant"))


def mild_default():
    """Build today's default behind shifts of 2 pixels, turns of 8° and zooms of 10%, in training."""
    layers = behind_layers()
    return behind("mild", layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),
                  layers.RandomRotation(8 / 360, fill_mode="constant"),
                  layers.RandomZoom((-0.1, 0.1), fill_mode="constant"))


def stroked_default():
    """Build today's default behind 2-pixel shifts and strokes made thinner or thicker, in training."""
    layers = behind_layers()
    return behind("stroked", layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),
                  random_strokes())


def behind_layers():
    """Return Keras' layers module, loaded through digitlib (quiet, the chosen backend)."""
    import digitlib as dl

    return dl.models.keras.layers


def default():
    """Build today's default, to train it here beside the variants."""
    import digitlib as dl

    return dl.build_model("default")


VARIANTS = {"default": default, "previous-default": previous_default,
            "unshifted": unshifted_default, "augmented": augmented_default, "mild": mild_default,
            "stroked": stroked_default}
#: Batch sizes of the variants that keep the recipe they were the default with (otherwise
#: today's default recipe's).
BATCH_SIZES = {"previous-default": UNSHIFTED_BATCH_SIZE, "unshifted": UNSHIFTED_BATCH_SIZE}


def train_variant(name: str, split: dict, seed: int):
    """Train a variant with the default's recipe as lesson 4 does; return it and its seconds.

    The former defaults keep the batch size they were trained with (``BATCH_SIZES``).
    """
    import digitlib as dl
    from lesson_fit import train

    dl.set_seed(seed)
    network = VARIANTS[name]()
    recipe = dl.models.recipe("default", batch_size=BATCH_SIZES.get(name))
    result = train(network, recipe, split["x_train"], split["y_train"],
                   split["x_val"], split["y_val"], seed=seed)
    return network, result["train_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=FILE",
                        help="a trained network to test (repeat)")
    parser.add_argument("--train", nargs="*", default=[], choices=sorted(VARIANTS),
                        help="variants to train here with the default's recipe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-restroke", action="store_true",
                        help="read photos without set_stroke_width, as to_mnist did before it")
    parser.add_argument("--out", help="output path without suffix (default: "
                        "benchmarks/results/robustness-YYYY-MM-DD)")
    args = parser.parse_args()
    out = out_path("robustness", args.out, (".md", ".json"))

    import digitlib as dl

    split = lessons_split()
    networks, notes = {}, {}
    for given in args.model:
        name, _, file = given.partition("=")
        networks[name] = dl.models.keras.saving.load_model(file, compile=False)
        notes[name] = f"trained by `digitlib run -p model {name}` ({Path(file).name})"
    for name in args.train:
        networks[name], seconds = train_variant(name, split, args.seed)
        batch = BATCH_SIZES.get(name)
        notes[name] = (f"trained here with the default's recipe"
                       + (f" in batches of {batch}" if batch else "") + f" in {seconds:.1f} s")
    x_test = split["x_test"][..., 0]
    began = time.perf_counter()
    sets = test_sets(x_test, split["y_test"], args.seed, restroke=not args.no_restroke)
    made = time.perf_counter() - began
    table = {}
    for set_name, (x, y, _) in sets.items():
        for name, network in networks.items():
            predicted = network.predict(x[..., None].astype(np.float32), batch_size=1000,
                                        verbose=0).argmax(axis=1)
            table.setdefault(set_name, {})[name] = float(np.mean(predicted == y))
        print(set_name, {name: f"{acc:.2%}" for name, acc in table[set_name].items()}, flush=True)

    how = ("photos read without set_stroke_width" if args.no_restroke
           else "photos read by to_mnist with set_stroke_width")
    lines = [f"Measured on {machine()}; seed {args.seed}; {how}; test sets made in {made:.0f} s.",
             "",
             "Networks:", *[f"- **{name}**: {note}" for name, note in notes.items()], "",
             "| test set | images | what | " + " | ".join(networks) + " |",
             "|---|---|---|" + "---|" * len(networks)]
    for set_name, (x, _, what) in sets.items():
        cells = " | ".join(f"{table[set_name][name]:.2%}" for name in networks)
        lines.append(f"| {set_name} | {len(x):,} | {what} | {cells} |")
    write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    write_text(out.with_suffix(".json"), json.dumps(
        {"machine": machine(), "seed": args.seed, "restroke": not args.no_restroke,
         "networks": notes, "accuracy": table,
         "sizes": {name: len(x) for name, (x, _, _) in sets.items()}}, indent=1) + "\n")
    print(f"wrote {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
