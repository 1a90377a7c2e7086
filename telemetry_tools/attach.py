"""Attach a published layer version to an existing function, in one call, without losing anything:

- its other layers stay (an older version of the same layer is replaced, not added); at most 5 layers;
- its environment stays, with the extension's settings added or changed;
- the layer's architectures and runtimes must include the function's (Lambda would attach it anyway, and
  every cold start could fail: a wrong CPU, no Python for the interpreted flavour, a native zip from before it
  carried its C library on Amazon Linux 2); the native flavour lists 15 of the runtimes it runs on (README);
- container-image functions take no layers: refused with the way to do it (COPY the layer into /opt);
- with `put_role_policy`, the function's role gets the least-privilege policy (policy.py) inline.

    plan(configuration, layer, settings)  -> Change   pure: what UpdateFunctionConfiguration will be given
    apply(change, lambda_client, iam)                 the two calls
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from telemetry_tools.errors import ToolError

MAX_LAYERS: Final = 5
ROLE_POLICY_NAME: Final = "telemetry-ext"
_LAYER_VERSION: Final = re.compile(r"^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+):(\d+)$")


@dataclass(frozen=True, slots=True)
class Change:
    function: str
    layers_before: tuple[str, ...]
    layers: tuple[str, ...]
    variables: dict[str, str]
    changed_variables: tuple[str, ...]
    role: str


def layer_name_of(arn: str) -> tuple[str, int]:
    match = _LAYER_VERSION.match(arn)
    if not match:
        raise ToolError(f"--layer-arn: {arn!r} is not a layer version ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N)")
    return match.group(1), int(match.group(2))


def plan(
    configuration: Mapping[str, Any], layer_arn: str, layer: Mapping[str, Any], settings: Mapping[str, str]
) -> Change:
    """`configuration`: GetFunctionConfiguration's answer; `layer`: GetLayerVersion's (may be empty when it
    cannot be read: then only the ARN's shape is checked); `settings`: TELEMETRY_EXT_* to set."""
    name = configuration["FunctionName"]
    if configuration.get("PackageType") == "Image":
        raise ToolError(f"{name} is a container image: images take no layers; COPY the layer's contents to /opt "
                        "in the image (README: container images)")  # fmt: skip
    layer_base, _ = layer_name_of(layer_arn)
    architectures = configuration.get("Architectures") or ["x86_64"]
    compatible = layer.get("CompatibleArchitectures") or []
    if compatible and not set(architectures) <= set(compatible):
        raise ToolError(f"{name} runs on {', '.join(architectures)}; {layer_arn} is for {', '.join(compatible)}")
    runtime, runtimes = configuration.get("Runtime"), layer.get("CompatibleRuntimes") or []
    if runtime and runtimes and runtime not in runtimes:
        raise ToolError(f"{name} runs {runtime}; {layer_arn} is for {', '.join(runtimes)} (the interpreted flavour "
                        "runs on its Python only; the native one on every runtime: publish a version that lists "
                        f"{runtime}, scripts/publish.sh --runtimes)")  # fmt: skip
    before = tuple(item["Arn"] for item in configuration.get("Layers") or [])
    kept = tuple(arn for arn in before if not arn.startswith(layer_base + ":"))
    layers = (*kept, layer_arn)
    if len(layers) > MAX_LAYERS:
        raise ToolError(f"{name} already has {len(kept)} other layers; Lambda allows {MAX_LAYERS} in all")
    current = dict((configuration.get("Environment") or {}).get("Variables") or {})
    variables = {**current, **settings}
    changed = tuple(sorted(k for k, v in settings.items() if current.get(k) != v))
    return Change(name, before, layers, variables, changed, configuration.get("Role", ""))


def apply(change: Change, client: Any, iam: Any | None, policy: Mapping[str, Any] | None) -> None:
    import json

    client.update_function_configuration(
        FunctionName=change.function, Layers=list(change.layers), Environment={"Variables": change.variables}
    )
    if iam is not None and policy is not None:
        role_name = change.role.rsplit("/", 1)[-1]
        iam.put_role_policy(RoleName=role_name, PolicyName=ROLE_POLICY_NAME, PolicyDocument=json.dumps(policy))


def describe(change: Change, policy_attached: bool) -> str:
    lines = [
        f"function    {change.function}",
        f"layers      {', '.join(change.layers_before) or '(none)'}",
        f"        ->  {', '.join(change.layers)}",
        f"variables   {', '.join(f'{k}={change.variables[k]}' for k in change.changed_variables) or '(unchanged)'}",
        f"role policy {f'{ROLE_POLICY_NAME} on {change.role}' if policy_attached else '(not changed)'}",
    ]
    return "\n".join(lines)
