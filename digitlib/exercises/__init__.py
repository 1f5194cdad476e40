"""Checked exercises for the lessons: ``check()``, ``hint()`` and ``solution()``.

Each lesson opens its exercises with ``ex = dl.exercises.lesson(1)`` and asks the learner to
fill in the blanks, written ``____``, of an answer cell. The cell after it calls
``ex.q1.check(answer)``, which prints one line that starts with ``Correct``, ``Incorrect`` or
``Not attempted``, and says what is right or wrong without giving the answer away.
``ex.q1.hint()`` gives a hint (``hint(2)`` a deeper one) and ``ex.q1.solution()`` shows a
solution and why it works.

The exercises of lesson ``NN`` live in ``digitlib/exercises/lessonNN.py`` as a list named
``EXERCISES``. ``solution_code("04.2")`` returns exercise 04.2's solution as code that, put in
place of its answer cell (the cell tagged ``exercise:04.2``), makes the check print ``Correct``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import textwrap
import traceback
from dataclasses import dataclass, field
from typing import Callable

from ..errors import ParameterError

__all__ = ["Exercise", "Incorrect", "NotAttempted", "____", "expect", "is_blank", "lesson",
           "solution_code", "all_exercises"]


class _Blank:
    """The blank ``____`` a learner replaces; any arithmetic on it gives the blank back."""

    def __repr__(self):
        return "____"

    def _same(self, *args, **kwargs):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __pow__ = __rpow__ = _same
    __mod__ = __rmod__ = __matmul__ = __rmatmul__ = __neg__ = __pos__ = __abs__ = _same
    __call__ = __getitem__ = _same

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False

    def __len__(self):
        return 0


#: The blank in an answer cell: the cell runs, and its check says "Not attempted".
____ = _Blank()


class Incorrect(Exception):
    """A check found the answer wrong; the message says what is wrong, in the learner's terms."""


class NotAttempted(Exception):
    """A check found a blank (``____``) or ``None`` where the answer should be."""


def is_blank(value) -> bool:
    """Return whether ``value`` is still the blank ``____`` or ``None``."""
    return value is None or isinstance(value, _Blank)


def _raised_by_learner(problem: Exception) -> bool:
    """Return whether ``problem`` went through code the learner wrote (a notebook cell)."""
    for frame, _ in traceback.walk_tb(problem.__traceback__):
        name = frame.f_code.co_filename
        if name.startswith("<") or "ipykernel" in name or "/ipython-input" in name:
            return True
    return False


def expect(condition, message: str) -> None:
    """Raise ``Incorrect(message)`` unless ``condition`` holds."""
    if not condition:
        raise Incorrect(message)


@dataclass
class Exercise:
    """One exercise: its check, its hints, its solution, and wrong answers for the tests.

    Args:
        id: ``"NN.k"``, lesson and number.
        names: the names the answer cell binds, in the order ``check`` takes them.
        judge: ``judge(*values, env)`` raises ``Incorrect`` or ``NotAttempted`` with a message,
            or returns a short praise line; ``env`` is the namespace of the lesson.
        hints: the first hint, then deeper ones.
        answer: the code of a solution, a drop-in for the answer cell.
        why: one or two sentences on why the solution works.
        wrong: code of wrong answers a learner might write, each a drop-in for the answer cell
            whose check must say ``Incorrect`` (used by the tests).
    """

    id: str
    names: tuple
    judge: Callable
    hints: list
    answer: str
    why: str
    wrong: list = field(default_factory=list)

    def check(self, *values) -> None:
        """Print whether the answer is right, in one line."""
        env = inspect.currentframe().f_back.f_globals
        print(self.verdict(*values, env=env))

    def verdict(self, *values, env=None) -> str:
        """Return the check's one line for ``values`` in the lesson namespace ``env``."""
        env = {} if env is None else env
        names = ", ".join(f"`{name}`" for name in self.names)
        if len(values) != len(self.names):
            return f"Incorrect: the check takes {names}; call it as in the cell above."
        blank = [name for name, value in zip(self.names, values) if is_blank(value)]
        if blank:
            return (f"Not attempted: fill in {', '.join(f'`{n}`' for n in blank)} in the cell above "
                    "(replace each ____), run it, then run this check again.")
        tensorflow_log = logging.getLogger("tensorflow")
        level = tensorflow_log.level
        tensorflow_log.setLevel(logging.ERROR)  # a check that calls predict often retraces: quietly
        try:
            praise = self.judge(*values, env=env)
        except NotAttempted as problem:
            return f"Not attempted: {problem}"
        except Incorrect as problem:
            return f"Incorrect: {problem}"
        except Exception as problem:
            detail = str(problem).strip().splitlines()
            detail = f"{type(problem).__name__}: {detail[0]}" if detail else type(problem).__name__
            if _raised_by_learner(problem):
                return f"Incorrect: your code raised {detail}"
            return (f"Incorrect: the check could not use your answer ({detail}); check its type "
                    f"and shape against the question")
        finally:
            tensorflow_log.setLevel(level)
        return "Correct" + (f": {praise}" if praise else ".")

    def hint(self, level: int = 1) -> None:
        """Print hint number ``level`` (1 is the gentlest)."""
        if not self.hints:
            print("No hint for this one: read the question again, then try something.")
            return
        level = max(1, min(int(level), len(self.hints)))
        more = f" (hint({level + 1}) gives another)" if level < len(self.hints) else ""
        print(f"Hint {level}{more}: {self.hints[level - 1]}")

    def solution(self) -> None:
        """Print a solution and why it works."""
        print(f"Solution to exercise {self.id}:\n\n{textwrap.indent(self.solution_text, '    ')}"
              f"\n\nWhy: {self.why}")

    @property
    def solution_text(self) -> str:
        return textwrap.dedent(self.answer).strip()

    def __repr__(self):
        return f"<exercise {self.id}: .check(), .hint(), .solution()>"


class Lesson:
    """The exercises of one lesson, as ``q1``, ``q2``, …"""

    def __init__(self, number: int, exercises: list):
        self.number = number
        self.exercises = list(exercises)
        for exercise in self.exercises:
            setattr(self, f"q{exercise.id.split('.')[1]}", exercise)

    def __iter__(self):
        return iter(self.exercises)

    def __repr__(self):
        return f"<lesson {self.number:02d}: {len(self.exercises)} exercises>"


def _module(number: int):
    try:
        return importlib.import_module(f".lesson{number:02d}", __name__)
    except ModuleNotFoundError:
        raise ParameterError(f"lesson {number:02d} has no exercises") from None


def lesson(number) -> Lesson:
    """Return the exercises of lesson ``number`` (1 or "01"), as ``q1``, ``q2``, …"""
    number = int(number)
    return Lesson(number, _module(number).EXERCISES)


def _find(exercise_id: str) -> Exercise:
    try:
        number, _ = str(exercise_id).split(".")
        found = {e.id: e for e in _module(int(number)).EXERCISES}
        return found[exercise_id]
    except (ValueError, KeyError):
        raise ParameterError(f"no exercise {exercise_id!r}: ids look like '04.2'") from None


def solution_code(exercise_id: str) -> str:
    """Return exercise ``exercise_id``'s solution, as code for its answer cell."""
    return _find(exercise_id).solution_text + "\n"


def all_exercises() -> list:
    """Return every exercise of every lesson that has them, in order."""
    found = []
    for number in range(1, 100):
        try:
            found.extend(_module(number).EXERCISES)
        except ParameterError:
            continue
    return found
