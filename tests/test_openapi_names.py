"""Every schema and enum the API publishes has a name of its own.

The OpenAPI document names components by class name: two different classes of one name (two `OwnerOut`s, or the
registration examination's `Severity` and the anomaly findings' severity) collapse into one component, and the
operations of one of them silently publish the other's shape. The drift test cannot see that, because both the
committed and the generated document carry the same wrong shape.
"""

from __future__ import annotations

import enum
import typing
from collections import defaultdict
from typing import Any

from pydantic import BaseModel

from ipledge.api import api


def _routers() -> list[Any]:
    found: list[Any] = []
    pending = [entry[1] for entry in api._routers]
    while pending:
        router = pending.pop()
        found.append(router)
        pending.extend(entry[1] for entry in getattr(router, "_routers", []))
    return found


def _collect(annotation: Any, names: dict[str, set[type]], seen: set[type]) -> None:
    for argument in typing.get_args(annotation):
        _collect(argument, names, seen)
    if not isinstance(annotation, type) or annotation in seen:
        return
    seen.add(annotation)
    if issubclass(annotation, enum.Enum):
        names[annotation.__name__].add(annotation)
    elif issubclass(annotation, BaseModel):
        if annotation.__module__ != "abc":  # ninja's generated wrappers (NinjaResponseSchema, params) are unnamed
            names[annotation.__name__].add(annotation)
        for field in annotation.model_fields.values():
            _collect(field.annotation, names, seen)


def published_classes() -> dict[str, set[type]]:
    names: dict[str, set[type]] = defaultdict(set)
    seen: set[type] = set()
    for router in _routers():
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in [*operation.models, *operation.response_models.values()]:
                    _collect(model, names, seen)
    return names


def test_the_walk_reaches_the_api() -> None:
    names = published_classes()
    assert {"FindingSeverity", "AnomalyFindingOut", "Severity"} <= set(names)


def test_no_two_published_classes_share_a_name() -> None:
    clashes = {
        name: sorted(f"{c.__module__}.{c.__qualname__}" for c in classes)
        for name, classes in published_classes().items()
        if len(classes) > 1
    }
    assert not clashes, clashes
