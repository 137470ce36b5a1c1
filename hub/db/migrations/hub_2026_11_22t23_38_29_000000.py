"""The conversation JSON shows when a channel's reply window closes (WhatsApp's 24 hours)."""

from hub.db.sql_migration import sql_migration

ID = "2026-11-22T23:38:29:000000"
VERSION = "1.38.0"
DESCRIPTION = "window_closes_at in hub_conversation_json"

CONVERSATION_JSON = r"""
CREATE OR REPLACE FUNCTION hub_conversation_json(conversation_id int) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
SELECT jsonb_build_object(
    'id', c.id, 'ref', c.ref, 'inbox_id', c.inbox, 'channel', i.channel, 'status', c.status,
    'priority', c.priority, 'subject', c.subject,
    'contact', jsonb_build_object('id', ct.id, 'name', ct.name),
    'assignee_id', c.assignee, 'team_id', c.team,
    'tags', coalesce((SELECT jsonb_agg(t.name ORDER BY t.name) FROM conversation_tag x
                      JOIN tag t ON t.id = x.tag WHERE x.conversation = c.id), '[]'::jsonb),
    'snoozed_until', c.snoozed_until, 'created_at', c.created_at,
    'last_message_at', c.last_message_at, 'last_inbound_at', c.last_inbound_at,
    'waiting_since', c.waiting_since, 'unread_count', c.unread_count,
    'window_closes_at', CASE WHEN i.reply_window_hours IS NOT NULL AND c.last_inbound_at IS NOT NULL
                             THEN c.last_inbound_at + make_interval(hours => i.reply_window_hours) END)
FROM conversation c JOIN inbox i ON i.id = c.inbox JOIN contact ct ON ct.id = c.contact
WHERE c.id = conversation_id
$fn$;
"""


forwards = sql_migration(ID, DESCRIPTION, [CONVERSATION_JSON])
