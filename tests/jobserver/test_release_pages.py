"""The release page's forms: votes, comments, withdrawal and publication, by the API's rules."""

from __future__ import annotations

from .test_pages import get, root
from .test_review import TABLE, ask, finished


def post(world, who: str, path: str, fields: dict):
    url = root(world) + path.lstrip("/")
    return world.client(who).post(url, data=fields, follow_redirects=False)


def test_checkers_vote_and_a_publisher_publishes_from_the_page(world):
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
    world.user("publisher", ["output_publisher"])
    job = finished(world, {"output/table.csv": TABLE})
    release = ask(world.client("dev"), job, "output/table.csv").json()
    page = f"/uni/sample-study/sample/releases/{release['id']}"
    fid = release["files"][0]["id"]

    own = get(world, "dev", page)
    assert "Withdraw this request" in own.text and "Your vote on" not in own.text
    forged = post(world, "dev", f"{page}/files/{fid}/vote", {"decision": "approve"})
    assert forged.status_code == 403 and "may not review releases of" in forged.text

    assert "Your vote on output/table.csv" in get(world, "checker1", page).text
    wrong = post(world, "checker1", f"{page}/files/{fid}/vote", {"decision": "maybe"})
    assert wrong.status_code == 422 and "choose approve, request changes or reject" in wrong.text
    sent = post(
        world, "checker1", f"{page}/files/{fid}/vote", {"decision": "approve", "comment": "fine"}
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith(f"{page[1:]}?done=voted")
    assert "Your vote is recorded" in get(world, "checker1", page + "?done=voted").text
    post(world, "checker2", f"{page}/files/{fid}/comment", {"text": "row 2?"})
    post(world, "checker2", f"{page}/files/{fid}/vote", {"decision": "approve"})
    shown = get(world, "publisher", page).text
    assert "Publish the approved files" in shown and "checker2:</em> row 2?" in shown
    published = post(world, "publisher", f"{page}/publish", {})
    assert published.status_code == 303
    assert world.client("dev").get(f"releases/{release['id']}").json()["state"] == "released"


def test_the_author_withdraws_from_the_page(world):
    job = finished(world, {"output/table.csv": TABLE})
    release = ask(world.client("dev"), job, "output/table.csv").json()
    page = f"/uni/sample-study/sample/releases/{release['id']}"
    assert post(world, "coord", f"{page}/withdraw", {}).status_code == 403
    assert post(world, "dev", f"{page}/withdraw", {}).status_code == 303
    assert world.client("dev").get(f"releases/{release['id']}").json()["state"] == "withdrawn"
