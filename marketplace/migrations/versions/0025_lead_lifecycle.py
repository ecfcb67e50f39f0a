"""lead lifecycle and two scoring facts: a lead's earlier visits (the same person's
leads before it), the earlier lead it recycles, why it was disqualified; the points of
the job level and of earlier visits in the seeded scoring models; the temperature back
to a temperature (cold, warm, hot)

Revision ID: 0025
Revises: 0024

Temperature held two lifecycle words, "disqualified" and "recycled", that nothing set:
a lead's place in its life is now told by disqualified_for and recycled_from_id, and a
recycled lead has a temperature like any other. A row that held one of them (hand-made
data) gets the temperature of its score by the default thresholds (warm from 40, hot
from 70).

Scores change for the leads distributed from now on that carry a job title or come from
a returning person: the companies' model (b2b) gives a manager 4, a director 7, an
executive 10 (other roles 0), and one, two, three or more earlier visits 5, 8, 10; the
consumers' model (b2c) gives the same for earlier visits and nothing for a job level.
"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

JOB_LEVEL_POINTS = {
    "job_level:other": 0,
    "job_level:manager": 4,
    "job_level:director": 7,
    "job_level:executive": 10,
}
EARLIER_VISITS_POINTS = {
    "earlier_visits:1": 5,
    "earlier_visits:2": 8,
    "earlier_visits:3_plus": 10,
}


def _new_points(audience: str) -> dict:
    if audience == "b2b":
        return {**JOB_LEVEL_POINTS, **EARLIER_VISITS_POINTS}
    return {**{fact: 0 for fact in JOB_LEVEL_POINTS}, **EARLIER_VISITS_POINTS}


def _update_models(change) -> None:
    connection = op.get_bind()
    models = sa.table(
        "scoring_models",
        sa.column("id", sa.Integer),
        sa.column("audience", sa.String),
        sa.column("points", sa.JSON),
    )
    for model_id, audience, points in connection.execute(
        sa.select(models.c.id, models.c.audience, models.c.points)
    ).all():
        if isinstance(points, str):  # SQLite hands JSON back as text through a bare table
            points = json.loads(points)
        connection.execute(
            models.update()
            .where(models.c.id == model_id)
            .values(points=change(dict(points), audience))
        )


def upgrade():
    op.add_column(
        "leads",
        sa.Column("earlier_visits", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("leads", sa.Column("disqualified_for", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE leads SET temperature = CASE WHEN score >= 70 THEN 'hot' "
        "WHEN score >= 40 THEN 'warm' WHEN score IS NOT NULL THEN 'cold' END "
        "WHERE temperature IN ('disqualified', 'recycled')"
    )
    # SQLite changes a constraint by copying the table (the batch); PostgreSQL in place.
    with op.batch_alter_table("leads") as batch_op:
        batch_op.add_column(sa.Column("recycled_from_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_leads_recycled_from_id_leads"),
            "leads",
            ["recycled_from_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint(op.f("ck_leads_temperature"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_leads_temperature"), "temperature IN ('cold', 'warm', 'hot')"
        )
    _update_models(lambda points, audience: {**points, **_new_points(audience)})


def downgrade():
    _update_models(
        lambda points, audience: {
            fact: value
            for fact, value in points.items()
            if not fact.startswith(("job_level:", "earlier_visits:"))
        }
    )
    with op.batch_alter_table("leads") as batch_op:
        batch_op.drop_constraint(op.f("ck_leads_temperature"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_leads_temperature"),
            "temperature IN ('cold', 'warm', 'hot', 'disqualified', 'recycled')",
        )
        batch_op.drop_constraint(op.f("fk_leads_recycled_from_id_leads"), type_="foreignkey")
        batch_op.drop_column("disqualified_for")
        batch_op.drop_column("recycled_from_id")
        batch_op.drop_column("earlier_visits")
