"""One router per resource, gathered under /api."""

from fastapi import APIRouter

from caseline.api.routes import (
    audit,
    cases,
    departures,
    disputes,
    pairs,
    person_events,
    person_graph,
    person_records,
    persons,
    policy,
    purposes,
    records,
    reports,
    retention,
    review,
    runs,
    sessions,
    tokens,
    users,
)

api_router = APIRouter(prefix="/api")
api_router.include_router(sessions.router)
api_router.include_router(tokens.router)
api_router.include_router(users.router)
api_router.include_router(persons.router)
api_router.include_router(person_events.router)
api_router.include_router(person_records.router)
api_router.include_router(person_graph.router)
api_router.include_router(purposes.router)
api_router.include_router(pairs.router)
api_router.include_router(review.router)
api_router.include_router(cases.router)
api_router.include_router(departures.router)
api_router.include_router(disputes.router)
api_router.include_router(audit.router)
api_router.include_router(reports.router)
api_router.include_router(retention.router)
api_router.include_router(runs.router)
api_router.include_router(records.router)
api_router.include_router(policy.router)
