"""Scale-out: batches go through a Celery broker (Redis or RabbitMQ) to `kenning worker`
processes on any number of machines; the database stays the only record of what is done.

Coordinator (`kenning index` with `broker_url` set): CeleryExecutor sends a window of
batches and watches the work table, not the broker. A batch is finished when none of its
files is pending. It is sent again when
- the worker that claimed it stopped its heartbeat for `claim_timeout` seconds (killed,
  machine gone, database connection lost for good), or
- nobody claimed it while the broker's queue is empty (the broker lost it: Redis restarted
  without persistence, a queue was purged).
A batch sent again twice is split into single files, and a file whose worker died under it
three times is recorded as failed, so a file that kills workers cannot stall the run.

Workers (`kenning worker`): pipeline/worker.py; the Celery app both sides make:
pipeline/broker.py.
"""


from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

from kenning.classifiers.base import BatchOutcome, Classifier, FileResult
from kenning.config import Settings
from kenning.db import Database, WorkItem, WorkState
from kenning.db.session import retryable
from kenning.pipeline.broker import TASK, BrokerError, celery_app
from kenning.pipeline.jobs import Batch

POLL = 0.1  # seconds between the coordinator's looks at the work table near the end
POLL_BUSY = 0.3  # ... while many batches are still out (its queries cost the workers CPU)
BUSY = 8  # batches out
LOST_GRACE = 3.0  # an unclaimed batch with an empty queue for this long was lost
FULL_CHECK = 2.0  # seconds between looks at claims, lost and deleted work (each poll only
                  # asks which files are no longer pending: a few rows, not every file out)
WINDOW = 256  # batches sent ahead of the results
SPLIT_AFTER = 2  # sends before a batch is split into single files
GIVE_UP_AFTER = 3  # sends of a single file before it is recorded as failed
KILLED_WORKERS = "the worker processing this file died {n} times; skipped"


log = logging.getLogger("kenning.distributed")


@dataclass
class _Sent:
    batch: Batch
    sent_at: float
    sends: int = 1
    unclaimed_since: float | None = None


class CeleryExecutor:
    """Runs batches on `kenning worker`s through the broker (see the module docstring)."""

    workers = 1  # how many workers take batches is not known here: full-size batches

    def __init__(self, db: Database, classifiers: dict[str, Classifier], settings: Settings,
                 wait_hint=None) -> None:
        self.db = db
        self.classifiers = classifiers
        self.settings = settings
        self.app = celery_app(settings.broker_url, settings.broker_queue)
        self.queue = settings.broker_queue
        self.wait_hint = wait_hint or (lambda message: log.warning(message))
        self._complained_at = -1e9
        self.stopping = threading.Event()

    def warm(self, names: Sequence[str]) -> None:
        """Nothing to load here: each `kenning worker` loads its models at start."""

    def close(self) -> None:
        """Nothing to let go of: the workers keep their own."""

    def stop(self) -> None:
        """Wait for no more batches: what was sent is done by the workers all the same."""
        self.stopping.set()

    def _send(self, batch: Batch) -> bool:
        version = self.classifiers[batch.classifier].model_version
        also = [[name, self.classifiers[name].model_version] for name in batch.also]
        try:
            with self.app.producer_or_acquire() as producer:  # pooled: one connection
                self.app.send_task(TASK, args=[batch.classifier, list(batch.file_ids), version],
                                   kwargs={"also": also} if also else None,
                                   queue=self.queue, retry=False, producer=producer)
            return True
        except Exception as exc:  # noqa: BLE001 - kombu/redis/amqp errors: broker down
            if "PRECONDITION_FAILED" in str(exc):
                raise BrokerError(f"the broker has a queue {self.queue!r} made with other "
                                  f"settings ({exc}); delete that queue (RabbitMQ: "
                                  f"`rabbitmqctl delete_queue {self.queue}`) or set "
                                  "broker_queue, and run again") from exc
            now = time.monotonic()
            if now - self._complained_at > 30:
                self.wait_hint(f"cannot reach the broker ({exc}); waiting for it")
                self._complained_at = now
            return False

    def _queue_length(self) -> int | None:
        """Messages waiting in the broker, or None when it cannot be asked."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)
                channel = connection.default_channel
                return channel.queue_declare(queue=self.queue, passive=True).message_count
        except Exception as exc:  # noqa: BLE001
            if "NOT_FOUND" in str(exc) or "no queue" in str(exc).lower():
                return 0
            return None

    def _states(self, classifier: str, ids: list[int], full: bool) -> dict[int, tuple]:
        """(state, error, claimed_at) of these files' work; only the finished ones unless
        `full` (then also the pending ones, with their claims)."""
        rows: dict[int, tuple] = {}
        with self.db.session() as session:
            for start in range(0, len(ids), 1000):
                query = (select(WorkItem.file_id, WorkItem.state, WorkItem.error,
                                WorkItem.claimed_at)
                         .where(WorkItem.classifier == classifier,
                                self._among(WorkItem.file_id, ids[start:start + 1000])))
                if not full:
                    query = query.where(WorkItem.state != WorkState.PENDING)
                for row in session.execute(query):
                    rows[row.file_id] = (row.state, row.error, row.claimed_at)
        return rows

    def _among(self, column, ids: list[int]):
        """`column IN ids`; on PostgreSQL as one array parameter (= ANY), which costs the
        coordinator a third of the CPU of a thousand separate parameters."""
        if self.db.engine.dialect.name == "postgresql":
            return column == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
        return column.in_(ids)

    def _unclaim(self, batch: Batch) -> None:
        with self.db.session() as session:
            session.execute(update(WorkItem).where(
                WorkItem.classifier.in_(batch.classifiers),
                WorkItem.file_id.in_(list(batch.file_ids)),
                WorkItem.state == WorkState.PENDING).values(claimed_by=None, claimed_at=None))

    def _give_up(self, batch: Batch, sends: int) -> None:
        with self.db.session() as session:
            session.execute(update(WorkItem).where(
                WorkItem.classifier.in_(batch.classifiers),
                WorkItem.file_id.in_(list(batch.file_ids)),
                WorkItem.state == WorkState.PENDING).values(
                    state=WorkState.FAILED, error=KILLED_WORKERS.format(n=sends),
                    claimed_by=None, claimed_at=None))

    def run(self, batches: Sequence[Batch], on_outcome) -> None:
        queue = list(reversed(batches))
        unsent: list[_Sent] = []
        out: dict[Batch, _Sent] = {}
        last_progress = last_full = time.monotonic()
        hinted = False
        while (queue or unsent or out) and not self.stopping.is_set():
            now = time.monotonic()
            full = now - last_full >= FULL_CHECK
            while (queue or unsent) and len(out) < WINDOW:
                sent = unsent.pop() if unsent else _Sent(queue.pop(), now)
                if not self._send(sent.batch):
                    unsent.append(sent)
                    break
                sent.sent_at = now
                out[sent.batch] = sent
            try:
                finished, resend = self._check(out, now, full)
                last_full = now if full else last_full
            except DBAPIError as exc:
                if not retryable(exc):
                    raise
                log.warning("database unreachable, retrying: %s", str(exc).splitlines()[0])
                time.sleep(1.0)
                continue
            for batch, outcomes in finished:
                del out[batch]
                for outcome in outcomes:
                    on_outcome(batch.only(outcome.classifier), outcome)
                last_progress = now
            for sent in resend:
                self._resend(out, unsent, sent, now)
            if out and not finished and now - last_progress > 30 and not hinted:
                self.wait_hint("no worker has finished a batch for 30 s: is `kenning worker` "
                               f"running with broker_url {self.settings.broker_url}?")
                hinted = True
            time.sleep(POLL_BUSY if len(out) > BUSY or unsent or queue else POLL)

    def _check(self, out: dict[Batch, _Sent], now: float, full: bool):
        """(finished batches with their outcomes, one per classifier of the batch; batches
        to send again). Every poll finds the finished batches; a `full` check also finds
        work deleted meanwhile, stale claims and lost batches."""
        finished, resend = [], []
        by_classifier: dict[str, list[int]] = {}
        for batch in out:
            for name in batch.classifiers:
                by_classifier.setdefault(name, []).extend(batch.file_ids)
        states = {name: self._states(name, ids, full) for name, ids in by_classifier.items()}
        stale_before = datetime.now(UTC) - timedelta(seconds=self.settings.claim_timeout)
        queue_length: int | None = -1  # asked only when needed
        for batch, sent in out.items():
            if not full:
                if all(i in states[name] for name in batch.classifiers
                       for i in batch.file_ids):
                    finished.append((batch, [
                        self._outcome(batch, name, [states[name][i] for i in batch.file_ids])
                        for name in batch.classifiers]))
                continue
            rows = {name: [states[name].get(i) for i in batch.file_ids]  # None: deleted
                    for name in batch.classifiers}
            pending = [r for mine in rows.values() for r in mine
                       if r is not None and r[0] == WorkState.PENDING]
            if not pending:
                finished.append((batch, [self._outcome(batch, name, mine)
                                         for name, mine in rows.items()]))
                continue
            claims = [_aware(r[2]) for r in pending if r[2] is not None]
            if claims:
                sent.unclaimed_since = None
                if max(claims) < stale_before:
                    resend.append(sent)  # its worker stopped beating
                continue
            if now - sent.sent_at < LOST_GRACE:
                continue
            if queue_length == -1:
                queue_length = self._queue_length()
            if queue_length == 0:
                if sent.unclaimed_since is None:
                    sent.unclaimed_since = now
                elif now - sent.unclaimed_since >= LOST_GRACE:
                    resend.append(sent)  # nobody has it and the queue is empty: lost
            else:
                sent.unclaimed_since = None
        return finished, resend

    def _outcome(self, batch: Batch, classifier: str, rows: list) -> BatchOutcome:
        outcome = BatchOutcome(classifier, self.classifiers[classifier].model_version)
        for file_id, row in zip(batch.file_ids, rows, strict=True):
            if row is None:
                continue  # deleted meanwhile
            if row[0] == WorkState.FAILED:
                outcome.failures[file_id] = row[1] or "failed"
            else:
                outcome.results.append(FileResult(file_id))
        return outcome

    def _resend(self, out: dict[Batch, _Sent], unsent: list[_Sent], sent: _Sent,
                now: float) -> None:
        del out[sent.batch]
        self.db.retrying(self._unclaim, sent.batch)
        if len(sent.batch.file_ids) == 1 and sent.sends >= GIVE_UP_AFTER:
            self.db.retrying(self._give_up, sent.batch, sent.sends)
            out[sent.batch] = _Sent(sent.batch, now, sent.sends)  # reported by the next check
            return
        parts = ([sent.batch] if sent.sends < SPLIT_AFTER or len(sent.batch.file_ids) == 1
                 else [replace(sent.batch, file_ids=(i,)) for i in sent.batch.file_ids])
        log.warning("sending %d file(s) of %s again", len(sent.batch.file_ids),
                    ", ".join(sent.batch.classifiers))
        for part in parts:
            unsent.append(_Sent(part, now, sent.sends + 1))


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
