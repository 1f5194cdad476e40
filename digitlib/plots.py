"""Draw the lessons' figures; every function returns its matplotlib Figure.

In a notebook, figures of photos are shown as JPEG (PNG cannot compress their noise) and
the others as PNG with a palette, all at :data:`DPI` dots per inch, so that the lessons
stay light to open.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

DIGITS = np.arange(10)

#: Dots per inch of every figure: sharp enough on screen, a third of the pixels of 100 dpi.
DPI = 72
#: JPEG quality of the photo figures: noise and paper texture hide its artefacts.
JPEG_QUALITY = 70
#: Colours in the palette of the other figures: charts and digits use far fewer.
PNG_COLORS = 128


def _finish(fig, photo: bool = False):
    """Lay out ``fig``; mark it to show as JPEG if it holds photos; return it."""
    fig.tight_layout()
    fig.digitlib_format = "jpeg" if photo else "png"
    _install_formatters()
    return fig


def _install_formatters() -> None:
    """Show digitlib's figures in IPython as JPEG (photos) or palette PNG (the rest)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    from matplotlib.figure import Figure

    png = shell.display_formatter.formatters["image/png"]
    jpeg = shell.display_formatter.formatters["image/jpeg"]
    previous = png.type_printers.get(Figure)
    if getattr(previous, "digitlib", False):
        return  # installed already

    def as_png(fig):
        kind = getattr(fig, "digitlib_format", None)
        if kind is None:  # not one of digitlib's figures: as the notebook is set up
            return previous(fig) if previous else None
        return encode(fig, "png") if kind == "png" else None

    def as_jpeg(fig):
        return encode(fig, "jpeg") if getattr(fig, "digitlib_format", None) == "jpeg" else None

    as_png.digitlib = True
    png.for_type(Figure, as_png)
    jpeg.for_type(Figure, as_jpeg)


def encode(fig, kind: str = "png") -> str:
    """Return ``fig`` at :data:`DPI` as base64 JPEG, or as PNG with a PNG_COLORS palette."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.canvas.print_figure(buffer, format="png", dpi=DPI, bbox_inches="tight",
                            facecolor=fig.get_facecolor())
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    out = io.BytesIO()
    if kind == "jpeg":
        image.save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        image.quantize(colors=PNG_COLORS).save(out, "PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def _grid(n: int, cols: int, cell: float = 1.1, **kwargs):
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell, rows * cell * 1.15),
                             squeeze=False, **kwargs)
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes.flat


def _image(ax, image, title=None, color="black", cmap="gray_r"):
    ax.imshow(np.asarray(image).reshape(28, 28), cmap=cmap, vmin=0,
              vmax=1 if np.asarray(image).dtype != np.uint8 else 255)
    if title is not None:
        ax.set_title(title, fontsize=9, color=color)


def sample_grid(images, labels, n: int = 30, cols: int = 10, title: str | None = None):
    """Show the first ``n`` digits with their labels above them."""
    n = min(n, len(images))
    fig, axes = _grid(n, cols)
    for ax, image, label in zip(axes, images[:n], labels[:n]):
        _image(ax, image, str(int(label)))
    if title:
        fig.suptitle(title)
    return _finish(fig)


def digit_pixels(image, label=None, top: int = 4, left: int = 6, size: int = 12):
    """Show a digit beside a ``size`` x ``size`` crop of it with every pixel value written in.

    The crop starts at row ``top`` and column ``left`` and is outlined in red on the whole
    image; both panels number their rows and columns from 0 and use the colour map ``gray_r``,
    which draws 0 as white and 255 as black, like ink on paper.
    """
    from matplotlib.patches import Rectangle

    image = np.asarray(image).reshape(28, 28)
    crop = image[top:top + size, left:left + size]
    fig, (whole, zoom) = plt.subplots(1, 2, figsize=(11, 5.5), width_ratios=(1, 1.3))
    shown = whole.imshow(image, cmap="gray_r", vmin=0, vmax=255)
    whole.add_patch(Rectangle((left - 0.5, top - 0.5), size, size, fill=False, color="tab:red",
                              linewidth=2))
    whole.set_title("the whole image" + (f" (label {int(label)})" if label is not None else "")
                    + ", the crop in red", fontsize=11)
    whole.set_xticks(range(0, 28, 4))
    whole.set_yticks(range(0, 28, 4))
    fig.colorbar(shown, ax=whole, fraction=0.046, pad=0.04, label="pixel value")
    zoom.imshow(crop, cmap="gray_r", vmin=0, vmax=255)
    for (row, col), value in np.ndenumerate(crop):
        zoom.text(col, row, str(value), ha="center", va="center", fontsize=9,
                  color="white" if value > 127 else "black")
    zoom.set_xticks(range(size), [str(c) for c in range(left, left + size)], fontsize=9)
    zoom.set_yticks(range(size), [str(r) for r in range(top, top + size)], fontsize=9)
    zoom.tick_params(length=0)
    zoom.set_title(f"rows {top}-{top + size - 1}, columns {left}-{left + size - 1}", fontsize=11)
    for ax in (whole, zoom):
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    return _finish(fig)


def class_balance(y_train, y_test):
    """Plot each digit's share of the training set and of the test set, side by side."""
    fig, ax = plt.subplots(figsize=(8, 3))
    width = 0.4
    for offset, (name, y) in zip((-width / 2, width / 2), (("train", y_train), ("test", y_test))):
        counts = np.bincount(np.asarray(y), minlength=10)
        ax.bar(DIGITS + offset, counts / max(counts.sum(), 1), width, label=f"{name} ({len(y):,})")
    ax.axhline(0.1, color="tab:gray", linewidth=1, linestyle="--")
    ax.set_xticks(DIGITS)
    ax.set_xlabel("digit")
    ax.set_ylabel("share of the split")
    ax.set_title("Share of each digit (dashed: a tenth)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)  # beside the bars
    return _finish(fig)


def pixel_histogram(images, title: str = "Pixel intensities"):
    """Plot a histogram of pixel values, on a log scale since most pixels are background."""
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.hist(np.asarray(images).ravel(), bins=50, log=True, color="tab:gray")
    ax.set_xlabel("pixel value")
    ax.set_ylabel("pixels (log scale)")
    ax.set_title(title)
    return _finish(fig)


def misclassified_gallery(images, y_true, probabilities, indices, cols: int = 8,
                          cmap: str = "gray_r"):
    """Show wrongly classified digits: true label, prediction and its probability.

    ``cmap`` is matplotlib's colour map for the digits: ``"gray_r"`` draws 0 white and
    1 black, ``"gray"`` 0 black and 1 white.
    """
    probabilities = np.asarray(probabilities)
    fig, axes = _grid(len(indices), cols, cell=1.35)
    for ax, i in zip(axes, indices):
        predicted = int(probabilities[i].argmax())
        _image(ax, images[i], f"true {int(y_true[i])}\npred {predicted} "
               f"({probabilities[i, predicted]:.0%})", color="tab:red", cmap=cmap)
    fig.suptitle("Misclassified test digits, most confident first")
    return _finish(fig)


def probability_bars(probabilities, images=None, titles=None, cols: int = 4,
                     cmap: str = "gray_r"):
    """Show each image beside a bar chart of its ten class probabilities.

    ``cmap`` is matplotlib's colour map for the images, as in :func:`misclassified_gallery`.
    """
    probabilities = np.atleast_2d(probabilities)
    n = len(probabilities)
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(3.2 * cols, 1.6 * rows), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.6] * cols})
    for ax in axes.flat:
        ax.axis("off")
    for k, probs in enumerate(probabilities):
        img_ax, bar_ax = axes[k // cols, 2 * (k % cols)], axes[k // cols, 2 * (k % cols) + 1]
        if images is not None:
            _image(img_ax, images[k], titles[k] if titles else None, cmap=cmap)
        bar_ax.axis("on")
        colors = ["tab:blue"] * 10
        colors[int(np.argmax(probs))] = "tab:orange"
        bar_ax.bar(DIGITS, probs, color=colors)
        bar_ax.set_xticks(DIGITS)
        bar_ax.set_ylim(0, 1)
        bar_ax.tick_params(labelsize=7)
        bar_ax.set_title(f"{int(np.argmax(probs))}: {np.max(probs):.0%}", fontsize=9)
    return _finish(fig)


def photo_grid(images, titles=None, cols: int = 5, cell: float = 1.3):
    """Show photos (paths, Pillow images or arrays) as they are, each with its title."""
    fig, axes = _grid(len(images), cols, cell=cell)
    for k, (ax, image) in enumerate(zip(axes, images)):
        image = _photo_pixels(image)
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    return _finish(fig, photo=True)


def preprocessing_steps(steps, titles=None, cell: float = 1.25):
    """Show each preprocessing step of one photo (a dict) or of several (a list), one per row.

    The first column is the photo as read; the others show the pixels as they are,
    0 black and 1 white, so inverting shows as a change.
    """
    rows = [steps] if isinstance(steps, dict) else list(steps)
    names = list(rows[0])
    fig, axes = plt.subplots(len(rows), len(names), squeeze=False,
                             figsize=(len(names) * cell, len(rows) * cell * 1.05))
    for r, row in enumerate(rows):
        for c, name in enumerate(names):
            ax, image = axes[r, c], np.asarray(row[name])
            if name == "original":
                ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
            else:
                ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=9)
            ax.set_xlabel(f"{image.shape[1]}x{image.shape[0]}", fontsize=7)
        if titles is not None:
            axes[r, 0].set_ylabel(titles[r], fontsize=9)
    return _finish(fig, photo=True)


def _photo_pixels(image) -> np.ndarray:
    import os

    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as opened:
            return _photo_pixels(opened.copy())
    if isinstance(image, Image.Image):
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit and float scans
            return np.asarray(image, dtype=np.float32)
        return np.asarray(image.convert("RGBA"))
    return np.asarray(image)
