"""The base of every model of what people write: strict, frozen, no unknown keys."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Base of every config model: unknown keys are errors, values are immutable, and types are
    strict: no string or boolean where a number belongs (`replicas: "3"`, `replicas: true`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    def exactly_one(self, *fields: str) -> Self:
        """The rule of a choice between fields: exactly one of them is set (for an "after"
        model validator); the error names them all."""
        if sum(getattr(self, name) is not None for name in fields) != 1:
            names = [repr(name) for name in fields]
            raise ValueError(f"set exactly one of {', '.join(names[:-1])} or {names[-1]}")
        return self
