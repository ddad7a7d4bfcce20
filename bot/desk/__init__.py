"""The counselor desk, channel-neutral: cases, queue and priority, who may do what, accept /
close / transfer / release / take over, overflow, follow-up and risk words. The dispatcher calls
it through its port (port.py); the front ends (bot/slack, bot/webdesk) through `Desk` with an
`Actor`."""

from .counselor import FOLLOWUP_DAYS, OUTCOMES, ActionResult, CaseView
from .desk import Desk
from .errors import DeskError
from .partners import has_desk
from .policy import Actor
from .port import DeskPort, DeskReply, NullDesk
from .queue import effective_priority
from .risk import RiskHit, RiskLexicon

__all__ = [
    "FOLLOWUP_DAYS", "OUTCOMES", "ActionResult", "Actor", "CaseView", "Desk", "DeskError", "DeskPort", "DeskReply",
    "NullDesk", "RiskHit", "RiskLexicon", "effective_priority", "has_desk",
]
