"""A site's output checkers and publishers, named and removed on the backend's page and by
`jupyter ext admin site-reviewer`: both faces of `services.site_reviewers`, on one database."""

from __future__ import annotations

from jupyter_ext.jobserver import orm

from .test_admin_pages import after, post, problem, row
from .test_jobserver_cli import SQLITE_ONLY, jupyter_ext, ok, refused
from .test_pages import get


def roles_at(world, backend: str, username: str) -> list[str] | None:
    backend_id = row(world, orm.Backend, slug=backend).id
    user_id = row(world, orm.User, username=username).id
    member = row(world, orm.BackendMember, backend_id=backend_id, user_id=user_id)
    return sorted(member.roles) if member else None


def test_site_reviewers_are_named_and_removed_on_the_backends_page(world):
    world.user("alice")
    world.user("viewer", ["data_investigator"])  # sees every backend, manages none
    page = get(world, "admin", "/backends/tpp")
    assert page.status_code == 200 and "No one yet" in page.text
    assert '<label class="form-check-label" for="site-roles-output_checker">' in page.text
    assert 'href="/backends/tpp"' in get(world, "admin", "/backends").text
    assert get(world, "viewer", "/backends/tpp").status_code == 403
    assert 'href="/backends/tpp"' not in get(world, "viewer", "/backends").text
    assert get(world, "admin", "/backends/nowhere").status_code == 404

    url = "/backends/tpp/members"
    for data, status, said in (
        ({"username": "alice"}, 422, "give at least one role"),
        ({"username": "alice", "role": "core_developer"}, 422, "output_checker or"),
        ({"username": "nobody", "role": "output_checker"}, 404, "there is no user 'nobody'"),
    ):
        answer = post(world, "admin", url, data)
        assert answer.status_code == status and said in problem(answer), problem(answer)
    viewer = post(world, "viewer", url, {"username": "alice", "role": "output_checker"})
    assert viewer.status_code == 403
    assert roles_at(world, "tpp", "alice") is None
    named = post(world, "admin", url, {"username": "@alice", "role": ["output_checker"]})
    assert after(named) == "/backends/tpp" and roles_at(world, "tpp", "alice") == ["output_checker"]
    both = {"username": "alice", "role": ["output_checker", "output_publisher"]}
    assert after(post(world, "admin", url, both)) == "/backends/tpp"
    shown = get(world, "admin", "/backends/tpp?done=site-member")
    listed = shown.text.split('id="site-members"')[1].split("</table>")[0]
    assert "alice" in listed and "output checker, output publisher" in listed
    assert "Saved: their roles at this site" in shown.text
    remove = f"{url}/alice/remove"
    assert post(world, "viewer", remove).status_code == 403
    assert after(post(world, "admin", remove)) == "/backends/tpp"
    assert roles_at(world, "tpp", "alice") is None
    gone = post(world, "admin", remove)
    assert gone.status_code == 404 and "alice holds no role at tpp" in problem(gone)


@SQLITE_ONLY  # the same service functions as the page's, which runs on both databases
def test_site_reviewers_are_named_and_removed_by_the_command_line(world, db_url, tmp_path):
    """On the job server's own database, as "admin-cli"; the page shows what it did."""
    world.user("alice")
    cwd = tmp_path / "cwd"
    cwd.mkdir()

    def admin(*args: str):
        return jupyter_ext("admin", "site-reviewer", *args, "--db-url", db_url, cwd=cwd)

    said = ok(admin("tpp", "alice", "--role", "output_publisher"))
    assert said == "alice at tpp: output_publisher\n"
    assert roles_at(world, "tpp", "alice") == ["output_publisher"]
    assert "output publisher" in get(world, "admin", "/backends/tpp").text
    assert ok(admin("tpp", "alice", "--remove")) == "alice holds no role at tpp now\n"
    assert roles_at(world, "tpp", "alice") is None
    refused(admin("tpp", "alice", "--remove"), "error: alice holds no role at tpp", code=2)
