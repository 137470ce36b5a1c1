"""Jobs of the auth domain."""

from __future__ import annotations

from saq.types import Context

from hub.auth import accounts
from hub.jobs.registry import job


@job(timeout=60, retries=2, cron="*/10 * * * *")
async def purge_expired_sessions(ctx: Context) -> int:
    from hub.system.services import current

    return await accounts.purge_expired(idle_seconds=current().settings.session_idle_seconds)


@job(timeout=60, retries=3)
async def send_password_reset(ctx: Context, email: str, ip: str = "") -> bool:
    """Mail a reset link if the address is an active agent's (else nothing: the requester is
    answered the same either way). Without HUB_SMTP_* nothing can be sent; that is logged."""
    from hub.auth import reset
    from hub.notifications import contract
    from hub.notifications.digest import smtp_settings
    from hub.system.services import current

    smtp = smtp_settings()
    if smtp is None:
        reset.log.warning("password reset requested but HUB_SMTP_HOST/HUB_SMTP_FROM are unset")
        return False
    lifetime = current().settings.password_reset_seconds
    made = await reset.create_link_token(email, lifetime=lifetime, ip=ip)
    if made is None:
        return False
    token, name = made
    link = f"{smtp['public_url']}/reset-password?token={token}"
    minutes = max(1, lifetime // 60)
    text = (
        f"Hello {name},\n\nsomeone (hopefully you) asked to reset your Hub password.\n"
        f"Choose a new one here within {minutes} minutes:\n\n{link}\n\n"
        "The link works once. If you did not ask, ignore this mail: your password stays as it"
        " is.\n"
    )
    await contract.mailer().send_text(smtp, email, name, "[Hub] Reset your password", text)
    return True


@job(timeout=60, retries=3)
async def send_invite(ctx: Context, agent_id: int) -> bool:
    """Mail an invited agent their set-password link (made here, so no token sits in the
    queue; a retry replaces the unsent one). False without HUB_SMTP_* or once they have a
    password."""
    from hub.auth import people
    from hub.notifications import contract
    from hub.notifications.digest import smtp_settings

    smtp = smtp_settings()
    if smtp is None:
        return False
    made = await people.new_invite_link(agent_id)
    if made is None:
        return False
    token, email, name = made
    link = f"{smtp['public_url']}/set-password?token={token}"
    text = (
        f"Hello {name},\n\nyou have been invited to Hub, the support inbox.\n"
        f"Choose your password here within {people.INVITE_DAYS} days:\n\n{link}\n\n"
        "The link works once. Then log in with this email address.\n"
    )
    await contract.mailer().send_text(smtp, email, name, "[Hub] Your invitation", text)
    return True
