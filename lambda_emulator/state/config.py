"""What one emulated execution environment is: function settings, mode, credentials. Validated in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from lambda_emulator.sandbox.layers import MAX_LAYERS
from lambda_emulator.state.credentials import Identity
from lambda_emulator.state.init_cpu import DEFAULT_BOOST_VCPUS, InitCpuPolicy
from lambda_emulator.state.modes import MODES, ON_DEMAND_INIT_TYPES, Mode, ModeRules, default_init_timeout_s, rules_for
from lambda_emulator.state.runtimes import RuntimeSpec

CredentialsSource = Literal["env", "container"]
LogFormat = Literal["Text", "JSON"]
PLACEHOLDER_IDENTITY: Final[Identity] = ("ASIAEMULATOREXAMPLE0", "emulator-secret-access-key", "emulator-session-token")
"""The role credentials a function gets when none are given: Lambda always gives a role's temporary credentials
(an ASIA key with a session token); these sign requests no AWS endpoint accepts."""


class ConfigError(ValueError):
    """An EmulatorConfig that Lambda could not run; the message names the setting."""


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    runtime: RuntimeSpec
    layer: Path | None = None
    """One layer (zip or directory); shorthand for `layers=(layer,)`."""
    layers: tuple[Path, ...] = ()
    """The function's layers in merge order (at most 5): extracted one over the other into /opt."""
    memory_mb: int = 128
    timeout_s: float = 3.0
    env: dict[str, str] = field(default_factory=dict)
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    init_timeout_s: float | None = None
    """None: the mode's limit (10 s; LMI: max(130 s, timeout_s))."""
    freeze: bool = True
    use_cgroups: bool | None = None
    """None: the limits the host can give; True: limits required (else SandboxUnavailable); False: none."""
    init_cpu: InitCpuPolicy = InitCpuPolicy.AUTO
    """CPU during init (init_cpu.py): auto by kind of init, or boosted / throttled for every init."""
    init_boost_vcpus: float = DEFAULT_BOOST_VCPUS
    """A boosted init's CPU, in cores: 1 (Datadog, 2025) or 2 (van Donkersgoed, 2022)."""
    mode: Mode = "on-demand"
    init_type: str | None = None
    """on-demand mode only: "on-demand" (default) or "provisioned-concurrency"."""
    concurrency: int = 1
    """LMI: AWS_LAMBDA_MAX_CONCURRENCY, the most invocations in flight at once."""
    credentials: CredentialsSource | None = None
    """"env" (AWS_ACCESS_KEY_ID ...) or "container" (the credentials endpoint); None: container for SnapStart,
    env otherwise."""
    credentials_identity: Identity | None = None
    """The keys handed out; None: the keys in `env`, else the host's, else a placeholder: a function always has
    credentials, as in Lambda."""
    credentials_ttl_s: float = 1800.0
    """Lifetime of the endpoint's credentials (RIE's own test expects about 30 minutes)."""
    restore_gap_s: float = 1.0
    """SnapStart: wall-clock time the snapshot stays frozen before each restore."""
    redeliver_snapshot_telemetry: bool = False
    """SnapStart: deliver the snapshot's undelivered telemetry (init's) again at every restore after the first.
    Off by default: restores here continue the same processes, whose memory already holds it (README)."""
    use_namespaces: bool | None = None
    """The environment's own file system and names (sandbox/isolation.py): None where the host allows it (root), True
    required (else NamespaceUnavailable), False never (layers in a temporary folder, loopback deliveries)."""
    shared_paths: tuple[Path, ...] = ()
    """Host folders the environment's processes see at the same path, even under its private /tmp (a test's
    recorder files)."""
    log_format: LogFormat = "Text"
    """The function's LoggingConfig LogFormat: JSON log lines become JSON records (schemas 2022-12-13 and later)."""

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise ConfigError(problem)

    @property
    def rules(self) -> ModeRules:
        return rules_for(self.mode, self.init_type)

    @property
    def all_layers(self) -> tuple[Path, ...]:
        return self.layers or ((self.layer,) if self.layer is not None else ())

    @property
    def effective_init_timeout_s(self) -> float:
        if self.init_timeout_s is not None:
            return self.init_timeout_s
        return default_init_timeout_s(self.mode, self.timeout_s)

    @property
    def credentials_source(self) -> CredentialsSource:
        if self.credentials is not None:
            return self.credentials
        return "container" if self.mode == "snapstart" else "env"


def _problem(config: EmulatorConfig) -> str | None:
    if config.mode not in MODES:
        return f"mode must be one of {', '.join(MODES)}, got {config.mode!r}"
    if config.init_type is not None and (config.mode != "on-demand" or config.init_type not in ON_DEMAND_INIT_TYPES):
        return f"init_type must be one of {', '.join(ON_DEMAND_INIT_TYPES)} and only in on-demand mode"
    if config.concurrency < 1 or (config.concurrency > 1 and config.mode != "lmi"):
        return f"concurrency must be 1, or more in lmi mode (got {config.concurrency} in {config.mode})"
    if config.credentials not in (None, "env", "container"):
        return f"credentials must be env or container, got {config.credentials!r}"
    if config.mode == "snapstart" and config.credentials == "env":
        return "credentials=env is impossible with SnapStart: Lambda gives it container credentials only"
    if config.credentials_ttl_s <= 0 or config.restore_gap_s < 0:
        return "credentials_ttl_s must be positive and restore_gap_s not negative"
    if config.timeout_s <= 0 or config.memory_mb < 128:
        return "timeout_s must be positive and memory_mb at least 128"
    if config.layer is not None and config.layers:
        return "give layer or layers, not both"
    if len(config.all_layers) > MAX_LAYERS:
        return f"{len(config.all_layers)} layers given; a function can use at most {MAX_LAYERS}"
    if config.log_format not in ("Text", "JSON"):
        return f"log_format must be Text or JSON, got {config.log_format!r}"
    return None
