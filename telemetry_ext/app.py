"""Composition root: register, read the config, start the listener, subscribe, then serve lifecycle events.

Init errors (a bad setting, no credentials, a refused subscription, a port in use) go to /init/error with a
message that names the cause, and the process exits 1. An unexpected error later goes to /exit/error.

Init's calls block (nothing else runs yet). Then one event loop (`loop.py`) serves everything until SHUTDOWN,
and SHUTDOWN's steps run on it in order: listen until Lambda is done, stop the listener (answering the requests
under way), drain, print the summary.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal.py would build its enums at start-up
import gc
import os
import sys

from telemetry_ext import TYPE_CHECKING, __version__, log
from telemetry_ext.config import Config
from telemetry_ext.errors import ConfigError, LambdaApiError
from telemetry_ext.lambda_api import (
    ExtensionsApi,
    Invoke,
    LifecycleEvent,
    NextEvents,
    Shutdown,
    registration_events,
    subscription_request,
)
from telemetry_ext.lambda_env import LambdaEnv
from telemetry_ext.lifecycle import Lifecycle, SystemClock, new_instance_id
from telemetry_ext.loop import Loop
from telemetry_ext.pipeline.batcher import Batcher, Identity
from telemetry_ext.pipeline.flusher import Flusher
from telemetry_ext.pipeline.listener import TelemetryListener
from telemetry_ext.pipeline.ring_buffer import RingBuffer
from telemetry_ext.pipeline.writer import Writer

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Final

    from telemetry_ext.events import DecodedBatch
    from telemetry_ext.pipeline.writer import Client, Outcome

SIGTERM_DRAIN_MS: Final = 1000
LISTENER_STOP_S: Final = 0.1
"""At SHUTDOWN, how long requests under way may take to be answered once the listener stops accepting."""


def run(env: Mapping[str, str]) -> int:
    try:
        lambda_env = LambdaEnv.from_env(env)
    except ConfigError as error:
        log.error("cannot start: %s", error)
        return 2
    api = ExtensionsApi(lambda_env.runtime_api)
    try:
        api.register(lambda_env.extension_name, registration_events(lambda_env.shutdown_only))
    except LambdaApiError as error:
        log.error("cannot register with the Extensions API: %s", error)
        return 1
    try:
        config = Config.from_env(env)
    except ConfigError as error:
        return _fail_init(api, "Extension.ConfigInvalid", f"invalid setting {error}")
    try:
        return Extension(config, api).serve()
    finally:
        api.close()


class Pipeline:
    """listener → ring buffer → batcher → flusher → writer (S3), the lifecycle deciding when, one loop waking them.
    `send_next` is how the lifecycle calls /next (the Extensions API's, or a test's)."""

    def __init__(self, config: Config, send_next: Callable[[], None]) -> None:
        clock = self.clock = SystemClock()
        self.config = config
        self.loop = Loop()
        buffer = RingBuffer(max_events=config.ring_max_events, max_bytes=config.ring_max_bytes)
        identity = Identity(__version__, config.lambda_env.function_name, config.lambda_env.function_version,
                            new_instance_id(), config.prefix)  # fmt: skip
        self.batcher = Batcher(buffer, identity, config.batch_max_bytes, config.max_pending_batches)
        self.writer = Writer(self.loop, self._load_client, self._on_outcome, attempts=config.s3_max_attempts,
                             attempt_timeout_s=config.s3_timeout_ms / 1000, clock=clock.monotonic)  # fmt: skip
        self.flusher = Flusher(self.batcher, self.writer, monotonic=clock.monotonic, wall=clock.wall)
        self.listener = TelemetryListener(self.loop, self._deliver, config.listener_max_body_bytes)
        self.lifecycle = Lifecycle(config, self.batcher, self.flusher, self.writer, clock,
                                   send_next=send_next, in_flight=lambda: self.listener.in_flight)  # fmt: skip
        self.loop.timekeeper = self.lifecycle  # the loop wakes when the lifecycle has something to decide

    # -- wiring ------------------------------------------------------------------------------------------------
    def _load_client(self) -> Client:
        from telemetry_ext.pipeline.sink import S3Sink  # in the writer's thread, after init

        return S3Sink(self.config)

    def _on_outcome(self, outcome: Outcome) -> None:
        self.flusher.on_outcome(outcome)
        self.lifecycle.flush_done()

    def _deliver(self, decoded: DecodedBatch) -> None:
        self.lifecycle.deliver(decoded)

    # -- SHUTDOWN ----------------------------------------------------------------------------------------------
    def shut_down(self, shutdown: Shutdown) -> str:
        """SHUTDOWN's steps, on the loop: listen until Lambda is done, stop the listener (answering the requests
        under way), drain within the deadline; return the summary line."""
        loop, lifecycle, listener, clock = self.loop, self.lifecycle, self.listener, self.clock
        started = clock.monotonic()
        lifecycle.on_shutdown(shutdown)
        plan = lifecycle.shutdown
        assert plan is not None
        loop.run_until(lifecycle.done_listening, plan.listen_until)
        listener.stop_accepting()
        loop.run_until(lambda: not listener.in_flight, min(clock.monotonic() + LISTENER_STOP_S, plan.exit_at))
        listener.close()
        lifecycle.drain()
        loop.run_until(self.flusher.drained, plan.exit_at)
        return lifecycle.summary(shutdown.reason, (clock.monotonic() - started) * 1000)


class Extension:
    """The pipeline, served to Lambda: /next on the loop, SIGTERM as a SHUTDOWN of a second."""

    def __init__(self, config: Config, api: ExtensionsApi) -> None:
        log.set_level(config.log_level)
        self.config, self.api = config, api
        self.pipeline = Pipeline(config, self._send_next)
        self.next_events = NextEvents(api, self.pipeline.loop, self._on_event)
        self.shutdown: Shutdown | None = None

    def _send_next(self) -> None:
        self.next_events.request()
        self.pipeline.lifecycle.next_sent()

    def _on_event(self, event: LifecycleEvent) -> None:
        if isinstance(event, Invoke):
            self.pipeline.lifecycle.on_invoke(event)
        else:
            self.shutdown = event

    def serve(self) -> int:
        api, config, listener = self.api, self.config, self.pipeline.listener
        try:
            listener.start(config.listener_host, config.listener_port)
            if api.subscribe(subscription_request(config)) == "not-supported":
                log.warning("the Telemetry API is not supported here (local mode): no telemetry will arrive")
        except OSError as error:
            listener.close()
            port = f"TELEMETRY_EXT_LISTENER_PORT={config.listener_port}"
            return _fail_init(api, "Extension.ListenerFailed", f"cannot listen ({port}): {error}")
        except LambdaApiError as error:
            listener.close()
            return _fail_init(api, "Extension.SubscribeFailed", f"TELEMETRY_EXT_TYPES/buffering: {error}")
        except Exception as error:  # whatever else fails during init is still reported, never a silent crash
            listener.close()
            return _fail_init(api, "Extension.InitFailed", f"{type(error).__name__}: {error}")
        try:
            summary = self._run()
            sys.stderr.write(summary + "\n")  # the one line we always write, whatever the log level
            return 0
        except Exception as error:
            log.exception("unexpected failure")
            try:
                api.exit_error("Extension.UnexpectedError", f"{type(error).__name__}: {error}")
            except Exception:
                pass
            return 1
        finally:
            listener.close()

    def _run(self) -> str:
        """Serve events until SHUTDOWN (or SIGTERM); then SHUTDOWN's steps; return the summary line."""
        terminated = self._on_sigterm()
        _init_done()
        self._send_next()
        pipeline = self.pipeline
        pipeline.loop.run_until(lambda: self.shutdown is not None or terminated())
        wall_ms = int(pipeline.clock.wall() * 1000)
        return pipeline.shut_down(self.shutdown or Shutdown("sigterm", wall_ms + SIGTERM_DRAIN_MS))

    def _on_sigterm(self) -> Callable[[], bool]:
        """SIGTERM (outside Lambda, or a runtime that forwards it) starts SHUTDOWN's steps with a 1 s deadline:
        the signal's wake-up fd wakes the loop, and the handler does nothing else (it may run between any two
        bytecodes of the loop's work)."""
        read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        received: list[int] = []

        def drain() -> None:
            try:
                received.extend(os.read(read_end, 64))
            except BlockingIOError:
                pass

        _signal.set_wakeup_fd(write_end)
        _signal.signal(_signal.SIGTERM, lambda number, frame: None)
        self.pipeline.loop.watch(read_end, drain)
        return lambda: _signal.SIGTERM in received


def _init_done() -> None:
    """What start-up created lives as long as the process: the garbage collector (off since __main__) never
    traverses it again, and collects what is created from now on."""
    gc.freeze()
    gc.enable()


def _fail_init(api: ExtensionsApi, error_type: str, message: str) -> int:
    log.error("init failed: %s", message)
    try:
        api.init_error(error_type, message)
    except LambdaApiError:
        pass
    return 1
