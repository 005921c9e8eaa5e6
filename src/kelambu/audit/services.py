"""Recording audit events. Every service that writes calls `record` inside its transaction,
so the event exists exactly when the change does."""

from .models import Event


def record(actor, action: str, obj=None, *, summary: str, data: dict | None = None,
           object_type: str | None = None, object_id: str | None = None) -> Event:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    user = actor if getattr(actor, "is_authenticated", False) else None
    name = user.get_username() if user else (actor if isinstance(actor, str) else "system")
    return Event.objects.create(
        actor=user, actor_name=name, action=action, object_type=object_type or "",
        object_id=object_id or "", summary=summary[:500], data=data or {},
    )
