"""The web UI: server-rendered pages over the same package entry points as the API."""

from caseline.web.routes import web_router

__all__ = ["web_router"]
