"""The base of every model of what people write: strict, frozen, no unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Base of every config model: unknown keys are errors, values are immutable, and types are
    strict: no string or boolean where a number belongs (`replicas: "3"`, `replicas: true`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
