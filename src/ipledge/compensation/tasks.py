"""Background tasks of risk compensation (django-tasks; any `ipledge db_worker` runs them)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_stress_test(run_id: int) -> str:
    """Run a fund's Monte Carlo stress test; the result is stored on the run row."""
    from .services import stress_run_execute

    return str(stress_run_execute(run_id).status)
