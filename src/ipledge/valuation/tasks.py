"""Background tasks of valuation (django-tasks; any `ipledge db_worker` on any host runs them)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_revaluation_batch(batch_id: int) -> int:
    """Revalue a park's or region's portfolio; progress is kept on the batch row, the result is its status."""
    from .services import revaluation_batch_run

    batch = revaluation_batch_run(batch_id)
    return batch.done
