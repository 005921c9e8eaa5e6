"""What every long run shares: its progress in the shared cache under a token, and being
marked failed when its process died."""

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from .runners import runner_alive

TTL = 6 * 3600


class ProgressBoard:
    """A run's progress as the page that started it follows it: a dict in the file-based
    cache (any process reads it), under `<prefix>:<token>`."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def key(self, token: str) -> str:
        return f"{self.prefix}:{token}"

    def update(self, token: str, **values) -> None:
        state = cache.get(self.key(token)) or {"run": None, "error": ""}
        state.update(values)
        cache.set(self.key(token), state, TTL)


def fail_dead_runs(runs, *, running: str, failed: str, message: str, action: str, label: str) -> int:
    """Marks failed (with `message`, audited as `action`) every run of the queryset `runs`
    still `running` whose process is gone; one without a runner (made before runners were
    recorded) once it is two hours old. Returns how many."""
    from kelambu.audit.services import record as audit

    stale = [run for run in runs.filter(status=running).only("id", "runner", "created_at")
             if not (runner_alive(run.runner) if run.runner else run.created_at > timezone.now() - timedelta(hours=2))]
    for run in stale:
        marked = runs.filter(pk=run.pk, status=running).update(status=failed, finished_at=timezone.now(),
                                                               error_message=message)
        if marked:
            audit("system", action, run, summary=f"{label} {run.pk}: its process ended")
    return len(stale)
