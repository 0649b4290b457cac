"""The runner's one join (`runner/paths.py`) attacked directly: every way a name could climb
out of its folder, through `..`, an absolute part, a link (also one met before a tail that
does not exist yet), a loop of links, and a job-written file reached through a link."""

from __future__ import annotations

import os
import socket

import pytest

from jupyter_ext.runner.messages import public, runner_error
from jupyter_ext.runner.paths import PathEscape, inside, open_below, safe_name, safe_relative


@pytest.fixture
def site(tmp_path):
    """A folder (`root`) with a plain subfolder, beside an `outside` folder attacks aim at."""
    root = tmp_path / "root"
    (root / "plain" / "deep").mkdir(parents=True)
    (root / "plain" / "file.txt").write_text("x")
    (tmp_path / "outside").mkdir()
    return root


@pytest.mark.parametrize(
    "parts",
    [
        ("..",),
        ("../outside/x",),
        ("plain", "..", "..", "outside"),
        ("plain/../../outside",),
        ("/etc/passwd",),
        ("plain", "/etc"),
        ("missing/../../outside",),
        ("missing", "..", "..", "x"),
        (".",),
        ("",),
        ("plain/..",),
    ],
)
def test_a_join_that_climbs_out_or_stays_on_the_root_is_refused(site, parts):
    with pytest.raises(PathEscape) as refused:
        inside(site, *parts)
    assert str(site) not in str(refused.value) and str(site.parent) not in str(refused.value)


def test_a_join_below_gives_the_resolved_path_even_for_a_tail_that_does_not_exist(site):
    assert inside(site, "plain", "file.txt") == site / "plain" / "file.txt"
    assert inside(site, "plain/deep/../file.txt") == site / "plain" / "file.txt"
    assert inside(site, "new", "folders", "f.csv") == site / "new" / "folders" / "f.csv"
    assert inside(site, "missing/../plain") == site / "plain"


def test_a_link_that_points_out_is_refused_wherever_it_is_on_the_way(site):
    outside = site.parent / "outside"
    (site / "out").symlink_to(outside)
    (site / "plain" / "abs").symlink_to("/etc")
    (site / "plain" / "rel").symlink_to("../../outside")
    escapes = [("out",), ("out", "x"), ("out", "new", "deeper", "f"), ("plain/abs/passwd",)]
    for parts in [*escapes, ("plain", "rel", "x"), ("plain", "rel")]:
        with pytest.raises(PathEscape):
            inside(site, *parts)
    # out through a link and back in by `..`: where the kernel would land, inside
    assert inside(site, "plain/rel/../root/plain") == site / "plain"


def test_a_link_that_stays_inside_is_followed_to_its_target(site):
    (site / "alias").symlink_to("plain/deep")
    (site / "plain" / "up").symlink_to("..")
    assert inside(site, "alias", "f") == site / "plain" / "deep" / "f"
    assert inside(site, "plain/up/plain/file.txt") == site / "plain" / "file.txt"


def test_a_link_whose_target_climbs_through_a_missing_folder_is_refused(site):
    (site / "sneaky").symlink_to("missing/../../../outside")
    with pytest.raises(PathEscape):
        inside(site, "sneaky", "x")


def test_a_loop_of_links_is_refused_not_followed_forever(site):
    (site / "a").symlink_to("b")
    (site / "b").symlink_to("a")
    (site / "self").symlink_to("self")
    for parts in (("a",), ("a", "x"), ("self", "..", "..", "outside"), ("b/../plain",)):
        with pytest.raises(PathEscape) as refused:
            inside(site, *parts)
        assert "loop" in str(refused.value)


def test_the_root_itself_may_be_a_link(tmp_path, site):
    (tmp_path / "root-link").symlink_to(site)
    assert inside(tmp_path / "root-link", "plain") == site / "plain"


def test_nul_and_non_text_parts_are_refused(site):
    for part in ("a\0b", 3, None):
        with pytest.raises(PathEscape):
            inside(site, part)


@pytest.mark.parametrize(
    "name", ["", ".", "..", "a/b", "/abs", "-rf", ".hidden", "a\nb", "a b", "x" * 201, None]
)
def test_a_name_that_is_not_one_safe_component_is_refused(name):
    with pytest.raises(PathEscape) as refused:
        safe_name(name, "the action")
    assert str(refused.value).startswith("the action")


@pytest.mark.parametrize("name", ["extract", "make_table", "v1.2-final", "_x", "a" * 200])
def test_safe_names_pass(name):
    assert safe_name(name) == name


@pytest.mark.parametrize("path", ["", "/etc/x", "../x", "a/../../x", "a\\b", "a/\0"])
def test_a_relative_path_that_could_climb_is_refused(path):
    with pytest.raises(PathEscape):
        safe_relative(path)


def test_a_job_written_file_is_opened_only_without_links_on_the_way(site):
    outside = site.parent / "outside"
    (outside / "secret").write_text("site secret")
    (site / "plain" / "to-secret").symlink_to(outside / "secret")
    (site / "linked-dir").symlink_to(outside)
    (site / "inner-link").symlink_to("plain")  # inside, but still a link: refused
    os.mkfifo(site / "plain" / "pipe")
    fd = open_below(site, "plain/file.txt")
    try:
        assert os.read(fd, 10) == b"x"
    finally:
        os.close(fd)
    refused = ["plain/to-secret", "linked-dir/secret", "inner-link/file.txt", "plain/pipe"]
    for relative in [*refused, "plain/deep", "../outside/secret", "plain/missing"]:
        with pytest.raises(PathEscape):
            os.close(open_below(site, relative))


def test_a_sentence_from_git_or_an_engine_leaves_without_the_sites_paths_or_host():
    host = socket.gethostname()
    said = public(
        f"fatal: repository '/srv/site-x/repos/abc' does not exist (see /etc/x, ~/y) on {host}",
        "/srv/site-x",
    )
    assert "/srv" not in said and "/etc" not in said and "~/y" not in said
    assert host not in said or len(host) <= 2
    assert said.startswith("fatal: repository '[a path on the site]' does not exist")
    # the job's own terms stay: relative paths, URLs, ratios
    kept = "the output out/table.csv is 1/2 done; cannot clone https://github.com/org/repo: 403"
    assert public(kept) == kept
    assert (
        public("Traceback (most recent call last):\n  File x") == "the site's log has the details"
    )
    assert len(public("x" * 5000)) <= 500 and "\n" not in public("a\nb")


def test_a_runner_error_is_an_id_and_a_sentence():
    error, sentence = runner_error()
    assert len(error) == 8 and f"(error {error})" in sentence and "/" not in sentence
