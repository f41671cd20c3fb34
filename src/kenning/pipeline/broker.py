"""The broker between `kenning index` and `kenning worker`s: the Celery app both sides
make (Redis or RabbitMQ), its queue and its one task (see distributed.py)."""

from __future__ import annotations

QUEUE = "kenning"
TASK = "kenning.run_batch"


class BrokerError(RuntimeError):
    """The broker refuses Kenning's queue in a way only its owner can fix."""


def celery_app(broker_url: str, queue: str = QUEUE):
    from celery import Celery

    app = Celery("kenning", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue, task_serializer="json", accept_content=["json"],
        task_ignore_result=True, task_acks_late=True, task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1, worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        broker_heartbeat=0,  # a long batch must not look like a dead AMQP connection
        broker_transport_options={"visibility_timeout": 6 * 3600},
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    from kenning.pipeline.worker import run_batch_task  # (the worker side)

    app.task(name=TASK, bind=True, acks_late=True)(run_batch_task)
    return app
