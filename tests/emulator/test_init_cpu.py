"""CPU during init: the policy per kind of init (unit), and its effect under a real CPU quota (integration)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.init_cpu import InitCpuPolicy, init_cpu
from lambda_emulator.state.measurements import InitCpu, InitRecord
from lambda_emulator.state.runtimes import SimulatedRuntime

HERE = Path(__file__).parent
AUTO, BOOSTED, THROTTLED = InitCpuPolicy.AUTO, InitCpuPolicy.BOOSTED, InitCpuPolicy.THROTTLED


@pytest.mark.parametrize(
    ("policy", "phase", "kind", "memory", "boost", "expected"),
    [
        (AUTO, "init", "on-demand", 128, 1.0, InitCpu("boosted", 1.0)),
        (AUTO, "init", "on-demand", 128, 2.0, InitCpu("boosted", 2.0)),
        (AUTO, "init", "on-demand", 3008, 1.0, InitCpu("boosted", 1.7004)),  # a boost never lowers a big function
        (AUTO, "invoke", "on-demand", 128, 1.0, InitCpu("throttled", 0.0724)),  # re-init after a reset
        (AUTO, "init", "provisioned-concurrency", 128, 1.0, InitCpu("throttled", 0.0724)),
        (BOOSTED, "invoke", "on-demand", 512, 1.0, InitCpu("boosted", 1.0)),
        (THROTTLED, "init", "on-demand", 512, 1.0, InitCpu("throttled", 0.2894)),
    ],
)
def test_the_policy_gives_each_kind_of_init_its_cpu(
    policy: InitCpuPolicy, phase: str, kind: str, memory: int, boost: float, expected: InitCpu
) -> None:
    assert init_cpu(policy, phase, kind, memory, boost) == expected


def burning_layer(tmp_path: Path) -> Path:
    layer = tmp_path / "layer"
    (layer / "extensions").mkdir(parents=True)
    shutil.copy2(HERE / "burning_extension.py", layer / "extensions" / "burner")
    return layer


def config(tmp_path: Path, policy: InitCpuPolicy, burn_ms: int) -> EmulatorConfig:
    return EmulatorConfig(
        runtime=SimulatedRuntime(),
        layer=burning_layer(tmp_path),
        memory_mb=128,
        env={"BURN_INIT_MS": str(burn_ms)},
        init_cpu=policy,
        use_cgroups=True,  # about the CPU quota: fail, never skip, without limits
    )


@pytest.mark.integration
async def test_a_boosted_init_is_faster_and_invokes_after_it_are_throttled(tmp_path: Path) -> None:
    inits: dict[str, InitRecord] = {}
    invoke_ms: dict[str, float] = {}
    for policy in (BOOSTED, THROTTLED):
        # GIVEN a 128 MB function whose extension burns 150 ms of CPU in init
        async with Emulator(config(tmp_path / policy, policy, burn_ms=150)) as emulator:
            # WHEN it starts, then burns 50 ms of CPU in an invoke
            inits[policy] = await emulator.start()
            invoke_ms[policy] = (await emulator.invoke(b'{"cpu_ms": 50}')).runtime_duration_ms
    # THEN the records say which CPU each init had
    assert inits[BOOSTED].cpu == InitCpu("boosted", 1.0) and inits[THROTTLED].cpu == InitCpu("throttled", 0.0724)
    # AND one vCPU runs the same init far faster than 128/1769 of one (~2.5 s); generous bounds, CI is noisy
    assert inits[THROTTLED].duration_ms > 4 * inits[BOOSTED].duration_ms
    # AND after either init the function's own quota holds: 50 ms of CPU take ~0.7 s, not ~50 ms
    assert min(invoke_ms.values()) > 300


@pytest.mark.integration
async def test_auto_boosts_the_first_init_and_throttles_the_reinit_after_a_crash(tmp_path: Path) -> None:
    # GIVEN the default policy and an extension burning 100 ms of CPU in each init
    async with Emulator(config(tmp_path, AUTO, burn_ms=100)) as emulator:
        first = await emulator.start()
        # WHEN the runtime crashes and the next invoke re-initialises the environment
        crashed = await emulator.invoke(b'{"crash": true}')
        after = await emulator.invoke(b"{}")
    assert crashed.status == "error" and after.init is not None and after.init.phase == "invoke"
    # THEN the on-demand init was boosted and the re-init ran with the function's own CPU
    assert first.cpu == InitCpu("boosted", 1.0) and after.init.cpu == InitCpu("throttled", 0.0724)
    assert after.init.duration_ms > 4 * first.duration_ms
