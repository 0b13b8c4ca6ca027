"""A class in three browsers: a teacher and two students, against one server with a token.

The teacher opens a class from the page, the students join with its code, the dashboard
follows them live; the teacher pushes a setup, runs a challenge, sets locks (which the
server enforces), removes a student and downloads the results.
"""

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tests.browser.conftest import SHOTS, Page
from tests.e2e.conftest import running_server

TOKEN = "teacher-s3cret-for-the-class-test"
TINY = {
    "input": [3, 32, 32],
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 5, "stride": 2},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "linear", "out_features": 8},
    ],
}
LIVE = 8_000  # what "within a few seconds" allows: the page polls every 3 s, the dashboard every 1 s


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("classroom") / "data", "--token", TOKEN) as s:
        yield s


def context_page(browser, server, size=(1366, 800)) -> tuple:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, accept_downloads=True)
    p = Page(context.new_page(), server.url)
    p.page.set_default_timeout(30_000)
    return context, p


def join(p: Page, code: str, name: str):
    p.page.goto(p.base_url + "/")
    p.page.wait_for_selector("[data-join]")
    p.page.fill("[data-join-code]", code.lower())  # typed as heard: the page reads it in capitals
    p.page.fill("[data-join-name]", name)
    p.page.click("[data-join] button[type=submit]")
    p.page.wait_for_selector("[data-student-name]")
    p.page.wait_for_selector("[data-view]:not([hidden])")


def opened_code(teacher: Page, name: str) -> str:
    teacher.page.wait_for_function(
        "name => { const p = document.querySelector('[data-class-picker]');"
        " return p.selectedOptions[0]?.text.startsWith(name); }",
        arg=name,
    )
    return teacher.page.locator("[data-class-code]").inner_text().strip()


def in_page_fetch(p: Page, method: str, url: str, body=None) -> dict:
    return p.page.evaluate(
        """async ([method, url, body]) => {
        const r = await fetch(url, {method, headers: {"Content-Type": "application/json"},
                                    body: body === null ? undefined : JSON.stringify(body)});
        return {status: r.status, body: await r.text()};
    }""",
        [method, url, body],
    )


def test_a_teacher_and_two_students_through_a_class(browser, class_server):
    contexts = []
    try:
        ctx, teacher = context_page(browser, class_server)
        contexts.append(ctx)
        teacher.page.goto(f"{class_server.url}/?token={TOKEN}")
        teacher.page.wait_for_selector("[data-tab=class]:not([hidden])")
        assert "token" not in teacher.page.url  # the secret leaves the address bar at once
        teacher.tab("class")
        teacher.page.fill("[data-class-new-name]", "Lab 3")
        teacher.page.click("[data-action=open-class]")
        code = opened_code(teacher, "Lab 3")
        assert re.fullmatch(r"[34679ACDEFGHJKMNPQRTWXY]{6}", code), code
        teacher.page.wait_for_selector("[data-live]:text('Live')")

        # ---- two students join; a wrong code says so ----
        ctx, ada = context_page(browser, class_server)
        contexts.append(ctx)
        ada.page.goto(class_server.url + "/")
        ada.page.wait_for_selector("[data-join]")
        assert not ada.page.locator("nav[role=tablist]").is_visible()
        ada.expect_http_error(404)
        ada.page.fill("[data-join-code]", "XXXXXX")
        ada.page.fill("[data-join-name]", "Ada")
        ada.page.click("[data-join] button[type=submit]")
        ada.page.wait_for_selector("[data-join-error]:not([hidden])")
        assert "no open class has this code" in ada.page.locator("[data-join-error]").inner_text()
        join(ada, code, "Ada")
        ctx, ben = context_page(browser, class_server)
        contexts.append(ctx)
        join(ben, code, "Ben")
        for student in (ada, ben):
            assert TOKEN not in student.page.content()
            assert student.page.locator("[data-tab=class]").is_hidden()
        assert ada.page.locator("[data-student-name]").inner_text() == "Ada"

        # ---- the dashboard shows them, and where they are, within seconds ----
        rows = teacher.page.locator("[data-students] tbody tr")
        teacher.page.wait_for_function(
            "document.querySelectorAll('[data-students] tbody tr').length === 2", timeout=LIVE
        )
        assert min(rows.all_inner_texts()).startswith("Ada")
        ada.tab("data")
        teacher.page.wait_for_function(
            "[...document.querySelectorAll('[data-students] tbody tr')].some(r => r.innerText.startsWith('Ada')"
            " && r.querySelector('[data-cell=view]').innerText === 'Data')",
            timeout=LIVE,
        )

        # ---- a pushed setup reaches both pages ----
        teacher.page.evaluate("""() => playground.store.set({dataset: "shapes",
            hyper: {...playground.store.state.hyper, lr: 0.0123, batch_size: 16}, view: "class"})""")
        teacher.page.click("[data-action=push-all]")
        teacher.page.wait_for_selector("[data-push-result]:text('Sent to 2 students')")
        for student in (ada, ben):
            student.page.wait_for_function("playground.store.state.hyper.lr === 0.0123", timeout=LIVE)
            state = student.page.evaluate(
                "({...playground.store.state.hyper, dataset: playground.store.state.dataset,"
                " view: playground.store.state.view})"
            )
            assert state["batch_size"] == 16 and state["dataset"] == "shapes" and state["view"] == "train"
            assert "teacher sent a setup" in student.page.locator("[data-page-notice]").inner_text()

        # ---- a challenge: Ada trains a small network and enters it; the leaderboard fills ----
        teacher.page.fill("[data-challenge-field=name]", "Small and sharp")
        teacher.page.fill("[data-challenge-field=max_params]", "20000")
        teacher.page.fill("[data-challenge-field=max_epochs]", "1")
        teacher.page.click("[data-action=start-challenge]")
        teacher.page.wait_for_selector("[data-challenge-live]:not([hidden])")
        ada.page.wait_for_selector("[data-challenge] [data-action=submit-entry]", timeout=LIVE)
        ada.page.evaluate(f"playground.store.set({{spec: {TINY!r}, preset: null}})".replace("'", '"'))
        run = ada.page.evaluate("""async () => {
            const id = await playground.session.network();
            const r = await fetch(`/api/networks/${id}/runs`, {method: "POST", headers: {"Content-Type": "application/json"},
                body: JSON.stringify({dataset: "shapes", epochs: 1, max_train: 400, lr: 0.0123, batch_size: 16})});
            const run = await r.json();
            if (!r.ok) return {refused: r.status, ...run};
            for (let i = 0; i < 300; i++) {
                const now = await (await fetch(`/api/runs/${run.id}`)).json();
                if (!["queued", "running"].includes(now.status)) return now;
                await new Promise((ok) => setTimeout(ok, 200));
            }
            return run;
        }""")
        assert run.get("status") == "completed", run
        ada.page.click("[data-challenge] [data-action=submit-entry]")
        ada.page.wait_for_selector("[data-challenge-result]:text('rank 1 of 1')")
        teacher.page.wait_for_selector("[data-teacher-leaderboard] li[data-entry] >> text=Ada", timeout=LIVE)
        teacher.page.click("[data-action=end-challenge]")
        teacher.page.wait_for_selector("[data-challenge-title]:text('Ended')")
        ben.expect_http_error(409)
        ben.page.wait_for_selector("[data-challenge]", timeout=LIVE)
        ben_entry = in_page_fetch(ben, "GET", "/api/me")
        challenge_id = json.loads(ben_entry["body"])["challenges"][0]["id"]
        refused = in_page_fetch(
            ben, "POST", f"/api/challenges/{challenge_id}/submit", {"network_id": run["network_id"]}
        )
        assert refused["status"] in (404, 409)  # not Ben's network, and the challenge has ended

        # ---- locks: the page shows them and the server enforces them ----
        teacher.page.check("[data-lock=architecture]")
        teacher.page.check("[data-lock=settings]")
        teacher.page.wait_for_selector("[data-editable=lr]")
        for box in teacher.page.locator("[data-editable]").all():
            box.set_checked(box.get_attribute("data-editable") == "lr")
        teacher.page.check("[data-lock-view=inspect]")
        teacher.page.select_option("[data-lock-until=inspect]", "output_size")
        teacher.page.click("[data-action=save-locks]")
        teacher.page.wait_for_selector("[data-lock-status]:text('only lr may change')")
        ada.page.wait_for_selector("[data-tab=inspect]", state="hidden", timeout=LIVE)
        ada.tab("train")
        ada.page.wait_for_selector("[data-hyper=batch_size]:disabled", timeout=LIVE)
        assert ada.page.locator("[data-hyper=lr]").is_enabled()
        ada.tab("build")
        assert "architecture lock" in ada.page.locator("[data-lock-note=build]").inner_text()
        ada.expect_http_error(403)
        made = in_page_fetch(ada, "POST", "/api/networks", {"preset": "tinyvgg"})
        assert made["status"] == 403 and "fixed the architecture" in made["body"]
        inspect = in_page_fetch(
            ada, "POST", f"/api/networks/{run['network_id']}/predict", {"dataset": "shapes", "index": 0}
        )
        assert inspect["status"] == 403 and "Inspect view" in inspect["body"]
        ada.shot("classroom-student-locked-1366")

        # ---- the teacher looks at Ada, removes Ben, and downloads the results ----
        teacher.page.click("[data-students] tbody tr:has-text('Ada')")
        teacher.page.wait_for_selector("[data-detail-name]:text('Ada')")
        teacher.page.wait_for_selector("[data-detail-networks] li")
        teacher.shot("classroom-teacher-1366")
        teacher.page.click("[data-students] tbody tr:has-text('Ben')")
        teacher.page.wait_for_selector("[data-detail-name]:text('Ben')")
        teacher.page.once("dialog", lambda d: d.accept())
        teacher.page.click("[data-action=remove]")
        teacher.page.wait_for_function(
            "document.querySelectorAll('[data-students] tbody tr').length === 1", timeout=LIVE
        )
        ben.page.wait_for_selector("[data-join]", timeout=LIVE + 5_000)  # back to joining
        with teacher.page.expect_download() as download:
            teacher.page.click("[data-action=export]")
        rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
        assert rows[0][-1] == "challenge: Small and sharp"
        assert [r[0] for r in rows[1:]] == ["Ada"] and float(rows[1][-1]) > 0
        for p in (teacher, ada, ben):
            assert not p.errors, p.errors
    finally:
        for c in contexts:
            c.close()


@pytest.mark.parametrize("size", [(1366, 800), (390, 844)], ids=["projector", "phone"])
def test_the_join_screen_and_the_class_view_fit_the_screen(browser, class_server, size):
    ctx, teacher = context_page(browser, class_server, size)
    ctx2, student = context_page(browser, class_server, size)
    try:
        teacher.page.goto(f"{class_server.url}/?token={TOKEN}")
        teacher.tab("class")
        teacher.page.fill("[data-class-new-name]", f"Fit {size[0]}")
        teacher.page.click("[data-action=open-class]")
        code = opened_code(teacher, f"Fit {size[0]}")
        student.page.goto(class_server.url + "/")
        student.page.wait_for_selector("[data-join]")
        student.shot(f"classroom-join-{size[0]}")
        join(student, code, "Cleo")
        teacher.page.wait_for_selector("[data-students] tbody tr:has-text('Cleo')", timeout=LIVE)
        # the code reads from the back of the room: at least 2 rem high, and large when clicked
        height = teacher.page.locator("[data-class-code]").evaluate("n => n.getBoundingClientRect().height")
        assert height >= 32
        for p in (teacher, student):
            wide = p.page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
            assert not wide, "the page scrolls sideways"
        if size[0] > 1000:  # the Class tab makes the header no taller, a run's badge included
            one_row = teacher.page.locator("header").bounding_box()["height"]
            teacher.page.evaluate(
                "playground.store.set({activeRun: {status: 'running', epoch: 3, epochs: 10, percent: 42}})"
            )
            teacher.page.locator("[data-run-badge]").wait_for(state="visible")
            assert teacher.page.locator("header").bounding_box()["height"] == one_row
        teacher.shot(f"classroom-teacher-{size[0]}")
        student.shot(f"classroom-student-{size[0]}")
        teacher.page.click("[data-class-code]")
        big = teacher.page.locator("[data-class-code]").evaluate("n => parseFloat(getComputedStyle(n).fontSize)")
        assert big >= 60
        assert SHOTS.exists()
        for p in (teacher, student):
            assert not p.errors, p.errors
    finally:
        ctx.close()
        ctx2.close()


def test_alone_on_loopback_nothing_of_a_class_shows(page):
    page.open()
    assert page.page.locator("[data-tab=class]").is_hidden()
    assert page.page.locator("[data-class-bar]").is_hidden()
    me = page.page.evaluate("fetch('/api/me').then((r) => r.json())")
    assert me == {"kind": "teacher", "classes_open": False, "teaching": False}
