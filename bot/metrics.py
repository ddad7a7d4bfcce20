"""Prometheus metrics, one registry per app so tests and several apps in a process do not mix."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events_received = Counter(
            "tsunagu_events_received", "Webhook events stored in the inbox", ["channel"], registry=r
        )
        self.events_duplicate = Counter(
            "tsunagu_events_duplicate", "Webhook events already in the inbox (redeliveries)", ["channel"], registry=r
        )
        self.events_rejected = Counter(
            "tsunagu_events_rejected", "Webhook requests refused", ["channel", "reason"], registry=r
        )
        self.events_processed = Counter(
            "tsunagu_events_processed", "Inbox events processed", ["channel", "outcome"], registry=r
        )
        self.replies_sent = Counter(
            "tsunagu_replies_sent", "Outbox deliveries accepted by the platform", ["channel", "method"], registry=r
        )
        self.send_failures = Counter(
            "tsunagu_send_failures", "Outbox delivery attempts that failed", ["channel", "reason"], registry=r
        )
        self.handoffs = Counter("tsunagu_handoffs", "Intakes handed off to the desk", ["channel"], registry=r)
        self.processing_seconds = Histogram(
            "tsunagu_processing_seconds",
            "From receipt of an event to its outgoing messages being committed",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.outbox_pending = Gauge("tsunagu_outbox_pending", "Undelivered outbox rows", registry=r)
        # The network's health (issue 14): who went unanswered and why, how long people wait.
        self.unmet = Counter(
            "tsunagu_unmet_demand", "People unanswered, by reason: routed nowhere (no_partner_open, all_full, "
            "nobody_on_duty), waited_too_long, left_before_reached", ["reason"], registry=r
        )
        self.waiting_seconds = Histogram(
            "tsunagu_waiting_seconds", "From the end of the intake to a counselor accepting, per partner",
            ["org"], buckets=(30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 14400), registry=r,
        )
        self.on_duty = Gauge("tsunagu_counselors_on_duty", "Counselors on duty now, per partner", ["org"],
                             registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
