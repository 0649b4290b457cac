"""A route's caller is bound to what the route declares: the rule `requires` rests on."""

from __future__ import annotations

import pytest

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.callers import Caller
from jupyter_ext.jobserver.deps import requires
from jupyter_ext.jobserver.errors import ProblemError
from jupyter_ext.jobserver.permissions import Permission as P


def bound(roles: list[str], declared: P, also: P | None = None) -> Caller:
    """A caller as `requires` hands it to a route (no session needed: no project asked)."""
    caller = Caller(orm.User(username="ann", roles=roles), session=None)
    caller.declared, caller.also, caller.enforced = declared, also, set()
    return caller


def test_requiring_a_permission_the_route_did_not_declare_is_refused():
    caller = bound(["core_developer"], P.AUDIT_VIEW)
    with pytest.raises(RuntimeError, match="declares the permission audit_view but checks"):
        caller.require(P.USER_MANAGE)
    assert caller.enforced == set()


def test_the_declared_and_the_also_permission_are_noted_when_asked():
    caller = bound(["output_checker"], P.OUTPUTS_VIEW_UNRELEASED, also=P.RELEASE_VIEW)
    caller.can(P.RELEASE_VIEW)
    caller.can(P.PROJECT_VIEW)  # a filter of what is shown: allowed, not noted
    assert caller.enforced == {P.RELEASE_VIEW}
    caller.require(P.OUTPUTS_VIEW_UNRELEASED)
    assert caller.enforced == {P.RELEASE_VIEW, P.OUTPUTS_VIEW_UNRELEASED}


def test_a_declared_permission_the_caller_lacks_is_a_403_that_names_it():
    caller = bound([], P.AUDIT_VIEW)
    with pytest.raises(ProblemError) as refused:
        caller.require(P.AUDIT_VIEW)
    assert refused.value.status == 403 and "ann may not" in refused.value.detail


def test_a_page_or_command_caller_declares_nothing_and_may_ask_anything():
    caller = Caller(orm.User(username="ann", roles=["core_developer"]), session=None)
    caller.require(P.USER_MANAGE)  # no route: nothing to hold it to
    assert caller.enforced is None


def test_a_scope_that_does_not_exist_is_refused_when_the_route_is_written():
    with pytest.raises(ValueError, match="scope must be one of"):
        requires(P.AUDIT_VIEW, "everyone")
