"""The Jobs panel in a real JupyterLab, driven by Chromium, against the real job server and runner.

An analyst opens the panel, sees the workspace and the actions, runs one and watches its
log arrive live, then opens a released output in JupyterLab's CSV viewer; a broken
project.yaml shows its problems and opens at their line; the dark theme draws it too.
Through the demo hub's proxy: the lists are right at once, and an output checker opens the
file waiting for their vote from the panel's Review section (its author cannot).
"""

from __future__ import annotations

import hashlib
import json
import re
import time

import httpx
import pytest

from jupyter_ext.jobserver.serving import FILE_POLICY

pytestmark = pytest.mark.slow

PANEL = ".jp-ext-panel"
TIMEOUT = 60_000  # ms: a job runs a few seconds; a cold JupyterLab takes a few to load

# In the page: when the Run button is clicked and when the first log line is drawn
# (performance.now(), the page's clock), so the delay measured is what a person sees.
WATCH_FIRST_LINE = """() => {
  window.__jobs = {};
  document.addEventListener('click', e => {
    if (e.target.closest('.jp-ext-run')) { window.__jobs.clicked = performance.now(); }
  }, true);
  new MutationObserver((_, observer) => {
    if (document.querySelector('.jp-ext-log-line')) {
      window.__jobs.firstLine = performance.now();
      observer.disconnect();
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""


def show_panel(page):
    """The Jobs panel, shown. JupyterLab may restore its saved layout after the tab is drawn,
    hiding the panel again: its tab is clicked while the panel is hidden (a click on a shown
    one would close it)."""
    tab = page.locator('.jp-SideBar .lm-TabBar-tab[data-id="jupyter-ext-jobs"]')
    tab.wait_for(timeout=TIMEOUT)
    panel = page.locator(PANEL)
    for _ in range(60):
        if panel.is_visible():
            break
        tab.click()
        page.wait_for_timeout(500)
    panel.wait_for(state="visible")
    return panel


def open_panel(page, lab):
    """JupyterLab with the Jobs panel shown (a restored layout hides it: click its tab)."""
    page.goto(lab.page_url(), timeout=TIMEOUT)
    panel = show_panel(page)
    # a wider sidebar, as an analyst would drag it: the screenshots show whole log lines
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    if box and box["x"] < 380:
        page.mouse.move(box["x"] + 1, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(420, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
    return panel


def release_output(world, job: str, path: str) -> dict:
    """A job's output asked for, approved twice and published (as in test_releases)."""
    body = {
        "workspace": "sample",
        "backend": "tpp",
        "groups": {
            "tables": {
                "context": "counts by region",
                "disclosure_control": "rounded to 5, small suppressed",
                "files": [{"job": job, "path": path}],
            }
        },
    }
    made = world.client("dev").post("releases", json=body)
    assert made.status_code == 201, made.text
    release = made.json()
    vote = f"releases/{release['id']}/files/{release['files'][0]['id']}/reviews"
    for checker in ("checker1", "checker2"):
        answer = world.client(checker).post(vote, json={"decision": "approve"})
        assert answer.status_code == 201, answer.text
    published = world.client("publisher").post(f"releases/{release['id']}/publish")
    assert published.status_code == 200, published.text
    deadline = time.monotonic() + 30  # the runner uploads it at its next heartbeat
    while time.monotonic() < deadline:
        release = world.client("dev").get(f"releases/{release['id']}").json()
        if release["files"][0]["uploaded"]:
            return release
        time.sleep(0.2)
    raise AssertionError(f"the runner never uploaded {path}: {release}")


def test_run_an_action_watch_its_log_live_and_open_a_released_file(page, lab, world, shots):
    panel = open_panel(page, lab)
    # the workspace at a glance, and the actions as a tree with the commit jobs run at
    panel.locator(".jp-ext-facts", has_text="sample-study").wait_for()
    tree = panel.locator(".jp-ext-tree")
    tree.get_by_text("generate_dataset").wait_for()
    names = tree.locator(".jp-ext-action label").all_inner_texts()
    # report sits under make_table, the deeper of its needs, and names the other one
    shown = [re.sub(r"^└\s*", "", n).strip() for n in names]
    assert shown == [
        "generate_dataset",
        "derive_measures",
        "make_table",
        "report + make_plot",
        "make_plot",
    ]
    assert panel.locator(".jp-ext-sha").inner_text().startswith(world.sha[:7])
    assert panel.locator(".jp-ext-warning").count() == 0  # a clean, pushed checkout
    panel.locator(".jp-ext-live").wait_for()  # the event stream is open
    # read by the browser's EventSource: the server took the login cookie (no fetch fallback)
    assert panel.locator(".jp-ext-live").get_attribute("data-mode") == "eventsource"
    shots(page, "01-panel")

    # select make_table (it needs generate_dataset and derive_measures) and run it
    panel.get_by_role("checkbox", name="make_table").check()
    run = panel.get_by_role("button", name="Run 1 action")
    assert run.is_enabled()
    page.evaluate(WATCH_FIRST_LINE)
    started = time.monotonic()
    run.click()
    panel.locator(".jp-ext-log-line").first.wait_for(timeout=TIMEOUT)
    wall_ms = (time.monotonic() - started) * 1000
    marks = page.evaluate("window.__jobs")
    seen_ms = marks["firstLine"] - marks["clicked"]
    print(
        f"\nsubmit click -> first log line on screen: {seen_ms:.0f} ms "
        f"(in the page; {wall_ms:.0f} ms as Playwright saw it)"
    )
    shots(page, "02-first-log-line")

    # the log follows live: later lines of the jobs arrive without a reload
    detail = panel.locator(".jp-ext-request-detail")
    detail.locator(".jp-ext-job").nth(2).wait_for(timeout=TIMEOUT)
    assert detail.locator(".jp-ext-job-name").all_inner_texts() == [
        "generate_dataset",
        "derive_measures",
        "make_table",
    ]
    detail.locator(":scope > .jp-ext-row .jp-ext-state-succeeded").wait_for(timeout=TIMEOUT)
    panel.locator(".jp-ext-log-line", has_text="wrote output/table_by_region.csv").wait_for()
    # the request finished: JupyterLab's notification says so
    page.locator(".jp-Notification-Toast-success", has_text="make_table").wait_for()
    assert detail.locator(".jp-ext-bar-run").count() == 3  # the timeline
    panel.locator(".jp-ext-outputs", has_text="output/table_by_region.csv").wait_for()
    shots(page, "03-request-finished")

    # each action's last state on the backend, updated from the events
    badge = tree.locator(".jp-ext-action", has_text="make_table").locator(".jp-ext-state")
    assert badge.get_attribute("title") == "tpp: succeeded" and badge.inner_text() == "✓"

    # back to the list: the request is there, newest first
    panel.get_by_role("button", name="← All requests").click()
    first = panel.locator(".jp-ext-request").first
    assert "make_table" in first.inner_text() and "succeeded" in first.inner_text()

    # a released output opens in JupyterLab's CSV viewer (read-only, nothing written)
    request = world.client("dev").get("job-requests", params={"workspace": "sample"}).json()
    job = next(j for j in request["items"][0]["jobs"] if j["action"] == "make_table")
    release = release_output(world, job["identifier"], "output/table_by_region.csv")
    panel.get_by_role("button", name="Refresh").click()
    opened = panel.locator(".jp-ext-file", has_text="table_by_region.csv")
    opened.wait_for(timeout=TIMEOUT)
    download = panel.get_by_label("Download output/table_by_region.csv")
    assert download.get_attribute("href").endswith(f"jupyter-ext/files/{release['files'][0]['id']}")
    opened.click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="table_by_region.csv")
    tab.wait_for(timeout=TIMEOUT)
    page.locator(".jp-CSVViewer .lm-DataGrid").wait_for(timeout=TIMEOUT)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.context?.isReady", timeout=TIMEOUT
    )
    shown = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.toString()")
    served = world.client("dev").get(
        world.base_url.removesuffix("api/v1/") + f"api/v2/releases/file/{release['files'][0]['id']}"
    )
    assert shown.startswith("region,") and shown == served.text
    path = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    assert path == f"Released:{release['id']}/output/table_by_region.csv"
    page.wait_for_timeout(300)  # the grid paints
    shots(page, "04-released-csv")
    assert not page.errors, page.errors


def test_problems_of_project_yaml_open_it_at_their_line_in_both_themes(page, lab, checkout, shots):
    text = (checkout / "project.yaml").read_text()
    broken = text.replace(
        "needs: [derive_measures]\n    outputs:\n      moderately_sensitive:\n        table:",
        "needs: [derive_measure]\n    outputs:\n      moderately_sensitive:\n        table:",
    )
    assert broken != text
    (checkout / "project.yaml").write_text(broken)
    try:
        panel = open_panel(page, lab)
        # keyboard: the file browser shown, Accel Alt J brings the Jobs panel back
        page.locator('.jp-SideBar .lm-TabBar-tab[data-id="filebrowser"]').click()
        panel.wait_for(state="hidden")
        page.keyboard.press("Control+Alt+KeyJ")
        panel.wait_for(state="visible")
        # the command palette has the panel's commands
        page.keyboard.press("Control+Shift+KeyC")
        page.keyboard.type("Jobs")
        palette = page.locator("#command-palette")
        palette.get_by_text("Show the Jobs panel").wait_for()
        palette.get_by_text("Refresh the Jobs panel").wait_for()
        page.keyboard.press("Escape")
        problem = panel.locator(".jp-ext-problems button").first
        problem.wait_for(timeout=TIMEOUT)
        label = problem.inner_text()
        line = int(re.match(r"line (\d+)", label).group(1))
        assert "derive_measure" in label and broken.splitlines()[line - 1].strip().startswith(
            "needs: [derive_measure]"
        )
        assert panel.get_by_role("button", name="Select actions to run").is_disabled()
        # the change is not committed: the panel warns that jobs run the pushed commit
        panel.locator(".jp-ext-warning", has_text="not committed").wait_for()
        shots(page, "05-problems")
        problem.click()
        editor = page.locator(".jp-FileEditor")
        editor.wait_for(timeout=TIMEOUT)
        # the cursor is on the problem's line (the status bar says where)
        page.locator(".jp-StatusBar-Widget", has_text=f"Ln {line}, Col").wait_for()
        shots(page, "06-problem-opened")

        page.evaluate(
            "() => window.jupyterapp.commands.execute('apputils:change-theme', "
            "{theme: 'JupyterLab Dark'})"
        )
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        page.wait_for_timeout(500)
        shots(page, "07-dark-theme")
    finally:
        (checkout / "project.yaml").write_text(text)


# -- through the hub's proxy: the demo as a newcomer opens it ------------------------------------

# In the page, before JupyterLab loads: when the panel is drawn, when its lists are filled
# (performance.now(), from the start of the navigation), whether a list ever said it was empty
# while it was not, when each event stream opened and sent its first event.
WATCH_PANEL = """() => {
  const seen = window.__panel = {opens: [], firstEvent: null, drawn: null, filled: null,
                                 reviewed: null, saidEmpty: [], durations: []};
  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(url, init) {
      super(url, init);
      const at = () => performance.now();
      this.addEventListener('open', () => seen.opens.push({url: String(url), at: at()}));
      for (const kind of ['job', 'job_request', 'log', 'release']) {
        this.addEventListener(kind, () => { seen.firstEvent = seen.firstEvent ?? at(); });
      }
    }
  };
  const look = () => {
    const panel = document.querySelector('.jp-ext-panel');
    if (!panel) { return; }
    seen.drawn = seen.drawn ?? performance.now();
    for (const empty of panel.querySelectorAll('.jp-ext-empty')) {
      if (!seen.saidEmpty.includes(empty.textContent)) { seen.saidEmpty.push(empty.textContent); }
    }
    for (const times of panel.querySelectorAll('.jp-ext-job-times')) {
      if (!seen.durations.includes(times.textContent)) { seen.durations.push(times.textContent); }
    }
    const lists = ['.jp-ext-section-requests .jp-ext-request',
                   '.jp-ext-section-releases .jp-ext-file'];
    if (seen.filled === null && lists.every(s => panel.querySelector(s))) {
      seen.filled = performance.now();
    }
    if (!seen.reviewed && panel.querySelector('.jp-ext-section-review .jp-ext-release-card')) {
      seen.reviewed = performance.now();
    }
  };
  const all = {childList: true, subtree: true, characterData: true};
  new MutationObserver(look).observe(document, all);
}"""
# the first bytes of a stream read by the page itself, through the proxy, with its XSRF token
FIRST_BYTES = """async url => {
  const xsrf = document.cookie.split(';').map(c => c.trim()).filter(c => c.startsWith('_xsrf='))
    .map(c => c.slice(6)).pop();
  const response = await fetch(url, {headers: {'X-XSRFToken': xsrf}});
  const reader = response.body.getReader();
  const {value} = await reader.read();
  await reader.cancel();
  return [response.status, new TextDecoder().decode(value)];
}"""
DURATION = re.compile(r"^\d+ ms$|^\d+\.\d s$|^\d+ min \d\d s$|^\d+ h \d\d min$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`jupyter ext demo` (hub, proxy, job server, runner), with its first results released."""
    from jupyter_ext.cli.hubstack import free_port

    from ..hub.test_demo import start_demo, stop_demo, wait_for_url

    folder = tmp_path_factory.mktemp("panel-demo") / "demo"
    process = start_demo(folder, free_port())
    try:
        url = wait_for_url(process)
        deadline = time.monotonic() + 180
        while not (folder / "release.seeded").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert (folder / "release.seeded").exists(), "the demo released nothing"
        # published, then uploaded at the runner's next heartbeat: until then, nothing is
        # released in the panel (and saying so is right)
        release = (folder / "release.seeded").read_text()
        token = json.loads((folder / "tokens.json").read_text())["analyst"]
        while time.monotonic() < deadline:
            answer = httpx.get(
                f"{url}services/jobserver/api/v1/releases/{release}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            if all(f["uploaded"] for f in answer.json()["files"]):
                break
            time.sleep(0.5)
        assert all(f["uploaded"] for f in answer.json()["files"]), answer.text
        yield url, folder
    finally:
        stop_demo(process)


def open_through_the_hub(page, url: str, user: str, workspace: str):
    """Signed in at the hub as `user`, the workspace's server started, then JupyterLab loaded
    afresh with the watcher in place; the Jobs panel shown at the sidebar's default width."""
    console: list[str] = []
    page.on("console", lambda m: m.type == "error" and console.append(m.text))
    page.goto(f"{url}hub/login", timeout=TIMEOUT)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "any")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url("**/hub/home", timeout=TIMEOUT)
    page.goto(f"{url}hub/spawn/{user}/{workspace}", timeout=TIMEOUT)
    page.wait_for_url(f"**/user/{user}/{workspace}/lab**", timeout=120_000)
    console.clear()  # what follows is the load a newcomer makes every time
    page.add_init_script(f"({WATCH_PANEL})()")
    page.goto(f"{url}user/{user}/{workspace}/lab", timeout=TIMEOUT)
    return show_panel(page), console


def test_through_the_hubs_proxy_the_lists_are_right_at_once_and_run_all_runs(demo, page, shots):
    from jupyter_ext.cli.demo import WORKSPACE

    url, folder = demo
    panel, console = open_through_the_hub(page, url, "analyst", WORKSPACE)
    # the demo's job request and released files, read by plain requests: no list ever said
    # it was empty, and none waited for the event stream to send anything
    panel.locator(".jp-ext-request", has_text="make_table").first.wait_for(timeout=TIMEOUT)
    panel.locator(".jp-ext-file", has_text="plot_rates.svg").wait_for(timeout=TIMEOUT)
    page.wait_for_function("() => window.__panel.filled !== null")
    live = panel.locator(".jp-ext-live")
    live.wait_for(timeout=TIMEOUT)
    assert live.get_attribute("data-mode") == "eventsource"  # the hub took the cookie: no 403
    seen = page.evaluate("window.__panel")
    assert "No job requests yet." not in seen["saidEmpty"]
    assert "Nothing released from this workspace yet." not in seen["saidEmpty"]
    assert seen["firstEvent"] is None or seen["filled"] < seen["firstEvent"]
    assert any("jupyter-ext/api/events" in o["url"] for o in seen["opens"])
    print(
        f"\nthrough the hub's proxy: page load -> panel's lists right: {seen['filled']:.0f} ms "
        f"(panel drawn at {seen['drawn']:.0f} ms, so {seen['filled'] - seen['drawn']:.0f} ms "
        f"after; the event stream open at {seen['opens'][0]['at']:.0f} ms)"
    )
    shots(page, "10-proxy-panel-at-load")

    # each stream starts with a comment, so the proxy sends its headers on at once
    status, first = page.evaluate(
        FIRST_BYTES, f"{url}user/analyst/{WORKSPACE}/jupyter-ext/api/events?workspace={WORKSPACE}"
    )
    assert status == 200 and first.startswith(": open")
    token = json.loads((folder / "tokens.json").read_text())["analyst"]
    with httpx.stream(
        "GET",
        f"{url}services/jobserver/api/v1/events",
        timeout=30,
        headers={"Authorization": f"Bearer {token}"},
    ) as stream:
        assert next(stream.iter_lines()) == ": open"

    # Run all: run_all as the official tools send it, then the request with its planned jobs
    plan = panel.locator(".jp-ext-run-all-plan")
    assert plan.inner_text() == "Run all runs report."  # the demo ran all but report
    panel.get_by_role("button", name="Run all").click()
    detail = panel.locator(".jp-ext-request-detail")
    detail.wait_for(timeout=TIMEOUT)
    assert "run_all" in detail.locator("> .jp-ext-dim").first.inner_text()
    detail.locator(":scope > .jp-ext-row .jp-ext-state-succeeded").wait_for(timeout=TIMEOUT)
    shots(page, "11-run-all-finished")
    assert "nothing to run" in plan.inner_text()  # report's state came with the events
    durations = page.evaluate("window.__panel.durations")
    assert durations, "no job's times were drawn"
    for text in durations:  # "waited 12 ms, ran 1.2 s": a unit that fits, never negative
        for part in re.findall(r"(?:waited|ran) ([^,]+)", text):
            assert DURATION.match(part.strip()), text
    assert not console, console
    assert not page.errors, page.errors

    # the job server's page of that request says how long each job took, sub-second ones too
    listed = httpx.get(
        f"{url}services/jobserver/api/v1/job-requests",
        timeout=30,
        params={"workspace": WORKSPACE},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    newest = listed["items"][0]
    assert newest["actions"] == ["run_all"]
    page.goto(f"{url}services/jobserver/job-requests/{newest['id']}", timeout=TIMEOUT)
    page.locator("#jobs").wait_for(timeout=TIMEOUT)
    took = page.locator("#jobs tbody tr td:last-child").all_inner_texts()
    assert took and all(DURATION.match(t.strip()) for t in took), took
    shots(page, "12-job-request-page-took")


@pytest.fixture(scope="module")
def waiting_review(demo):
    """The analyst's new table asked for release, its copy sent for review by the demo's
    runner: the release, waiting for the checkers' votes."""
    from jupyter_ext.cli.demo import BACKEND, WORKSPACE
    from jupyter_ext.client import Client

    url, folder = demo
    tokens = json.loads((folder / "tokens.json").read_text())
    with Client(f"{url}services/jobserver/", token=tokens["analyst"], workspace=WORKSPACE) as me:
        ran = me.job_requests.create(actions=["make_table"], backend=BACKEND)
        ran = ran.wait(timeout=300, progress=False)
        (job,) = [j for j in ran.jobs if j.action == "make_table"]
        table = {"job": job.identifier, "path": "output/table_by_region.csv"}
        group = {
            "context": "rates by region again",
            "disclosure_control": "rounded to 5",
            "files": [table],
        }
        release = me.releases.create(backend=BACKEND, groups={"tables": group})
        deadline = time.monotonic() + 60  # the runner sends it at its next heartbeat
        while not release.files[0].review_copy and time.monotonic() < deadline:
            time.sleep(0.2)
            release = me.releases.get(release.id)
    assert release.files[0].review_copy, f"the runner never sent {table['path']} for review"
    return release


def test_a_checkers_review_is_there_at_once_and_its_buttons_fit_the_default_width(
    demo, waiting_review, page, shots
):
    from jupyter_ext.cli.demo import WORKSPACE

    url, _ = demo
    panel, console = open_through_the_hub(page, url, "checker", WORKSPACE)
    review = panel.locator(".jp-ext-section-review")
    review.locator(".jp-ext-section-title", has_text="1 waiting for you").wait_for(timeout=TIMEOUT)
    seen = page.evaluate("window.__panel")
    assert "No release waits for your vote." not in seen["saidEmpty"]
    assert seen["firstEvent"] is None  # read by a plain request: no event has come
    buttons = review.locator(".jp-ext-decision")
    assert buttons.all_inner_texts() == ["Approve", "Request changes", "Reject"]
    buttons.first.scroll_into_view_if_needed()
    # at the sidebar's default width, each button whole inside the panel, its text inside it
    box = panel.bounding_box()
    for n in range(buttons.count()):
        button = buttons.nth(n)
        b = button.bounding_box()
        assert box["x"] <= b["x"] and b["x"] + b["width"] <= box["x"] + box["width"], (n, b, box)
        fits = button.evaluate(
            "e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight"
        )
        assert fits, button.inner_text()
    reviewed = page.evaluate("window.__panel.reviewed")
    print(
        f"\nthe panel at the default sidebar width: {box['width']:.0f} px; "
        f"the review listed {reviewed:.0f} ms after load"
    )
    shots(page, "13-review-buttons-default-width")
    assert not console, console
    assert not page.errors, page.errors


def test_a_checker_opens_the_file_under_review_from_the_panel(
    demo, waiting_review, browser, page, shots
):
    from jupyter_ext.cli.demo import WORKSPACE

    url, folder = demo
    file = waiting_review.files[0]
    panel, console = open_through_the_hub(page, url, "checker", WORKSPACE)
    link = panel.locator(".jp-ext-section-review").get_by_role("link", name=f"Open {file.path}")
    link.wait_for(timeout=TIMEOUT)
    copy = f"jupyter-ext/api/releases/{waiting_review.id}/files/{file.id}/review-copy"
    assert link.get_attribute("href") == f"{url}user/checker/{WORKSPACE}/{copy}"
    colour = "e => getComputedStyle(e).color"  # drawn as a link, as a released file's name
    assert link.evaluate(colour) == panel.locator(".jp-ext-file").first.evaluate(colour)
    link.scroll_into_view_if_needed()
    shots(page, "14-review-open-link")
    # a tab of its own, through the hub's proxy and the server extension's: the frozen bytes,
    # sandboxed (no script runs, nothing sniffed), each read audited. Chromium shows no CSV:
    # it saves it (the tab closes), so its bytes are read again by the page's own session.
    read = page.context.expect_event("response", lambda r: r.url.endswith(copy))
    with page.context.expect_page(), read as answer:
        link.click()
    answer = answer.value
    assert answer.status == 200
    assert answer.headers["content-security-policy"] == FILE_POLICY
    assert answer.headers["x-content-type-options"] == "nosniff"
    again = page.context.request.get(link.get_attribute("href"))
    assert hashlib.sha256(again.body()).hexdigest() == file.sha256
    assert not console, console
    assert not page.errors, page.errors
    tokens = json.loads((folder / "tokens.json").read_text())
    views = httpx.get(
        f"{url}services/jobserver/api/v1/audit",
        params={"action": "release_file.review_view"},
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        timeout=30,
    ).json()["items"]
    assert [(v["actor"], v["after"]["via"]) for v in views] == [("checker", "api")] * 2

    # the author's panel has no such link, and their server's proxy gets a 403 for the copy
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        author = context.new_page()
        panel, _ = open_through_the_hub(author, url, "analyst", WORKSPACE)
        panel.locator(".jp-ext-section-releases").wait_for(timeout=TIMEOUT)
        assert panel.locator(".jp-ext-review-copy").count() == 0
        theirs = f"{url}user/analyst/{WORKSPACE}/{copy}"
        assert author.goto(theirs, timeout=TIMEOUT).status == 403
    finally:
        context.close()
