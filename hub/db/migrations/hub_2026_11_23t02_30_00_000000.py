"""Set-based ingest: a batch's common messages are stored with a few statements, not a few per message.

The common inbound message comes from a known sender into an open conversation. `hub_ingest` now
classifies the whole batch with one query and stores those messages together: one INSERT for the
messages, one UPDATE for their conversations, one INSERT for the events. Everything else (a new
sender, a conversation to create or reopen, a provider id twice in the batch) goes through
`hub_ingest_one`, the per-message steps of the previous version, unchanged. A sender with any such
message in the batch has all its messages handled there, so one sender's messages keep their order.

The batch answers with its results in input order and only the last event id: the notice that
crosses the fan-out needs nothing more, and building and decoding the full events cost more than
inserting them.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-11-23T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "set-based hub_ingest for known senders in open conversations"

# The message and conversation JSON, for many ids at once. A SQL function called once per row
# starts an executor per call (a quarter of ingest's database time); these set-returning versions
# are inlined into the calling query and planned with it. The one-id functions now read from them,
# so each shape is written once.
MESSAGES_JSON = r"""
CREATE OR REPLACE FUNCTION hub_messages_json(ids bigint[]) RETURNS TABLE (id bigint, data jsonb)
LANGUAGE sql STABLE AS $fn$
SELECT m.id, jsonb_build_object(
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
FROM message m WHERE m.id = ANY(ids)
$fn$;
"""

MESSAGE_JSON = r"""
CREATE OR REPLACE FUNCTION hub_message_json(message_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
SELECT data FROM hub_messages_json(ARRAY[message_id])
$fn$;
"""

CONVERSATIONS_JSON = r"""
CREATE OR REPLACE FUNCTION hub_conversations_json(ids int[]) RETURNS TABLE (id int, data jsonb)
LANGUAGE sql STABLE AS $fn$
SELECT c.id, jsonb_build_object(
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
WHERE c.id = ANY(ids)
$fn$;
"""

CONVERSATION_JSON = r"""
CREATE OR REPLACE FUNCTION hub_conversation_json(conversation_id int) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
SELECT data FROM hub_conversations_json(ARRAY[conversation_id])
$fn$;
"""

EMIT_LAST_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hub_emit_last(events jsonb, actor_type text, actor_id bigint) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    last bigint;
BEGIN
    IF events IS NULL OR jsonb_array_length(events) = 0 THEN
        RETURN NULL;
    END IF;
    -- The ordering lock of hub_emit: held to commit, so ids are in commit order.
    PERFORM pg_advisory_xact_lock(4851713);
    WITH rows AS (
        INSERT INTO event (type, conversation, inbox, actor_type, actor_id, data, created_at)
        SELECT e->>'type', (e->>'conversation')::int, (e->>'inbox')::int, actor_type, actor_id,
               coalesce(e->'data', '{}'::jsonb), now()
          FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, n)
         ORDER BY n
        RETURNING id
    )
    SELECT max(id) INTO last FROM rows;
    RETURN last;
END
$fn$;
"""

INGEST_ONE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hub_ingest_one(item jsonb, OUT result jsonb, OUT events jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_inbox int := (item->>'inbox_id')::int;
    v_kind text := item->'sender'->>'kind';
    v_address text := item->'sender'->>'address';
    v_name text := coalesce(item->'sender'->>'name', '');
    v_auto boolean := coalesce((item->>'auto_reply')::boolean, false);
    v_at timestamptz := coalesce((item->>'sent_at')::timestamptz, now());
    v_window interval := make_interval(hours => coalesce((item->>'reopen_window_hours')::int, 168));
    v_contact int;
    v_conversation int;
    v_conversation_created boolean := false;
    v_message bigint;
    v_existing bigint;
    v_status text;
    v_new_status text;
    v_team int;
    v_message_json jsonb;
    v_conv_json jsonb;
BEGIN
    events := '[]'::jsonb;
    -- One sender at a time: serialises concurrent first messages and duplicates of a message.
    PERFORM pg_advisory_xact_lock(hashtextextended(v_kind || ':' || v_address, 7));

    SELECT id, conversation INTO v_existing, v_conversation FROM message
     WHERE inbox = v_inbox AND provider_message_id = item->>'provider_message_id';
    IF FOUND THEN
        SELECT data INTO v_message_json FROM hub_messages_json(ARRAY[v_existing]);
        result := jsonb_build_object(
            'created', false, 'message_id', v_existing, 'conversation_id', v_conversation,
            'message', v_message_json);
        RETURN;
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
         ORDER BY last_message_at DESC, id DESC LIMIT 1;
        IF v_conversation IS NULL THEN
            SELECT id INTO v_conversation FROM conversation
             WHERE inbox = v_inbox AND contact = v_contact AND status = 'resolved'
               AND resolved_at > now() - v_window
             ORDER BY resolved_at DESC LIMIT 1;
        END IF;
    END IF;

    IF v_conversation IS NULL THEN
        SELECT team INTO v_team FROM inbox WHERE id = v_inbox;
        -- Born with this message counted: no second write of a row with eleven indexes.
        INSERT INTO conversation (inbox, contact, status, priority, subject, team, unread_count,
                                  created_at, updated_at, last_message_at, last_inbound_at,
                                  waiting_since, meta)
        VALUES (v_inbox, v_contact, 'open', 'none', coalesce(item->>'subject', ''), v_team,
                CASE WHEN v_auto THEN 0 ELSE 1 END, now(), now(), v_at, v_at,
                CASE WHEN v_auto THEN NULL ELSE v_at END, '{}'::jsonb)
        RETURNING id INTO v_conversation;
        v_conversation_created := true;
        v_status := 'open';
        v_new_status := 'open';
    END IF;

    INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id, text, html,
                         status, error, provider_message_id, attempts, meta, created_at,
                         updated_at, sent_at)
    VALUES (v_conversation, v_inbox, 'message', 'in', 'contact', v_contact,
            coalesce(item->>'text', ''), coalesce(item->>'html', ''), 'received', '',
            item->>'provider_message_id', 0, coalesce(item->'meta', '{}'::jsonb), now(), now(), v_at)
    RETURNING id INTO v_message;

    IF jsonb_array_length(coalesce(item->'attachments', '[]'::jsonb)) > 0 THEN
        INSERT INTO attachment (message, sha256, filename, content_type, size, created_at)
        SELECT v_message, att->>'sha256', coalesce(att->>'filename', ''),
               coalesce(att->>'content_type', 'application/octet-stream'),
               coalesce((att->>'size')::bigint, 0), now()
          FROM jsonb_array_elements(item->'attachments') WITH ORDINALITY AS t(att, n)
         ORDER BY n;
    END IF;

    IF NOT v_conversation_created THEN
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
    END IF;

    -- The set-returning forms: planned once per connection here, where the one-id functions
    -- would be parsed and planned again on every call.
    SELECT data INTO v_message_json FROM hub_messages_json(ARRAY[v_message]);
    SELECT data INTO v_conv_json FROM hub_conversations_json(ARRAY[v_conversation]);
    IF v_conversation_created THEN
        events := events || jsonb_build_object(
            'type', 'conversation.created', 'conversation', v_conversation, 'inbox', v_inbox,
            'data', v_conv_json);
    END IF;
    events := events || jsonb_build_object(
        'type', 'message.created', 'conversation', v_conversation, 'inbox', v_inbox,
        'data', v_message_json);
    IF NOT v_conversation_created THEN
        events := events || jsonb_build_object(
            'type', 'conversation.updated', 'conversation', v_conversation, 'inbox', v_inbox,
            'data', v_conv_json || jsonb_build_object('previous_status', v_status));
    END IF;
    result := jsonb_build_object(
        'created', true, 'message_id', v_message, 'conversation_id', v_conversation,
        'contact_id', v_contact, 'conversation_created', v_conversation_created,
        'reopened', v_status IS DISTINCT FROM v_new_status AND NOT v_conversation_created,
        'message', v_message_json);
END
$fn$;
"""

INGEST_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hub_ingest(items jsonb) RETURNS jsonb
LANGUAGE plpgsql
-- Every lookup here is by key. A connection plans these statements once, often while the tables
-- are still nearly empty (a new install, a test); a plan chosen then must not scan whole tables
-- for the life of the connection.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    total int := jsonb_array_length(items);
    results jsonb[];
    evs jsonb[] := '{}';
    f_n int[];          -- the fast items: known sender, open conversation, new provider id
    f_conv int[];
    f_contact int[];
    f_named int[];      -- fast items whose sender names a contact that has no name yet, and
    f_named_contact int[];  -- that contact
    s_n int[];          -- the others, one by one
    d_n int[];          -- already stored
    d_id bigint[];
    d_conv int[];
    m_id bigint[];
    p_id int[];         -- the fast items' conversations, locked, with their status before
    p_status text[];
    k int;
    one record;
    row record;
BEGIN
    IF total = 0 THEN
        RETURN jsonb_build_object('results', '[]'::jsonb, 'last_event_id', NULL);
    END IF;
    results := array_fill(NULL::jsonb, ARRAY[total]);

    -- Every sender's lock first, in one global order, so concurrent batches cannot deadlock.
    PERFORM pg_advisory_xact_lock(s.key) FROM (
        SELECT DISTINCT hashtextextended((e->'sender'->>'kind') || ':' || (e->'sender'->>'address'), 7) AS key
          FROM jsonb_array_elements(items) AS t(e)
         ORDER BY 1) s;

    WITH it AS (
        SELECT t.n::int AS n, t.e, (t.e->>'inbox_id')::int AS inbox,
               t.e->'sender'->>'kind' AS kind, t.e->'sender'->>'address' AS address,
               t.e->>'provider_message_id' AS pid
          FROM jsonb_array_elements(items) WITH ORDINALITY AS t(e, n)
    ), looked AS (
        SELECT it.n, it.kind, it.address, m.id AS dup_id, m.conversation AS dup_conv, ci.contact,
               ci.name = '' AND coalesce(it.e->'sender'->>'name', '') <> '' AS named,
               CASE WHEN ci.contact IS NULL THEN NULL
                    WHEN it.e->>'conversation_id' IS NOT NULL THEN
                        (SELECT c.id FROM conversation c
                          WHERE c.id = (it.e->>'conversation_id')::int AND c.inbox = it.inbox)
                    WHEN coalesce((it.e->>'new_conversation')::boolean, false) THEN NULL
                    ELSE (SELECT c.id FROM conversation c
                           WHERE c.inbox = it.inbox AND c.contact = ci.contact
                             AND c.status IN ('open', 'pending', 'snoozed')
                           ORDER BY c.last_message_at DESC, c.id DESC LIMIT 1)
               END AS conv,
               count(*) OVER (PARTITION BY it.inbox, it.pid) AS copies
          FROM it
          -- LIMIT 1 keeps these lookups per item (index scans): the planner takes a batch for
          -- 100 rows and would otherwise hash whole tables.
          LEFT JOIN LATERAL (
              SELECT id, conversation FROM message
               WHERE inbox = it.inbox AND provider_message_id = it.pid LIMIT 1) m ON true
          LEFT JOIN LATERAL (
              SELECT x.contact, c.name FROM contact_identity x JOIN contact c ON c.id = x.contact
               WHERE x.kind = it.kind AND x.address = it.address LIMIT 1) ci ON true
    ), marked AS (
        SELECT looked.*,
               dup_id IS NULL AND contact IS NOT NULL AND conv IS NOT NULL AND copies = 1 AS simple
          FROM looked
    ), decided AS (
        SELECT marked.*,
               simple AND bool_and(simple OR dup_id IS NOT NULL)
                   OVER (PARTITION BY kind, address) AS fast
          FROM marked
    )
    SELECT array_agg(n ORDER BY n) FILTER (WHERE fast),
           array_agg(conv ORDER BY n) FILTER (WHERE fast),
           array_agg(contact ORDER BY n) FILTER (WHERE fast),
           array_agg(n ORDER BY n) FILTER (WHERE NOT fast AND dup_id IS NULL),
           array_agg(n ORDER BY n) FILTER (WHERE dup_id IS NOT NULL),
           array_agg(dup_id ORDER BY n) FILTER (WHERE dup_id IS NOT NULL),
           array_agg(dup_conv ORDER BY n) FILTER (WHERE dup_id IS NOT NULL),
           array_agg(n ORDER BY n) FILTER (WHERE fast AND named),
           array_agg(contact ORDER BY n) FILTER (WHERE fast AND named)
      INTO f_n, f_conv, f_contact, s_n, d_n, d_id, d_conv, f_named, f_named_contact
      FROM decided;

    IF d_n IS NOT NULL THEN
        FOR row IN
            SELECT u.n, u.id, u.conv, j.data
              FROM unnest(d_n, d_id, d_conv) AS u(n, id, conv)
              JOIN hub_messages_json(d_id) j ON j.id = u.id
        LOOP
            results[row.n] := jsonb_build_object(
                'created', false, 'message_id', row.id, 'conversation_id', row.conv,
                'message', row.data);
        END LOOP;
    END IF;

    FOR k IN 1 .. coalesce(array_length(s_n, 1), 0) LOOP
        SELECT * INTO one FROM hub_ingest_one(items->(s_n[k] - 1));
        results[s_n[k]] := one.result;
        evs := evs || ARRAY(SELECT jsonb_array_elements(one.events));
    END LOOP;

    IF f_n IS NOT NULL THEN
        -- Lock the conversations in id order and keep their status from before this batch.
        SELECT array_agg(c.id ORDER BY c.id), array_agg(c.status ORDER BY c.id) INTO p_id, p_status
          FROM (SELECT id, status FROM conversation WHERE id = ANY(f_conv) ORDER BY id FOR UPDATE) c;

        -- A contact known only by address gets the name its sender now gives (rare: one by one).
        FOR k IN 1 .. coalesce(array_length(f_named, 1), 0) LOOP
            UPDATE contact SET name = items->(f_named[k] - 1)->'sender'->>'name', updated_at = now()
             WHERE id = f_named_contact[k] AND name = '';
        END LOOP;

        WITH f AS (
            SELECT u.n, u.conv, u.contact, items->(u.n - 1) AS e
              FROM unnest(f_n, f_conv, f_contact) AS u(n, conv, contact)
        ), ins AS (
            INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id, text,
                                 html, status, error, provider_message_id, attempts, meta,
                                 created_at, updated_at, sent_at)
            SELECT f.conv, (f.e->>'inbox_id')::int, 'message', 'in', 'contact', f.contact,
                   coalesce(f.e->>'text', ''), coalesce(f.e->>'html', ''), 'received', '',
                   f.e->>'provider_message_id', 0, coalesce(f.e->'meta', '{}'::jsonb), now(), now(),
                   coalesce((f.e->>'sent_at')::timestamptz, now())
              FROM f ORDER BY f.n
            RETURNING id, inbox, provider_message_id
        )
        SELECT array_agg(ins.id ORDER BY f.n) INTO m_id
          FROM f JOIN ins ON ins.inbox = (f.e->>'inbox_id')::int
                         AND ins.provider_message_id = f.e->>'provider_message_id';

        INSERT INTO attachment (message, sha256, filename, content_type, size, created_at)
        SELECT u.id, a.att->>'sha256', coalesce(a.att->>'filename', ''),
               coalesce(a.att->>'content_type', 'application/octet-stream'),
               coalesce((a.att->>'size')::bigint, 0), now()
          FROM unnest(f_n, m_id) AS u(n, id),
               jsonb_array_elements(coalesce(items->(u.n - 1)->'attachments', '[]'::jsonb))
                   WITH ORDINALITY AS a(att, pos)
         ORDER BY u.id, a.pos;

        WITH f AS (
            SELECT u.conv, coalesce((e->>'sent_at')::timestamptz, now()) AS at,
                   coalesce((e->>'auto_reply')::boolean, false) AS auto
              FROM unnest(f_n, f_conv) AS u(n, conv), LATERAL (SELECT items->(u.n - 1) AS e) x
        ), g AS (
            SELECT conv, max(at) AS last_at, min(at) FILTER (WHERE NOT auto) AS first_human,
                   count(*) FILTER (WHERE NOT auto) AS human
              FROM f GROUP BY conv
        )
        UPDATE conversation c SET
            last_message_at = greatest(c.last_message_at, g.last_at),
            last_inbound_at = greatest(coalesce(c.last_inbound_at, g.last_at), g.last_at),
            waiting_since = CASE WHEN g.human > 0 THEN coalesce(c.waiting_since, g.first_human)
                                 ELSE c.waiting_since END,
            unread_count = c.unread_count + g.human,
            status = CASE WHEN g.human > 0 THEN 'open' ELSE c.status END,
            snoozed_until = CASE WHEN g.human > 0 THEN NULL ELSE c.snoozed_until END,
            resolved_at = CASE WHEN g.human > 0 THEN NULL ELSE c.resolved_at END,
            updated_at = now()
          FROM g WHERE c.id = g.conv;

        -- A conversation is reopened by its first customer (not automatic) message of the batch.
        FOR row IN
            SELECT u.n, u.id, u.conv, u.contact, p.status AS previous,
                   coalesce((items->(u.n - 1)->>'auto_reply')::boolean, false) AS auto,
                   row_number() OVER (
                       PARTITION BY u.conv,
                                    coalesce((items->(u.n - 1)->>'auto_reply')::boolean, false)
                       ORDER BY u.n) AS nth,
                   j.data AS message
              FROM unnest(f_n, m_id, f_conv, f_contact) AS u(n, id, conv, contact)
              JOIN unnest(p_id, p_status) AS p(id, status) ON p.id = u.conv
              JOIN hub_messages_json(m_id) j ON j.id = u.id
             ORDER BY u.n
        LOOP
            results[row.n] := jsonb_build_object(
                'created', true, 'message_id', row.id, 'conversation_id', row.conv,
                'contact_id', row.contact, 'conversation_created', false,
                'reopened', NOT row.auto AND row.nth = 1 AND row.previous <> 'open',
                'message', row.message);
            evs := evs || jsonb_build_object(
                'type', 'message.created', 'conversation', row.conv,
                'inbox', (row.message->>'inbox_id')::int, 'data', row.message);
        END LOOP;
        FOR row IN
            SELECT p.id, p.status, j.data
              FROM unnest(p_id, p_status) AS p(id, status)
              JOIN hub_conversations_json(p_id) j ON j.id = p.id
             ORDER BY p.id
        LOOP
            evs := evs || jsonb_build_object(
                'type', 'conversation.updated', 'conversation', row.id,
                'inbox', (row.data->>'inbox_id')::int,
                'data', row.data || jsonb_build_object('previous_status', row.status));
        END LOOP;
    END IF;

    RETURN jsonb_build_object(
        'results', to_jsonb(results),
        'last_event_id', hub_emit_last(to_jsonb(evs), 'contact', NULL));
END
$fn$;
"""

STATEMENTS = [
    MESSAGES_JSON,
    MESSAGE_JSON,
    CONVERSATIONS_JSON,
    CONVERSATION_JSON,
    EMIT_LAST_FUNCTION,
    INGEST_ONE_FUNCTION,
    INGEST_FUNCTION,
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
