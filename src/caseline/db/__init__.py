"""The service database: models, sessions and migrations. Only this package knows the URL."""

from caseline.db.migrate import upgrade_to_head
from caseline.db.session import Database

__all__ = ["Database", "upgrade_to_head"]
