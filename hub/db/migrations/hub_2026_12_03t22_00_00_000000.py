"""CRM sync: sources, customers, services, invoices, tickets, the sync log, links and merges.

Every CRM record is keyed by (source, external id), keeps the CRM's own change stamp
(`changed_at`, naive: the CRM's server-local time, the same string its filters compare) and a
hash of the raw record, so an upsert of an unchanged record writes nothing. Rows are never
deleted by a sync: a record gone from the CRM gets `deleted_at`.

Customers are linked to contacts by what they share (an email, an E.164 phone), computed when
asked (`crm_contact_customers`, `crm_customer_contacts`) through GIN indexes on the address
arrays; `crm_link` only stores what an agent decided (a manual link, or a blocked match).
`crm_contact_facts` is what automation conditions read.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-03T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "CRM sync tables, link functions, card JSON and contact merges"

TABLES = [
    """
    CREATE TABLE crm_source (
        id serial PRIMARY KEY,
        kind varchar(40) NOT NULL,
        name varchar(200) NOT NULL,
        config_encrypted text NOT NULL DEFAULT '',
        -- Not secret, needed on every card and every upsert: kept beside the encrypted settings.
        customer_url text NOT NULL DEFAULT '',
        phone_region varchar(2) NOT NULL DEFAULT 'DK',
        demo boolean NOT NULL DEFAULT false,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        last_synced_at timestamptz,
        last_error text NOT NULL DEFAULT ''
    )
    """,
    """
    CREATE TABLE crm_customer (
        id bigserial PRIMARY KEY,
        source int NOT NULL REFERENCES crm_source (id) ON DELETE CASCADE,
        external_id bigint NOT NULL,
        login text NOT NULL DEFAULT '',
        name text NOT NULL DEFAULT '',
        status varchar(20) NOT NULL DEFAULT '',
        category varchar(20) NOT NULL DEFAULT '',
        email_raw text NOT NULL DEFAULT '',
        phone_raw text NOT NULL DEFAULT '',
        emails text[] NOT NULL DEFAULT '{}',  -- email and billing email, lower-cased
        phones text[] NOT NULL DEFAULT '{}',  -- E.164
        street text NOT NULL DEFAULT '',
        zip_code text NOT NULL DEFAULT '',
        city text NOT NULL DEFAULT '',
        mrr_total numeric(14, 2),
        deposit numeric(14, 2),  -- the balance, known from a hook's billing read
        deposit_at timestamptz,
        date_add date,
        last_online timestamp,
        changed_at timestamp,
        raw jsonb NOT NULL DEFAULT '{}',
        raw_hash text NOT NULL DEFAULT '',
        synced_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        UNIQUE (source, external_id)
    )
    """,
    "CREATE INDEX crm_customer_emails_idx ON crm_customer USING gin (emails)",
    "CREATE INDEX crm_customer_phones_idx ON crm_customer USING gin (phones)",
    "CREATE INDEX crm_customer_login_idx ON crm_customer (lower(login))",
    """
    CREATE TABLE crm_service (
        id bigserial PRIMARY KEY,
        source int NOT NULL REFERENCES crm_source (id) ON DELETE CASCADE,
        external_id bigint NOT NULL,
        customer_external_id bigint NOT NULL,
        tariff_id bigint,
        description text NOT NULL DEFAULT '',
        status varchar(20) NOT NULL DEFAULT '',
        quantity numeric(14, 4),
        unit_price numeric(14, 2),
        start_date date,
        end_date date,
        login text NOT NULL DEFAULT '',
        ipv4 text,
        changed_at timestamp,
        raw jsonb NOT NULL DEFAULT '{}',
        raw_hash text NOT NULL DEFAULT '',
        synced_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        UNIQUE (source, external_id)
    )
    """,
    "CREATE INDEX crm_service_customer_idx ON crm_service (source, customer_external_id)",
    """
    CREATE TABLE crm_invoice (
        id bigserial PRIMARY KEY,
        source int NOT NULL REFERENCES crm_source (id) ON DELETE CASCADE,
        external_id bigint NOT NULL,
        customer_external_id bigint NOT NULL,
        number text NOT NULL DEFAULT '',
        status varchar(20) NOT NULL DEFAULT '',
        total numeric(14, 2) NOT NULL DEFAULT 0,
        due numeric(14, 2) NOT NULL DEFAULT 0,
        date_created date,
        date_till date,
        date_payment date,
        changed_at timestamp,
        raw jsonb NOT NULL DEFAULT '{}',
        raw_hash text NOT NULL DEFAULT '',
        synced_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        UNIQUE (source, external_id)
    )
    """,
    "CREATE INDEX crm_invoice_customer_idx ON crm_invoice (source, customer_external_id)",
    """
    CREATE TABLE crm_ticket (
        id bigserial PRIMARY KEY,
        source int NOT NULL REFERENCES crm_source (id) ON DELETE CASCADE,
        external_id bigint NOT NULL,
        customer_external_id bigint,
        subject text NOT NULL DEFAULT '',
        priority varchar(20) NOT NULL DEFAULT '',
        status_id bigint,
        closed boolean NOT NULL DEFAULT false,
        opened_at timestamp,
        changed_at timestamp,
        raw jsonb NOT NULL DEFAULT '{}',
        raw_hash text NOT NULL DEFAULT '',
        synced_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        UNIQUE (source, external_id)
    )
    """,
    "CREATE INDEX crm_ticket_customer_idx ON crm_ticket (source, customer_external_id)",
    """
    CREATE TABLE crm_sync_state (
        source int NOT NULL REFERENCES crm_source (id) ON DELETE CASCADE,
        entity varchar(20) NOT NULL,
        high_water timestamp,  -- the newest change stamp read, in the CRM's own clock
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, entity)
    )
    """,
    """
    CREATE TABLE crm_sync_run (
        id bigserial PRIMARY KEY,
        source int NOT NULL REFERENCES crm_source (id) ON DELETE CASCADE,
        mode varchar(12) NOT NULL,  -- full | incremental
        trigger varchar(12) NOT NULL DEFAULT 'cron',  -- cron | api | cli
        status varchar(12) NOT NULL DEFAULT 'queued',  -- queued | running | succeeded | failed
        resumed_from bigint REFERENCES crm_sync_run (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        heartbeat_at timestamptz,
        counts jsonb NOT NULL DEFAULT '{}',
        cursor jsonb NOT NULL DEFAULT '{}',
        error text NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX crm_sync_run_source_idx ON crm_sync_run (source, id DESC)",
    """
    CREATE TABLE crm_bad_record (
        id bigserial PRIMARY KEY,
        run bigint REFERENCES crm_sync_run (id) ON DELETE CASCADE,
        source int NOT NULL REFERENCES crm_source (id) ON DELETE CASCADE,
        entity varchar(20) NOT NULL,
        external_id text NOT NULL DEFAULT '',
        error text NOT NULL,
        raw jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX crm_bad_record_run_idx ON crm_bad_record (run)",
    """
    CREATE TABLE crm_link (
        id bigserial PRIMARY KEY,
        customer bigint NOT NULL REFERENCES crm_customer (id) ON DELETE CASCADE,
        contact int NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
        how varchar(10) NOT NULL,  -- manual | blocked
        agent int REFERENCES agent (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (customer, contact)
    )
    """,
    "CREATE INDEX crm_link_contact_idx ON crm_link (contact)",
    """
    CREATE TABLE contact_merge (
        id bigserial PRIMARY KEY,
        into_contact int NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
        from_contact int NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
        identities int[] NOT NULL DEFAULT '{}',
        conversations int[] NOT NULL DEFAULT '{}',
        links bigint[] NOT NULL DEFAULT '{}',
        from_name text NOT NULL DEFAULT '',
        agent int REFERENCES agent (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        undone_at timestamptz,
        undone_by int REFERENCES agent (id) ON DELETE SET NULL
    )
    """,
    "CREATE INDEX contact_merge_into_idx ON contact_merge (into_contact)",
    "CREATE INDEX contact_merge_from_idx ON contact_merge (from_contact)",
]

# A contact's customers: those sharing an email or phone (unless an agent blocked the pair),
# plus those an agent linked by hand. Phones match kinds phone and whatsapp (older data).
CONTACT_CUSTOMERS = r"""
CREATE OR REPLACE FUNCTION crm_contact_customers(contact_id int)
RETURNS TABLE (customer bigint, how text)
LANGUAGE sql STABLE AS $fn$
WITH ident AS (SELECT kind, address FROM contact_identity WHERE contact = contact_id),
matched AS (
    SELECT c.id FROM crm_customer c JOIN crm_source s ON s.id = c.source AND s.active
     WHERE c.deleted_at IS NULL
       AND c.emails && ARRAY(SELECT address FROM ident WHERE kind = 'email')::text[]
    UNION
    SELECT c.id FROM crm_customer c JOIN crm_source s ON s.id = c.source AND s.active
     WHERE c.deleted_at IS NULL
       AND c.phones && ARRAY(SELECT address FROM ident WHERE kind IN ('phone', 'whatsapp'))::text[]
)
SELECT m.id, 'auto' FROM matched m
 WHERE NOT EXISTS (SELECT 1 FROM crm_link l WHERE l.customer = m.id AND l.contact = contact_id)
UNION ALL
SELECT l.customer, 'manual' FROM crm_link l
  JOIN crm_customer c ON c.id = l.customer AND c.deleted_at IS NULL
  JOIN crm_source s ON s.id = c.source AND s.active
 WHERE l.contact = contact_id AND l.how = 'manual'
$fn$;
"""

CUSTOMER_CONTACTS = r"""
CREATE OR REPLACE FUNCTION crm_customer_contacts(customer_id bigint)
RETURNS TABLE (contact int, how text)
LANGUAGE sql STABLE AS $fn$
WITH matched AS (
    SELECT i.contact FROM crm_customer c CROSS JOIN LATERAL unnest(c.emails) AS e(address)
      JOIN contact_identity i ON i.kind = 'email' AND i.address = e.address
     WHERE c.id = customer_id AND c.deleted_at IS NULL
    UNION
    SELECT i.contact FROM crm_customer c CROSS JOIN LATERAL unnest(c.phones) AS p(address)
      JOIN contact_identity i ON i.kind IN ('phone', 'whatsapp') AND i.address = p.address
     WHERE c.id = customer_id AND c.deleted_at IS NULL
)
SELECT m.contact, 'auto' FROM matched m
 WHERE NOT EXISTS (SELECT 1 FROM crm_link l WHERE l.customer = customer_id AND l.contact = m.contact)
UNION ALL
SELECT l.contact, 'manual' FROM crm_link l WHERE l.customer = customer_id AND l.how = 'manual'
$fn$;
"""

# What automation conditions read: one row per (contact, linked customer).
CONTACT_FACTS = r"""
CREATE OR REPLACE VIEW crm_contact_facts AS
SELECT ct.id AS contact, c.id AS customer, c.source, c.external_id, cc.how,
       c.status AS customer_status, c.deposit AS balance,
       coalesce(inv.overdue_count, 0) AS overdue_invoice_count,
       coalesce(inv.overdue_amount, 0) AS overdue_amount,
       coalesce(inv.open_count, 0) AS open_invoice_count,
       coalesce(inv.open_amount, 0) AS open_amount,
       ARRAY(SELECT DISTINCT s.status FROM crm_service s
              WHERE s.source = c.source AND s.customer_external_id = c.external_id
                AND s.deleted_at IS NULL ORDER BY 1) AS service_statuses,
       (SELECT count(*) FROM crm_contact_customers(ct.id)) > 1 AS ambiguous
  FROM contact ct
 CROSS JOIN LATERAL crm_contact_customers(ct.id) cc
  JOIN crm_customer c ON c.id = cc.customer
  LEFT JOIN LATERAL (
      SELECT count(*) FILTER (WHERE i.date_till < current_date) AS overdue_count,
             sum(i.due) FILTER (WHERE i.date_till < current_date) AS overdue_amount,
             count(*) AS open_count, sum(i.due) AS open_amount
        FROM crm_invoice i
       WHERE i.source = c.source AND i.customer_external_id = c.external_id
         AND i.deleted_at IS NULL AND i.status = 'not_paid'
  ) inv ON true
"""

# The customer card of a contact in one round trip: the candidates (more than one means the
# match is ambiguous and the agent chooses), the chosen customer's services, open invoices and
# open tickets, the source (for the "last refreshed" line), and contacts to merge.
CARD_JSON = r"""
CREATE OR REPLACE FUNCTION crm_card_json(contact_id int) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
WITH cands AS (SELECT customer, how FROM crm_contact_customers(contact_id)),
chosen AS (
    SELECT CASE
        WHEN (SELECT count(*) FROM cands WHERE how = 'manual') = 1
            THEN (SELECT customer FROM cands WHERE how = 'manual')
        WHEN (SELECT count(*) FROM cands) = 1 THEN (SELECT customer FROM cands)
    END AS id
)
SELECT jsonb_build_object(
    'contact_id', contact_id,
    'ambiguous', (SELECT count(*) FROM cands) > 1 AND (SELECT id FROM chosen) IS NULL,
    'candidates', coalesce((SELECT jsonb_agg(jsonb_build_object(
        'id', c.id, 'source_id', c.source, 'external_id', c.external_id, 'name', c.name,
        'login', c.login, 'status', c.status, 'how', x.how,
        'emails', c.emails, 'phones', c.phones) ORDER BY c.name, c.id)
        FROM cands x JOIN crm_customer c ON c.id = x.customer), '[]'::jsonb),
    'customer', (SELECT crm_customer_json(id) FROM chosen),
    'merge_suggestions', coalesce((SELECT jsonb_agg(jsonb_build_object(
        'contact_id', ct.id, 'name', ct.name) ORDER BY ct.id)
        FROM crm_customer_contacts((SELECT id FROM chosen)) o JOIN contact ct ON ct.id = o.contact
        WHERE o.contact <> contact_id), '[]'::jsonb))
$fn$;
"""

CUSTOMER_JSON = r"""
CREATE OR REPLACE FUNCTION crm_customer_json(customer_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
SELECT jsonb_build_object(
    'id', c.id, 'external_id', c.external_id, 'login', c.login, 'name', c.name,
    'status', c.status, 'category', c.category, 'emails', c.emails, 'phones', c.phones,
    'email_raw', c.email_raw, 'phone_raw', c.phone_raw,
    'address', concat_ws(', ', nullif(c.street, ''), nullif(concat_ws(' ', nullif(c.zip_code, ''), nullif(c.city, '')), '')),
    'balance', c.deposit, 'balance_at', c.deposit_at, 'mrr_total', c.mrr_total,
    'last_online', c.last_online, 'changed_at', c.changed_at, 'synced_at', c.synced_at,
    'deleted', c.deleted_at IS NOT NULL,
    'url', CASE WHEN s.customer_url <> '' THEN replace(s.customer_url, '{id}', c.external_id::text) END,
    'source', jsonb_build_object('id', s.id, 'name', s.name, 'kind', s.kind, 'demo', s.demo,
        'last_synced_at', s.last_synced_at, 'last_error', s.last_error),
    'services', coalesce((SELECT jsonb_agg(jsonb_build_object(
        'id', v.id, 'external_id', v.external_id, 'description', v.description,
        'tariff_id', v.tariff_id, 'status', v.status, 'unit_price', v.unit_price,
        'login', v.login, 'ipv4', v.ipv4, 'start_date', v.start_date, 'end_date', v.end_date)
        ORDER BY v.external_id)
        FROM crm_service v WHERE v.source = c.source AND v.customer_external_id = c.external_id
         AND v.deleted_at IS NULL), '[]'::jsonb),
    'invoices', coalesce((SELECT jsonb_agg(jsonb_build_object(
        'id', i.id, 'external_id', i.external_id, 'number', i.number, 'status', i.status,
        'total', i.total, 'due', i.due, 'date_created', i.date_created, 'date_till', i.date_till,
        'overdue', i.date_till < current_date) ORDER BY i.date_till NULLS LAST, i.external_id)
        FROM crm_invoice i WHERE i.source = c.source AND i.customer_external_id = c.external_id
         AND i.deleted_at IS NULL AND i.status = 'not_paid'), '[]'::jsonb),
    'open_amount', coalesce((SELECT sum(i.due) FROM crm_invoice i WHERE i.source = c.source
         AND i.customer_external_id = c.external_id AND i.deleted_at IS NULL
         AND i.status = 'not_paid'), 0),
    'overdue_amount', coalesce((SELECT sum(i.due) FROM crm_invoice i WHERE i.source = c.source
         AND i.customer_external_id = c.external_id AND i.deleted_at IS NULL
         AND i.status = 'not_paid' AND i.date_till < current_date), 0),
    'tickets', coalesce((SELECT jsonb_agg(jsonb_build_object(
        'id', t.id, 'external_id', t.external_id, 'subject', t.subject, 'priority', t.priority,
        'opened_at', t.opened_at, 'changed_at', t.changed_at) ORDER BY t.external_id DESC)
        FROM crm_ticket t WHERE t.source = c.source AND t.customer_external_id = c.external_id
         AND t.deleted_at IS NULL AND NOT t.closed), '[]'::jsonb))
FROM crm_customer c JOIN crm_source s ON s.id = c.source
WHERE c.id = customer_id
$fn$;
"""

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [*TABLES, CONTACT_CUSTOMERS, CUSTOMER_CONTACTS, CONTACT_FACTS, CUSTOMER_JSON, CARD_JSON],
)
