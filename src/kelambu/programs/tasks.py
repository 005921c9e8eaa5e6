"""Allocations as jobs in the queue (kelambu/jobs); their progress in the shared cache, under
a token the page that started the allocation follows."""

from django_tasks import task

from kelambu.jobs.runs import ProgressBoard

board = ProgressBoard("allocation-progress")
progress_key, update = board.key, board.update


@task()
def allocate_task(token: str, user_id: int, program_id: int, what_if: bool) -> int | None:
    """One allocation (or what-if), as the page asked; the run's id (None when it failed)."""
    from django.contrib.auth import get_user_model

    from kelambu.web.pages import error_text

    from . import services
    from .models import Program

    user = get_user_model().objects.get(pk=user_id)
    program = Program.objects.get(pk=program_id)
    try:
        result = services.allocate_program(program, user, what_if=what_if)
    except Exception as exc:  # the run is marked failed by the service
        failed = program.allocations.filter(status="failed").order_by("-id").first()
        update(token, run=failed.pk if failed else None, done=True, error=error_text(exc))
        return None
    update(token, run=result.run.pk, done=True, error="", report={k: result.report.get(k) for k in (
        "eligible", "funded", "memberships_new", "what_if")})
    return result.run.pk
