"""The Slack integration's settings (admin): where notifications go in Slack."""

from __future__ import annotations

import msgspec
from litestar import get, put

from hub.auth import audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.notifications import slack
from hub.notifications.slack import Route, SlackConfig
from hub.system.services import current


class SlackSettings(msgspec.Struct, kw_only=True):
    """What the API shows: the secrets only as whether they are set."""

    configured: bool
    enabled: bool = True
    has_bot_token: bool = False
    has_webhook_url: bool = False
    api_base_url: str = "https://slack.com/api"
    default_channel: str = ""
    routes: list[Route] = []
    mention_channel_on_breach: bool = True
    kinds: list[str] = []


class SlackUpdate(msgspec.Struct, kw_only=True):
    """Secrets are write-only: leave `bot_token` / `webhook_url` out (null) to keep them."""

    enabled: bool = True
    bot_token: str | None = None
    webhook_url: str | None = None
    api_base_url: str = "https://slack.com/api"
    default_channel: str = ""
    routes: list[Route] = []
    mention_channel_on_breach: bool = True
    kinds: list[str] = msgspec.field(default_factory=lambda: list(slack.DEFAULT_KINDS))


def _shown(config: SlackConfig | None) -> SlackSettings:
    if config is None:
        return SlackSettings(configured=False, kinds=list(SlackConfig().kinds))
    return SlackSettings(
        configured=True,
        enabled=config.enabled,
        has_bot_token=bool(config.bot_token),
        has_webhook_url=bool(config.webhook_url),
        api_base_url=config.api_base_url,
        default_channel=config.default_channel,
        routes=config.routes,
        mention_channel_on_breach=config.mention_channel_on_breach,
        kinds=config.kinds,
    )


@get("/api/v1/integrations/slack", tags=["notifications"], permission=Permission.MANAGE_INBOXES)
async def get_slack(principal: Principal) -> SlackSettings:
    """The Slack integration (admin)."""
    return _shown(await slack.load_config(current().settings.secret_key))


@put("/api/v1/integrations/slack", tags=["notifications"], permission=Permission.MANAGE_INBOXES)
async def put_slack(principal: Principal, data: SlackUpdate) -> SlackSettings:
    """Set up Slack (admin): a bot token (threads per conversation) or an incoming webhook,
    the default channel, team → channel routes, which kinds, and @channel on SLA breach."""
    key = current().settings.secret_key
    old = await slack.load_config(key) or SlackConfig()
    config = SlackConfig(
        enabled=data.enabled,
        bot_token=old.bot_token if data.bot_token is None else data.bot_token,
        webhook_url=old.webhook_url if data.webhook_url is None else data.webhook_url,
        api_base_url=data.api_base_url,
        default_channel=data.default_channel,
        routes=data.routes,
        mention_channel_on_breach=data.mention_channel_on_breach,
        kinds=data.kinds,
    )
    await slack.save_config(key, config)
    await audit.record(
        "slack.configured",
        actor_id=principal.agent.id,
        target_type="slack",
        data={"default_channel": config.default_channel, "routes": len(config.routes)},
    )
    return _shown(config)


handlers = [get_slack, put_slack]
