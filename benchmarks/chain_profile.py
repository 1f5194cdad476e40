"""Profile the lesson chain: where each lesson's wall time goes, cell by cell.

Runs lessons 01 to 05 (or --first/--last) the way ``digitlib run`` does, each in a fresh
papermill kernel, into one run folder, and splits each lesson's wall time into:

- kernel: starting the kernel and papermill's own work (the lesson's wall time minus its cells);
- imports: the Setup cell;
- data: cells that load data, artifacts or models (``load_`` in the source);
- training: cells that call ``fit`` (lesson 4's training and its demos);
- figures: cells whose output holds an image;
- writing: cells that save artifacts (``save_`` in the source);
- other: everything else.

A cell goes to the first of imports, training, figures, writing, data that matches. The
ratio the issue tracks is the chain's wall time over ``train_seconds`` in ``metrics.json``.

    python benchmarks/chain_profile.py                 # benchmarks/results/chain-profile-YYYY-MM-DD
    python benchmarks/chain_profile.py -p train_size 5000 -p epochs 1 --out /tmp/quick

Writes OUT.md (a table) and OUT.json (every cell's seconds), never over an existing file;
prints the table. Time it on an
idle machine: other jobs on the same cores slow every part, and training most.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import out_path, write_text  # noqa: E402

SHUTDOWN = "immediate"  # as digitlib.lessons.execute does; --graceful-shutdown waits instead
PARTS = ("kernel", "imports", "data", "training", "figures", "writing", "other")


def classify(cell, first_code: bool) -> str:
    """Return the part of the profile a cell's time belongs to."""
    source = cell.source
    if first_code and "import " in source:
        return "imports"
    if ".fit(" in source:
        return "training"
    if any(k in o.get("data", {}) for o in cell.get("outputs", [])
           for k in ("image/png", "image/jpeg")):
        return "figures"
    if "save_" in source:
        return "writing"
    if "load_" in source:
        return "data"
    return "other"


def profile_lesson(path: Path, out: Path, parameters: dict) -> dict:
    """Execute one lesson with papermill; return its wall time split into PARTS."""
    import papermill

    logging.getLogger("papermill").setLevel(logging.WARNING)
    start = time.perf_counter()
    papermill.execute_notebook(str(path), str(out), parameters=parameters, cwd=str(path.parent),
                               progress_bar=False, log_output=False, kernel_name="python3",
                               shutdown_kernel=SHUTDOWN)
    wall = time.perf_counter() - start
    nb = nbformat.read(out, as_version=4)
    parts = dict.fromkeys(PARTS, 0.0)
    cells = []
    seen_code = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        seconds = float(cell.metadata.get("papermill", {}).get("duration") or 0.0)
        part = classify(cell, first_code=not seen_code)
        seen_code = True
        if "injected-parameters" in cell.metadata.get("tags", []):
            part = "other"
        parts[part] += seconds
        cells.append({"part": part, "seconds": round(seconds, 3),
                      "source": cell.source.splitlines()[0][:70] if cell.source else ""})
    parts["kernel"] = max(0.0, wall - sum(parts.values()))
    return {"lesson": path.stem, "wall": wall, "parts": parts, "cells": cells,
            "size_kb": out.stat().st_size / 1024}


def folder_mb(folder: Path, skip_suffix=".ipynb") -> float:
    """Return the size in MB of the files in ``folder`` (the executed notebooks left out)."""
    return sum(p.stat().st_size for p in folder.rglob("*")
               if p.is_file() and not p.name.endswith(skip_suffix)) / 1e6


def command_seconds(args: list[str], repeat: int = 3) -> float:
    """Return the fastest of ``repeat`` wall times of a command, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="a lesson parameter, as digitlib run")
    parser.add_argument("--first", default="01")
    parser.add_argument("--last", default="05")
    parser.add_argument("--run-dir", help="run folder (default: a temporary one)")
    parser.add_argument("--out", help="output path without suffix (default: "
                        "benchmarks/results/chain-profile-YYYY-MM-DD); an existing file is refused")
    parser.add_argument("--no-imports", action="store_true",
                        help="skip timing `import digitlib`, `digitlib --help` and TensorFlow")
    parser.add_argument("--graceful-shutdown", action="store_true",
                        help="wait for each kernel to exit, as digitlib run did before")
    args = parser.parse_args(argv)
    out = out_path("chain-profile", args.out, (".md", ".json"))
    global SHUTDOWN
    if args.graceful_shutdown:
        SHUTDOWN = "graceful"

    from digitlib.lessons import lesson_paths, parse_value, resolve_parameters

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(args.run_dir or tmp).resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        paths = lesson_paths(args.first, args.last)
        given = {name: parse_value(value) for name, value in args.parameter}
        plan = resolve_parameters(paths, given, run_dir=run_dir)
        lessons = []
        start = time.perf_counter()
        for path in paths:
            lessons.append(profile_lesson(path, run_dir / path.name, plan[path]))
            print(f"{path.stem}: {lessons[-1]['wall']:.1f} s", file=sys.stderr, flush=True)
        chain = time.perf_counter() - start
        metrics_path = run_dir / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
        result = {
            "parameters": given, "chain_seconds": chain, "lessons": lessons,
            "train_seconds": metrics.get("train_seconds"),
            "run_folder_mb": folder_mb(run_dir),
            "run_folder_files": sorted(p.name for p in run_dir.iterdir()
                                       if p.is_file() and not p.name.endswith(".ipynb")),
        }
    if not args.no_imports:
        python = sys.executable
        result["import_digitlib_s"] = command_seconds([python, "-c", "import digitlib"])
        result["digitlib_help_s"] = command_seconds([python, "-m", "digitlib", "--help"])
        result["import_tensorflow_s"] = command_seconds([python, "-c", "import tensorflow"])
        result["heavy_after_import"] = subprocess.run(
            [python, "-c", "import sys, digitlib; print(sorted(m for m in ('tensorflow', 'keras', "
             "'matplotlib', 'pandas', 'sklearn', 'PIL', 'scipy') if m in sys.modules))"],
            check=True, capture_output=True, text=True).stdout.strip()

    table = render(result)
    write_text(out.with_suffix(".json"), json.dumps(result, indent=2) + "\n")
    write_text(out.with_suffix(".md"), table)
    print(table)
    return 0


def render(result: dict) -> str:
    """Return the profile as a Markdown table, one row per lesson, seconds per part."""
    head = "| lesson | wall | " + " | ".join(PARTS) + " | executed size |"
    rows = [head, "|" + "---|" * (len(PARTS) + 3)]
    totals = dict.fromkeys(PARTS, 0.0)
    for lesson in result["lessons"]:
        for part in PARTS:
            totals[part] += lesson["parts"][part]
        rows.append(f"| {lesson['lesson']} | {lesson['wall']:.1f} | "
                    + " | ".join(f"{lesson['parts'][p]:.1f}" for p in PARTS)
                    + f" | {lesson['size_kb']:.0f} KB |")
    rows.append(f"| **chain** | **{result['chain_seconds']:.1f}** | "
                + " | ".join(f"{totals[p]:.1f}" for p in PARTS) + " | |")
    lines = ["Seconds of wall time per lesson, each in a fresh kernel "
             f"(parameters: {result['parameters'] or 'the defaults'}).", "", *rows, ""]
    train = result.get("train_seconds")
    if train:
        lines.append(f"- `train_seconds` in metrics.json: {train:.1f} s; chain / training: "
                     f"**{result['chain_seconds'] / train:.2f}×**")
    lines.append(f"- run folder (without the executed notebooks): "
                 f"{result['run_folder_mb']:.1f} MB: {', '.join(result['run_folder_files'])}")
    if "import_digitlib_s" in result:
        lines.append(f"- `import digitlib` {result['import_digitlib_s']:.2f} s, "
                     f"`digitlib --help` {result['digitlib_help_s']:.2f} s, "
                     f"`import tensorflow` {result['import_tensorflow_s']:.2f} s "
                     "(fastest of 3 each); heavy modules after `import digitlib`: "
                     f"{result['heavy_after_import']}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
