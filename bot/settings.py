"""Settings from the environment (names as in DESIGN.md), optionally from a TOML file.

Every setting has a default that works on one machine, so `tsunagu serve` runs with nothing set.
Secrets live here only as values to pass on; `__repr__` hides them so they never reach a log.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from storage.erasure import Retention
from storage.keystore import default_path as default_key_store

from . import SettingsError

# environment variable -> settings field
ENV_NAMES: dict[str, str] = {
    "TSUNAGU_DATABASE_URL": "database_url",
    "TSUNAGU_KEY_FILE": "key_file",
    "TSUNAGU_FLOWS_DIR": "flows_dir",
    "TSUNAGU_DIRECTORY": "directory",
    "TSUNAGU_LOG_LEVEL": "log_level",
    "TSUNAGU_KEY_STORE": "key_store",
    "TSUNAGU_RETENTION_DAYS": "retention_days",
    # Retention per kind of record (issue 11, docs/privacy.md), in days.
    "TSUNAGU_RETENTION_WEB_CHAT_DAYS": "retention_web_chat_days",
    "TSUNAGU_RETENTION_CASE_DAYS": "retention_case_days",
    "TSUNAGU_RETENTION_ADDRESS_DAYS": "retention_address_days",
    "TSUNAGU_RETENTION_DESK_SESSION_DAYS": "retention_desk_session_days",
    "TSUNAGU_RETENTION_AUDIT_DAYS": "retention_audit_days",
    "TSUNAGU_STATS_K": "stats_k",
    "LINE_CHANNEL_SECRET": "line_channel_secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "line_channel_access_token",
    "LINE_API_BASE_URL": "line_api_base_url",
    "SLACK_SIGNING_SECRET": "slack_signing_secret",
    "SLACK_BOT_TOKEN": "slack_bot_token",
    "SLACK_API_BASE_URL": "slack_api_base_url",
    "TSUNAGU_RISK_WORDS": "risk_words_file",
    "TSUNAGU_COUNSELOR_NICKNAME": "counselor_nickname",
    "TSUNAGU_WORK_BATCH_SIZE": "work_batch_size",
    "TSUNAGU_SHUTDOWN_GRACE_SECONDS": "shutdown_grace_seconds",
    "TSUNAGU_SEND_LEASE_SECONDS": "send_lease_seconds",
    # Hardening (issue 12): behind a proxy, who may see metrics, the web chat's limits, slow clients.
    "TSUNAGU_PUBLIC_URL": "public_url",
    "TSUNAGU_TRUSTED_PROXIES": "trusted_proxies",
    "TSUNAGU_METRICS_TOKEN": "metrics_token",
    "TSUNAGU_METRICS_LISTEN": "metrics_listen",
    "TSUNAGU_WORKER_METRICS_LISTEN": "worker_metrics_listen",
    "TSUNAGU_CHAT_ORIGINS": "chat_origins",
    "TSUNAGU_CHAT_SOCKETS_PER_ADDRESS": "chat_sockets_per_address",
    "TSUNAGU_CHAT_NEW_CHATS_PER_HOUR": "chat_new_chats_per_hour",
    "TSUNAGU_CHAT_MESSAGES_PER_MINUTE": "chat_messages_per_minute",
    "TSUNAGU_CHAT_MAX_SOCKETS": "chat_max_sockets",
    "TSUNAGU_CONNECTIONS_PER_ADDRESS": "connections_per_address",
    "TSUNAGU_HEADER_TIMEOUT": "header_timeout_seconds",
    "TSUNAGU_BODY_TIMEOUT": "body_timeout_seconds",
}
SECRET_FIELDS = frozenset(
    {"line_channel_secret", "line_channel_access_token", "slack_signing_secret", "slack_bot_token", "metrics_token"}
)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./tsunagu.db"
    key_file: Path = Path("./tsunagu.key")
    flows_dir: Path | None = None  # None: the bundled flows
    directory: Path | None = None  # None: the bundled example directory
    log_level: str = "INFO"
    # People's data keys (storage/keystore.py); None: next to the key file (tsunagu.keystore).
    key_store: Path | None = None
    # Retention, per kind of record, in days (docs/privacy.md; bot/work/retention.py).
    retention_days: int = 30  # finished inbox/outbox rows (at least 1: late redeliveries)
    retention_web_chat_days: int = 30  # web chat lines
    # Closed cases' content: answers, risk words, messages, notes, cards, follow-ups (an anonymous
    # record stays for statistics). 0: erased as the case closes (zero retention).
    retention_case_days: int = 30
    retention_address_days: int = 30  # addresses of people with no open case, session or follow-up
    retention_desk_session_days: int = 7  # web desk sign-ins, after they ended; sign-in failures
    retention_audit_days: int = 365  # the audit trail (its table, where there is one)
    stats_k: int = 10  # statistics hide counts under k, and those they could be worked back from
    line_channel_secret: str | None = None
    line_channel_access_token: str | None = None
    line_api_base_url: str = "https://api.line.me"
    line_pool_size: int = 64
    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    max_body_bytes: int = 1024 * 1024
    reply_token_ttl_seconds: float = 50.0
    sender_poll_seconds: float = 1.0
    timer_poll_seconds: float = 5.0
    flows_poll_seconds: float = 2.0  # how often flow files and published versions are checked
    # The counselor desk (issue 4): risk words (None: bot/data/risk_words.yaml), the name the
    # person is told when Slack gives no display name, and how often overflow/follow-ups run.
    risk_words_file: Path | None = None
    counselor_nickname: str | None = None
    desk_poll_seconds: float = 5.0
    # The work queue (issue 10): events per batch, how often an idle worker looks even without a
    # wake-up, how long a stopping process may finish what it has in hand, the NOTIFY channel.
    work_batch_size: int = 32
    work_poll_seconds: float = 1.0
    shutdown_grace_seconds: float = 20.0
    send_lease_seconds: float = 30.0  # a sender's hold on the rows it claims (bot/work/pump.py)
    wake_channel: str = "tsunagu"
    # The origin people and counselors use (https://tsunagu.example.org), when a proxy stands in
    # front: the desk's Origin check compares with it, and its cookie is Secure when it is https.
    public_url: str | None = None
    # Addresses or networks of reverse proxies whose X-Forwarded-For/-Proto are believed (comma
    # separated); from any other peer those headers are ignored.
    trusted_proxies: str = ""
    # /metrics and the detailed health answer only with "Authorization: Bearer <token>", or on
    # metrics_listen below.
    metrics_token: str | None = None
    # A second address ("127.0.0.1:9108") where `tsunagu serve` also listens, serving metrics and
    # health details to anyone who can reach it (keep it off the internet); none: not opened.
    metrics_listen: str = ""
    # Where a worker process (`tsunagu work`, or the one `tsunagu serve` starts beside itself)
    # serves its own /metrics and /healthz ("127.0.0.1:9109"); none: not opened. The web
    # process's /metrics counts what the web side does; turns, deliveries, handoffs, unmet demand
    # and who is on duty are counted by the worker, so scrape both.
    worker_metrics_listen: str = ""
    # The web chat's limits (bot/web/limits.py).
    chat_origins: str = ""  # allowed Origins besides the service's own, comma separated
    chat_sockets_per_address: int = 50
    chat_new_chats_per_hour: int = 30
    chat_messages_per_minute: int = 20
    chat_max_sockets: int = 2000
    # Open connections from one address (not counted for trusted proxies), checked as accepted.
    connections_per_address: int = 100
    # Slow clients: a request's headers, and its body, must arrive within these.
    header_timeout_seconds: float = 20.0
    body_timeout_seconds: float = 20.0

    def retention(self) -> Retention:
        """How long each kind of record is kept (storage/erasure.py, docs/privacy.md)."""
        for name in ("retention_web_chat_days", "retention_case_days", "retention_address_days",
                     "retention_desk_session_days", "retention_audit_days"):
            if getattr(self, name) < 0:
                raise SettingsError(f"setting {name!r} must be 0 or more days")
        if self.retention_days < 1:
            raise SettingsError("setting 'retention_days' must be at least 1 day (late redeliveries are "
                                "recognised by the finished rows)")
        return Retention(queue=timedelta(days=self.retention_days),
                         web_chat=timedelta(days=self.retention_web_chat_days),
                         cases=timedelta(days=self.retention_case_days),
                         addresses=timedelta(days=self.retention_address_days),
                         desk_sessions=timedelta(days=self.retention_desk_session_days),
                         audit=timedelta(days=self.retention_audit_days))

    @property
    def key_store_path(self) -> Path:
        """Where people's data keys are: TSUNAGU_KEY_STORE, else next to the key file."""
        return self.key_store or default_key_store(self.key_file)

    @property
    def line_enabled(self) -> bool:
        return bool(self.line_channel_secret and self.line_channel_access_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and self.slack_bot_token)

    def __repr__(self) -> str:
        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = "***"
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, config_file: Path | None = None
    ) -> Settings:
        """Settings from a TOML file (if given or named by TSUNAGU_CONFIG), then the environment."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        config_file = config_file or (Path(env["TSUNAGU_CONFIG"]) if env.get("TSUNAGU_CONFIG") else None)
        if config_file is not None:
            values.update(_read_toml(config_file))
        for name, attr in ENV_NAMES.items():
            if env.get(name):
                values[attr] = env[name]
        return cls.build(values)

    @classmethod
    def build(cls, values: Mapping[str, object]) -> Settings:
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, object] = {}
        for key, raw in values.items():
            if key not in known:
                raise SettingsError(f"unknown setting {key!r}")
            kwargs[key] = _coerce(key, raw, cls.__dataclass_fields__[key].type)
        return cls(**kwargs)  # type: ignore[arg-type]  # each value was coerced to its field's type above


def _coerce(key: str, raw: object, kind: object) -> object:
    text = str(raw)
    try:
        if kind in ("Path", "Path | None"):
            return Path(text).expanduser()
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise SettingsError(f"setting {key!r} must be a number, got {text!r}") from None
    return text


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    section = data.get("tsunagu", data)
    if not isinstance(section, dict):
        raise SettingsError(f"{path}: [tsunagu] must be a table")
    return dict(section)
