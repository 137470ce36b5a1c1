"""The inbound pipeline as one server-side function, search indexes and list indexes.

`hub_ingest(items jsonb)` stores a batch of normalised inbound messages in the caller's
transaction with one round trip: idempotency, contact resolution, threading, the message, the
conversation update and the events. Python (hub/ingest.py) prepares the items and owns the
transaction; keeping the per-message steps inside PostgreSQL is what makes ingest fast.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-11-22T23:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "hub_ingest function, event ordering, search and list indexes"

INGEST_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hub_ingest(items jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    item jsonb;
    results jsonb := '[]'::jsonb;
    pending_events jsonb := '[]'::jsonb;
    v_inbox int;
    v_kind text;
    v_address text;
    v_name text;
    v_contact int;
    v_conversation int;
    v_conversation_created boolean;
    v_message bigint;
    v_existing bigint;
    v_status text;
    v_new_status text;
    v_auto boolean;
    v_at timestamptz;
    v_window interval;
    v_team int;
    v_message_json jsonb;
    v_conv_json jsonb;
    att jsonb;
    ev jsonb;
    inserted jsonb;
    event_ids jsonb := '[]'::jsonb;
BEGIN
    FOR item IN SELECT * FROM jsonb_array_elements(items) LOOP
        v_inbox := (item->>'inbox_id')::int;
        v_kind := item->'sender'->>'kind';
        v_address := item->'sender'->>'address';
        v_name := coalesce(item->'sender'->>'name', '');
        v_auto := coalesce((item->>'auto_reply')::boolean, false);
        v_at := coalesce((item->>'sent_at')::timestamptz, now());
        v_window := make_interval(hours => coalesce((item->>'reopen_window_hours')::int, 168));
        v_conversation_created := false;

        -- One sender at a time: serialises concurrent first messages and duplicates of a message.
        PERFORM pg_advisory_xact_lock(hashtextextended(v_kind || ':' || v_address, 7));

        SELECT id, conversation INTO v_existing, v_conversation FROM message
         WHERE inbox = v_inbox AND provider_message_id = item->>'provider_message_id';
        IF FOUND THEN
            results := results || jsonb_build_object(
                'created', false, 'message_id', v_existing, 'conversation_id', v_conversation,
                'message', hub_message_json(v_existing));
            CONTINUE;
        END IF;

        SELECT contact INTO v_contact FROM contact_identity
         WHERE kind = v_kind AND address = v_address;
        IF NOT FOUND THEN
            INSERT INTO contact (name, attributes, created_at, updated_at)
            VALUES (v_name, '{}'::jsonb, now(), now()) RETURNING id INTO v_contact;
            INSERT INTO contact_identity (contact, kind, address, verified, created_at)
            VALUES (v_contact, v_kind, v_address, coalesce((item->>'verified')::boolean, false), now());
        ELSIF v_name <> '' THEN
            UPDATE contact SET name = v_name, updated_at = now() WHERE id = v_contact AND name = '';
        END IF;

        -- Threading: the channel's decision first, else the open conversation of this contact
        -- in this inbox, else a recently resolved one (reopened), else a new conversation.
        v_conversation := NULL;
        IF (item->>'conversation_id') IS NOT NULL THEN
            SELECT id INTO v_conversation FROM conversation
             WHERE id = (item->>'conversation_id')::int AND inbox = v_inbox;
        ELSIF NOT coalesce((item->>'new_conversation')::boolean, false) THEN
            SELECT id INTO v_conversation FROM conversation
             WHERE inbox = v_inbox AND contact = v_contact AND status IN ('open', 'pending', 'snoozed')
             ORDER BY last_message_at DESC LIMIT 1;
            IF v_conversation IS NULL THEN
                SELECT id INTO v_conversation FROM conversation
                 WHERE inbox = v_inbox AND contact = v_contact AND status = 'resolved'
                   AND resolved_at > now() - v_window
                 ORDER BY resolved_at DESC LIMIT 1;
            END IF;
        END IF;

        IF v_conversation IS NULL THEN
            SELECT team INTO v_team FROM inbox WHERE id = v_inbox;
            INSERT INTO conversation (inbox, contact, status, priority, subject, team, unread_count,
                                      created_at, updated_at, last_message_at, meta)
            VALUES (v_inbox, v_contact, 'open', 'none', coalesce(item->>'subject', ''), v_team, 0,
                    now(), now(), v_at, '{}'::jsonb)
            RETURNING id INTO v_conversation;
            v_conversation_created := true;
        END IF;

        INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id, text, html,
                             status, error, provider_message_id, attempts, meta, created_at,
                             updated_at, sent_at)
        VALUES (v_conversation, v_inbox, 'message', 'in', 'contact', v_contact,
                coalesce(item->>'text', ''), coalesce(item->>'html', ''), 'received', '',
                item->>'provider_message_id', 0, coalesce(item->'meta', '{}'::jsonb), now(), now(), v_at)
        RETURNING id INTO v_message;

        FOR att IN SELECT * FROM jsonb_array_elements(coalesce(item->'attachments', '[]'::jsonb)) LOOP
            INSERT INTO attachment (message, sha256, filename, content_type, size, created_at)
            VALUES (v_message, att->>'sha256', coalesce(att->>'filename', ''),
                    coalesce(att->>'content_type', 'application/octet-stream'),
                    coalesce((att->>'size')::bigint, 0), now());
        END LOOP;

        SELECT status INTO v_status FROM conversation WHERE id = v_conversation FOR UPDATE;
        v_new_status := CASE WHEN v_auto THEN v_status ELSE 'open' END;
        UPDATE conversation SET
            last_message_at = greatest(last_message_at, v_at),
            last_inbound_at = greatest(coalesce(last_inbound_at, v_at), v_at),
            waiting_since = CASE WHEN v_auto THEN waiting_since ELSE coalesce(waiting_since, v_at) END,
            unread_count = unread_count + CASE WHEN v_auto THEN 0 ELSE 1 END,
            status = v_new_status,
            snoozed_until = CASE WHEN v_new_status = 'open' THEN NULL ELSE snoozed_until END,
            resolved_at = CASE WHEN v_new_status = 'open' THEN NULL ELSE resolved_at END,
            updated_at = now()
        WHERE id = v_conversation;

        v_message_json := hub_message_json(v_message);
        v_conv_json := hub_conversation_json(v_conversation);
        IF v_conversation_created THEN
            pending_events := pending_events || jsonb_build_object(
                'type', 'conversation.created', 'conversation', v_conversation, 'inbox', v_inbox,
                'data', v_conv_json);
        END IF;
        pending_events := pending_events || jsonb_build_object(
            'type', 'message.created', 'conversation', v_conversation, 'inbox', v_inbox,
            'data', v_message_json);
        IF NOT v_conversation_created THEN
            pending_events := pending_events || jsonb_build_object(
                'type', 'conversation.updated', 'conversation', v_conversation, 'inbox', v_inbox,
                'data', v_conv_json || jsonb_build_object('previous_status', v_status));
        END IF;
        results := results || jsonb_build_object(
            'created', true, 'message_id', v_message, 'conversation_id', v_conversation,
            'contact_id', v_contact, 'conversation_created', v_conversation_created,
            'reopened', v_status IS DISTINCT FROM v_new_status AND NOT v_conversation_created,
            'message', v_message_json);
    END LOOP;

    IF jsonb_array_length(pending_events) > 0 THEN
        event_ids := hub_emit(pending_events, 'contact', NULL);
    END IF;
    RETURN jsonb_build_object('results', results, 'events', event_ids);
END
$fn$;
"""

# Events get ids in commit order: writers take this lock just before inserting events, and hold it
# until commit, so a client that has seen event N can never later miss an event below N.
EMIT_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hub_emit(events jsonb, actor_type text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    out jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock(4851713);
    WITH rows AS (
        INSERT INTO event (type, conversation, inbox, actor_type, actor_id, data, created_at)
        SELECT e->>'type', (e->>'conversation')::int, (e->>'inbox')::int, actor_type, actor_id,
               coalesce(e->'data', '{}'::jsonb), now()
          FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, n)
         ORDER BY n
        RETURNING id, type, conversation, inbox, data, created_at
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'type', type, 'conversation_id', conversation, 'inbox_id', inbox,
               'data', data, 'created_at', created_at) ORDER BY id), '[]'::jsonb)
      INTO out FROM rows;
    RETURN out;
END
$fn$;
"""

MESSAGE_JSON = r"""
CREATE OR REPLACE FUNCTION hub_message_json(message_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
SELECT jsonb_build_object(
    'id', m.id, 'conversation_id', m.conversation, 'inbox_id', m.inbox, 'kind', m.kind,
    'direction', m.direction,
    'author', jsonb_build_object('type', m.author_type, 'id', m.author_id,
        'name', CASE m.author_type WHEN 'contact' THEN (SELECT name FROM contact WHERE id = m.author_id)
                                   WHEN 'agent' THEN (SELECT name FROM agent WHERE id = m.author_id)
                                   ELSE 'System' END),
    'text', m.text, 'html', m.html, 'status', m.status, 'error', m.error,
    'attachments', coalesce((SELECT jsonb_agg(jsonb_build_object(
        'id', a.id, 'filename', a.filename, 'content_type', a.content_type, 'size', a.size,
        'url', '/api/v1/attachments/' || a.id) ORDER BY a.id) FROM attachment a WHERE a.message = m.id),
        '[]'::jsonb),
    'meta', m.meta, 'created_at', m.created_at)
FROM message m WHERE m.id = message_id
$fn$;
"""

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
    'waiting_since', c.waiting_since, 'unread_count', c.unread_count)
FROM conversation c JOIN inbox i ON i.id = c.inbox JOIN contact ct ON ct.id = c.contact
WHERE c.id = conversation_id
$fn$;
"""

STATEMENTS = [
    MESSAGE_JSON,
    CONVERSATION_JSON,
    EMIT_FUNCTION,
    INGEST_FUNCTION,
    # Full-text search over message text and conversation subjects ('simple': no language guess).
    "CREATE INDEX IF NOT EXISTS message_fts_idx ON message USING gin (to_tsvector('simple', text))",
    "CREATE INDEX IF NOT EXISTS conversation_subject_fts_idx"
    " ON conversation USING gin (to_tsvector('simple', subject))",
    # Keyset pagination of the conversation list, newest activity first, per common filter.
    "CREATE INDEX IF NOT EXISTS conversation_list_idx"
    " ON conversation (status, last_message_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS conversation_list_all_idx ON conversation (last_message_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS conversation_inbox_list_idx"
    " ON conversation (inbox, status, last_message_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS conversation_assignee_list_idx"
    " ON conversation (assignee, status, last_message_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS conversation_team_list_idx"
    " ON conversation (team, status, last_message_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS conversation_contact_idx ON conversation (contact, last_message_at DESC)",
    "CREATE INDEX IF NOT EXISTS conversation_snoozed_idx ON conversation (snoozed_until)"
    " WHERE status = 'snoozed'",
    "CREATE INDEX IF NOT EXISTS conversation_tag_tag_idx ON conversation_tag (tag, conversation)",
    "CREATE INDEX IF NOT EXISTS message_outbox_idx ON message (status, updated_at)"
    " WHERE status IN ('pending', 'sending')",
    "CREATE INDEX IF NOT EXISTS attachment_message_idx ON attachment (message)",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
