"""The shell's pages: home, and the figures anyone signed in may see."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from kelambu.accounts import access
from kelambu.registry import decisions, queries
from kelambu.registry.models import ImportBatch, Person

# --- home ------------------------------------------------------------------------------

@login_required
def home(request):
    """Aggregates anyone may see; people figures only within the user's scope."""
    totals = queries.registry_totals()
    context = {"totals": totals, "can_see_people": access.can_see_people(request.user),
               "can_import": access.can_import(request.user), "company": bool(access.sponsor_id_of(request.user))}
    if access.can_see_people(request.user):
        visible = Person.objects.visible_to(request.user).active()
        context["visible_count"] = visible.count()
    scope = access.batch_scope(request.user)
    if scope is not None and access.can_import(request.user):
        context["recent_batches"] = queries.with_figures(ImportBatch.objects.filter(scope).select_related(
            "created_by", "sponsor")[:5], request.user)
    if access.can_decide(request.user):
        context["pending"] = decisions.pending_counts(request.user)
    return render(request, "web/home.html", context)


# --- public figures --------------------------------------------------------------------

@login_required
def regions_summary(request):
    """Registry counts per regency: aggregates only, safe for every role."""
    rows = queries.people_per_regency()
    return render(request, "web/regions_summary.html", {"rows": rows})
