"""Who may call each route, read from the routes themselves against the one policy table.

A route declares what it needs in its signature: ``Authorized(permission)`` (a role that
grants the permission), ``CurrentActor`` (anyone signed in; such a route must also be named
in :data:`SIGNED_IN`), or nothing (a route anyone may call; it must be named in
:data:`PUBLIC`). :func:`route_policies` reads every route of an app so; a route that
declares none of these, or more than one permission, is :class:`UndeclaredRoute`. The test
of every route against every role (tests/test_route_policy.py) calls each route as each
role and as nobody and holds the answers to :meth:`RoutePolicy.admits`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from caseline.api.deps import current_actor
from caseline.errors import AccessDenied
from caseline.oversight import Actor, Permission, Role, authorize

# Anyone may call these: signing in and out, the sign-in page, the OpenAPI document.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/sessions"),
        ("DELETE", "/api/sessions"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("GET", "/openapi.json"),
        ("HEAD", "/openapi.json"),
    }
)
# Anyone signed in may call these, whatever their role: the landing page (search for a role
# that searches persons, the role's own page for the others).
SIGNED_IN: frozenset[tuple[str, str]] = frozenset({("GET", "/")})
STATIC_PREFIX = "/static"  # the stylesheet, served to anyone


class UndeclaredRoute(Exception):
    """A route that declares no permission, or one the policy cannot read."""


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """What one method of one route needs: a permission, a session, or nothing."""

    method: str
    path: str
    permission: Permission | None
    needs_session: bool

    def admits(self, role: Role | None) -> bool:
        """Whether a caller of ``role`` (None: not signed in) gets past the access check."""
        if not self.needs_session:
            return True
        if role is None:
            return False
        if self.permission is None:
            return True
        try:
            authorize(Actor("policy", role), self.permission)
        except AccessDenied:
            return False
        return True


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _permission_of(call: Callable[..., Any]) -> Permission | None:
    """The permission an ``Authorized(permission)`` dependency checks, if ``call`` is one."""
    declared = getattr(call, "permission", None)
    if isinstance(declared, Permission):
        return declared
    if not inspect.isfunction(call):
        return None
    found = inspect.getclosurevars(call).nonlocals.get("permission")
    return found if isinstance(found, Permission) else None


def route_policies(routes: Iterable[BaseRoute]) -> list[RoutePolicy]:
    """Every method of every API and page route with what it needs; UndeclaredRoute names
    the first route that declares nothing the policy can read."""
    policies: list[RoutePolicy] = []
    for route in iter_route_contexts(list(routes)):
        path = route.path or ""
        if path.startswith(STATIC_PREFIX):
            continue
        api = isinstance(route.original_route, APIRoute)
        calls = list(_calls(route.dependant)) if api else []
        permissions = {p for p in map(_permission_of, calls) if p is not None}
        signed_in = any(call is current_actor for call in calls)
        for method in sorted(route.methods or ()):
            where = (method, path)
            if len(permissions) > 1:
                raise UndeclaredRoute(f"{method} {path} checks several permissions")
            if permissions:
                permission = next(iter(permissions))
                policies.append(RoutePolicy(method, path, permission, True))
            elif signed_in and where in SIGNED_IN:
                policies.append(RoutePolicy(method, path, None, True))
            elif not signed_in and where in PUBLIC:
                policies.append(RoutePolicy(method, path, None, False))
            else:
                raise UndeclaredRoute(
                    f"{method} {path} declares no permission: depend on "
                    "Authorized(permission), or name it in caseline.api.policy"
                )
    return policies
