"""Before a workspace's server starts: may this user use it, and what does it need?

One named server per workspace (the server's name is the workspace's name).
The hook asks the job server, with the user's own new server token, whether
they may use the workspace (a member of its project); refuses otherwise. It
hands the user's GitHub token (kept encrypted by the hub in auth_state) to the
job server, clones the repository at its branch into the user's folder of
workspaces (never over work already there), and gives the server the
environment that tells the server extension and the client where the job
server and the workspace are.
"""

from __future__ import annotations

from pathlib import Path

from tornado import web

from .git import CloneError, clone, git_environment
from .jobserver import JobServer, JobServerError, JobServerUnreachable


def workspace_dir(root: str, username: str, workspace: str) -> Path:
    return Path(root).expanduser().resolve() / username / workspace


async def prepare_workspace_server(spawner, settings) -> None:
    """JupyterHub's `pre_spawn_hook`, bound to the JupyterExtHub settings."""
    name, user = spawner.name, spawner.user
    if not name:
        raise web.HTTPError(
            400, "servers here are per workspace: start one from the list of your workspaces"
        )
    jobserver = JobServer(settings.jobserver_url, timeout=settings.jobserver_timeout)
    try:
        workspace = await jobserver.workspace(name, spawner.api_token)
    except JobServerError as exc:
        if exc.status in (401, 403, 404):
            raise web.HTTPError(
                403,
                f"{user.name} may not use the workspace {name}: ask a coordinator of its "
                "project to add you",
            ) from None
        raise web.HTTPError(503, f"cannot start {name}: {exc.detail}") from None
    except JobServerUnreachable as exc:
        raise web.HTTPError(503, f"cannot start {name}: {exc}") from None
    auth_state = await user.get_auth_state() or {}
    github_token = auth_state.get("access_token")
    if github_token:
        await jobserver.keep_github_token(spawner.api_token, github_token)
    dest = workspace_dir(settings.workspaces_root, user.name, name)
    try:
        await clone(workspace["repo"], workspace["branch"], dest, github_token)
    except CloneError as exc:
        raise web.HTTPError(
            502, f"cannot check out {workspace['repo']} at {workspace['branch']}: {exc}"
        ) from None
    spawner.environment = {  # a new dict: the configured one is shared by every spawner
        **spawner.environment,
        "JUPYTER_EXT_JOBSERVER_URL": settings.jobserver_url,
        "JUPYTER_EXT_WORKSPACE": name,
        "JUPYTER_EXT_PROJECT": workspace["project"],
        "JUPYTER_EXT_BRANCH": workspace["branch"],
        **git_environment(github_token),
    }
    settings.place_checkout(spawner, dest)
