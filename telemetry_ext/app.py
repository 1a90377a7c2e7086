"""Composition root: register, read the config, start the listener, subscribe, then serve lifecycle events.

Init errors (a bad setting, no credentials, a refused subscription, a port in use) go to /init/error with a
message that names the cause, and the process exits 1. An unexpected error later goes to /exit/error.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import sys
from collections.abc import Mapping

from telemetry_ext import TYPE_CHECKING, __version__, log
from telemetry_ext.config import Config
from telemetry_ext.errors import ConfigError, LambdaApiError
from telemetry_ext.lambda_api import (
    ExtensionsApi,
    Invoke,
    LifecycleEvent,
    Shutdown,
    registration_events,
    subscription_request,
)
from telemetry_ext.lambda_env import LambdaEnv
from telemetry_ext.lifecycle import Lifecycle, SystemClock, new_instance_id
from telemetry_ext.pipeline.batcher import Batcher, Identity
from telemetry_ext.pipeline.lazy_sink import LazyS3Sink
from telemetry_ext.pipeline.listener import TelemetryListener
from telemetry_ext.pipeline.ring_buffer import RingBuffer

if TYPE_CHECKING:
    from typing import Final

SIGTERM_DRAIN_MS: Final = 1000


async def run(env: Mapping[str, str]) -> int:
    try:
        lambda_env = LambdaEnv.from_env(env)
    except ConfigError as error:
        log.error("cannot start: %s", error)
        return 2
    api = ExtensionsApi(lambda_env.runtime_api)
    try:
        await api.register(lambda_env.extension_name, registration_events(lambda_env.shutdown_only))
    except LambdaApiError as error:
        log.error("cannot register with the Extensions API: %s", error)
        return 1
    try:
        config = Config.from_env(env)
    except ConfigError as error:
        return await _fail_init(api, "Extension.ConfigInvalid", f"invalid setting {error}")
    try:
        return await _serve(config, api)
    finally:
        api.close()


async def _serve(config: Config, api: ExtensionsApi) -> int:
    log.set_level(config.log_level)
    lifecycle = _assemble(config)
    listener = TelemetryListener(lifecycle.deliver, config.listener_max_body_bytes)
    try:
        await listener.start(config.listener_host, config.listener_port)
        if await api.subscribe(subscription_request(config)) == "not-supported":
            log.warning("the Telemetry API is not supported here (local mode): no telemetry will arrive")
    except OSError as error:
        port = f"TELEMETRY_EXT_LISTENER_PORT={config.listener_port}"
        await listener.stop(0)
        return await _fail_init(api, "Extension.ListenerFailed", f"cannot listen ({port}): {error}")
    except LambdaApiError as error:
        await listener.stop(0)
        return await _fail_init(api, "Extension.SubscribeFailed", f"TELEMETRY_EXT_TYPES/buffering: {error}")
    except Exception as error:  # whatever else fails during init is still reported, never a silent crash
        await listener.stop(0)
        return await _fail_init(api, "Extension.InitFailed", f"{type(error).__name__}: {error}")
    _init_done()
    try:
        summary = await _event_loop(api, lifecycle, listener)
        sys.stderr.write(summary + "\n")  # the one line we always write, whatever the log level
        return 0
    except Exception as error:
        log.exception("unexpected failure")
        with contextlib.suppress(Exception):
            await api.exit_error("Extension.UnexpectedError", f"{type(error).__name__}: {error}")
        return 1
    finally:
        await listener.stop(0)


def _init_done() -> None:
    """What start-up created lives as long as the process: the garbage collector (off since __main__) never
    traverses it again, and collects what is created from now on."""
    gc.freeze()
    gc.enable()


def _assemble(config: Config) -> Lifecycle:
    identity = Identity(
        extension_version=__version__,
        function_name=config.lambda_env.function_name,
        function_version=config.lambda_env.function_version,
        instance_id=new_instance_id(),
        prefix=config.prefix,
    )
    buffer = RingBuffer(max_events=config.ring_max_events, max_bytes=config.ring_max_bytes)
    batcher = Batcher(buffer, identity, config.batch_max_bytes, config.max_pending_batches)
    return Lifecycle(config, batcher, LazyS3Sink(config), SystemClock())


async def _event_loop(api: ExtensionsApi, lifecycle: Lifecycle, listener: TelemetryListener) -> str:
    """Serve events until SHUTDOWN (or SIGTERM); return the summary line."""
    terminated = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
    while True:
        event = await _next_or_sigterm(api, lifecycle, terminated)
        if isinstance(event, Invoke):
            await lifecycle.on_invoke(event)
        else:
            return await lifecycle.on_shutdown(event, listener)


async def _next_or_sigterm(api: ExtensionsApi, lifecycle: Lifecycle, terminated: asyncio.Event) -> LifecycleEvent:
    next_event = asyncio.ensure_future(api.next_event(on_sent=lifecycle.next_sent))
    sigterm = asyncio.ensure_future(terminated.wait())
    await asyncio.wait({next_event, sigterm}, return_when=asyncio.FIRST_COMPLETED)
    if next_event.done():
        sigterm.cancel()
        return next_event.result()
    next_event.cancel()
    await asyncio.gather(next_event, return_exceptions=True)
    return Shutdown(reason="sigterm", deadline_ms=int(SystemClock().wall() * 1000) + SIGTERM_DRAIN_MS)


async def _fail_init(api: ExtensionsApi, error_type: str, message: str) -> int:
    log.error("init failed: %s", message)
    with contextlib.suppress(LambdaApiError):
        await api.init_error(error_type, message)
    return 1
