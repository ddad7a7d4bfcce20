"""The counselor desk, channel-neutral: cases, queue and priority, accept/close/transfer/release,
overflow, follow-up and risk words. Adapters (bot/slack) translate to and from it."""

from .desk import ActionResult, Desk, effective_priority
from .errors import DeskError
from .risk import RiskHit, RiskLexicon

__all__ = ["ActionResult", "Desk", "DeskError", "RiskHit", "RiskLexicon", "effective_priority"]
