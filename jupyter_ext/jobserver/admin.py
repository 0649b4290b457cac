"""`jupyter ext admin`: set up the job server's database from a shell.

Users with roles, their API tokens, organisations, backends and runner tokens.
Tokens are printed once and never again: only their hashes are kept.
"""

from __future__ import annotations

import sys

from traitlets import Enum, List, Unicode, default

from ..app import JupyterExtBase, base_aliases, base_flags
from .app import DEFAULT_DB
from .names import slug_problem

db_aliases = {**base_aliases, "db-url": "AdminCommand.db_url"}


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


class AddUser(AdminCommand):
    name = "add-user"
    description = "Add a user (a GitHub login) with global roles."
    examples = "jupyter ext admin add-user octocat --role core_developer"
    aliases = {**db_aliases, "role": "AddUser.roles", "email": "AddUser.email"}
    roles = List(Unicode(), help="Global roles, one --role each.").tag(config=True)
    email = Unicode("", help="Notification address.").tag(config=True)

    def run(self) -> None:
        from sqlalchemy import select

        from ..schema.states import Role
        from . import orm
        from .audit import record

        username = self.argument("username")
        wrong = [r for r in self.roles if r not in {role.value for role in Role}]
        if wrong:
            self.fail(f"unknown role {wrong[0]}: use {', '.join(r.value for r in Role)}")
        with self.session() as session:
            if session.scalar(select(orm.User).where(orm.User.username == username)):
                self.fail(f"the user {username} exists already")
            user = orm.User(username=username, email=self.email, roles=sorted(set(self.roles)))
            session.add(user)
            record(session, "admin-cli", "user.create", user, after={"roles": user.roles})
            session.commit()
        print(f"Added {username} ({', '.join(user.roles) or 'no global role'})")


class Token(AdminCommand):
    name = "token"
    description = "Create an API token for a user; it is printed once."
    aliases = {**db_aliases, "name": "Token.token_name", "scope": "Token.scope"}
    token_name = Unicode("admin", help="What the token is for.").tag(config=True)
    scope = Enum(["read", "write"], "write", help="read: it may only look.").tag(config=True)

    def run(self) -> None:
        from sqlalchemy import select

        from . import orm
        from .audit import record
        from .routes.accounts import issue_api_token

        username = self.argument("username")
        with self.session() as session:
            user = session.scalar(select(orm.User).where(orm.User.username == username))
            if user is None:
                self.fail(f"there is no user {username}: add it with `jupyter ext admin add-user`")
            created = issue_api_token(session, user, self.token_name, scope=self.scope)
            record(session, "admin-cli", "api_token.create", user, after={"name": self.token_name})
            session.commit()
        print(created.token)


class AddOrg(AdminCommand):
    name = "add-org"
    description = "Add an organisation."
    aliases = {**db_aliases, "name": "AddOrg.org_name"}
    org_name = Unicode("", help="Its name (default: from the slug).").tag(config=True)

    def run(self) -> None:
        from sqlalchemy import select

        from . import orm
        from .audit import record

        slug = self.argument("slug")
        if problem := slug_problem(slug, "an organisation"):
            self.fail(problem)
        with self.session() as session:
            if session.scalar(select(orm.Org).where(orm.Org.slug == slug)):
                self.fail(f"the organisation {slug} exists already")
            org = orm.Org(slug=slug, name=self.org_name or slug.replace("-", " ").title())
            session.add(org)
            record(session, "admin-cli", "org.create", org, after={"name": org.name})
            session.commit()
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
        from sqlalchemy import select

        from . import orm
        from .audit import record
        from .routes.orgs import issue_runner_token

        slug = self.argument("slug")
        if problem := slug_problem(slug, "a backend"):
            self.fail(problem)
        if self.log_policy not in ("full", "redacted", "status"):
            self.fail("--log-policy must be full, redacted or status")
        with self.session() as session:
            org = session.scalar(select(orm.Org).where(orm.Org.slug == self.org))
            if org is None:
                self.fail(f"there is no organisation {self.org!r}: give --org=SLUG of one")
            backend = session.scalar(select(orm.Backend).where(orm.Backend.slug == slug))
            if backend is None:
                backend = orm.Backend(
                    slug=slug, name=self.backend_name or slug.upper(), log_policy=self.log_policy
                )
                session.add(backend)
                session.flush()
            if backend not in org.backends:
                org.backends.append(backend)
            token = issue_runner_token(session, backend)
            record(session, "admin-cli", "backend.token.rotate", backend, after={"org": org.slug})
            session.commit()
        print(token)


class ListRows(AdminCommand):
    name = "list"
    description = "List users, orgs or backends."

    def run(self) -> None:
        from sqlalchemy import select

        from . import orm

        what = self.argument("users|orgs|backends")
        with self.session() as session:
            if what == "users":
                for u in session.scalars(select(orm.User).order_by(orm.User.username)):
                    print(f"{u.username}\t{','.join(u.roles)}")
            elif what == "orgs":
                for o in session.scalars(select(orm.Org).order_by(orm.Org.slug)):
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
        cls.name: (cls, cls.description) for cls in (AddUser, Token, AddOrg, AddBackend, ListRows)
    }
