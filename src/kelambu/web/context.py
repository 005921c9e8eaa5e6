"""What the menu offers a user, asked of accounts.access like every page (templates hold no
rule of their own)."""

from kelambu.accounts import access


def nav(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {"nav": {
        "registry": access.can_see_people(user),
        "imports": access.batch_scope(user) is not None and access.role_of(user) != "public",
        "dedup": access.can_review(user),
        "programs": access.can_see_programs(user),
        "requests": access.can_answer_funding(user),
        "decisions": access.can_decide(user),
    }}
