"""scoring as data: the points of each fact of a lead and the temperature and class
thresholds, per audience (b2b, b2c) and for a sector an admin gives its own; each
sector's audience

Revision ID: 0019
Revises: 0018

The two default models hold the points the code used until now (b2b), and the same
without the company's facts (b2c), so that no score changes with the migration: every
seeded sector stays b2b.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

B2B_POINTS = {
    "intent:quote_request": 40,
    "intent:demo_request": 35,
    "intent:callback_request": 35,
    "intent:webinar": 20,
    "intent:whitepaper": 15,
    "intent:newsletter": 5,
    "phone_given": 10,
    "company_given": 10,
    "location_given": 5,
    "detailed_message": 5,
    "timeframe:now": 15,
    "timeframe:3_months": 10,
    "timeframe:6_months": 5,
    "timeframe:later": 0,
    "budget:lt_1k": 2,
    "budget:1k_5k": 5,
    "budget:5k_20k": 8,
    "budget:20k_100k": 10,
    "budget:gt_100k": 10,
    "company_size:1": 2,
    "company_size:2_9": 4,
    "company_size:10_49": 6,
    "company_size:50_249": 8,
    "company_size:250_999": 10,
    "company_size:1000_plus": 10,
}
B2C_POINTS = {
    fact: points
    for fact, points in B2B_POINTS.items()
    if not fact.startswith(("company_size:", "company_given"))
}


def upgrade():
    with op.batch_alter_table("sectors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audience", sa.String(length=3), nullable=False, server_default="b2b")
        )
        batch_op.create_check_constraint(
            op.f("ck_sectors_audience_known"), "audience IN ('b2b', 'b2c')"
        )
    models = op.create_table(
        "scoring_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("sector_id", sa.Integer(), nullable=True),
        sa.Column("audience", sa.String(length=3), nullable=False),
        sa.Column("points", JSON, nullable=False),
        sa.Column("warm_from", sa.Integer(), nullable=False),
        sa.Column("hot_from", sa.Integer(), nullable=False),
        sa.Column("sql_from", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "0 < warm_from AND warm_from < hot_from AND hot_from <= 100",
            name=op.f("ck_scoring_models_order"),
        ),
        sa.CheckConstraint(
            "sql_from BETWEEN 1 AND 100", name=op.f("ck_scoring_models_sql_from_range")
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_scoring_models_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_models")),
        sa.UniqueConstraint("scope", name=op.f("uq_scoring_models_scope")),
        sa.UniqueConstraint("sector_id", name=op.f("uq_scoring_models_sector_id")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        models,
        [
            {
                "scope": audience,
                "sector_id": None,
                "audience": audience,
                "points": points,
                "warm_from": 40,
                "hot_from": 70,
                "sql_from": 60,
                "updated_at": now,
            }
            for audience, points in (("b2b", B2B_POINTS), ("b2c", B2C_POINTS))
        ],
    )


def downgrade():
    op.drop_table("scoring_models")
    with op.batch_alter_table("sectors", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sectors_audience_known"), type_="check")
        batch_op.drop_column("audience")
