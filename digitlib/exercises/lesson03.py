"""Lesson 3's exercises: layer shapes and parameter counts, ReLU and softmax, convolution, keras.io's network."""

from __future__ import annotations

import warnings

import numpy as np

from . import Exercise, Incorrect, NotAttempted, expect, is_blank


def _keras():
    from ..backend import import_keras

    return import_keras()


def _quietly(function, *args):
    """Call the learner's function with NumPy's overflow warnings kept out of the check's line."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args)


def _array(value, what: str) -> np.ndarray:
    """Return ``value`` as a float array, or say it is not one."""
    if value is None:
        raise Incorrect(f"{what} returned None: did you forget `return`?")
    if is_blank(value):
        raise NotAttempted("your function still returns ____: fill it in, run the cell, then "
                           "run this check again.")
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise Incorrect(f"{what} returned {type(value).__name__}, not an array of numbers") from None
    return array


# --- 03.1: predict shapes and parameter counts ----------------------------------------------------

def _judge_1(conv_shape, conv_params, dense_params, env):
    keras = _keras()
    net = keras.Sequential([keras.Input((12, 12, 32)), keras.layers.Conv2D(16, 5),
                            keras.layers.Flatten(), keras.layers.Dense(10)])
    conv, _, dense = net.layers
    shape = tuple(conv.output.shape[1:])
    expect(isinstance(conv_shape, (tuple, list)) and all(isinstance(n, (int, np.integer))
                                                          for n in conv_shape if n is not None),
           "`conv_shape` should be a tuple of whole numbers, e.g. (height, width, channels)")
    got = tuple(n for n in conv_shape if n is not None)  # (None, h, w, c) is fine too
    expect(len(got) == 3, f"`conv_shape` has {len(got)} numbers; a feature map has three: "
                          "height, width and channels")
    expect(got[2] == shape[2], "the channels of `conv_shape` are wrong: a convolution gives one "
                               "feature map per filter")
    expect(got[:2] == shape[:2], "the height and width of `conv_shape` are wrong: a 5 × 5 filter "
                                 "that may not hang over the edge fits in fewer positions than the "
                                 "maps have pixels")
    for name, value in (("conv_params", conv_params), ("dense_params", dense_params)):
        expect(isinstance(value, (int, np.integer)) and not isinstance(value, bool),
               f"`{name}` should be a whole number, not {type(value).__name__}")
    expect(conv_params == conv.count_params(),
           "`conv_params` is wrong: each filter has one weight per pixel of its 5 × 5 window in "
           "each of the 32 input channels, plus one bias")
    expect(dense_params == dense.count_params(),
           "`dense_params` is wrong: each of the 10 units has one weight per value of the "
           "flattened feature maps, plus one bias")
    return f"Keras agrees: {shape}, {conv.count_params():,} and {dense.count_params():,} parameters."


# --- 03.2: ReLU and softmax in NumPy --------------------------------------------------------------

def _judge_2(relu, softmax, env):
    expect(callable(relu), "`relu` should be a function: `def relu(x): ...`")
    expect(callable(softmax), "`softmax` should be a function: `def softmax(z): ...`")
    x = np.array([-3.0, -0.5, 0.0, 0.5, 2.0])
    got = _array(_quietly(relu, x.copy()), "relu(x)")
    expect(got.shape == x.shape, f"relu(x) of {x.shape[0]} numbers returned shape {got.shape}; "
                                 "it should keep the shape of x")
    expect(np.all(got[x < 0] == 0), "relu(x) should turn every negative number into 0")
    expect(np.allclose(got[x >= 0], x[x >= 0]), "relu(x) should leave 0 and positive numbers as they are")
    grid = np.arange(-2.0, 3.0).reshape(1, 5) * np.ones((3, 1))
    expect(np.allclose(_array(_quietly(relu, grid.copy()), "relu(x)"), np.maximum(grid, 0)),
           "relu(x) should work on an array of any shape, number by number")

    z = np.array([2.0, 1.0, 0.1, -1.0])
    p = _array(_quietly(softmax, z.copy()), "softmax(z)")
    expect(p.shape == z.shape, f"softmax(z) of {z.shape[0]} scores returned shape {p.shape}; it "
                               "should give one probability per score")
    expect(np.isclose(p.sum(), 1.0), "the probabilities softmax(z) returns should sum to 1")
    expect(np.all(p > 0), "softmax(z) should give every score a probability above 0")
    expect(np.allclose(p, np.exp(z) / np.exp(z).sum()),
           "softmax(z) should be np.exp of each score divided by the sum of them all")
    big = np.array([1000.0, 1001.0, 1002.0])
    p = _array(_quietly(softmax, big.copy()), "softmax(z)")
    expect(np.all(np.isfinite(p)),
           "softmax([1000, 1001, 1002]) gave nan or inf: np.exp(1000) is too large for a float. "
           "Subtracting the same number from every score leaves the probabilities unchanged; "
           "which number keeps every np.exp small?")
    small = np.array([0.0, 1.0, 2.0])
    expect(np.allclose(p, np.exp(small) / np.exp(small).sum()),
           "softmax([1000, 1001, 1002]) should equal softmax([0, 1, 2]): only the differences "
           "between scores matter")
    return "relu keeps the positives, and your softmax survives scores of 1,000."


# --- 03.3: convolution in NumPy, with a stride ---------------------------------------------------

def _reference(image, kernel, stride):
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)[::stride, ::stride]
    return (windows * kernel).sum(axis=(-2, -1))


def _judge_3(conv2d, env):
    expect(callable(conv2d), "`conv2d` should be a function: `def conv2d(image, kernel, stride): ...`")
    rng = np.random.default_rng(3)
    image, kernel = rng.normal(size=(6, 7)), rng.normal(size=(3, 3))
    want = _reference(image, kernel, 1)
    got = _array(_quietly(conv2d, image.copy(), kernel.copy(), 1), "conv2d(image, kernel, 1)")
    expect(got.shape == want.shape,
           f"with stride 1, a 6 × 7 image and a 3 × 3 filter your feature map has shape "
           f"{got.shape}; the filter may not hang over the edge, so it fits in fewer positions "
           "than the image has pixels")
    expect(not np.allclose(got, _reference(image, kernel[::-1, ::-1], 1)),
           "your map is the filter turned upside down and mirrored: Keras' Conv2D (and this "
           "lesson) multiply each pixel by the filter weight at the same place, unflipped")
    expect(np.allclose(got, want), "with stride 1 your feature map has the right shape but wrong "
                                   "values: each value is the sum of a 3 × 3 patch times the "
                                   "filter, the patch starting at that value's row and column")
    wide = rng.normal(size=(5, 5))
    got = _array(_quietly(conv2d, image.copy(), wide.copy(), 1), "conv2d(image, kernel, 1)")
    expect(got.shape == (2, 3) and np.allclose(got, _reference(image, wide, 1)),
           "your function works with a 3 × 3 filter but not with a 5 × 5 one: use the "
           "kernel's own shape")
    for stride, size in ((2, (9, 9)), (3, (10, 11))):
        image = rng.normal(size=size)
        want = _reference(image, kernel, stride)
        got = _array(_quietly(conv2d, image.copy(), kernel.copy(), stride),
                     f"conv2d(image, kernel, {stride})")
        expect(got.shape == want.shape,
               f"with stride {stride} on a {size[0]} × {size[1]} image your map has shape "
               f"{got.shape}: the filter now starts at rows and columns 0, {stride}, "
               f"{2 * stride}, … as long as it stays inside the image")
        expect(np.allclose(got, want), f"with stride {stride} your map has the right shape but "
                                       "wrong values: value [i, j] is the patch that starts at "
                                       f"row {stride} × i and column {stride} × j")
    return "your loops compute what Conv2D(strides=...) computes."


# --- 03.4: keras.io's Simple MNIST convnet --------------------------------------------------------

_PLAN = [("Conv2D", dict(filters=32, kernel_size=(3, 3), activation="relu")),
         ("MaxPooling2D", dict(pool_size=(2, 2))),
         ("Conv2D", dict(filters=64, kernel_size=(3, 3), activation="relu")),
         ("MaxPooling2D", dict(pool_size=(2, 2))),
         ("Flatten", {}),
         ("Dropout", dict(rate=0.5)),
         ("Dense", dict(units=10, activation="softmax"))]

_DESCRIBED = {  # each setting as the exercise's description words it
    "filters": lambda n: f"{n} filters",
    "kernel_size": lambda k: f"filters of {k[0]} × {k[1]}",
    "pool_size": lambda k: f"pooling of {k[0]} × {k[1]}",
    "activation": lambda name: f"{name} as the activation",
    "rate": lambda rate: f"dropout of {'half the values' if rate == 0.5 else rate}",
    "units": lambda n: f"{n} units",
}


def _judge_4(kerasio_model, env):
    keras = _keras()
    expect(isinstance(kerasio_model, keras.Model),
           f"`kerasio_model` is a {type(kerasio_model).__name__}, not a Keras model: build it "
           "with keras.Sequential([...])")
    try:
        shape = tuple(kerasio_model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        raise Incorrect("your model has no input shape: start the list with keras.Input((28, 28, 1))") from None
    expect(shape[1:] == (28, 28, 1), f"your model reads inputs of shape {shape[1:]}; MNIST digits "
                                     "here are (28, 28, 1)")
    found = [layer for layer in kerasio_model.layers if type(layer).__name__ != "InputLayer"]
    names = [type(layer).__name__ for layer in found]
    for k, (kind, settings) in enumerate(_PLAN):
        expect(k < len(found), f"your model stops after {len(found)} layers; the description has "
                               f"{len(_PLAN)} (Input aside)")
        expect(names[k] == kind, f"layer {k + 1} of your model is a {names[k]}; the description "
                                 f"has a {kind} there")
        config = found[k].get_config()
        for key, value in settings.items():
            got = config.get(key)
            got = tuple(got) if isinstance(got, list) else got
            expect(got == value, f"layer {k + 1} ({kind}) has {key}={got!r}, but the "
                                 f"description asks for {_DESCRIBED[key](value)}")
    expect(len(found) == len(_PLAN), f"your model has {len(found)} layers after its input; the "
                                     f"description has {len(_PLAN)}")
    count = kerasio_model.count_params()
    expect(count == 34_826, f"your model has {count:,} parameters, not 34,826: compare each "
                            "layer's settings with the description")
    return "the same layers, shapes and 34,826 parameters as keras.io's convnet."


EXERCISES = [
    Exercise(
        id="03.1", names=("conv_shape", "conv_params", "dense_params"), judge=_judge_1,
        hints=["A filter of k × k pixels fits in n − k + 1 positions along a side of n pixels, and "
               "a convolution makes one feature map per filter.",
               "A Conv2D's count is filters × (k × k × input channels + 1); a Dense layer's is "
               "units × (inputs + 1). Flatten lays height × width × channels out as one row."],
        answer="""
            conv_shape = (12 - 5 + 1, 12 - 5 + 1, 16)
            conv_params = 16 * (5 * 5 * 32 + 1)
            dense_params = 10 * (8 * 8 * 16 + 1)
            """,
        why="A 5 × 5 window fits 8 times along 12 pixels; each of the 16 filters has 5 × 5 × 32 "
            "weights and a bias; each of the 10 units reads all 8 × 8 × 16 = 1,024 values plus a bias.",
        wrong=["conv_shape = (8, 8, 16)\nconv_params = 16 * (5 * 5 + 1)\ndense_params = 10250\n",
               "conv_shape = (12, 12, 16)\nconv_params = 12816\ndense_params = 10250\n"]),
    Exercise(
        id="03.2", names=("relu", "softmax"), judge=_judge_2,
        hints=["`np.maximum(x, 0)` compares number by number. For softmax, `np.exp(z)` divided by "
               "its sum is the idea; then try it on `np.array([1000.0, 1001.0, 1002.0])`.",
               "softmax(z) and softmax(z - c) are equal for any number c, since exp(z - c) = "
               "exp(z) / exp(c) and exp(c) cancels. Take c = z.max(): the largest exp is then 1."],
        answer="""
            def relu(x):
                return np.maximum(x, 0)


            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / e.sum()
            """,
        why="ReLU keeps positives and zeroes negatives. Subtracting the largest score changes no "
            "probability but keeps every np.exp at most 1, so large scores cannot overflow.",
        wrong=["def relu(x):\n    return np.maximum(x, 0)\n\n\ndef softmax(z):\n"
               "    return np.exp(z) / np.exp(z).sum()\n",
               "def relu(x):\n    return np.abs(x)\n\n\ndef softmax(z):\n"
               "    e = np.exp(z - z.max())\n    return e / e.sum()\n"]),
    Exercise(
        id="03.3", names=("conv2d",), judge=_judge_3,
        hints=["With stride s, the filter's top-left corner visits rows 0, s, 2s, … while the "
               "filter still fits: that is (H − h) // s + 1 rows for an H-row image and an h-row "
               "filter, and the same for columns. Two `for` loops over the map's rows and "
               "columns will do.",
               "Inside the loops: `out[i, j] = (image[i * stride:i * stride + h, "
               "j * stride:j * stride + w] * kernel).sum()`."],
        answer="""
            def conv2d(image, kernel, stride=1):
                h, w = kernel.shape
                rows = (image.shape[0] - h) // stride + 1
                cols = (image.shape[1] - w) // stride + 1
                out = np.zeros((rows, cols))
                for i in range(rows):
                    for j in range(cols):
                        top, left = i * stride, j * stride
                        out[i, j] = (image[top:top + h, left:left + w] * kernel).sum()
                return out
            """,
        why="Each output value is one position of the filter: the patch under it, multiplied "
            "weight by pixel and summed, as a Conv2D with one filter and no bias computes; the "
            "stride only spaces the positions out.",
        wrong=["def conv2d(image, kernel, stride=1):\n"
               "    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)\n"
               "    return (windows * kernel).sum(axis=(2, 3))\n",
               "def conv2d(image, kernel, stride=1):\n"
               "    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)\n"
               "    return (windows * kernel[::-1, ::-1]).sum(axis=(2, 3))[::stride, ::stride]\n"]),
    Exercise(
        id="03.4", names=("kerasio_model",), judge=_judge_4,
        hints=["Write it like `seed_model` above: `keras.Sequential([keras.Input((28, 28, 1)), "
               "layers.Conv2D(...), ...])`, one layer per item of the description, in its order.",
               "`layers.Conv2D(32, 3, activation=\"relu\")`, `layers.MaxPooling2D(2)`, then the "
               "same with 64 filters, `layers.Flatten()`, `layers.Dropout(0.5)`, "
               "`layers.Dense(10, activation=\"softmax\")`."],
        answer="""
            kerasio_model = keras.Sequential([
                keras.Input((28, 28, 1)),
                layers.Conv2D(32, 3, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Flatten(),
                layers.Dropout(0.5),
                layers.Dense(10, activation="softmax"),
            ])
            """,
        why="Pooling after each convolution leaves a 5 × 5 × 64 map, so the Dense layer reads "
            "only 1,600 values: 16,010 of the 34,826 weights, against 2.4 million in the original.",
        wrong=["kerasio_model = keras.Sequential([\n    keras.Input((28, 28, 1)),\n"
               "    layers.Conv2D(32, 3, activation=\"relu\"),\n"
               "    layers.Conv2D(64, 3, activation=\"relu\"),\n    layers.MaxPooling2D(2),\n"
               "    layers.Flatten(),\n    layers.Dropout(0.5),\n"
               "    layers.Dense(10, activation=\"softmax\"),\n])\n"]),
]
