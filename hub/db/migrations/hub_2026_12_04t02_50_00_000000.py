"""Login: OIDC single sign-on, TOTP two-factor, password reset, session idle expiry.

Secrets the hub must read back (a TOTP seed, an OIDC client secret) are encrypted with the
instance secret like channel settings; tokens it only has to recognise (reset links, recovery
codes, pending logins, OIDC states) are stored as sha256 hashes.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-04T02:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "OIDC providers and identities, TOTP, recovery codes, password resets, sessions"

STATEMENTS = [
    # Idle expiry needs to know when a session was last used; `method` says how it was opened.
    "ALTER TABLE agent_session ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now()",
    "ALTER TABLE agent_session ADD COLUMN method text NOT NULL DEFAULT 'password'",
    "CREATE INDEX agent_session_agent_idx ON agent_session (agent)",
    """CREATE TABLE agent_totp (
        agent integer PRIMARY KEY REFERENCES agent (id) ON DELETE CASCADE,
        secret_encrypted text NOT NULL,
        confirmed_at timestamptz,
        last_step bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE agent_recovery_code (
        id serial PRIMARY KEY,
        agent integer NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
        code_sha256 text NOT NULL,
        used_at timestamptz,
        CONSTRAINT agent_recovery_code_once UNIQUE (agent, code_sha256))""",
    # The password was right, the second factor is still to come: not a session.
    """CREATE TABLE pending_login (
        token_sha256 text PRIMARY KEY,
        agent integer NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
        method text NOT NULL,
        ip text NOT NULL DEFAULT '',
        user_agent text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL)""",
    """CREATE TABLE password_reset (
        id bigserial PRIMARY KEY,
        agent integer NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
        token_sha256 text NOT NULL UNIQUE,
        ip text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz)""",
    """CREATE TABLE oidc_provider (
        id serial PRIMARY KEY,
        key text NOT NULL UNIQUE CHECK (key ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
        name text NOT NULL,
        discovery_url text NOT NULL,
        client_id text NOT NULL,
        secret_encrypted text NOT NULL,
        scopes text NOT NULL DEFAULT 'openid email profile',
        enabled boolean NOT NULL DEFAULT true,
        auto_provision boolean NOT NULL DEFAULT false,
        default_role text NOT NULL DEFAULT 'agent',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now())""",
    # One sign-in in flight: the browser holds the state (signed cookie), the hub the rest.
    """CREATE TABLE oidc_flow (
        state_sha256 text PRIMARY KEY,
        provider integer NOT NULL REFERENCES oidc_provider (id) ON DELETE CASCADE,
        nonce text NOT NULL,
        code_verifier text NOT NULL,
        next text NOT NULL DEFAULT '/inbox',
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz)""",
    """CREATE TABLE agent_identity (
        provider integer NOT NULL REFERENCES oidc_provider (id) ON DELETE CASCADE,
        subject text NOT NULL,
        agent integer NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
        email text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_login_at timestamptz,
        PRIMARY KEY (provider, subject))""",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
