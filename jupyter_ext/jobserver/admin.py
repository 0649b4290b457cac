"""`jupyter ext admin`: set up the job server's database from a shell.

Users with roles, their API tokens, organisations, backends and runner tokens, the people a
backend names to check or publish what leaves it, and what a project may use of a backend.
Tokens are printed once and never again: only their hashes are kept. Each command is a face
of the domain layer (`services`), acting as "admin-cli": whoever can open the database may.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from traitlets import Bool, Enum, List, Unicode, default

from ..app import JupyterExtBase, base_aliases, base_flags
from .app import DEFAULT_DB
from .names import slug_problem

db_aliases = {**base_aliases, "db-url": "AdminCommand.db_url"}
ACTOR = "admin-cli"  # who the audit trail says did it


class AdminCommand(JupyterExtBase):
    aliases = db_aliases
    flags = base_flags

    db_url = Unicode(help="The job server's database (default: JobServerApp.db_url).").tag(
        config=True
    )

    @default("db_url")
    def _default_db_url(self) -> str:
        return self.config.get("JobServerApp", {}).get("db_url", DEFAULT_DB)

    def session(self):
        from .db import DatabaseOutOfDate, DatabaseUnavailable, make_sessionmaker, open_database

        try:
            engine = open_database(self.db_url)
        except (DatabaseOutOfDate, DatabaseUnavailable) as exc:
            self.fail(str(exc))
        return make_sessionmaker(engine)()

    def argument(self, what: str) -> str:
        if len(self.extra_args) != 1:
            self.fail(f"give one {what}: jupyter ext admin {self.name} {what.upper()}")
        return self.extra_args[0]

    def fail(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exit(2)

    @contextmanager
    def refused(self) -> Iterator[None]:
        """The domain's refusal (a name taken, one not found) as the command's error."""
        from .errors import ProblemError

        try:
            yield
        except ProblemError as exc:
            self.fail(exc.detail)


class AddUser(AdminCommand):
    name = "add-user"
    description = "Add a user (a GitHub login) with global roles."
    examples = "jupyter ext admin add-user octocat --role core_developer"
    aliases = {**db_aliases, "role": "AddUser.roles", "email": "AddUser.email"}
    roles = List(Unicode(), help="Global roles, one --role each.").tag(config=True)
    email = Unicode("", help="Notification address.").tag(config=True)

    def run(self) -> None:
        from ..schema.states import Role
        from .services import accounts

        username = self.argument("username")
        wrong = [r for r in self.roles if r not in {role.value for role in Role}]
        if wrong:
            self.fail(f"unknown role {wrong[0]}: use {', '.join(r.value for r in Role)}")
        with self.session() as session, self.refused():
            user = accounts.add_user(session, ACTOR, username, self.roles, email=self.email)
            roles = list(user.roles)
        print(f"Added {username} ({', '.join(roles) or 'no global role'})")


class Token(AdminCommand):
    name = "token"
    description = "Create an API token for a user; it is printed once."
    aliases = {**db_aliases, "name": "Token.token_name", "scope": "Token.scope"}
    token_name = Unicode("admin", help="What the token is for.").tag(config=True)
    scope = Enum(["read", "write"], "write", help="read: it may only look.").tag(config=True)

    def run(self) -> None:
        from sqlalchemy import select

        from . import orm
        from .services import accounts

        username = self.argument("username")
        with self.session() as session:
            user = session.scalar(select(orm.User).where(orm.User.username == username))
            if user is None:
                self.fail(f"there is no user {username}: add it with `jupyter ext admin add-user`")
            created = accounts.create_api_token(
                session, ACTOR, user, self.token_name, scope=self.scope
            )
        print(created.token)


class AddOrg(AdminCommand):
    name = "add-org"
    description = "Add an organisation."
    aliases = {**db_aliases, "name": "AddOrg.org_name"}
    org_name = Unicode("", help="Its name (default: from the slug).").tag(config=True)

    def run(self) -> None:
        from .services import orgs

        slug = self.argument("slug")
        if problem := slug_problem(slug, "an organisation"):
            self.fail(problem)
        name = self.org_name or slug.replace("-", " ").title()
        with self.session() as session, self.refused():
            orgs.add_org(session, ACTOR, slug, name)
        print(f"Added the organisation {slug}")


class AddBackend(AdminCommand):
    name = "add-backend"
    description = "Add a backend for an organisation; its runner token is printed once."
    examples = "jupyter ext admin add-backend tpp --org university"
    aliases = {
        **db_aliases,
        "org": "AddBackend.org",
        "name": "AddBackend.backend_name",
        "log-policy": "AddBackend.log_policy",
    }
    org = Unicode("", help="The organisation that may use it.").tag(config=True)
    backend_name = Unicode("", help="Its name (default: from the slug).").tag(config=True)
    log_policy = Unicode("full", help="full, redacted or status.").tag(config=True)

    def run(self) -> None:
        from .services import orgs

        slug = self.argument("slug")
        if problem := slug_problem(slug, "a backend"):
            self.fail(problem)
        if self.log_policy not in ("full", "redacted", "status"):
            self.fail("--log-policy must be full, redacted or status")
        name = self.backend_name or slug.upper()
        with self.session() as session, self.refused():
            token = orgs.set_up_backend(session, ACTOR, self.org, slug, name, self.log_policy)
        print(token)


class SiteReviewer(AdminCommand):
    name = "site-reviewer"
    description = (
        "Name someone a backend's output checker or publisher (for its releases only), "
        "or remove them."
    )
    examples = (
        "jupyter ext admin site-reviewer north alice --role output_checker\n"
        "jupyter ext admin site-reviewer north alice --remove"
    )
    aliases = {**db_aliases, "role": "SiteReviewer.roles"}
    flags = {
        **base_flags,
        "remove": ({"SiteReviewer": {"remove": True}}, "Remove them: no role at that site after."),
    }
    roles = List(
        Unicode(),
        help="output_checker or output_publisher, one --role each: exactly the roles held there.",
    ).tag(config=True)
    remove = Bool(False, help="Remove them instead of naming them.").tag(config=True)

    def run(self) -> None:
        from .services import site_reviewers

        if len(self.extra_args) != 2:
            self.fail(
                "give a backend and a username: jupyter ext admin site-reviewer BACKEND USERNAME"
                " --role output_checker (or --remove)"
            )
        if self.remove and self.roles:
            self.fail("give --role or --remove, not both")
        backend, username = self.extra_args
        with self.session() as session, self.refused():
            if self.remove:
                site_reviewers.unname_site_member(session, ACTOR, backend, username)
                print(f"{username} holds no role at {backend} now")
                return
            member = site_reviewers.name_site_member(session, ACTOR, backend, username, self.roles)
            print(f"{username} at {backend}: {', '.join(member.roles)}")


class Limits(AdminCommand):
    name = "limits"
    description = (
        "Set a project's limits on a backend: its jobs running at once, and the jobs it may "
        "ask for in any 24 hours ('none' lifts a limit; one not given stays as it is)."
    )
    examples = (
        "jupyter ext admin limits demo-study tpp --max-running 4 --jobs-per-day 100\n"
        "jupyter ext admin limits demo-study tpp --jobs-per-day none"
    )
    aliases = {
        **db_aliases,
        "max-running": "Limits.max_running",
        "jobs-per-day": "Limits.jobs_per_day",
    }
    max_running = Unicode("", help="At most this many of its jobs running at once, or none.").tag(
        config=True
    )
    jobs_per_day = Unicode("", help="At most this many jobs in any 24 hours, or none.").tag(
        config=True
    )

    def limit(self, option: str, value: str, now: int | None) -> int | None:
        if value == "":
            return now
        if value.lower() == "none":
            return None
        if not value.isdigit():
            self.fail(f"--{option} must be a whole number of jobs, or none to lift it")
        return int(value)

    def run(self) -> None:
        from .. import schema
        from .services import limits

        if len(self.extra_args) != 2:
            self.fail(
                "give a project and a backend: jupyter ext admin limits PROJECT BACKEND"
                " --max-running N --jobs-per-day N"
            )
        project, backend = self.extra_args
        with self.session() as session, self.refused():
            now = limits.limits_at(session, project, backend)
            body = schema.ProjectLimitSet(
                max_running=self.limit("max-running", self.max_running, now.max_running),
                jobs_per_day=self.limit("jobs-per-day", self.jobs_per_day, now.jobs_per_day),
            )
            shown = limits.put_limits(session, ACTOR, project, backend, body)
        cap = "no cap" if shown.max_running is None else f"at most {shown.max_running} running"
        quota = "no quota" if shown.jobs_per_day is None else f"{shown.jobs_per_day} jobs a day"
        print(f"{project} on {backend}: {cap}, {quota}")


class ListRows(AdminCommand):
    name = "list"
    description = "List users, orgs or backends."

    def run(self) -> None:
        from sqlalchemy import select

        from . import orm
        from .services import orgs

        what = self.argument("users|orgs|backends")
        with self.session() as session:
            if what == "users":
                for u in session.scalars(select(orm.User).order_by(orm.User.username)):
                    print(f"{u.username}\t{','.join(u.roles)}")
            elif what == "orgs":
                for o in orgs.list_orgs(session):
                    print(f"{o.slug}\t{o.name}\t{','.join(b.slug for b in o.backends)}")
            elif what == "backends":
                for b in session.scalars(select(orm.Backend).order_by(orm.Backend.slug)):
                    print(f"{b.slug}\t{b.name}\t{b.log_policy}\t{b.last_seen_at or 'never seen'}")
            else:
                self.fail("list what? users, orgs or backends")


class AdminApp(JupyterExtBase):
    name = "admin"
    description = "Administer the job server's database."
    subcommands = {
        cls.name: (cls, cls.description)
        for cls in (AddUser, Token, AddOrg, AddBackend, SiteReviewer, Limits, ListRows)
    }
