"""The JSON API: thin routers that parse input, call a package's entry point and render JSON."""

from caseline.api.routes import api_router

__all__ = ["api_router"]
