"""Which songs already have a task in the queue, so a re-run batch does not queue them twice.

A mark is a Redis key per song holding its task id, set with NX when the batch queues the song and
removed by the task when it is done. A re-run after an interruption finds the mark, skips queueing
and waits for the task already queued. Marks expire, so a task that vanished cannot block a song.
"""

from __future__ import annotations

import redis


def _key(queue: str, track_id: str) -> str:
    return f"pixelplay:enricher:{queue}:queued:{track_id}"


def claim(client: redis.Redis, queue: str, track_id: str, task_id: str, ttl_s: int) -> str | None:
    """Mark ``track_id`` as queued under ``task_id``; return the task id already queued, if any."""
    if client.set(_key(queue, track_id), task_id, nx=True, ex=ttl_s):
        return None
    existing = client.get(_key(queue, track_id))
    return existing.decode() if isinstance(existing, bytes) else existing


def replace(client: redis.Redis, queue: str, track_id: str, task_id: str, ttl_s: int) -> None:
    """Overwrite a stale mark (its task finished without releasing it)."""
    client.set(_key(queue, track_id), task_id, ex=ttl_s)


# Delete the mark only while it still names this task: a song's art task or an on-screen lookup
# must not drop the mark of the batch's own task, still waiting in the backlog.
_RELEASE_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def release(client: redis.Redis, queue: str, track_id: str, task_id: str | None = None) -> None:
    """Remove the song's mark; with ``task_id``, only when the mark is that task's."""
    if task_id is None:
        client.delete(_key(queue, track_id))
    else:
        client.eval(_RELEASE_IF_OWNER, 1, _key(queue, track_id), task_id)
