"""the person's housing: whether they own the home the works are for (owner, tenant,
other), a lead's answer and a scoring fact in degrees

Revision ID: 0026
Revises: 0025

Scores change for the leads distributed from now on that carry the answer: the
consumers' model (b2c) gives an owner 10, a tenant 3, another case 0 (an owner decides
on the works and pays for them; a tenant needs the landlord's consent); the companies'
model (b2b) gives nothing for it. A sector's own model gets the points of its audience.
"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

B2C_HOUSING_POINTS = {"housing:other": 0, "housing:tenant": 3, "housing:owner": 10}


def _new_points(audience: str) -> dict:
    if audience == "b2c":
        return dict(B2C_HOUSING_POINTS)
    return dict.fromkeys(B2C_HOUSING_POINTS, 0)


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
    op.add_column("leads", sa.Column("housing", sa.String(length=10), nullable=True))
    _update_models(lambda points, audience: {**points, **_new_points(audience)})


def downgrade():
    _update_models(
        lambda points, audience: {
            fact: value for fact, value in points.items() if not fact.startswith("housing:")
        }
    )
    op.drop_column("leads", "housing")
