"""Prometheus counters, one registry per app so that tests and the playground stay apart."""

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, generate_latest


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "changebot_http_requests", "HTTP requests received",
            ["endpoint", "status"], registry=self.registry,
        )
        self.slack_calls = Counter(
            "changebot_slack_api_calls", "Slack Web API calls made",
            ["method", "outcome"], registry=self.registry,
        )
        self.github_calls = Counter(
            "changebot_github_api_calls", "GitHub API calls made",
            ["operation", "outcome"], registry=self.registry,
        )
        self.errors = Counter(
            "changebot_errors", "Errors caught while handling work",
            ["where"], registry=self.registry,
        )
        self.reminders = Counter(
            "changebot_reminders", "Reminders processed by the sweeper",
            ["kind", "outcome"], registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
