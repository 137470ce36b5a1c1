"""Custom roles and an append-only audit log.

`role` holds the system roles (permissions fixed in hub.auth.permissions) and admin-defined ones
(permissions listed here). `agent.role` references it, so a role in use cannot be deleted. The
audit log refuses UPDATE and DELETE through a trigger; reading it by time and by actor is indexed.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-04T02:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "custom roles (role table, agent.role references it); append-only audit log"

STATEMENTS = [
    """CREATE TABLE role (
        key varchar(40) PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_-]{1,39}$'),
        name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
        description text NOT NULL DEFAULT '',
        permissions text[] NOT NULL DEFAULT '{}',
        system boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now())""",
    "INSERT INTO role (key, name, system) VALUES ('admin', 'Admin', true),"
    " ('supervisor', 'Supervisor', true), ('agent', 'Agent', true)",
    "ALTER TABLE agent ALTER COLUMN role TYPE varchar(40)",
    # Any role an older version allowed is a system role; anything else becomes an agent.
    "UPDATE agent SET role = 'agent' WHERE role NOT IN ('admin', 'supervisor', 'agent')",
    "ALTER TABLE agent ADD CONSTRAINT agent_role_fkey FOREIGN KEY (role) REFERENCES role (key)"
    " ON UPDATE CASCADE ON DELETE RESTRICT",
    "CREATE INDEX agent_role_idx ON agent (role)",
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE INDEX audit_log_created_idx ON audit_log (created_at, id)",
    "CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id)",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
