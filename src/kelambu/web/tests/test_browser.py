"""The main journeys in a real browser (headless Chromium through Playwright), against a live
server: logging in in each language, importing a list and reading its report, downloading
its rejected rows, reviewing a deduplication pair, simulating an allocation. Every page is
checked for browser errors, a Content-Security-Policy violation included.

Needs Debian's `chromium` (`.ci/run` installs it). Without it the tests are skipped on a
developer's machine and fail in CI (CI=true).
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("the browser tests need Debian's chromium in CI (.ci/run installs it)")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

LIST = (
    "NIK;Nama Lengkap;Jenis Kelamin;Tanggal Lahir;Kode Desa;Desil\n"
    "1606011503850001;Muhammad Sholeh;L;15-03-1985;16.06.01.2001;1\n"
    "1606015708900002;Siti Aminah;P;17-08-1990;16.06.01.2001;2\n"
    "123;Rahmat;L;01-01-1980;16.06.01.2001;1\n"
)


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; the test's own database work
    # here is synchronous and safe. Only for this module: later tests (check --deploy) must
    # not inherit it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(scope="module", autouse=True)
def _regions_after(django_db_blocker):
    """A transactional test empties every table when it ends, the region tree the session
    loaded included: load it again for the tests that come after this module."""
    yield
    from kelambu.regions.services import load_regions

    with django_db_blocker.unblock():
        load_regions()


@pytest.fixture(autouse=True)
def _regions(transactional_db):
    from kelambu.regions.models import Region
    from kelambu.regions.services import load_regions

    if not Region.objects.exists():
        load_regions()


@pytest.fixture
def page(browser, live_server, settings, _regions):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = False
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.base = live_server.url
    yield page
    # A missing favicon is the browser's own request, not a page's.
    errors = [e for e in page.errors if "favicon" not in e and "404" not in e]
    context.close()
    assert not errors, errors


def login(page, username):
    page.goto(page.base + "/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-" + username)
    page.click("button.primary")
    page.wait_for_load_state("networkidle")


def test_logging_in_in_indonesian_then_english(page, personas):
    page.goto(page.base + "/masuk/")
    expect(page.locator("h1")).to_have_text("Masuk")
    login(page, "dinsos.muba")
    expect(page.locator("h1")).to_contain_text("Selamat datang")
    expect(page.locator("nav")).to_contain_text("Registri")
    page.click("button[value=en]")
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_contain_text("Welcome")
    expect(page.locator("nav")).to_contain_text("Registry")
    page.click("text=Log out")
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_have_text("Log in")


def test_importing_a_list_reading_its_report_and_downloading_the_rejected_rows(page, personas, tmp_path):
    path = tmp_path / "p3ke-sekayu.csv"
    path.write_text(LIST)
    login(page, "dinsos.muba")
    page.click("nav >> text=Impor")
    page.click("text=Impor daftar")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=source]", "p3ke")
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_contain_text("p3ke-sekayu.csv")
    tiles = page.locator(".tiles").inner_text()
    assert "3\nbaris" in tiles and "2\nditerima" in tiles and "1\nditolak" in tiles
    with page.expect_download() as download:
        page.click("text=Baris ditolak (CSV)")
    saved = tmp_path / "ditolak.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename.endswith(".csv")
    body = saved.read_text(encoding="utf-8-sig")
    assert "Rahmat" in body and "Siti Aminah" not in body


def test_reviewing_a_deduplication_pair(page, personas, tmp_path):
    from kelambu.dedup.models import Pair, PairKind, PairStatus
    from kelambu.registry.models import Person
    from kelambu.registry.services import ImportOptions, import_list

    path = tmp_path / "dua.csv"
    path.write_text("NIK;Nama;JK;Tanggal Lahir;Kode Desa\n"
                    "1606011503850001;Muhammad Sholeh;L;15-03-1985;16.06.01.2001\n"
                    "1606011503850091;Muhamad Soleh;L;15-03-1985;16.06.01.2001\n")
    import_list(path, ImportOptions(source="village"), "test")
    a, b = Person.objects.order_by("pk")
    pair = Pair.objects.create(kind=PairKind.MATCH, person_a=a, person_b=b, match_probability=0.93,
                               match_weight=13.5, evidence=[{"comparison": "name", "level": "very similar",
                                                             "gamma": 5, "weight": 6.4}])
    login(page, "dinsos.muba")
    page.goto(page.base + "/pemadanan/tinjau/")
    page.click(f"a[href='/pemadanan/pasangan/{pair.pk}/']")
    expect(page.locator("h1")).to_contain_text(f"#{pair.pk}")
    # The weight bars are drawn by kelambu.js (no inline style is allowed).
    assert page.locator("[data-width]").first.evaluate("e => e.style.width") != ""
    page.click("button[value=reject]")
    page.wait_for_load_state("networkidle")
    pair.refresh_from_db()
    assert pair.status == PairStatus.REJECTED and pair.decided_by == personas["muba"]


def test_simulating_an_allocation(page, personas):
    from kelambu.programs.models import Membership
    from kelambu.programs.tests.test_allocation_service import make_people, program

    make_people([(1, 30, "informal", None, True), (2, 40, "informal", None, True), (3, 50, "informal", None, True)])
    p = program(name="PAKE Peramban", budget_people=2)
    login(page, "dinsos.muba")
    page.goto(page.base + f"/program/{p.pk}/")
    page.click("button[value='1']")
    page.wait_for_load_state("networkidle")
    # Three eligible, a budget for two.
    expect(page.locator(".msg").first).to_contain_text("Simulasi: 2 dari 3 orang yang memenuhi syarat")
    assert not Membership.objects.exists()  # a what-if changes nothing
