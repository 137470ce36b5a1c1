"""Routing: capacity, skills, team assignment policies, presence, and the assignment history.

`team.assignment` is how a team's waiting conversations find an agent (manual, round_robin,
least_loaded); `team.max_open` the open conversations an agent of the team takes at most
(`team_member.max_open` overrides it per agent; 0 means never auto-assign). `agent.seen_at` is
refreshed by the web processes while the agent has a socket open, so an agent whose sockets are
all gone (a closed laptop, a crashed process) goes away after HUB_AWAY_AFTER_SECONDS.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-03T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "routing: team policies, capacity, skills, presence, assignment history"

STATEMENTS = [
    """ALTER TABLE team
        ADD COLUMN assignment text NOT NULL DEFAULT 'manual'
            CHECK (assignment IN ('manual', 'round_robin', 'least_loaded')),
        ADD COLUMN max_open integer NOT NULL DEFAULT 20 CHECK (max_open >= 0),
        ADD COLUMN unassign_on_away boolean NOT NULL DEFAULT true""",
    """ALTER TABLE team_member
        ADD COLUMN max_open integer CHECK (max_open >= 0),
        ADD COLUMN last_assigned_at timestamptz""",
    """ALTER TABLE agent
        ADD COLUMN skills text[] NOT NULL DEFAULT '{}',
        ADD COLUMN seen_at timestamptz,
        ADD COLUMN availability_changed_at timestamptz NOT NULL DEFAULT now()""",
    "ALTER TABLE conversation ADD COLUMN requirements text[] NOT NULL DEFAULT '{}'",
    """CREATE TABLE conversation_assignment (
        id bigserial PRIMARY KEY,
        conversation integer NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        agent integer REFERENCES agent (id) ON DELETE SET NULL,
        previous_agent integer REFERENCES agent (id) ON DELETE SET NULL,
        team integer REFERENCES team (id) ON DELETE SET NULL,
        by_type text NOT NULL,  -- agent | policy | away | automation | system
        by_agent integer REFERENCES agent (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now())""",
    "CREATE INDEX conversation_assignment_conversation_idx ON conversation_assignment (conversation, id)",
    # A team's queue: unassigned open conversations, most urgent then longest waiting first.
    "CREATE INDEX conversation_queue_idx ON conversation (team, created_at, id)"
    " WHERE assignee IS NULL AND status = 'open'",
    # The load of an agent: open conversations assigned to them.
    "CREATE INDEX conversation_load_idx ON conversation (assignee) WHERE status IN ('open', 'pending')",
    "INSERT INTO event_cursor (subscriber, last_id) SELECT 'routing', coalesce(max(id), 0) FROM event",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
