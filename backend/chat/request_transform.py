"""Skip the openai library's request transform when it cannot change the request.

Before sending, the library walks every request body against its parameter types to rename
aliased keys and format dates and files (``openai._utils._transform``). For the Responses and
Chat Completions parameters it renames and formats nothing, yet the walk tries every member of
the input-item union for every item of the history: about 0.8 ms for a one-message request and
14 ms for a 40-item history on this project's bench machine (openai-python #3616 is the same
finding upstream). That was the largest part of our time to first token on a long thread.

For plain JSON data (dicts, lists, strings, numbers, booleans, ``None``) only a key alias could
change anything: formats apply to dates and files, which plain JSON does not hold. So when the
parameter type declares no alias or format anywhere inside it — checked once per type — the
transformed body is the given one minus the top-level unset (``omit``) values. Anything else
(a pydantic model, a tuple, a date, an ``omit`` deeper down) goes through the library's walk.
``tests/backend/test_request_transform.py`` compares both on real request bodies.

The hook is the module-level ``async_transform`` of the pinned openai version, which every async
resource method reaches through ``async_maybe_transform``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, ForwardRef, get_args, get_origin

from openai._utils import _transform as library
from openai._utils import is_given
from typing_extensions import get_type_hints, is_typeddict

_JSON_SCALARS = (str, int, float, bool, type(None))

_library_async_transform: Callable[[Any, object], Awaitable[Any]] = library.async_transform


def is_plain_json(value: object) -> bool:
    """Whether ``value`` is made of dicts with string keys, lists and JSON scalars only."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind in _JSON_SCALARS:
            continue
        if kind is dict:
            if not all(type(key) is str for key in item):  # type: ignore[attr-defined]
                return False
            pending.extend(item.values())  # type: ignore[attr-defined]
        elif kind is list:
            pending.extend(item)  # type: ignore[arg-type]
        else:
            return False
    return True


@functools.lru_cache(maxsize=256)
def declares_transforms(annotation: object) -> bool:
    """Whether a key alias or a format is declared anywhere inside ``annotation``.

    Errs on the side of ``True`` (the library's walk) for anything it cannot resolve.
    """
    try:
        return _declares_transforms(annotation, set())
    except Exception:
        return True


def _declares_transforms(annotation: object, seen: set[int]) -> bool:
    if id(annotation) in seen:
        return False
    seen.add(id(annotation))
    if isinstance(annotation, (str, ForwardRef)):
        return True  # an unresolved reference: cannot tell
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        for info in metadata:
            if isinstance(info, library.PropertyInfo) and (info.alias or info.format):
                return True
        return _declares_transforms(base, seen)
    if is_typeddict(annotation):
        hints = get_type_hints(annotation, include_extras=True)
        return any(_declares_transforms(hint, seen) for hint in hints.values())
    return any(
        _declares_transforms(arg, seen)
        for arg in get_args(annotation)
        if not isinstance(arg, _JSON_SCALARS)  # Literal values
    )


async def async_transform(data: Any, expected_type: object) -> Any:
    """``openai._utils._transform.async_transform``, without the walk when it is a no-op."""
    if (
        type(data) is dict
        and is_typeddict(expected_type)
        and not declares_transforms(expected_type)
    ):
        body = {key: value for key, value in data.items() if is_given(value)}
        if is_plain_json(body):
            return body
    return await _library_async_transform(data, expected_type)


def install() -> None:
    """Route the library's async request transform through the fast path (idempotent)."""
    library.async_transform = async_transform  # type: ignore[assignment]
