"""Train one candidate network for the best ensemble; score it, and ensembles of saved ones.

The exploration behind the `best` model (benchmarks/README.md, "The best model"). Usage, from
the repository root with DIGITLIB_DATA pointing at a full MNIST copy:

    python benchmarks/best_variants.py train all_bn --epochs 7 --seed 1
    python benchmarks/best_variants.py train member --epochs 5 --ema 0.99 --seed 0
    python benchmarks/best_variants.py combine member-e5-s0 member-e5-s1 member-e5-s2

`train` trains one network on the lessons' 54,000 images (no validation), prints its training
seconds and test accuracy alone and with the five shifted views, and keeps its test
probabilities in benchmarks/variants/NAME.npz (never over an existing file). `combine` averages saved probabilities:
the accuracy of an ensemble of those networks, without and with the views.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from _common import HERE, lessons_split, shifted_views

KEPT = HERE / "variants"  # ignored by git (benchmarks/.gitignore)


def network(kind: str, args):
    """Build candidate ``kind``: which layers are normalised, and how the first one works."""
    import digitlib as dl

    keras = dl.models.keras
    layers = keras.layers

    def conv(filters, size, normalised, **kw):
        if not normalised:
            return [layers.Conv2D(filters, size, activation="relu", **kw)]
        return [layers.Conv2D(filters, size, use_bias=False, **kw),
                layers.BatchNormalization(momentum=args.bn_momentum), layers.Activation("relu")]

    def dense(normalised):
        if not normalised:
            return [layers.Dense(256, activation="relu")]
        return [layers.Dense(256, use_bias=False),
                layers.BatchNormalization(momentum=args.bn_momentum), layers.Activation("relu")]

    augment = []
    if args.rotation:
        augment.append(layers.RandomRotation(args.rotation, fill_mode="constant"))
    if args.zoom:
        augment.append(layers.RandomZoom(args.zoom, fill_mode="constant"))
    if args.shift:
        augment.append(layers.RandomTranslation(args.shift / 28, args.shift / 28,
                                                fill_mode="constant"))
    if kind in ("all_bn", "member", "no_bn"):  # 5 × 5, pool, 3 × 3, 3 × 3, pool
        first, rest = kind == "all_bn", kind != "no_bn"
        body = [*conv(32, 5, first), layers.MaxPooling2D(2), *conv(64, 3, rest),
                *conv(64, 3, rest), layers.MaxPooling2D(2), layers.Flatten(),
                layers.Dropout(0.2), *dense(rest), layers.Dropout(0.3)]
    elif kind == "strided_bn":  # the default's strided start, then two 3 × 3 convolutions
        body = [layers.Cropping2D(2), *conv(32, 6, True, strides=2),
                *conv(64, 3, True, padding="same"), layers.MaxPooling2D(2), *conv(128, 3, True),
                layers.Flatten(), layers.Dropout(0.2), *dense(True), layers.Dropout(0.3)]
    elif kind == "default_bn":  # the default network, normalised
        body = [layers.Cropping2D(2), *conv(32, 6, True, strides=2), layers.MaxPooling2D(2),
                *conv(128, 3, True), layers.Flatten(), layers.Dropout(0.1), *dense(True),
                layers.Dropout(0.3)]
    else:
        raise SystemExit(f"unknown network {kind!r}")
    return keras.Sequential([keras.Input(dl.models.INPUT_SHAPE), *augment, *body,
                             layers.Dense(10, activation="softmax")], name=kind)


def views(model, x):
    """Return ``model``'s probabilities for each of the best model's five shifted views."""
    return [model.predict(view, batch_size=1000, verbose=0) for view in shifted_views(x)]


def train(args) -> dict:
    """Train one candidate; keep its test probabilities; return its figures."""
    import digitlib as dl

    name = args.name or f"{args.kind}-e{args.epochs}-s{args.seed}"
    if (KEPT / f"{name}.npz").exists():
        raise SystemExit(f"{KEPT / f'{name}.npz'} exists: pass --name with a new name")
    data = lessons_split()
    dl.set_seed(args.seed)
    model = network(args.kind, args)
    recipe = dl.recipe("best", epochs=args.epochs, learning_rate=args.learning_rate,
                       batch_size=args.batch_size, ema_momentum=args.ema)
    from lesson_fit import train

    result = train(model, recipe, data["x_train"], data["y_train"], seed=args.seed)
    probabilities = views(model, data["x_test"])
    y = data["y_test"]
    KEPT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(KEPT / f"{name}.npz", alone=probabilities[0],
                        views=np.mean(probabilities, axis=0), y=y)
    return {"name": name, "params": model.count_params(),
            "train_seconds": round(result["train_seconds"], 1),
            "accuracy": float(np.mean(probabilities[0].argmax(1) == y)),
            "with_views": float(np.mean(np.mean(probabilities, axis=0).argmax(1) == y))}


def combine(names: list[str]) -> dict:
    """Return the test accuracy of the saved networks' average, without and with the views."""
    kept = [np.load(KEPT / f"{name}.npz") for name in names]
    y = kept[0]["y"]
    return {"networks": names, **{
        key: float(np.mean(np.mean([k[key] for k in kept], axis=0).argmax(1) == y))
        for key in ("alone", "views")}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("train")
    one.add_argument("kind", help="all_bn, member (the best model's), no_bn, strided_bn, default_bn")
    one.add_argument("--epochs", type=int, default=5)
    one.add_argument("--learning-rate", type=float, default=0.005)
    one.add_argument("--batch-size", type=int, default=128)
    one.add_argument("--ema", type=float, default=0.0, help="ema_momentum; 0: none")
    one.add_argument("--bn-momentum", type=float, default=0.9)
    one.add_argument("--shift", type=float, default=2.0, help="pixels; 0: no random shifts")
    one.add_argument("--rotation", type=float, default=0.0, help="RandomRotation's factor")
    one.add_argument("--zoom", type=float, default=0.0, help="RandomZoom's factor")
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--name", help="the file name to keep the probabilities under")
    both = sub.add_parser("combine")
    both.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    print(json.dumps(train(args) if args.command == "train" else combine(args.names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
