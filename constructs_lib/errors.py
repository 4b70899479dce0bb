"""The one error type that carries a list of problems, one line each."""

from __future__ import annotations

from typing import Any, TypeVar

E = TypeVar("E", bound="ProblemsError")


class ProblemsError(Exception):
    """Input or output that cannot be used: `problems` holds one line each (`path: message`),
    printed as they are; `source` names what was checked (a file, `inputs`), where it helps.

    Every error of the base that reports problems derives from this class, so the CLI and the
    synth handle them in one place, and each survives the trip back from a worker process.
    """

    def __init__(self, problems: list[str], *, source: str = "", message: str | None = None):
        super().__init__(message if message is not None else "; ".join(problems))
        self.problems = problems
        self.source = source

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.problems, self.source, str(self)))


def _rebuild(cls: type[E], problems: list[str], source: str, message: str) -> E:
    error = cls.__new__(cls)
    ProblemsError.__init__(error, problems, source=source, message=message)
    return error
