"""Every domain of the hub, loaded together: importing this registers each domain's jobs
and event subscribers.

Nothing inside `hub/` imports this module: the processes' entry points (`web.app`, `web.cli`,
benchmarks) do, which keeps the job registry free of imports back into the domains.
"""

from hub.auth import jobs as auth_jobs
from hub.automation import jobs as automation_jobs
from hub.conversations import jobs as conversation_jobs
from hub.crm import jobs as crm_jobs
from hub.csat import jobs as csat_jobs
from hub.ingest import jobs as ingest_jobs
from hub.jobs import queue_check
from hub.notifications import jobs as notification_jobs
from hub.outbox import jobs as outbox_jobs
from hub.realtime import jobs as realtime_jobs
from hub.reports import jobs as report_jobs
from hub.routing import jobs as routing_jobs
from hub.sla import jobs as sla_jobs
from hub.webhooks import jobs as webhook_jobs

LOADED = (
    auth_jobs,
    automation_jobs,
    conversation_jobs,
    crm_jobs,
    csat_jobs,
    ingest_jobs,
    notification_jobs,
    outbox_jobs,
    queue_check,
    realtime_jobs,
    report_jobs,
    routing_jobs,
    sla_jobs,
    webhook_jobs,
)
