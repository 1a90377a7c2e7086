"""How much CPU the function gets: memory/1769 of a core, and during init what the init CPU policy says.

AWS documents only that CPU scales with memory (1,769 MB = one vCPU; "Configure Lambda function memory"), nothing
about init. Published measurements (../shared/reference/deploy-and-modes.md §4):

- on-demand init is boosted: "two unthrottled vCPUs, even at the lowest memory configurations" (Luc van
  Donkersgoed, lucvandonkersgoed.com, April 2022); "boosts the amount of CPU resources to 1vCPU, equivalent to
  setting the function configuration to 1769mb RAM" (A. J. Stuyvenberg, DataDog/datadog-lambda-extension
  issue #191, February 2025). The later, lower figure is the default here (`boost_vcpus=1`); 2 gives the other.
- provisioned-concurrency init does "not receive this CPU boost" (DataDog/datadog-lambda-extension PR #700, 2025);
- the suppressed re-init after a crash, timeout or OOM (`phase: "invoke"`) runs within the function's own CPU
  (issue #191; aaronstuyvenberg.com/posts/lambda-timeout-doom-loop, October 2024).

`auto` (the default) applies that per kind of init; `boosted` and `throttled` force one policy for every init.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from lambda_emulator.sandbox.figures import function_vcpus
from lambda_emulator.state.measurements import InitCpu

DEFAULT_BOOST_VCPUS: Final = 1.0


class InitCpuPolicy(StrEnum):
    AUTO = "auto"
    BOOSTED = "boosted"
    THROTTLED = "throttled"


def is_boosted_kind(phase: str, initialization_type: str) -> bool:
    """Only the first init of an on-demand environment is boosted; provisioned concurrency and re-inits are not."""
    return phase == "init" and initialization_type == "on-demand"


def init_cpu(
    policy: InitCpuPolicy, phase: str, initialization_type: str, memory_mb: int, boost_vcpus: float
) -> InitCpu:
    boosted = policy is InitCpuPolicy.BOOSTED or (
        policy is InitCpuPolicy.AUTO and is_boosted_kind(phase, initialization_type)
    )
    own = function_vcpus(memory_mb)
    if boosted:  # a boost never lowers a large function's own share
        return InitCpu("boosted", round(max(boost_vcpus, own), 4))
    return InitCpu("throttled", round(own, 4))
