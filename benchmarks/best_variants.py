"""Train one candidate network for the best ensemble; score it, and ensembles of saved ones.

The exploration behind the `best` model (benchmarks/README.md, "The best model"). Usage, from
the repository root with DIGITLIB_DATA pointing at a full MNIST copy:

    python benchmarks/best_variants.py train all_bn --epochs 7 --seed 1
    python benchmarks/best_variants.py train member --epochs 5 --ema 0.99 --seed 0
    python benchmarks/best_variants.py combine member-e5-s0 member-e5-s1 member-e5-s2
    python benchmarks/best_variants.py table --ensemble m-s0,m-s1,m-s2 --ensemble m-s3,m-s4,m-s5

`table` writes the validation accuracy of each ensemble named (comma-separated networks kept
by `train`) and of each of its networks to OUT.md and OUT.json (--out; by default
benchmarks/results/best-selection-YYYY-MM-DD): the selection, made on validation only.

`train` trains one network on the lessons' 54,000 images and prints its training seconds and
its accuracy on the lessons' 6,000 validation images, alone and with the five shifted views,
and the validation loss; it keeps the probabilities of the validation and the test images,
alone, with the five views and with nine (the four diagonal moves too), in
benchmarks/variants/NAME.npz (never over an existing file). `combine` averages saved
probabilities: the validation accuracy of an ensemble of those networks, without and with
the views; `--test` adds the test accuracy, only for a recipe already chosen (issue 28).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from _common import HERE, lessons_split, machine, out_path, random_strokes, shifted_views, write_text

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
    if args.strokes:
        augment.append(random_strokes())
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


#: Added to the best model's five views, a candidate of nine: one pixel along each diagonal.
DIAGONAL_VIEWS = ((1, 1), (1, -1), (-1, 1), (-1, -1))


def views(model, x):
    """Return ``model``'s probabilities for each of nine shifted views, the best model's five first."""
    import digitlib as dl

    nine = (*dl.models.BEST_VIEWS, *DIAGONAL_VIEWS)
    return np.stack([model.predict(view, batch_size=1000, verbose=0)
                     for view in shifted_views(x, nine)])


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
    validation = views(model, data["x_val"])
    y, y_val = data["y_test"], data["y_val"]
    KEPT.mkdir(parents=True, exist_ok=True)
    five = len(dl.models.BEST_VIEWS)
    np.savez_compressed(KEPT / f"{name}.npz", alone=probabilities[0],
                        views=probabilities[:five].mean(0), views9=probabilities.mean(0), y=y,
                        val_alone=validation[0], val_views=validation[:five].mean(0),
                        val_views9=validation.mean(0), y_val=y_val)
    return {"name": name, "params": model.count_params(),
            "train_seconds": round(result["train_seconds"], 1),
            "val_accuracy": float(np.mean(validation[0].argmax(1) == y_val)),
            "val_with_views": float(np.mean(validation[:five].mean(0).argmax(1) == y_val)),
            "val_with_nine_views": float(np.mean(validation.mean(0).argmax(1) == y_val)),
            "val_loss_with_views": log_loss(validation[:five].mean(0), y_val)}


def log_loss(probabilities, labels) -> float:
    """Return the mean cross-entropy of ``probabilities`` for the true ``labels``.

    Finer than accuracy on 6,000 images, where one image is 0.017 points.
    """
    from sklearn.metrics import log_loss as cross_entropy

    return float(cross_entropy(labels, probabilities, labels=range(probabilities.shape[1])))


def combine(names: list[str], test: bool = False) -> dict:
    """Return the accuracy of the saved networks' average, without and with the views.

    On the validation images (``val_alone``, ``val_views``, ``val_views9``), with the loss;
    with ``test``, on the test images too (``alone``, ``views``, ``views9``): only for a recipe
    already chosen, since a choice made by looking at them would flatter it.
    """
    kept = [np.load(KEPT / f"{name}.npz") for name in names]
    found = {}
    keys = [("val_alone", "y_val"), ("val_views", "y_val"), ("val_views9", "y_val")]
    if test:
        keys += [("alone", "y"), ("views", "y"), ("views9", "y")]
    for key, labels in keys:
        if all(key in k for k in kept):
            average = np.mean([k[key] for k in kept], axis=0)
            found[key] = float(np.mean(average.argmax(1) == kept[0][labels]))
            if key.startswith("val"):
                found[f"{key}_loss"] = log_loss(average, kept[0][labels])
    return {"networks": names, **found}


def table(ensembles: list[str], out: str | None) -> dict:
    """Write the validation accuracy of each ensemble and of its networks; return the figures."""
    path = out_path("best-selection", out, (".md", ".json"))
    rows = []
    for group in ensembles:
        names = group.split(",")
        networks = [combine([name]) for name in names]
        rows.append({"networks": names, "ensemble": combine(names),
                     "each": [{key: n.get(key) for key in ("val_alone", "val_views")}
                              for n in networks]})
    lines = [f"Measured on {machine()}. Validation accuracy on the lessons' 6,000 validation "
             "images (each network trained on the other 54,000); no test figure is used to "
             "choose. Loss: the vote's mean cross-entropy on them, finer than accuracy (one "
             "image is 0.017 points); lower is better.", "",
             "| ensemble | networks | each network alone | each with the five views | "
             "vote | vote with the five views | vote with nine views | loss, five views "
             "| loss, nine views |", "|---|---|---|---|---|---|---|---|---|"]

    def cell(figures, key, form="{:.2%}"):
        return form.format(figures[key]) if key in figures else "–"

    for row in rows:
        alone = " / ".join(f"{n['val_alone']:.2%}" for n in row["each"])
        views_ = " / ".join(f"{n['val_views']:.2%}" for n in row["each"])
        vote = row["ensemble"]
        lines.append(
            f"| {len(row['networks'])} | {', '.join(row['networks'])} | {alone} | {views_} | "
            f"{cell(vote, 'val_alone')} | {cell(vote, 'val_views')} | {cell(vote, 'val_views9')} "
            f"| {cell(vote, 'val_views_loss', '{:.4f}')} "
            f"| {cell(vote, 'val_views9_loss', '{:.4f}')} |")
    write_text(path.with_suffix(".md"), "\n".join(lines) + "\n")
    validation_only = [{"networks": r["networks"], "each": r["each"],
                        "ensemble": {k: v for k, v in r["ensemble"].items() if k.startswith("val")}}
                       for r in rows]
    write_text(path.with_suffix(".json"), json.dumps({"machine": machine(),
                                                      "ensembles": validation_only}, indent=1))
    return {"wrote": str(path.with_suffix(".md"))}


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
    one.add_argument("--strokes", action="store_true",
                     help="thicken or thin a quarter of the digits each, in training")
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--name", help="the file name to keep the probabilities under")
    both = sub.add_parser("combine")
    both.add_argument("names", nargs="+")
    both.add_argument("--test", action="store_true",
                      help="the test accuracy too: only once the recipe is chosen")
    chosen = sub.add_parser("table")
    chosen.add_argument("--ensemble", action="append", required=True, metavar="NAME,NAME,...")
    chosen.add_argument("--out", help="output path without suffix")
    args = parser.parse_args(argv)
    if args.command == "table":
        print(json.dumps(table(args.ensemble, args.out)))
    elif args.command == "train":
        print(json.dumps(train(args)))
    else:
        print(json.dumps(combine(args.names, args.test)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
