"""MicroBatcher: concurrent submits share calls, results go to the right caller, failures reach all."""

from __future__ import annotations

import asyncio
import threading

import pytest

from services.encoder.batching import MicroBatcher, QueueFull


def run(coro):
    return asyncio.run(coro)


def test_concurrent_items_share_batches_and_get_their_own_results() -> None:
    calls: list[list[int]] = []
    gate = threading.Event()

    def square_all(items: list[int]) -> list[int]:
        gate.wait(5)  # the first call holds the worker, so the rest pile up into the next batch
        calls.append(list(items))
        return [i * i for i in items]

    async def main() -> list[int]:
        batcher = MicroBatcher(square_all, max_cost=8, max_wait_ms=5)
        await batcher.start()
        try:
            tasks = [asyncio.create_task(batcher.submit(i)) for i in range(20)]
            await asyncio.sleep(0.05)
            gate.set()
            results = await asyncio.gather(*tasks)
        finally:
            await batcher.stop()
        assert batcher.batch_sizes == [len(c) for c in calls]
        return results

    results = run(main())
    assert results == [i * i for i in range(20)]
    assert len(calls) < 20
    assert max(len(c) for c in calls) <= 8
    assert sorted(i for c in calls for i in c) == list(range(20))


def test_cost_limits_a_batch_and_an_oversized_item_runs_alone() -> None:
    calls: list[list[list[str]]] = []

    def run_batch(items: list[list[str]]) -> list[int]:
        calls.append(items)
        return [len(i) for i in items]

    async def main() -> list[int]:
        batcher = MicroBatcher(run_batch, max_cost=5, max_wait_ms=50, cost=len)
        await batcher.start()
        try:
            items = [["a"] * 3, ["b"] * 3, ["c"] * 9, ["d"]]
            return await asyncio.gather(*(batcher.submit(i) for i in items))
        finally:
            await batcher.stop()

    assert run(main()) == [3, 3, 9, 1]
    assert all(sum(len(i) for i in batch) <= 5 or len(batch) == 1 for batch in calls)
    assert [i[0] for batch in calls for i in batch] == ["a", "b", "c", "d"]  # FIFO kept


def test_a_failing_batch_fails_each_of_its_requests_and_the_worker_survives() -> None:
    def run_batch(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("unlucky batch")
        return items

    async def main() -> None:
        batcher = MicroBatcher(run_batch, max_cost=4, max_wait_ms=20)
        await batcher.start()
        try:
            results = await asyncio.gather(batcher.submit(13), batcher.submit(1), return_exceptions=True)
            assert all(isinstance(r, ValueError) for r in results)
            assert await batcher.submit(2) == 2  # still serving
        finally:
            await batcher.stop()

    run(main())


def test_queue_limit_answers_queue_full() -> None:
    gate = threading.Event()

    def slow(items: list[int]) -> list[int]:
        gate.wait(5)
        return items

    async def main() -> None:
        batcher = MicroBatcher(slow, max_cost=1, max_wait_ms=0, max_queue=2)
        await batcher.start()
        try:
            first = asyncio.create_task(batcher.submit(0))  # taken by the worker, blocks in `slow`
            await asyncio.sleep(0.05)
            queued = [asyncio.create_task(batcher.submit(i)) for i in (1, 2)]
            await asyncio.sleep(0.05)
            with pytest.raises(QueueFull):
                await batcher.submit(3)
            gate.set()
            assert await asyncio.gather(first, *queued) == [0, 1, 2]
        finally:
            gate.set()
            await batcher.stop()

    run(main())


def test_submit_before_start_is_an_error() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="not running"):
            await MicroBatcher(lambda items: items, max_cost=1, max_wait_ms=0).submit(1)

    run(main())
