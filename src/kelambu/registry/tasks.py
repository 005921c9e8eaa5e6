"""List imports as jobs in the queue (kelambu/jobs). The batch page follows the progress in
the shared cache."""

from datetime import date
from pathlib import Path

from django.core.cache import cache
from django_tasks import task


def progress_key(batch_id: int) -> str:
    return f"import-progress:{batch_id}"


def progress_for(batch_id: int):
    def progress(stage, done, total):
        cache.set(progress_key(batch_id), {"stage": stage, "done": done, "total": total}, 3600)
    return progress


def options_to_json(options) -> dict:
    sponsor = options.sponsor
    return {"source": options.source, "sheet": options.sheet, "mapping": options.mapping,
            "dry_run": options.dry_run, "sponsor": getattr(sponsor, "pk", sponsor),
            "decile_scale": options.decile_scale, "file_name": options.file_name,
            "funded_months": [m.isoformat() for m in options.funded_months] if options.funded_months else None}


def options_from_json(data: dict):
    from kelambu.programs.models import Sponsor

    from .services import ImportOptions

    sponsor = data.get("sponsor")
    if isinstance(sponsor, int):
        sponsor = Sponsor.objects.get(pk=sponsor)
    months = data.get("funded_months")
    return ImportOptions(source=data["source"], sheet=data.get("sheet"), mapping=data.get("mapping"),
                         dry_run=bool(data.get("dry_run")), sponsor=sponsor, decile_scale=data.get("decile_scale"),
                         file_name=data.get("file_name"),
                         funded_months=tuple(date.fromisoformat(m) for m in months) if months else None)


@task()
def import_list_task(batch_id: int, path: str, options: dict, user_id: int) -> str:
    """Runs a started import (registry.services.start_import made the batch); the batch's
    status when done."""
    from django.contrib.auth import get_user_model

    from .models import BatchStatus, ImportBatch
    from .services import run_import

    batch = ImportBatch.objects.get(pk=batch_id)
    try:
        if batch.status != BatchStatus.PENDING:  # marked failed meanwhile, or already run
            return batch.status
        user = get_user_model().objects.get(pk=user_id)
        return run_import(batch, Path(path), options_from_json(options), user, progress_for(batch_id)).status
    finally:
        Path(path).unlink(missing_ok=True)
