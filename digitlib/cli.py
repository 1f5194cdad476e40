"""The ``digitlib`` command: run the lessons in batch, predict digits, sweep parameters."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .errors import DataError, DigitlibError, LessonError, MissingArtifactError, ParameterError
from .runs import ARTIFACTS, DEFAULT_RUN_DIR, run_path


def _parameter_pairs(pairs) -> dict:
    from .lessons import parse_value

    return {name: parse_value(value) for name, value in pairs or []}


def cmd_run(args) -> int:
    """Execute lessons 01 to 05 with papermill into the run folder, then summarise.

    Each lesson gets only the parameters it declares; what lessons from ``--first`` on
    left in the folder by an earlier run is removed first, so the two never mix.
    """
    from tqdm import tqdm

    from .quiet import muted_stderr
    from .lessons import (check_not_foreign, check_run_dir, clear_previous, execute,
                          lesson_paths, resolve_parameters, sample_warning)
    from .params import DATA_SOURCES
    from .runs import record_written

    paths = lesson_paths(args.first, args.last)
    given = _parameter_pairs(args.parameter)
    if "run_dir" in given:
        raise DigitlibError("give the run folder with --run-dir, not -p run_dir")
    if isinstance(given.get("data"), str) and given["data"] not in DATA_SOURCES:
        given["data"] = str(Path(given["data"]).resolve())  # the lessons run in notebooks/
    run_dir = check_run_dir(run_path(args.run_dir))
    plan = resolve_parameters(paths, given, run_dir)
    check_not_foreign(run_dir, paths)
    clear_previous(run_dir, args.first)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with muted_stderr() as stderr:  # the kernels' own start-up chatter
        bar = tqdm(paths, unit="lesson", disable=args.quiet, file=stderr)
        for path in bar:
            bar.set_description(path.stem)
            # recorded before the lesson writes them, so that a failed lesson's are cleared too
            record_written(run_dir, add=[path.name])
            execute(path, run_dir / path.name, plan[path])
            warning = sample_warning(run_dir / path.name)
            if warning:
                bar.write(f"digitlib: warning: {warning}", file=stderr)
        bar.close()
    evaluated = ARTIFACTS["metrics.json"][0] in {path.stem for path in paths}
    shown = args.run_dir if run_path(args.run_dir) == Path(args.run_dir) else str(run_dir)
    _summarise(run_dir, shown, time.perf_counter() - start, metrics=evaluated)
    return 0


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


#: What the summary reads from metrics.json, which lesson 05 writes.
SUMMARY_KEYS = ("model", "test_accuracy", "train_seconds", "epochs", "train_examples",
                "data_source")


def _summarise(run_dir: Path, shown: str, seconds: float, metrics: bool = True) -> None:
    metrics_path = run_dir / "metrics.json"
    print(f"lessons finished in {seconds:.0f} s; results in {shown}")
    if metrics and metrics_path.is_file():
        try:
            m = json.loads(metrics_path.read_text())
        except ValueError:
            m = None
        missing = [k for k in SUMMARY_KEYS if k not in m] if isinstance(m, dict) else SUMMARY_KEYS
        if missing:
            raise DataError(f"{metrics_path}: no {missing[0]!r} in it (an older or damaged "
                            "metrics.json): run 05_evaluate again")
        each = f" for each of {m['networks']} networks" if m.get("networks", 1) > 1 else ""
        print(f"model {m['model']}: test accuracy {m['test_accuracy']:.4f}, "
              f"training {m['train_seconds']:.1f} s over {_plural(m['epochs'], 'epoch')}{each} "
              f"on {m['train_examples']:,} images, on {m.get('backend', 'tensorflow')} "
              f"({m['data_source']})")
        print(f"model file: {Path(shown) / 'mnist.keras'}")


def cmd_predict(args) -> int:
    """Print ``path<TAB>digit<TAB>probability`` for each image; report bad files on stderr."""
    from .prediction import predict_files

    model_path = Path(args.model) if args.model else run_path(DEFAULT_RUN_DIR) / "mnist.keras"
    if not args.model and not model_path.is_file():
        raise MissingArtifactError(
            f"no trained model at {model_path.resolve()}, the default: give the path of one "
            "with --model PATH, or train one here with `digitlib run`")
    failures = 0
    for path, result in predict_files(model_path, args.images):
        if isinstance(result, DigitlibError):
            print(f"digitlib: {result}", file=sys.stderr)
            failures += 1
        else:
            print(f"{path}\t{result.digit}\t{result.probability:.4f}")
    return 1 if failures else 0


def cmd_sweep(args) -> int:
    """Run the lessons once per combination of parameter values and collect sweep.csv.

    A parameter given one value is the same in every run; one given comma-separated
    values is swept, and names the run folders.
    """
    from .sweeps import parse_values, sweep

    grid, fixed = {}, {}
    for name, text in args.parameter or []:
        if name in grid or name in fixed:
            raise ParameterError(f"parameter {name!r} is given twice; list its values once, "
                                 "separated by commas")
        values = parse_values(name, text)
        if len(values) == 1:
            fixed[name] = values[0]
        else:
            grid[name] = values
    table = sweep(run_path(args.sweep_dir), grid, jobs=args.jobs, first=args.first,
                  last=args.last, progress=not args.quiet, fixed=fixed, scheduler=args.scheduler)
    failed = table[table["error"].notna()]
    for _, row in failed.iterrows():
        print(f"digitlib: run {row['run_dir']} failed: {row['error']}", file=sys.stderr)
    shown = [c for c in [*grid, "test_accuracy", "train_seconds"] if c in table]
    if shown:
        print(table[shown].round({"test_accuracy": 4, "train_seconds": 1}).to_string(index=False))
    if "train_seconds" in shown and args.jobs > 1:
        print(f"train_seconds were measured with up to {args.jobs} runs sharing the CPU: "
              "compare them within this sweep only")
    print(f"{len(table)} runs ({len(failed)} failed); table in "
          f"{Path(args.sweep_dir) / 'sweep.csv'}")
    return 1 if len(failed) else 0


def cmd_refresh(args) -> int:
    """Re-execute the committed lessons in place with their default parameters, cleaned."""
    from .quiet import muted_stderr
    from .lessons import execute, lesson_paths

    if not os.environ.get("DIGITLIB_DATA"):
        raise DigitlibError("set DIGITLIB_DATA to a full copy of MNIST before refreshing lessons")
    for path in lesson_paths(args.first, args.last):
        print(f"executing {path.name}", flush=True)
        with tempfile.TemporaryDirectory() as tmp, muted_stderr():
            out = Path(tmp) / path.name
            execute(path, out, None)
            shutil.move(out, path)
    return 0


def cmd_lab(args) -> int:
    """Copy the lessons into the learner's own folder, then start JupyterLab on it."""
    import subprocess

    from .lessons import notebooks_dir
    from .workspace import WORKSPACE, sync_lessons

    folder = Path(args.folder) if args.folder else WORKSPACE
    for line in sync_lessons(notebooks_dir(), folder):
        print(f"digitlib: {line}")
    print(f"digitlib: your lessons are in {folder}; your answers stay there, "
          "and git pull never changes them")
    if args.no_start:
        return 0
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={folder.resolve()}",
               *args.jupyter_args]
    return subprocess.call(command)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose epilog may be computed only when help is shown."""

    lazy_epilog = None

    def format_help(self):
        if self.lazy_epilog is not None:
            self.epilog = self.lazy_epilog()
        return super().format_help()


def _lesson_parameters_help() -> str:
    """Return the lessons' parameters, lesson by lesson, with defaults and comments."""
    from .lessons import lesson_parameters, lesson_paths, parameter_help

    try:
        paths = lesson_paths("00", None)
    except DigitlibError as error:
        return str(error)
    lines = ["lesson parameters (-p NAME VALUE); each lesson gets only those it declares, and",
             "keeps its own default for the rest:"]
    for path in paths:
        defaults, helps = lesson_parameters(path), parameter_help(path)
        names = [name for name in defaults if name != "run_dir"]
        lines.append(f"  {path.stem}" + ("" if names else ": no parameters but the run folder"))
        for name in names:
            comment = f"  # {helps[name]}" if helps.get(name) else ""
            lines.append(f"    {name} = {defaults[name]!r}{comment}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``digitlib`` command line."""
    parser = _Parser(prog="digitlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def lesson_range(p, last="05"):
        p.add_argument("--first", default="01", help="first lesson number, 1 or 01 (default 01)")
        p.add_argument("--last", default=last,
                       help=f"last lesson number (default {last or 'the last lesson'})")

    run = sub.add_parser("run", help="run lessons 01-05 end to end with papermill",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.lazy_epilog = _lesson_parameters_help
    run.add_argument("--run-dir", default=str(DEFAULT_RUN_DIR),
                     help="folder for the executed lessons and artifacts (default runs/default)")
    run.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="set a lesson parameter, typed like papermill's -p")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    lesson_range(run)
    run.set_defaults(func=cmd_run)

    predict = sub.add_parser("predict", help="read handwritten digits from image files")
    predict.add_argument("--model", help="trained model (default runs/default/mnist.keras)")
    predict.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...)")
    predict.set_defaults(func=cmd_predict)

    sweep = sub.add_parser("sweep", help="run the lessons over a grid of parameter values")
    sweep.add_argument("--sweep-dir", default="runs/sweep",
                       help="folder of the sweep's runs and sweep.csv (default runs/sweep)")
    sweep.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUES"),
                       help="a parameter and its comma-separated values, typed like "
                            "papermill's -p; one value: the same in every run")
    sweep.add_argument("--jobs", type=int, default=1,
                       help="runs at once on the local cluster (default 1)")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on this Dask scheduler, e.g. tls://host:8786 (default: "
                            "$DASK_SCHEDULER_ADDRESS, else a local cluster of --jobs workers)")
    sweep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    lesson_range(sweep)
    sweep.set_defaults(func=cmd_sweep)

    lab = sub.add_parser("lab", help="copy the lessons into my-lessons/ (your own copy, kept "
                                     "across updates) and open JupyterLab there")
    lab.add_argument("--folder", help="your lessons' folder (default my-lessons in the checkout)")
    lab.add_argument("--no-start", action="store_true",
                     help="copy or update the lessons, but do not start JupyterLab")
    lab.add_argument("jupyter_args", nargs=argparse.REMAINDER,
                     help="more arguments for jupyter lab, e.g. --no-browser --port 8890")
    lab.set_defaults(func=cmd_lab)

    refresh = sub.add_parser("refresh-lessons",
                             help="re-execute the committed lessons in place (maintainers)")
    lesson_range(refresh, last=None)
    refresh.set_defaults(func=cmd_refresh)
    return parser


def main(argv=None) -> int:
    """Run the command line; print DigitlibErrors as one line, without a traceback."""
    args = build_parser().parse_args(argv)
    try:
        remote = args.command == "sweep" and (args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"))
        if not remote:  # the lessons' kernels, or this process, would fail on a missing backend
            from .backend import check_backend

            check_backend()
        return args.func(args)
    except DigitlibError as error:
        where = ""
        if isinstance(error, LessonError) and error.notebook:
            where = f" (the executed notebook shows it: {error.notebook})"
        print(f"digitlib: {error}{where}", file=sys.stderr)  # one line, no traceback
        return 1 if isinstance(error, LessonError) else 2
    except KeyboardInterrupt:
        print("digitlib: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
