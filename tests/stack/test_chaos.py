"""The chaos run as a test: the stack heals from each fault with clear messages and loses nothing.

The figures in docs/reliability.md come from ``python -m tests.stack.chaos_harness`` (same code, printed)."""

from __future__ import annotations

import pytest

from tests.stack.chaos_harness import run_chaos

pytestmark = pytest.mark.slow


def test_every_fault_heals_with_clear_messages_and_nothing_is_lost(tiny_model_dir):
    report = run_chaos(tiny_model_dir, users=3, songs=200, enrich=20)
    print(report.markdown())
    faults = [f.fault for f in report.faults]
    assert faults[:6] == [
        "kill -9 encoder",
        "kill -9 search",
        "kill -9 auth",
        "kill -9 enricher worker (mid-batch)",
        "restart Postgres",
        "kill -9 Redis (restarted)",
    ]
    encoder_down = report.faults[0].seen
    assert encoder_down and all(m.startswith("Reading photos is not available") for m in encoder_down)
    for fault in report.faults:
        assert fault.recovery_s is not None and fault.recovery_s < 60, fault
        assert fault.requests > 0, fault  # the load kept running through it
        for message in fault.seen:
            assert "Traceback" not in message and 'File "' not in message, message
            assert message.endswith("."), message  # a sentence for people, not an exception repr
    assert report.history_acked > 0 and report.history_lost == 0
    assert report.enrich_queued == 40 and report.enrich_lost == 0
    assert report.queued_at_worker_kill > 0  # the worker died with work queued behind it
    # Redis came back with its queue (the append-only file), less at most the task taken meanwhile.
    assert report.queue_after_redis_restart >= report.queue_before_redis_kill - 1 > 0
