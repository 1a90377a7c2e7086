"""`Record`: the base of the extension's small value objects (an INVOKE, a setting, a flush policy, ...).

A record is a plain class whose `__init__` sets its fields once; they are not changed afterwards. This base gives
it what a dataclass or a named tuple would: equality and a hash by value, a repr, and `replace`. Why not those:
both write their methods as source text and compile it while the module is imported, 0.1-0.4 ms a class, on every
cold start (and `typing.NamedTuple` needs typing imported, ~2 ms more in the native build; build/README.md).
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Self


class Record:
    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), *vars(self).values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes: object) -> Self:
        """A copy with some fields changed."""
        unknown = changes.keys() - vars(self).keys()
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        copy = object.__new__(type(self))
        vars(copy).update(vars(self), **changes)
        return copy
