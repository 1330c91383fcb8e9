"""The Slack Web API client: retries 429 and 5xx, and counts every call."""

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.runtime.metrics import Metrics


class CountingWebClient(AsyncWebClient):
    """AsyncWebClient whose every call is counted in the app's metrics."""

    metrics: Metrics | None = None

    async def api_call(self, api_method: str, **kwargs) -> AsyncSlackResponse:  # type: ignore[override]
        try:
            response = await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            self._count(api_method, str(exc.response.get("error", "error")))
            raise
        except Exception:
            self._count(api_method, "exception")
            raise
        self._count(api_method, "ok")
        return response

    def _count(self, method: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.slack_calls.labels(method=method, outcome=outcome).inc()


def make_slack_client(token: str, base_url: str, metrics: Metrics | None) -> CountingWebClient:
    client = CountingWebClient(
        token=token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        timeout=30,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )
    client.metrics = metrics
    return client


def posting_client(client: AsyncWebClient) -> CountingWebClient:
    """The same client, except that it does not repeat a request after a 5xx or a lost
    connection: Slack may have posted the message before failing to answer, so the caller
    looks for it before posting again (see outbox.post_once). Nor does it sleep on a 429:
    the caller holds back that channel only (bot.slack.pacing) and the row waits its turn."""
    return _like(client, retry_handlers=[])


def paced_client(client: AsyncWebClient) -> CountingWebClient:
    """The same client, except that it does not sleep on a 429: the caller holds back that
    method (bot.slack.pacing) and the row waits its turn. For calls that may be repeated
    (chat.update, views.publish), so a 5xx is still retried."""
    return _like(client, retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                                         AsyncServerErrorRetryHandler(max_retry_count=3)])


def _like(client: AsyncWebClient, retry_handlers: list) -> CountingWebClient:
    copy = CountingWebClient(token=client.token, base_url=client.base_url,
                             timeout=client.timeout, retry_handlers=retry_handlers)
    copy.metrics = getattr(client, "metrics", None)
    return copy


def rate_limited_for(error: BaseException) -> float | None:
    """The seconds Slack asked us to wait when `error` is a 429; None for anything else."""
    if not isinstance(error, SlackApiError) or error.response.status_code != 429:
        return None
    headers = error.response.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after") or 1
    try:
        return float(value[0] if isinstance(value, list) else value)
    except ValueError:
        return 1.0


def may_have_been_done(error: BaseException) -> bool:
    """A failure after which Slack may still have carried the request out: a 5xx, a lost
    connection or timeout, or an answer that could not be read (a 5xx's HTML page makes
    slack_sdk fail reading it). A Slack error (`ok: false` under 500) means it did not."""
    if isinstance(error, SlackApiError):
        return error.response.status_code >= 500
    return isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, ValueError,
                              AttributeError))
