"""Helpers shared by the routes: they live in `services/lookup.py` now (issue 20); this
module stays only while routes still import it from here."""

from ..services.lookup import (  # noqa: F401
    RESERVED_ORG_NAMES,
    RESERVED_WORKSPACE_NAMES,
    backend_named,
    one,
    org_named,
    project_named,
    refuse_reserved,
    snapshot,
    user_named,
    workspace_named,
)
