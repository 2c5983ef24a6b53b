"""Micro-batching: concurrent requests share one forward pass.

Requests put their item on an asyncio queue and await a future. One worker task takes the first
waiting item, gathers more for at most ``max_wait_ms`` (or until ``max_cost`` is reached), and runs
the batch function in a thread so the event loop keeps accepting uploads meanwhile. While a pass
runs, new requests queue up and form the next batch, so under load batches fill by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)


class QueueFull(RuntimeError):
    """More requests are waiting than ``max_queue``; the caller should answer 503 + Retry-After."""


@dataclass
class _Job(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    cost: int


class MicroBatcher(Generic[T, R]):
    """``await batcher.submit(item)`` → that item's result from ``run_batch([items...])``.

    ``run_batch`` is synchronous (it runs in a worker thread) and returns one result per item, in
    order. If it raises, every request of that batch gets the exception.
    """

    def __init__(
        self,
        run_batch: Callable[[list[T]], Sequence[R]],
        *,
        max_cost: int,
        max_wait_ms: float,
        max_queue: int = 256,
        cost: Callable[[T], int] = lambda item: 1,
        name: str = "batch",
    ):
        self._run_batch = run_batch
        self.max_cost = max(1, max_cost)
        self.max_wait_s = max(0.0, max_wait_ms) / 1000.0
        self.max_queue = max_queue
        self._cost = cost
        self.name = name
        self._queue: asyncio.Queue[_Job[T, R]] | None = None
        self._worker: asyncio.Task | None = None
        self.batch_sizes: list[int] = []  # items per run_batch call, most recent last (bounded)

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._work(), name=f"{self.name}-batcher")

    async def stop(self) -> None:
        """Stop the worker; requests still queued get a RuntimeError instead of hanging."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        while self._queue is not None and not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(RuntimeError(f"{self.name} batcher stopped"))

    @property
    def queued(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def submit(self, item: T) -> R:
        if self._queue is None or self._worker is None:
            raise RuntimeError(f"{self.name} batcher is not running")
        if self._queue.qsize() >= self.max_queue:
            raise QueueFull(f"{self.queued} {self.name} requests are already waiting")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(item, future, max(1, self._cost(item))))
        return await future

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            batch = await self._gather()
            live = [job for job in batch if not job.future.done()]  # skip requests already cancelled
            if not live:
                continue
            self.batch_sizes.append(len(live))
            del self.batch_sizes[:-1000]
            try:
                results = await asyncio.to_thread(self._run_batch, [job.item for job in live])
            except Exception as exc:  # the batch failed: every waiting request learns why
                log.exception("%s batch of %d failed", self.name, len(live))
                for job in live:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            for job, result in zip(live, results, strict=True):
                if not job.future.done():
                    job.future.set_result(result)

    async def _gather(self) -> list[_Job[T, R]]:
        assert self._queue is not None
        first = await self._queue.get()
        batch, cost = [first], first.cost
        deadline = time.monotonic() + self.max_wait_s
        while cost < self.max_cost:
            # Take what is already waiting first; only then wait out the rest of the window.
            if self._queue.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            else:
                job = self._queue.get_nowait()
            if cost + job.cost > self.max_cost:
                await self._requeue_front(job)
                break
            batch.append(job)
            cost += job.cost
        return batch

    async def _requeue_front(self, job: _Job[T, R]) -> None:
        # asyncio.Queue has no push-front; keep FIFO fairness by rotating the rest behind it.
        assert self._queue is not None
        rest = [self._queue.get_nowait() for _ in range(self._queue.qsize())]
        for item in (job, *rest):
            self._queue.put_nowait(item)
