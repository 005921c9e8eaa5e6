"""Screenshots of every page, as each persona sees it, in headless Chromium.

    KELAMBU_DATA_DIR=var .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out screenshots]

Needs a running Kelambu with the demo data (`make demo`) and Debian's chromium package.
"""

import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

PASSWORD = "kelambu-demo"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def login(page, base, username):
    page.goto(f"{base}/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state("networkidle")


def shot(page, out: Path, name: str):
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(out / f"{name}.png")


def dedup_pages(page, base, args):
    """Deduplication as the Muba operator: runs, a run's report, the queue, a pair, merges."""
    if args.run_dedup:
        page.goto(f"{base}/pemadanan/")
        page.select_option("select[name=region]", "16.06")
        page.click("form button.primary")
        page.wait_for_timeout(500)
        shot(page, args.out, "13a-dedup-progress")
        page.wait_for_selector(".tiles", timeout=300_000)
        shot(page, args.out, "13b-dedup-run-report")
    page.goto(f"{base}/pemadanan/")
    shot(page, args.out, "13-dedup-runs")
    run = page.locator("table.grid tbody a").first
    if run.count():
        page.goto(base + run.get_attribute("href"))
        shot(page, args.out, "14-dedup-run")
    page.goto(f"{base}/pemadanan/tinjau/")
    shot(page, args.out, "15-dedup-queue")
    pair = page.locator("table.grid tbody a").first
    if pair.count():
        page.goto(base + pair.get_attribute("href"))
        shot(page, args.out, "16-dedup-pair")
    page.goto(f"{base}/pemadanan/tinjau/?status=all&kind=nik_conflict")
    conflict = page.locator("table.grid tbody a").first
    if conflict.count():
        page.goto(base + conflict.get_attribute("href"))
        shot(page, args.out, "17-dedup-nik-conflict")
    page.goto(f"{base}/pemadanan/penggabungan/")
    shot(page, args.out, "18-dedup-merges")
    merged = page.locator("table.grid tbody td:nth-child(4) a").first
    pair = page.locator("table.grid tbody td:nth-child(8) a").first
    merged = merged.get_attribute("href") if merged.count() else None
    pair = pair.get_attribute("href") if pair.count() else None
    if merged:
        page.goto(base + merged)
        shot(page, args.out, "19-person-merged-notice")
    if pair:
        page.goto(base + pair)
        shot(page, args.out, "20-dedup-pair-merged")


def program_pages(page, base, args):
    """Programs as the Muba operator: the list, the new-program form refusing bad input
    (nothing is saved), a program, its members, the outcomes of its last allocation."""
    page.goto(f"{base}/program/")
    shot(page, args.out, "21-programs")
    page.click("#new summary")
    page.fill("input[name=name]", "Program Contoh")
    page.fill("input[name=start_month]", "2026-12")
    page.fill("input[name=end_month]", "2026-10")
    page.fill("textarea[name=quotas]", "desil 1 = 12451\ndesil dua = 300")
    page.fill("input[name=new_sponsor]", "Baznas Contoh")
    page.select_option("select[name=sponsor_kind]", "donor")
    page.fill("input[name=budget]", "-100")
    page.click("form.programform button.primary")
    page.wait_for_load_state("networkidle")
    shot(page, args.out, "22-program-form-errors")
    page.goto(f"{base}/program/")
    link = page.locator("table.grid tbody td:first-child a").first
    if not link.count():
        return
    detail = base + link.get_attribute("href")
    page.goto(detail)
    shot(page, args.out, "23-program-detail")
    if args.run_allocation:
        page.click("button[name=what_if][value='1']")
        page.wait_for_timeout(300)
        shot(page, args.out, "24a-allocation-progress")
        page.wait_for_selector(".tiles", timeout=300_000)
        shot(page, args.out, "24b-allocation-what-if")
    page.goto(detail + "peserta/")
    shot(page, args.out, "25-program-members")
    page.goto(detail)
    run = page.locator("a[href*='/alokasi/']").first
    if run.count():
        outcomes = base + run.get_attribute("href").split("?")[0]
        page.goto(outcomes)
        shot(page, args.out, "26-allocation-outcomes")
        page.goto(outcomes + "?result=unfunded")
        shot(page, args.out, "27-allocation-unfunded")
        page.goto(outcomes + "?result=ineligible")
        shot(page, args.out, "28-allocation-ineligible")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="screenshots", type=Path)
    parser.add_argument("--upload", type=Path, help="a list to upload through the import page")
    parser.add_argument("--run-allocation", action="store_true",
                        help="start a what-if allocation through the program page (adds a run record)")
    parser.add_argument("--run-dedup", action="store_true",
                        help="start a deduplication run of Musi Banyuasin through the form (changes the data)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.base
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/masuk/")
        shot(page, args.out, "01-login")
        login(page, base, "dinsos.muba")
        shot(page, args.out, "02-home-operator")
        page.goto(f"{base}/orang/?q=muhammad")
        shot(page, args.out, "03-registry-search")
        href = page.locator("table.grid tbody a").first.get_attribute("href")
        page.goto(base + href)
        shot(page, args.out, "04-person-detail")
        page.goto(base + href + "ubah/")
        shot(page, args.out, "05-person-edit")
        page.goto(f"{base}/impor/")
        shot(page, args.out, "06-imports")
        page.goto(f"{base}/impor/baru/")
        shot(page, args.out, "07-import-form")
        if args.upload:
            page.set_input_files("input[name=file]", str(args.upload))
            page.select_option("select[name=source]", "p3ke")
            page.check("input[name=dry_run]")
            page.click("button.primary")
            page.wait_for_timeout(400)
            shot(page, args.out, "08a-import-progress")
            page.wait_for_selector(".tiles", timeout=120_000)
            shot(page, args.out, "08b-import-report")
        else:
            page.goto(f"{base}/impor/")
            batch = page.locator("table.grid tbody a").first
            if batch.count():  # lists imported by the demo command itself are nobody's
                page.goto(base + batch.get_attribute("href"))
                shot(page, args.out, "08b-import-report")
        dedup_pages(page, base, args)
        program_pages(page, base, args)
        # English.
        page.click("button[value=en]")
        page.wait_for_load_state("networkidle")
        shot(page, args.out, "09-report-english")
        page.click("button[value=id]")
        # A CSR officer: masked NIKs, only the company's people.
        page.context.clear_cookies()
        login(page, base, "csr.mms")
        page.goto(f"{base}/orang/")
        shot(page, args.out, "10-registry-csr-masked")
        page.goto(f"{base}/program/")
        shot(page, args.out, "29-programs-csr")
        program = page.locator("table.grid tbody td:first-child a").first
        if program.count():
            page.goto(base + program.get_attribute("href") + "peserta/")
            shot(page, args.out, "30-program-members-csr")
        # The public viewer: aggregates only.
        page.context.clear_cookies()
        login(page, base, "publik")
        shot(page, args.out, "11-home-public")
        page.goto(f"{base}/wilayah/")
        shot(page, args.out, "12-figures-public")
        response = page.goto(f"{base}/orang/")
        print("public /orang/ ->", response.status)
        html = page.content()
        assert not re.search(r"\b16\d{14}\b", html), "a NIK leaked to the public viewer"
        browser.close()


if __name__ == "__main__":
    main()
