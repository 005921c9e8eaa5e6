"""Deduplication runs as jobs in the queue (kelambu/jobs); their progress in the shared cache,
under a token the page that started the run follows."""

from django_tasks import task

from kelambu.jobs.runs import ProgressBoard

board = ProgressBoard("dedup-progress")
progress_key, update = board.key, board.update


@task()
def run_dedup_task(token: str, user_id: int, region: str, auto_merge: bool) -> int | None:
    """One run, as the page asked; the run's id, or None when it failed (recorded on it)."""
    from django.contrib.auth import get_user_model

    from kelambu.web.pages import error_text

    from . import services
    from .engine import MatchSettings
    from .models import MatchRun, RunStatus

    user = get_user_model().objects.get(pk=user_id)
    settings = MatchSettings() if auto_merge else MatchSettings(auto_merge=False)
    try:
        run = services.run_dedup(user, region, settings,
                                 lambda step, done, total: update(token, step=step, done=done, total=total))
    except Exception as exc:  # the run is marked failed by the service
        failed = MatchRun.objects.filter(started_by=user, status=RunStatus.FAILED).order_by("-id").first()
        update(token, step="done", error=error_text(exc), run=failed.pk if failed else None)
        return None
    update(token, step="done", run=run.pk, error="")
    return run.pk
