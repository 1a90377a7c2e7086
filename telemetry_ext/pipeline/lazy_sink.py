"""The S3 sink, loaded when it is first needed rather than at start-up.

Init needs none of it: TLS, SigV4, credentials, S3's answers and their imports (ssl, hmac, hashlib, random,
urllib) were a third of the extension's start-up CPU. `LazyS3Sink` stands for it until then. The lifecycle
calls `prepare` once our first /next is on the wire (our init is done; Lambda's goes on while the runtime
starts, and no invoke runs yet): a worker thread imports and builds the sink, then its TLS context
(`S3Sink.prepare`). Loading it after the first INVOKE instead held that invoke's /next up to ~70 ms at 128 MB
(the thread holding the GIL, throttled) and was often unfinished at an early SHUTDOWN (scripts/bench/tls.py).
A PUT that comes before it is loaded waits for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from telemetry_ext.config import Config
    from telemetry_ext.pipeline.batcher import Batch
    from telemetry_ext.pipeline.sink import S3Sink


class LazyS3Sink:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._loading: asyncio.Future[S3Sink] | None = None

    def prepare(self) -> None:
        """Load the sink in a worker thread (once), then start building its TLS context."""
        if self._loading is None:
            self._loading = asyncio.get_running_loop().run_in_executor(None, self._build)
            self._loading.add_done_callback(_prepare_when_loaded)

    def _build(self) -> S3Sink:
        from telemetry_ext.pipeline.sink import S3Sink  # the point of this class: imported here, in a thread

        return S3Sink(self._config, self._clock)

    async def put(self, batch: Batch, timeout_s: float) -> None:
        self.prepare()
        assert self._loading is not None
        sink = await asyncio.shield(self._loading)
        await sink.put(batch, timeout_s)

    def after_restore(self) -> None:
        sink = self._loaded()
        if sink is not None:
            sink.after_restore()

    async def close(self) -> None:
        sink = self._loaded()
        if sink is not None:
            await sink.close()

    def _loaded(self) -> S3Sink | None:
        loading = self._loading
        if loading is None or not loading.done() or loading.cancelled() or loading.exception() is not None:
            return None
        return loading.result()


def _prepare_when_loaded(loading: asyncio.Future[S3Sink]) -> None:
    if not loading.cancelled() and loading.exception() is None:
        loading.result().prepare()
