"""Lesson 4's exercises: a gradient step, where training diverges, overfitting, the loss floor."""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import Exercise, Incorrect, NotAttempted, expect, is_blank


def _quietly(function, *args):
    """Call the learner's function with NumPy's overflow warnings kept out of the check's line."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args)


def _softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _lesson_data(env):
    """Return the lesson's flattened training images and labels, or say which cells to run."""
    x, y = env.get("x_flat"), env.get("y_flat")
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise NotAttempted("run the lesson's NumPy cells first (the ones that make `x_flat`)")
    return x, y


# --- 04.1: one gradient step -------------------------------------------------------------------

def reference_step(W, b, x, y, learning_rate):
    """Return W and b after one step of gradient descent on softmax cross-entropy."""
    error = (_softmax(x @ W + b) - np.eye(10)[y]) / len(x)
    return W - learning_rate * (x.T @ error), b - learning_rate * error.sum(axis=0)


def _judge_1(gradient_step, env):
    expect(callable(gradient_step), "`gradient_step` should be a function")
    rng = np.random.default_rng(4)
    for n, rate in ((5, 0.3), (17, 2.0)):
        W, b = rng.normal(0, 0.05, (784, 10)), rng.normal(0, 0.1, 10)
        x, y = rng.random((n, 784)), rng.integers(0, 10, n)
        got = _quietly(gradient_step, W.copy(), b.copy(), x.copy(), y.copy(), rate)
        expect(isinstance(got, (tuple, list)) and len(got) == 2,
               f"your function returned {type(got).__name__}; return the pair `W, b`")
        if any(is_blank(part) for part in got):
            raise NotAttempted("your function still returns ____: fill in every blank")
        try:
            new_W, new_b = (np.asarray(part, dtype="float64") for part in got)
        except (TypeError, ValueError):
            raise Incorrect("`W` and `b` should come back as arrays of numbers") from None
        want_W, want_b = reference_step(W, b, x, y, rate)
        expect(new_W.shape == (784, 10) and new_b.shape == (10,),
               f"the new W has shape {new_W.shape} and b {new_b.shape}; they should keep the "
               "shapes (784, 10) and (10,)")
        if np.allclose(new_W, W) and np.allclose(new_b, b):
            raise Incorrect("W and b came back unchanged: subtract learning_rate times the gradient")
        if np.allclose(new_W - W, -(want_W - W), rtol=1e-4, atol=1e-9):
            raise Incorrect("your step goes up the gradient: the loss rises; subtract it instead")
        scale = np.sum((new_W - W) * (want_W - W)) / max(np.sum((want_W - W) ** 2), 1e-30)
        if not np.isclose(scale, 1, rtol=1e-3) and np.allclose(new_W - W, scale * (want_W - W),
                                                                 rtol=1e-3, atol=1e-9):
            raise Incorrect(f"your step points the right way but is {scale:.3g} times too long: "
                            "average the gradient over the N images, and scale it by the "
                            "learning rate once")
        expect(np.allclose(new_W, want_W, rtol=1e-4, atol=1e-7),
               "the new W is wrong: the gradient for W is xᵀ · (p − onehot) / N")
        expect(np.allclose(new_b, want_b, rtol=1e-4, atol=1e-7),
               "W is right but b is not: the gradient for b is (p − onehot) averaged over the images")
    return "the same step as the lesson's `train_numpy`, on random weights and images"


# --- 04.2: where training diverges -------------------------------------------------------------

def first_epoch_loss(x, y, learning_rate, batch=100, seed=0):
    """Return the mean loss over one epoch of the lesson's ``train_numpy``, from zero weights."""
    rng = np.random.default_rng(seed)
    W, b, targets, losses = np.zeros((784, 10), "float32"), np.zeros(10, "float32"), \
        np.eye(10, dtype="float32")[y], []
    with np.errstate(all="ignore"):
        order = rng.permutation(len(x))
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            p = _softmax(x[rows] @ W + b)
            losses.append(float(-np.mean(np.log(p[np.arange(len(rows)), y[rows]] + 1e-12))))
            error = (p - targets[rows]) / len(rows)
            W = W - learning_rate * (x[rows].T @ error)
            b = b - learning_rate * error.sum(axis=0)
    return float(np.mean(losses))


def _judge_2(diverging_rate, env):
    expect(isinstance(diverging_rate, (int, float, np.number)) and not isinstance(diverging_rate, bool),
           f"`diverging_rate` should be a number, not {type(diverging_rate).__name__}")
    rate = float(diverging_rate)
    expect(math.isfinite(rate) and rate > 0, "a learning rate is a positive number")
    x, y = _lesson_data(env)
    guess = math.log(10)
    expect(first_epoch_loss(x, y, rate) > guess,
           f"at {rate:g} the first epoch's loss is still below 2.30: training does not diverge "
           "yet; try larger rates")
    expect(first_epoch_loss(x, y, rate / 4) <= guess,
           f"a rate 4 times smaller than {rate:g} diverges too: look for the smallest one")
    return f"training diverges at {rate:g}, and not at a quarter of it"


# --- 04.3: overfitting -------------------------------------------------------------------------

def _judge_3(no_dropout_history, curves_show, env):
    history = getattr(no_dropout_history, "history", no_dropout_history)
    expect(isinstance(history, dict),
           "`no_dropout_history` should be what `fit` returned (a History), not "
           f"{type(no_dropout_history).__name__}")
    for key in ("loss", "val_loss"):
        expect(key in history, f"the history has no {key!r}: fit with `validation_data=...`"
               if key == "val_loss" else "the history has no 'loss': is it from `fit`?")
    loss, val_loss = list(history["loss"]), list(history["val_loss"])
    expect(len(loss) >= 8, f"the history has {len(loss)} epochs; train for 10")
    model = getattr(no_dropout_history, "model", None)
    if model is not None:
        kinds = {type(layer).__name__ for layer in model.layers}
        expect("Dropout" not in kinds, "your network still has Dropout layers: leave them out")
        expect("RandomTranslation" not in kinds, "leave out the RandomTranslation too: moving "
                                                 "the digits fights overfitting as dropout does")
        expect("Conv2D" in kinds, "train the default CNN of lesson 3 (with its convolutions), "
                                  "without dropout or shifts")
    expect(loss[-1] < 0.75 * val_loss[-1],
           "at the end the training loss is not clearly below the validation loss: train on only "
           "2,000 images, for 10 epochs in batches of 128, without dropout or shifts")
    expect(isinstance(curves_show, str), "`curves_show` should be a word, in quotes")
    word = curves_show.lower()
    expect("overfit" in word or "over-fit" in word or "memori" in word,
           f"{curves_show!r} is not what the curves show: the training loss keeps falling while "
           "the validation loss stays well above it; what is that called?")
    return (f"training loss {loss[-1]:.3f} against validation loss {val_loss[-1]:.3f}: "
            "the network memorised its training images")


# --- 04.4: the loss floor of label smoothing ---------------------------------------------------

def loss_floor(smoothing: float, classes: int = 10) -> float:
    """Return the smallest cross-entropy possible against targets smoothed by ``smoothing``."""
    target = np.full(classes, smoothing / classes)
    target[0] += 1 - smoothing
    target = target[target > 0]
    return float(-np.sum(target * np.log(target)))


def _judge_4(loss_floor_for, env):
    expect(callable(loss_floor_for), "`loss_floor_for` should be a function")
    for smoothing in (0.1, 0.25, 0.5, 0.0):
        got = _quietly(loss_floor_for, smoothing)
        if is_blank(got):
            raise NotAttempted("your function still returns ____: fill it in")
        expect(isinstance(got, (int, float, np.number)) or (
            isinstance(got, np.ndarray) and got.size == 1),
            f"your function returned {type(got).__name__}; return one number")
        got = float(got)
        if smoothing == 0.0:
            expect(math.isclose(got, 0.0, abs_tol=1e-6),
                   f"with no smoothing the floor is 0, yours is {got:.3g}: 0 · log 0 counts as 0")
            continue
        expect(math.isclose(got, loss_floor(smoothing), rel_tol=1e-3),
               f"loss_floor_for({smoothing}) is wrong: the target puts 1 − s + s/10 on the right "
               "digit and s/10 on each of the 9 others; the floor is −Σ target · log(target)")
    return "0.50 for the recipe's 0.1, and more the more you smooth"


EXERCISES = [
    Exercise(
        id="04.1", names=("gradient_step",), judge=_judge_1,
        hints=["Follow the lesson's `train_numpy`: probabilities, then the error `p − onehot` "
               "divided by the number of images, then one step for W and one for b.",
               "`p = softmax(x @ W + b)`; `error = (p - np.eye(10)[y]) / len(x)`; "
               "the gradient of W is `x.T @ error`, of b `error.sum(axis=0)`."],
        answer="""
            def gradient_step(W, b, x, y, learning_rate):
                p = softmax(x @ W + b)
                error = (p - np.eye(10)[y]) / len(x)
                W = W - learning_rate * (x.T @ error)
                b = b - learning_rate * error.sum(axis=0)
                return W, b
            """,
        why="For softmax with cross-entropy the gradient of the mean loss is the pixels times "
            "the probabilities' error, averaged over the batch; a step moves against it.",
        wrong=["""
            def gradient_step(W, b, x, y, learning_rate):
                p = softmax(x @ W + b)
                W = W - learning_rate * (x.T @ (p - np.eye(10)[y]))
                b = b - learning_rate * (p - np.eye(10)[y]).sum(axis=0)
                return W, b
            """, """
            def gradient_step(W, b, x, y, learning_rate):
                p = softmax(x @ W + b)
                W = W + learning_rate * x.T @ (p - np.eye(10)[y]) / len(x)
                b = b + learning_rate * (p - np.eye(10)[y]).mean(axis=0)
                return W, b
            """]),
    Exercise(
        id="04.2", names=("diverging_rate",), judge=_judge_2,
        hints=["Loop over rates such as `[0.1, 0.3, 1, 3, 10, 30, 100]`, compute "
               "`np.mean(train_numpy(rate, epochs=1)[2])` for each, and keep the first above 2.30.",
               "`diverging_rate = next(rate for rate in [0.1, 0.3, 1, 3, 10, 30, 100] "
               "if np.mean(train_numpy(rate, epochs=1)[2]) > np.log(10))`"],
        answer="""
            for rate in [0.1, 0.3, 1, 3, 10, 30, 100, 300]:
                if np.mean(train_numpy(rate, epochs=1)[2]) > np.log(10):
                    break
            diverging_rate = rate
            """,
        why="Steps three times apart find the edge to within a factor of 3: the first rate whose "
            "loss ends up above guessing is too large, the one before it was not.",
        wrong=["diverging_rate = 0.5\n", "diverging_rate = 10_000\n"]),
    Exercise(
        id="04.3", names=("no_dropout_history", "curves_show"), judge=_judge_3,
        hints=["Copy lesson 3's default network into a `keras.Sequential([...])` and leave out "
               "both `keras.layers.Dropout` lines and the `RandomTranslation`; then `compile` and `fit` as in the lesson, with "
               "`x_train[:2000]`, `y_train_hot[:2000]`, `batch_size=128`, `epochs=10`, "
               "`validation_data=(x_val[:1000], y_val_hot[:1000])`.",
               "Plot `no_dropout_history.history['loss']` and `['val_loss']`: the first keeps "
               "falling, the second stops. The word the lesson used for that starts with 'over'."],
        answer="""
            no_dropout = keras.Sequential([
                keras.Input((28, 28, 1)),
                keras.layers.Cropping2D(2),
                keras.layers.Conv2D(32, 6, strides=2, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(128, 3, activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(256, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ])
            no_dropout.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),
                               loss="categorical_crossentropy", metrics=["accuracy"])
            no_dropout_history = no_dropout.fit(
                x_train[:2000], y_train_hot[:2000], batch_size=128, epochs=10,
                validation_data=(x_val[:1000], y_val_hot[:1000]), verbose=0)
            plt.figure(figsize=(8, 3))
            plt.plot(no_dropout_history.history["loss"], label="training")
            plt.plot(no_dropout_history.history["val_loss"], label="validation")
            plt.legend()
            plt.show()
            curves_show = "overfitting"
            """,
        why="On 2,000 images without dropout the network learns the images themselves: its "
            "training loss heads for 0 while the validation loss stalls well above it.",
        wrong=["""
            no_dropout = keras.Sequential([
                keras.Input((28, 28, 1)),
                keras.layers.Cropping2D(2),
                keras.layers.Conv2D(32, 6, strides=2, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(128, 3, activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(256, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ])
            no_dropout.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),
                               loss="categorical_crossentropy", metrics=["accuracy"])
            no_dropout_history = no_dropout.fit(
                x_train[:2000], y_train_hot[:2000], batch_size=128, epochs=10,
                validation_data=(x_val[:1000], y_val_hot[:1000]), verbose=0)
            curves_show = "underfitting"
            """]),
    Exercise(
        id="04.4", names=("loss_floor_for",), judge=_judge_4,
        hints=["Build the smoothed target as in the lesson (s/10 everywhere, plus 1 − s on the "
               "right digit); the floor is its cross-entropy with itself.",
               "`t = np.full(10, s / 10); t[0] += 1 - s; return -np.sum(t * np.log(t))`, but "
               "with s = 0 the zeros make `0 * log(0)`: leave them out."],
        answer="""
            def loss_floor_for(smoothing):
                target = np.full(10, smoothing / 10)
                target[0] += 1 - smoothing
                target = target[target > 0]  # 0 · log 0 counts as 0
                return float(-np.sum(target * np.log(target)))
            """,
        why="The cross-entropy −Σ t·log p is smallest when p equals t, and then it is the "
            "entropy of t itself: 0 only for a one-hot target.",
        wrong=["""
            def loss_floor_for(smoothing):
                return -np.log(1 - smoothing + smoothing / 10)
            """]),
]
