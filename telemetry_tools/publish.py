"""Publish the built zip as a layer version in each region, optionally public, and print a table of ARNs.

    plan(request)      -> Plan        validates everything, calls nothing (this is what --dry-run prints)
    execute(plan, ...) -> [Published] one PublishLayerVersion (+ AddLayerVersionPermission) per region

Lambda's API and moto accept less than they should check here: moto takes any architecture or runtime
string, and the real API would take an arm64 zip published as x86_64. So the inputs are validated here:
architectures x86_64/arm64 only, at most 15 runtimes, each a real identifier that can run this flavour, a
licence, and a zip whose ELF files match the architecture.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from telemetry_tools import layer_zip
from telemetry_tools.errors import ToolError
from telemetry_tools.runtimes import ARCHITECTURES, MAX_RUNTIMES, default_runtimes, runtime_problem
from telemetry_tools.settings import is_region

LICENSE: Final = "Apache-2.0"
PUBLIC_STATEMENT: Final = "telemetry-ext-public"
_LAYER_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]{1,140}$")


@dataclass(frozen=True, slots=True)
class Request:
    """What the user asked for, unchecked (flags)."""

    arch: str
    zip_path: Path
    regions: Sequence[str]
    runtimes: Sequence[str] = ()
    layer_name: str = ""
    license: str = LICENSE
    public: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """A checked request: everything PublishLayerVersion will be given."""

    layer_name: str
    zip: layer_zip.ZipFacts
    architectures: tuple[str, ...]
    runtimes: tuple[str, ...]
    license: str
    description: str
    regions: tuple[str, ...]
    public: bool


@dataclass(frozen=True, slots=True)
class Published:
    region: str
    arn: str = ""
    version: int = 0
    public: bool = False
    error: str = ""
    runtimes: tuple[str, ...] = field(default=())
    architectures: tuple[str, ...] = field(default=())


def plan(request: Request) -> Plan:
    if request.arch not in ARCHITECTURES:
        raise ToolError(f"--arch: {request.arch!r}: give one of {', '.join(ARCHITECTURES)}")
    regions = _regions(request.regions)
    facts = layer_zip.inspect(request.zip_path)
    layer_zip.check_limits(facts)
    wrong = sorted(facts.architectures - {request.arch})
    if wrong:
        raise ToolError(f"{facts.path}: holds {', '.join(wrong)} binaries, not {request.arch}: check --arch/--zip")
    runtimes = _runtimes(request.runtimes, facts)
    name = request.layer_name or f"telemetry-ext-{facts.flavour}-{request.arch}"
    if not _LAYER_NAME.match(name):
        raise ToolError(f"--layer-name: {name!r}: 1-140 letters, digits, - and _")
    licence = request.license.strip()
    if not licence or len(licence) > 512:
        raise ToolError("--license: give an SPDX identifier or a URL, at most 512 characters")
    description = f"telemetry-ext {facts.flavour} {request.arch}: Telemetry API to S3 (zip sha256 {facts.sha256[:12]})"
    return Plan(name, facts, (request.arch,), runtimes, licence, description, regions, request.public)


def _regions(regions: Sequence[str]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(r.strip() for r in regions if r.strip()))
    if not unique:
        raise ToolError("--regions: give one or more regions (or set AWS_REGION)")
    bad = [r for r in unique if not is_region(r)]
    if bad:
        raise ToolError(f"--regions: {', '.join(bad)}: not AWS region names (e.g. us-east-1)")
    return unique


def _runtimes(requested: Sequence[str], facts: layer_zip.ZipFacts) -> tuple[str, ...]:
    runtimes = tuple(dict.fromkeys(r.strip() for r in requested if r.strip()))
    if not runtimes:
        runtimes = default_runtimes(facts.flavour, facts.carries_libc, facts.python)
        if not runtimes:
            raise ToolError(f"{facts.path}: cannot tell its CPython version: give --runtimes")
    if len(runtimes) > MAX_RUNTIMES:
        raise ToolError(f"--runtimes: {len(runtimes)} given; a layer version takes at most {MAX_RUNTIMES}")
    for runtime in runtimes:
        problem = runtime_problem(runtime, facts.flavour, facts.python, facts.carries_libc)
        if problem:
            raise ToolError(f"--runtimes: {problem}")
    return runtimes


ClientFactory = Callable[[str], Any]
"""region -> a boto3 Lambda client for it."""


def execute(plan: Plan, client_for: ClientFactory, progress: Callable[[str], None]) -> list[Published]:
    """Publish in every region of the plan; a region that fails is reported and the others still run."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    content = plan.zip.path.read_bytes()
    results = []
    for region in plan.regions:
        progress(f"publish: {plan.layer_name} in {region} ({plan.zip.size / 1e6:.1f} MB)")
        try:
            results.append(_publish_one(plan, client_for(region), region, content))
        except NoCredentialsError:
            raise ToolError("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from None
        except ClientError as error:
            detail = error.response.get("Error", {})
            results.append(Published(region, error=f"{detail.get('Code', 'Error')}: {detail.get('Message', '')}"))
        except BotoCoreError as error:
            results.append(Published(region, error=str(error)))
    return results


def _publish_one(plan: Plan, client: Any, region: str, content: bytes) -> Published:
    answer = client.publish_layer_version(
        LayerName=plan.layer_name,
        Description=plan.description,
        Content={"ZipFile": content},
        CompatibleRuntimes=list(plan.runtimes),
        CompatibleArchitectures=list(plan.architectures),
        LicenseInfo=plan.license,
    )
    version = int(answer["Version"])
    if plan.public:
        client.add_layer_version_permission(
            LayerName=plan.layer_name,
            VersionNumber=version,
            StatementId=PUBLIC_STATEMENT,
            Action="lambda:GetLayerVersion",
            Principal="*",
        )
    return Published(
        region,
        answer["LayerVersionArn"],
        version,
        plan.public,
        runtimes=tuple(answer.get("CompatibleRuntimes", plan.runtimes)),
        architectures=tuple(answer.get("CompatibleArchitectures", plan.architectures)),
    )


def plan_text(plan: Plan) -> str:
    facts = plan.zip
    lines = [
        f"layer       {plan.layer_name} ({facts.flavour}, {', '.join(plan.architectures)})",
        f"zip         {facts.path} ({facts.size / 1e6:.2f} MB, {facts.unzipped / 1e6:.2f} MB unzipped)",
        f"sha256      {facts.sha256}",
        f"runtimes    {', '.join(plan.runtimes)} ({len(plan.runtimes)} of at most {MAX_RUNTIMES})",
        f"licence     {plan.license}",
        f"public      {'yes (lambda:GetLayerVersion for every account)' if plan.public else 'no'}",
        f"regions     {', '.join(plan.regions)}",
    ]
    return "\n".join(lines)


def table(results: Sequence[Published]) -> str:
    header = ("region", "layer version ARN", "architectures", "runtimes", "public")
    rows = [
        (r.region, r.arn or f"FAILED {r.error}", ",".join(r.architectures), ",".join(r.runtimes), _yes(r))
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _yes(result: Published) -> str:
    return "" if result.error else ("yes" if result.public else "no")
