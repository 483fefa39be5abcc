"""The one settings object: where the workspace is and which database holds the service data."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings read from the environment (``CASELINE_HOME``, ``DATABASE_URL``, ...).

    Everything Caseline writes lives under ``home``; nothing outside it is touched.
    """

    model_config = SettingsConfigDict(
        env_prefix="CASELINE_", extra="ignore", frozen=True, populate_by_name=True
    )

    home: Path = Field(default=Path("caseline-data"), description="Workspace folder.")
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL of the service database; SQLite in the workspace if unset.",
    )
    match_threshold: float = Field(
        default=0.8,
        gt=0.0,
        lt=1.0,
        description="Match probability at or above which two records are the same person.",
    )
    spark_master: str | None = Field(
        default=None,
        description="`resolve --engine spark` runs on this cluster (spark://HOST:PORT, yarn, "
        "k8s://...); in local mode in this process if unset (docs/spark.md).",
    )
    spark_staging: str | None = Field(
        default=None,
        description="Folder or bucket URI the Spark engine stages records in, shared with the "
        "cluster's executors; needed on a cluster off this machine.",
    )
    session_hours: int = Field(
        default=8, gt=0, description="Hours after sign-in when a session ends, however busy."
    )
    session_idle_minutes: int = Field(
        default=30, gt=0, description="Minutes without a request after which a session ends."
    )
    statement_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="PostgreSQL: the longest one statement of a web or API request may run; "
        "a request over it is a 503, so a slow query cannot hold the service.",
    )
    cookie_secure: bool = Field(
        default=False,
        description="Send the session cookie over HTTPS only (set it when served behind HTTPS).",
    )
    sign_in_max_failures: int = Field(
        default=5,
        gt=1,
        description="Failed sign-ins to one account name after which it is locked for a while.",
    )
    sign_in_client_max_failures: int = Field(
        default=20,
        gt=1,
        description="Failed sign-ins from one client address after which it is locked a while.",
    )
    sign_in_lockout_minutes: int = Field(
        default=15, gt=0, description="How long a locked account name or client stays locked."
    )
    identity_threshold: float = Field(
        # Measured (docs/benchmarks.md, "Wrongful actions"): with the grounds and
        # possible-match guards, 0.9 lets no more wrong-person or protected actions through
        # than 0.95 on two 100,000-person worlds, and reaches more of the actionable leads.
        default=0.9,
        ge=0.0,
        le=1.0,
        description="Identity assurance at or above which a case may act on a person.",
    )
    address_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Current-residence probability at or above which a case may act at an address.",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="File holding the audit trail's HMAC key; `audit.key` beside the database.",
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="File `caseline audit checkpoint` appends to and `verify` checks against.",
    )

    token: str | None = Field(
        default=None,
        description="A session token or an API token (`caseline tokens create`) the command "
        "line acts with (for scripts); unset, it uses the one `caseline login` saved.",
    )
    retention_days: dict[str, int] = Field(
        default_factory=dict,
        description="Days each source's records are kept past their own latest date, as "
        'JSON (`{"utility": 3650}`); a source not named is kept forever (docs/retention.md).',
    )

    @field_validator("retention_days")
    @classmethod
    def _whole_days(cls, periods: dict[str, int]) -> dict[str, int]:
        for source, days in periods.items():
            if not source.strip():
                raise ValueError("retention_days: a source name is empty")
            if days < 1:
                raise ValueError(
                    f"retention_days[{source}]: {days} is not a period; give whole days, 1 or more"
                )
        return periods

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'caseline.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @cached_property
    def identifier_key(self) -> bytes:
        """Key for the keyed hash of identifiers; made once per workspace, never a default."""
        key_file = self.home / "identifier.key"
        if not key_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            key_file.write_bytes(secrets.token_bytes(32))
            key_file.chmod(0o600)
        return key_file.read_bytes()

    @property
    def audit_key_path(self) -> Path:
        """The audit key's file: never in the database; beside a SQLite database file (the
        workspace that holds it), else in the workspace folder. Made on first use."""
        if self.audit_key_file is not None:
            return self.audit_key_file
        url = self.resolved_database_url
        if url.startswith("sqlite:///") and ":memory:" not in url:
            return Path(url.removeprefix("sqlite:///").split("?")[0]).parent / "audit.key"
        return self.home / "audit.key"

    @property
    def audit_checkpoint_path(self) -> Path:
        """Where checkpoints of the audit chain's head are appended, unless told otherwise."""
        return self.audit_checkpoint_file or self.home / "audit-checkpoints.txt"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; explicit overrides win (used by the CLI and tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]
