"""Drive the moderators' workspace in headless Chromium (Playwright) at 390 px and 1366 px, in
English and Arabic: sign in with the authenticator code, the index, the report queue and page
(hide a listing, suspend a user), the verification queue and a submission, the approve
confirmation, and the enrolment page of a moderator without a device.

Run by scripts/admin-browser-check.sh (which seeds a throwaway database and serves it);
screenshots and measurements land in $SHOTS (default /work/notes/shots). Not part of CI.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
import sys
import time

from playwright.sync_api import sync_playwright

BASE = os.environ.get("BASE_URL", "http://127.0.0.1:8765")
SHOTS = os.environ.get("SHOTS", "/work/notes/shots")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TOTP_KEY = bytes.fromhex("3132333435363738393031323334353637383930")
PASSWORD = "browser-check-Pass-1"  # noqa: S105 - a throwaway demo database
report: dict[str, dict] = {}


def totp(key: bytes, at: float | None = None, step: int = 30) -> str:
    counter = int((at or time.time()) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


MEASURE = """() => {
  const vw = window.innerWidth;
  const out = {viewport: vw, page_scroll_width: document.documentElement.scrollWidth};
  const table = document.querySelector('#result_list');
  if (table) out.table_width = Math.round(table.getBoundingClientRect().width);
  out.clipped_cells = [...document.querySelectorAll('#result_list th, #result_list td')]
    .filter(c => c.offsetParent !== null && c.scrollWidth > c.clientWidth + 1)
    .map(c => c.className + ': ' + c.innerText.slice(0, 30));
  out.previews = [...document.querySelectorAll('img.souk-id-preview')]
    .map(i => Math.round(i.getBoundingClientRect().width));
  out.h1 = (document.querySelector('h1') || {}).innerText;
  out.dir = document.documentElement.dir;
  return out;
}"""


def shot(page, name: str) -> None:
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
    report[name] = page.evaluate(MEASURE)


def sign_in(browser) -> dict:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en")
    page = context.new_page()
    page.goto(f"{BASE}/admin/")
    page.fill("#id_username", "mod_sara")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_token", "000000" if totp(TOTP_KEY) != "000000" else "111111")
    page.click("input[type=submit]")
    shot(page, "login-wrong-code-1366-en")
    time.sleep(1.2)  # the device waits a second after a failure
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_token", totp(TOTP_KEY))
    page.click("input[type=submit]")
    page.wait_for_url(f"{BASE}/admin/")
    state = context.storage_state()
    context.close()
    return state


def enrolment(browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ar", is_mobile=True)
    page = context.new_page()
    page.goto(f"{BASE}/admin/login/")
    page.fill("#id_username", "mod_new")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{BASE}/admin/otp/enrol/")
    shot(page, "enrol-390-ar")
    context.close()


def workspace(browser, state: dict, width: int, lang: str, *, act: str | None) -> None:
    height = 844 if width < 700 else 900
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale=lang, storage_state=state, is_mobile=width < 700
    )
    page = context.new_page()
    tag = f"{width}-{lang}"
    page.goto(f"{BASE}/admin/")
    shot(page, f"index-{tag}")
    page.click("#moderation-queues a[href*='messaging/report']")
    shot(page, f"reports-{tag}")
    page.locator("#result_list tbody tr th a").first.click()
    shot(page, f"report-page-{tag}")
    if act == "hide":
        page.click("#report-actions a[href$='hide-listing/']")
        shot(page, f"hide-confirm-{tag}")
        page.fill("#id_reason", "Counterfeit: logo stitching")
        page.check("#id_confirm")
        page.click("input[type=submit].default")
        shot(page, f"after-hide-{tag}")
    if act == "suspend":
        page.click("#report-actions a[href$='suspend-user/']")
        shot(page, f"suspend-confirm-{tag}")
        page.fill("#id_reason", "Selling counterfeit goods")
        page.fill("#id_days", "7")
        page.check("#id_confirm")
        page.click("input[type=submit].default")
        shot(page, f"after-suspend-{tag}")
    page.goto(f"{BASE}/admin/verification/verification/")
    shot(page, f"queue-{tag}")
    page.check("#action-toggle")  # bulk approve: asks first, warns about unopened documents
    page.select_option("select[name=action]", "approve_selected")
    page.click("button[name=index]")
    shot(page, f"bulk-approve-confirm-{tag}")
    page.goto(f"{BASE}/admin/verification/verification/")
    page.locator("#result_list tbody tr th a").first.click()
    shot(page, f"submission-{tag}")
    buttons = page.locator("#verification-decision input[type=submit]")
    buttons.nth(1).click()  # "Approve & next": the confirmation first
    shot(page, f"approve-confirm-{tag}")
    if act == "approve":
        page.click("input[type=submit].default")
        shot(page, f"after-approve-next-{tag}")
    page.goto(f"{BASE}/admin/admin/logentry/")
    shot(page, f"moderation-log-{tag}")
    context.close()


def main() -> int:
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        state = sign_in(browser)
        workspace(browser, state, 1366, "en", act="hide")
        workspace(browser, state, 390, "en", act="approve")
        workspace(browser, state, 1366, "ar", act=None)
        workspace(browser, state, 390, "ar", act="suspend")
        enrolment(browser)
        browser.close()
    with open(f"{SHOTS}/measurements.json", "w") as fh:
        json.dump(report, fh, ensure_ascii=False, indent=1)
    problems = [
        name
        for name, m in report.items()
        if m["page_scroll_width"] > m["viewport"] + 1
        or m["clipped_cells"]
        or any(w > m["viewport"] for w in m["previews"])
    ]
    print(json.dumps({"pages": len(report), "problems": problems}, ensure_ascii=False))  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
