"""The scope matrix: every URL pattern x every persona, generated from the URL configuration.

For every named route there is one entry in MATRIX saying who may read it (GET) and who may
change something through it (POST), for an object inside the personas' area ("own") and for
one outside it ("other"). A route without an entry fails `test_every_route_has_an_entry`, so
a new page cannot be added without deciding its scope here.

What is asserted, per route and persona:
- reading: 200 for those allowed; 403 or 404 for the others; anonymous users are sent to the
  login page;
- writing: judged by the database, not by status codes. Every POST runs in a savepoint that
  is rolled back; a fingerprint of every table of the registry, programs, deduplication and
  accounts is taken before and after. Those allowed change something; for everybody else the
  fingerprint is the same, whatever the response says;
- leaks: on every response to every persona, no name or whole NIK the persona may not see
  (each secret of the world below lists who may see it);
- never a server error.

The admin's routes are generated per registered model: only administrators get in, and a
model registered without an entry in ADMIN_MODELS fails the suite.
"""

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from kelambu.accounts.models import Role
from kelambu.dedup import services as dedup_services
from kelambu.dedup.models import MatchRun, Pair, PairKind, RunStatus
from kelambu.programs import services as program_services
from kelambu.programs.models import Membership, Program, ProgramSponsor, Sponsor
from kelambu.registry.models import Hold, Person, Proposal
from kelambu.registry.services import ImportOptions, import_list

pytestmark = pytest.mark.django_db

V1, V2, ME = "16.06.01.2001", "16.06.02.2001", "16.03.01.2011"  # two Muba villages, one in Muara Enim

ADMIN, REGENCY, VILLAGE, BPJS, CSR, PUBLIC, ANON = "admin", "regency", "village", "bpjs", "csr", "public", "anon"
NO_REGION = ("regency-none", "village-none", "bpjs-none")
NO_SPONSOR = "csr-none"
PERSONAS = (ADMIN, REGENCY, VILLAGE, BPJS, CSR, PUBLIC, ANON, *NO_REGION, NO_SPONSOR)
LOGGED_IN = frozenset(PERSONAS) - {ANON}
REGISTRY = frozenset({ADMIN, REGENCY, VILLAGE, BPJS})      # who reads people of their area
PROGRAMS = frozenset({ADMIN, REGENCY, BPJS, CSR})          # who reads programs
REVIEW = frozenset({ADMIN, REGENCY, VILLAGE})              # who reviews deduplication
MANAGE = frozenset({ADMIN, REGENCY})                       # who manages programs, decides held rows
ONLY_ADMIN = frozenset({ADMIN})
NOBODY = frozenset()

# --- the world ---------------------------------------------------------------------------

ANI = ("1606015204900001", "Ani Lestari", "P", "12-04-1990", V1)          # funded by the company
BUDI = ("1606011503850001", "Budi Santoso", "L", "15-03-1985", V1)         # funded by the regency
BUDI_2 = ("1606011503850091", "Budi Santosa", "L", "15-03-1985", V1)       # a likely duplicate of Budi
DEWI = ("1606014807880001", "Dewi Kartika", "P", "08-07-1988", V1)
DEWI_2 = ("1606014807880092", "Dewi Kartikah", "P", "08-07-1988", V1)      # merged into Dewi
CITRA = ("1606026007920001", "Citra Wulandari", "P", "20-07-1992", V2)     # Muba, another village
RAHASIA = ("1603011001800003", "Rahasia Enim", "L", "10-01-1980", ME)      # Muara Enim
RAHASIA_2 = ("1603011001800093", "Rahasia Enimm", "L", "10-01-1980", ME)
EKO = ("1603016505750001", "Eko Muaraenim", "P", "25-05-1975", ME)
EKO_2 = ("1603016505750092", "Eko Muaraenimm", "P", "25-05-1975", ME)


@dataclass
class World:
    users: dict
    own: dict = field(default_factory=dict)     # route argument -> object inside the area
    other: dict = field(default_factory=dict)   # route argument -> object outside it


def _csv(rows, decile=True) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["NIK", "Nama", "JK", "Tanggal Lahir", "Kode Desa", "Desil"])
    for nik, name, sex, dob, village in rows:
        w.writerow([nik, name, sex, dob, village, "1" if decile else ""])
    return out.getvalue().encode()


def _import(tmp_path, name, rows, user, source="p3ke", sponsor=None):
    path = tmp_path / name
    path.write_bytes(_csv(rows))
    batch, _ran = import_list(path, ImportOptions(source=source, sponsor=sponsor), user)
    assert batch.status == "done", batch.report
    return batch


def _person(spec) -> Person:
    return Person.objects.get(nik=spec[0])


def build_world(tmp_path) -> World:
    User = get_user_model()
    mms = Sponsor.objects.create(name="PT Matriks Sponsor", kind="csr", region_id="16.06")
    other_company = Sponsor.objects.create(name="PT Lain Sekali", kind="csr", region_id="16.03")
    apbd_muba = Sponsor.objects.create(name="Pemkab Muba", kind="apbd", region_id="16.06")
    apbd_me = Sponsor.objects.create(name="Pemkab Muara Enim", kind="apbd", region_id="16.03")

    def make(username, role, **extra):
        return User.objects.create_user(username=username, password="pw-" + username, role=role, **extra)

    users = {
        ADMIN: make("m-admin", Role.ADMIN, is_staff=True, is_superuser=True),
        REGENCY: make("m-muba", Role.REGENCY_OPERATOR, region_id="16.06"),
        VILLAGE: make("m-desa", Role.VILLAGE_OPERATOR, region_id=V1),
        BPJS: make("m-bpjs", Role.BPJS_OFFICER, region_id="16.06"),
        CSR: make("m-csr", Role.CSR_OFFICER, sponsor=mms),
        PUBLIC: make("m-publik", Role.PUBLIC),
        "regency-none": make("m-muba-0", Role.REGENCY_OPERATOR),
        "village-none": make("m-desa-0", Role.VILLAGE_OPERATOR),
        "bpjs-none": make("m-bpjs-0", Role.BPJS_OFFICER),
        NO_SPONSOR: make("m-csr-0", Role.CSR_OFFICER),
        "me": make("m-muaraenim", Role.REGENCY_OPERATOR, region_id="16.03"),
    }
    world = World(users)
    # Muara Enim's people, then Muba's; each regency's list naming a person of the other is
    # held for the other to decide.
    _import(tmp_path, "me.csv", [RAHASIA, RAHASIA_2, EKO, EKO_2], users["me"])
    muba_batch = _import(tmp_path, "muba.csv", [ANI, BUDI, BUDI_2, DEWI, DEWI_2, CITRA,
                                                (RAHASIA[0], "Rahasia Diganti", "L", "10-01-1980", V1)],
                         users[REGENCY])
    me_batch = _import(tmp_path, "me2.csv", [(ANI[0], "Ani Diganti", "P", "12-04-1990", ME)], users["me"])
    world.own["hold"] = Hold.objects.get(owner_region__startswith="16.06")
    world.other["hold"] = Hold.objects.get(owner_region__startswith="16.03")
    world.own["held_batch"], world.other["held_batch"] = me_batch, muba_batch
    world.own["batch"], world.other["batch"] = muba_batch, me_batch
    world.own["person"], world.other["person"] = _person(ANI), _person(RAHASIA)

    # Deduplication: a pending pair and an undoable merge on each side.
    for side, region, (a, b), (c, d) in (("own", "16.06", (BUDI, BUDI_2), (DEWI, DEWI_2)),
                                          ("other", "16.03", (RAHASIA, RAHASIA_2), (EKO, EKO_2))):
        run = MatchRun.objects.create(region=region, status=RunStatus.DONE, started_by=users[ADMIN])
        pending = Pair.objects.create(kind=PairKind.MATCH, run=run, person_a=_person(a), person_b=_person(b),
                                      match_probability=0.9, match_weight=12.0)
        merged = Pair.objects.create(kind=PairKind.MATCH, run=run, person_a=_person(c), person_b=_person(d),
                                     match_probability=0.95, match_weight=14.0)
        dedup_services.decide(merged, "accept", users[ADMIN])
        getattr(world, side).update(run=run, pair=pending, merge=merged.merges.get())

    # Programs: Muba's, funded by the regency and by the company; Muara Enim's.
    muba = Program.objects.create(name="PAKE Matriks", region_id="16.06", start_month=date(2026, 10, 1),
                                  end_month=date(2026, 12, 1), decile_scale="p3ke", decile_min=1, decile_max=3)
    me = Program.objects.create(name="Desa Enim Matriks", region_id="16.03", start_month=date(2026, 10, 1),
                                end_month=date(2026, 12, 1), decile_scale="p3ke", decile_min=1, decile_max=3)
    ProgramSponsor.objects.create(program=muba, sponsor=apbd_muba, year=2026, budget=10_000_000, status="accepted")
    ProgramSponsor.objects.create(program=me, sponsor=apbd_me, year=2026, budget=10_000_000, status="accepted")
    own_run = program_services.allocate_program(muba, users[ADMIN]).run
    other_run = program_services.allocate_program(me, users[ADMIN]).run
    ProgramSponsor.objects.create(program=muba, sponsor=mms, year=2026, budget=1_000_000, status="accepted")
    Membership.objects.filter(program=muba, person=_person(ANI)).update(sponsor=mms)
    ani_member = Membership.objects.get(program=muba, person=_person(ANI))
    world.own.update(program=muba, alloc=own_run, member=ani_member)
    world.other.update(program=me, alloc=other_run, member=Membership.objects.get(program=me, person=_person(EKO)),
                       unfunded_member=Membership.objects.get(program=muba, person=_person(BUDI)))
    # Funding requests waiting for an answer: one to the company, one to another company.
    world.own["envelope"] = ProgramSponsor.objects.create(program=muba, sponsor=mms, year=2027, budget=500_000)
    world.other["envelope"] = ProgramSponsor.objects.create(program=me, sponsor=other_company, year=2027,
                                                            budget=500_000)
    # Proposed corrections: one for each regency to decide.
    world.own["proposal"] = Proposal.objects.create(person=_person(ANI), proposed_by=users[CSR],
                                                    changes={"name": "Ani Lestari Dewi"}, reason="KTP",
                                                    owner_region=V1)
    world.other["proposal"] = Proposal.objects.create(person=_person(RAHASIA), proposed_by=users[CSR],
                                                      changes={"name": "Rahasia Enim Baru"}, reason="KTP",
                                                      owner_region=ME)
    # Progress of a run started by the Muba operator (what a progress page follows).
    world.own["token"] = "a" * 32
    cache.set(f"dedup-progress:{world.own['token']}", {"user": users[REGENCY].pk, "step": "scoring", "done": 2,
                                                        "total": 5, "run": None, "error": ""}, 600)
    cache.set(f"allocation-progress:{world.own['token']}", {"user": users[REGENCY].pk, "program": muba.pk,
                                                             "what_if": False, "run": None, "error": "",
                                                             "done": False}, 600)
    return world


# Who may see each secret on any page or download (names as the registry holds them).
SECRETS = {
    RAHASIA[1]: ONLY_ADMIN, RAHASIA[0]: ONLY_ADMIN, EKO[1]: ONLY_ADMIN,
    CITRA[1]: frozenset({ADMIN, REGENCY, BPJS}), CITRA[0]: frozenset({ADMIN, REGENCY, BPJS}),
    BUDI[1]: REGISTRY, BUDI[0]: REGISTRY, DEWI[1]: REGISTRY,
    ANI[0]: REGISTRY,  # a company sees its member's NIK masked only
    ANI[1]: REGISTRY | {CSR},
}

# --- the matrix --------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """args: route arguments, by name, taken from the world (own or other side).
    get / get_other: who reads the own / other object (None: the route takes no GET).
    post / post_other: who changes something by POST (None: no POST; the matrix still
    checks that a POST changes nothing). data: the POST payload, per persona.
    anonymous: the route is open to users who are not logged in."""
    args: tuple = ()
    get: frozenset | None = NOBODY
    get_other: frozenset | None = ONLY_ADMIN
    post: frozenset | None = None
    post_other: frozenset | None = ONLY_ADMIN
    data: object = None
    anonymous: bool = False
    get_ok: int = 200
    # Checked inside the savepoint after each POST (who, world): what must hold even for
    # those allowed to write.
    invariant: object = None


def _upload(name: str, body: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="text/csv")


def _import_data(world, who, side):
    row = ("1606016108000001", "Orang Baru Matriks", "P", "21-08-2000", V1)
    # And a takeover attempt: Muara Enim's person, renamed, in a Muba village.
    takeover = (RAHASIA[0], "Rahasia Diambil", "L", "10-01-1980", V1)
    data = {"file": _upload(f"baru-{who}.csv", _csv([row, takeover])), "source": "village"}
    if who in (CSR, NO_SPONSOR):
        data["source"] = "sponsor"
    return data


def _program_data(world, who, side):
    return {"name": "Program Matriks Baru", "region": "16.06", "status": "active", "start_month": "2027-01",
            "end_month": "2027-03", "income_basis": "1000000", "decile_scale": "p3ke", "decile_min": "1",
            "decile_max": "3", "age_min": "15", "age_max": "65", "sponsor": str(Sponsor.objects.get(
                name="Pemkab Muba").pk), "budget": "5000000", "year": "2027"}


def _password_data(world, who, side):
    user = world.users.get(who)
    return {"old_password": f"pw-{user.username}" if user else "", "new_password1": "Sangat-Rahasia-2026!",
            "new_password2": "Sangat-Rahasia-2026!"}


def _others_untouched(world, who):
    """A list names a person outside the importer's area: only an administrator's list
    changes them."""
    if who != ADMIN:
        person = Person.objects.get(nik=RAHASIA[0])
        assert (person.name, person.village_id) == (RAHASIA[1], ME), f"{who} took over {RAHASIA[1]}"


def _fixed(data):
    return lambda world, who, side: dict(data)


def _correction(world, who, side):
    person = (world.own if side == "own" else world.other)["person"]
    return {"name": "Nama Diubah Matriks", "address": person.address or "", "village": person.village_id,
            "phone": person.phone or "", "category": person.category or "", "occupation": person.occupation or "",
            "reason": "KTP dilihat"}


def _answer(world, who, side):
    # Not a valid answer: only whether the route lets the persona in is at stake here
    # (reading answers is tested in the enrollment tests).
    return {"file": _upload("jawaban.csv", b"NIK\n1\n")}


MATRIX: dict[str, Route] = {
    # the shell and the account
    "home": Route(get=LOGGED_IN, get_other=None),
    "login": Route(get=frozenset({ANON}), get_other=None, post=NOBODY,
                   data=_fixed({"username": "m-muba", "password": "wrong"}), anonymous=True),
    "logout": Route(get=None, get_other=None, post=NOBODY, anonymous=True),
    # Changing the language sets a cookie, nothing in the database; a GET only redirects.
    "set_language": Route(get=frozenset(PERSONAS), get_other=None, get_ok=302, post=NOBODY,
                          data=_fixed({"language": "en", "next": "/"}), anonymous=True),
    "password_change": Route(get=LOGGED_IN, get_other=None, post=LOGGED_IN, data=_password_data),
    "password_change_done": Route(get=LOGGED_IN, get_other=None),
    "regions_summary": Route(get=LOGGED_IN, get_other=None),
    # the registry
    "person_list": Route(get=REGISTRY, get_other=None),
    "person_detail": Route(args=("person",), get=REGISTRY),
    "person_edit": Route(args=("person",), get=REVIEW, post=REVIEW, data=_correction),
    "batch_list": Route(get=REGISTRY | {CSR}, get_other=None),
    "import_new": Route(get=REVIEW | {CSR}, get_other=None, post=REVIEW | {CSR}, data=_import_data,
                        invariant=_others_untouched),
    "batch_detail": Route(args=("batch",), get=frozenset({ADMIN, REGENCY, BPJS})),
    "batch_status": Route(args=("batch",), get=frozenset({ADMIN, REGENCY, BPJS})),
    # Only an import that has not ended can be cancelled: the world's have ended, so no POST
    # changes anything (tested with running ones in jobs/tests/test_cancel.py).
    "batch_cancel": Route(args=("batch",), get=None, get_other=None, post=NOBODY, post_other=NOBODY),
    "batch_report": Route(args=("batch",), get=frozenset({ADMIN, REGENCY, BPJS})),
    "batch_rejected": Route(args=("batch", "fmt"), get=frozenset({ADMIN, REGENCY, BPJS})),
    # held rows and proposals: the owning regency decides
    "decisions": Route(get=MANAGE, get_other=None),
    "hold_decide": Route(args=("hold",), get=None, get_other=None, post=MANAGE,
                         data=_fixed({"decision": "confirm"})),
    "batch_holds_decide": Route(args=("held_batch",), get=None, get_other=None, post=MANAGE,
                                data=_fixed({"decision": "confirm"})),
    "proposal_decide": Route(args=("proposal",), get=None, get_other=None, post=MANAGE,
                             data=_fixed({"decision": "accept"})),
    # deduplication
    "dedup_runs": Route(get=REVIEW, get_other=None, post=MANAGE, data=_fixed({"region": "16.06"})),
    "dedup_run": Route(args=("run",), get=MANAGE),
    "dedup_progress": Route(args=("token",), get=frozenset({REGENCY}), get_other=None),
    "dedup_status": Route(args=("token",), get=frozenset({REGENCY}), get_other=None),
    "dedup_queue": Route(get=REVIEW, get_other=None),
    "dedup_pair": Route(args=("pair",), get=REVIEW, post=REVIEW, data=_fixed({"decision": "reject"})),
    "dedup_merges": Route(get=REVIEW, get_other=None),
    "dedup_merge_undo": Route(args=("merge",), get=None, get_other=None, post=REVIEW,
                              data=_fixed({"note": "bukan orang yang sama"})),
    "dedup_funding": Route(get=REVIEW, get_other=None),
    # programs
    "program_list": Route(get=PROGRAMS, get_other=None, post=MANAGE, data=_program_data),
    "funding_requests": Route(get=frozenset({ADMIN, CSR, REGENCY}), get_other=None),
    "funding_decide": Route(args=("envelope",), get=None, get_other=None, post=frozenset({ADMIN, CSR}),
                            data=_fixed({"decision": "accept"})),
    "program_detail": Route(args=("program",), get=PROGRAMS),
    "program_allocate": Route(args=("program",), get=None, get_other=None, post=MANAGE,
                              data=_fixed({"what_if": "0"})),
    "program_progress": Route(args=("program", "token"), get=frozenset({REGENCY}), get_other=None),
    "program_status": Route(args=("program", "token"), get=frozenset({REGENCY}), get_other=None),
    "program_run": Route(args=("program", "alloc"), get=PROGRAMS),
    "program_export": Route(args=("program",), get=None, get_other=None, post=MANAGE,
                            data=_fixed({"format": "csv"})),
    "program_answer": Route(args=("program",), get=None, get_other=None, post=NOBODY, post_other=NOBODY,
                            data=_answer),
    "program_members": Route(args=("program",), get=PROGRAMS),
    "program_member_end": Route(args=("program", "member"), get=None, get_other=None, post=MANAGE,
                                data=_fixed({"reason": "moved", "on": "2026-11-30"})),
    "program_member_propose": Route(args=("program", "member"), get=frozenset({CSR}), get_other=NOBODY,
                                    post=frozenset({CSR}), post_other=NOBODY,
                                    data=_fixed({"name": "Ani Lestari Benar", "reason": "KTP asli"})),
}
# Proposing: the "other" member is one of the same program whom the company does not pay for.
SAME_PROGRAM = {"program_member_propose"}

# Every model in the admin, and who gets in: only administrators (no role is staff).
ADMIN_MODELS = {
    "accounts.user", "auth.group", "audit.event", "axes.accessattempt", "axes.accessfailurelog", "axes.accesslog",
    # The job queue (django-tasks-db): listed for administrators.
    "django_tasks_database.dbtaskresult",
    "programs.programsponsor", "programs.sponsor", "regions.region", "regions.regencysplit",
    "registry.importbatch",
}

# --- walking the URL configuration -------------------------------------------------------


def walk(patterns=None, namespace=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            yield namespace, entry


def site_routes() -> tuple[set[str], list]:
    names, unnamed = set(), []
    for namespace, pattern in walk():
        if namespace.startswith("admin:"):
            continue
        if pattern.name:
            names.add(namespace + pattern.name)
        else:
            unnamed.append(str(pattern.pattern))
    return names, unnamed


def test_every_route_has_an_entry():
    names, unnamed = site_routes()
    assert not unnamed, f"routes without a name cannot be in the scope matrix: {unnamed}"
    missing = sorted(names - set(MATRIX))
    assert not missing, f"routes without a scope-matrix entry (add them to MATRIX): {missing}"
    assert not set(MATRIX) - names, f"matrix entries for routes that no longer exist: {sorted(set(MATRIX) - names)}"


def test_every_admin_model_has_an_entry():
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    assert registered == ADMIN_MODELS, (sorted(registered - ADMIN_MODELS), sorted(ADMIN_MODELS - registered))


# --- the checks --------------------------------------------------------------------------

# Regions are reference data loaded once (and large): the admin is the only way to change them.
FINGERPRINTED_APPS = {"registry", "programs", "dedup", "accounts", "rules"}
# Touched by reading, by design: the login time.
UNFINGERPRINTED_FIELDS = {"last_login"}


def fingerprint() -> str:
    digest = hashlib.sha256()
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
        if model._meta.app_label not in FINGERPRINTED_APPS or model._meta.proxy:
            continue
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in UNFINGERPRINTED_FIELDS]
        digest.update(model._meta.label.encode())
        for row in model.objects.order_by("pk").values_list(*names):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def _client(world, who) -> Client:
    client = Client()
    if who != ANON:
        client.force_login(world.users[who])
    return client


def _kwargs(world, name, route, side) -> dict | None:
    objects = world.own if side == "own" or (name in SAME_PROGRAM and side == "other") else world.other
    kwargs = {}
    for arg in route.args:
        if arg == "fmt":
            kwargs["fmt"] = "csv"
        elif arg == "token":
            kwargs["token"] = world.own["token"]
        elif arg == "member":
            member = "unfunded_member" if name in SAME_PROGRAM and side == "other" else "member"
            kwargs["member_id"] = (world.own if side == "own" else world.other)[member].pk
        else:
            key = {"alloc": "run_id", "held_batch": "pk"}.get(arg, "pk")
            kwargs[key] = objects[arg].pk
    return kwargs


def _url(world, name, route, side) -> str:
    return reverse(name, kwargs=_kwargs(world, name, route, side))


def _check_leaks(response, who, what):
    body = getattr(response, "content", b"")
    for secret, seers in SECRETS.items():
        if who not in seers:
            assert secret.encode() not in body, f"{what}: {who} sees {secret!r}"


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/masuk/" in response["Location"]


def _check_get(world, name, route, who, side, allowed):
    url = _url(world, name, route, side)
    response = _client(world, who).get(url)
    what = f"GET {url} ({name}, {side}) as {who}"
    assert response.status_code != 500, what
    _check_leaks(response, who, what)
    if allowed is None:
        expected = {405} if who != ANON or route.anonymous else {302}
        assert response.status_code in expected, f"{what}: {response.status_code}, expected {expected}"
        if response.status_code == 302:
            assert _is_login_redirect(response), what
    elif who == ANON and not route.anonymous:
        assert _is_login_redirect(response), f"{what}: {response.status_code}"
    elif who in allowed:
        assert response.status_code == route.get_ok, f"{what}: {response.status_code}, expected {route.get_ok}"
    else:
        assert response.status_code in (302, 403, 404) if route.anonymous else response.status_code in (403, 404), (
            f"{what}: {response.status_code}, expected a refusal")


def _check_post(world, name, route, who, side, allowed):
    url = _url(world, name, route, side)
    data = route.data(world, who, side) if route.data else {}
    what = f"POST {url} ({name}, {side}) as {who}"
    client = _client(world, who)
    with transaction.atomic():
        before = fingerprint()
        response = client.post(url, data)
        changed = fingerprint() != before
        if route.invariant:
            route.invariant(world, who)
        transaction.set_rollback(True)
    assert response.status_code != 500, what
    _check_leaks(response, who, what)
    if who == ANON and not route.anonymous:
        assert _is_login_redirect(response), f"{what}: {response.status_code}"
    if allowed and who in allowed:
        assert changed, f"{what}: allowed, but nothing changed ({response.status_code})"
    else:
        # Refused, redirected with a message, or a form shown again: what matters is that
        # nothing changed.
        assert not changed, f"{what}: not allowed, yet the database changed ({response.status_code})"


@pytest.fixture
def world(tmp_path, settings):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = False
    cache.clear()
    return build_world(tmp_path)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_route(name, world):
    route = MATRIX[name]
    for who in PERSONAS:
        sides = [("own", route.get, route.post)]
        if route.args and name not in ("dedup_progress", "dedup_status", "program_progress", "program_status"):
            sides.append(("other", route.get_other, route.post_other))
        for side, get_allowed, post_allowed in sides:
            if not (route.get is None and side == "other"):
                _check_get(world, name, route, who, side, get_allowed)
            _check_post(world, name, route, who, side, post_allowed if route.post is not None else None)


def test_the_world_is_what_the_matrix_assumes(world):
    """The fixtures the matrix stands on: if one stops holding, the matrix would pass for the
    wrong reason."""
    assert world.own["hold"].status == "pending" and world.other["hold"].status == "pending"
    assert world.own["member"].sponsor.name == "PT Matriks Sponsor"
    assert world.other["unfunded_member"].sponsor.name == "Pemkab Muba"
    assert world.other["member"].program == world.other["program"]
    assert world.own["merge"].undone_at is None and world.other["merge"].undone_at is None
    assert Membership.objects.filter(program=world.own["program"], status="proposed").exists()
    assert Person.objects.filter(nik=RAHASIA[0], name=RAHASIA[1]).exists()  # the held row changed nothing


# --- the admin ---------------------------------------------------------------------------


def admin_urls() -> list[str]:
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        obj = model.objects.order_by("pk").first()
        if obj is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
            urls.append(reverse("admin:{}_{}_history".format(*info), args=[obj.pk]))
    return urls


def test_only_administrators_get_into_the_admin(world):
    urls = admin_urls()
    assert len(urls) > 2 * len(ADMIN_MODELS)
    for who in PERSONAS:
        client = _client(world, who)
        for url in urls:
            response = client.get(url)
            if who == ADMIN:
                assert response.status_code == 200, f"{url} as admin: {response.status_code}"
            else:
                assert response.status_code == 302 and "/admin/login/" in response["Location"], (
                    f"{url} as {who}: {response.status_code}")
                _check_leaks(response, who, url)
    # Writes through the admin: a non-administrator's POST changes nothing.
    url = reverse("admin:accounts_user_change", args=[world.users[REGENCY].pk])
    for who in PERSONAS:
        if who == ADMIN:
            continue
        with transaction.atomic():
            before = fingerprint()
            _client(world, who).post(url, {"username": "diubah", "role": "admin", "is_superuser": "on"})
            assert fingerprint() == before, who
            transaction.set_rollback(True)
