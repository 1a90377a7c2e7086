"""The ways Lambda runs an execution environment and the rules that change with each (lambda-api.md §1.5, §2.1,
§3.6-§3.8, §6.2; deploy-and-modes.md §3). Pure data: everything mode-specific is read from a `ModeRules`.

| mode        | AWS_LAMBDA_INITIALIZATION_TYPE           | invokes            | freeze | extensions may register |
|-------------|------------------------------------------|--------------------|--------|-------------------------|
| on-demand   | on-demand (or provisioned-concurrency)   | one at a time      | yes    | INVOKE, SHUTDOWN        |
| lmi         | lambda-managed-instances                 | up to N at once    | no     | SHUTDOWN only           |
| snapstart   | snap-start                               | one at a time      | yes    | INVOKE, SHUTDOWN        |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

Mode = Literal["on-demand", "lmi", "snapstart"]
MODES: Final[tuple[str, ...]] = get_args(Mode)
InitType = Literal["on-demand", "provisioned-concurrency", "snap-start", "lambda-managed-instances"]
ON_DEMAND_INIT_TYPES: Final = ("on-demand", "provisioned-concurrency")
ALL_SCHEMAS: Final = frozenset({"2022-07-01", "2022-12-13", "2025-01-29"})
LMI_SCHEMA: Final = "2025-01-29"
LMI_INIT_TIMEOUT_FLOOR_S: Final = 130.0
"""LMI docs: init may take the maximum of 130 s and the function timeout."""
RESTORE_TIMEOUT_S: Final = 10.0
"""SnapStart docs: after-restore hooks running longer than 10 s time the Restore phase out."""


@dataclass(frozen=True, slots=True)
class ModeRules:
    mode: Mode
    init_type: InitType
    external_events: frozenset[str]
    """Events an external extension may register for."""
    internal_events: bool
    """Whether an internal extension may register for events at all (LMI RIE: "No events allowed")."""
    schema_versions: frozenset[str]
    freezes: bool
    concurrent: bool
    runtime_done: bool
    """platform.runtimeDone is emitted (not on LMI)."""
    runtime_sigterm_s: float
    """How long the runtime may take after SIGTERM at shutdown (RIE: 300 ms; LMI RIE: 600 ms)."""

    @property
    def restores(self) -> bool:
        return self.mode == "snapstart"


def rules_for(mode: Mode, init_type: str | None = None) -> ModeRules:
    if mode == "lmi":
        return ModeRules(mode, "lambda-managed-instances", frozenset({"SHUTDOWN"}), False,
                         frozenset({LMI_SCHEMA}), False, True, False, 0.6)  # fmt: skip
    if mode == "snapstart":
        return ModeRules(mode, "snap-start", frozenset({"INVOKE", "SHUTDOWN"}), True,
                         ALL_SCHEMAS, True, False, True, 0.3)  # fmt: skip
    chosen: InitType = "provisioned-concurrency" if init_type == "provisioned-concurrency" else "on-demand"
    return ModeRules(mode, chosen, frozenset({"INVOKE", "SHUTDOWN"}), True, ALL_SCHEMAS, True, False, True, 0.3)


def default_init_timeout_s(mode: Mode, function_timeout_s: float) -> float:
    """10 s everywhere (lambda-api.md §5.1) but on LMI, where it is max(130 s, the function timeout)."""
    return max(LMI_INIT_TIMEOUT_FLOOR_S, function_timeout_s) if mode == "lmi" else 10.0


ON_DEMAND: Final = rules_for("on-demand")
