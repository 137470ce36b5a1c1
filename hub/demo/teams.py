"""Demo teams: the Billing team (made empty by the demo rules, hub.demo.automation) gets a policy
and members whose capacity differs from the team's, so the agents admin page and the workload
page have something to show."""

from __future__ import annotations

from hub.db.engine import connection_pool


async def seed_teams(first_line: int, *, bianca: int, sam: int) -> int:
    """Billing assigns least loaded, 10 each: Bianca (8) and Sam (3, busy); Bianca also helps
    the first line, at most 5 at a time. The id of the Billing team."""
    pool = connection_pool()
    async with pool.acquire() as conn, conn.transaction():
        billing = await conn.fetchval(
            "UPDATE team SET assignment = 'least_loaded', max_open = 10, unassign_on_away = true"
            " WHERE name = 'Billing' RETURNING id"
        )
        if billing is None:
            billing = await conn.fetchval(
                "INSERT INTO team (name, assignment, max_open) VALUES ('Billing', 'least_loaded',"
                " 10) RETURNING id"
            )
        await conn.executemany(
            "INSERT INTO team_member (team, agent, max_open) VALUES ($1, $2, $3)"
            " ON CONFLICT (team, agent) DO UPDATE SET max_open = excluded.max_open",
            [(billing, bianca, 8), (billing, sam, 3), (first_line, bianca, 5)],
        )
        await conn.execute("UPDATE agent SET availability = 'busy' WHERE id = $1", sam)
    return int(billing)
