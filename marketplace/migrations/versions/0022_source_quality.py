"""source quality: each publisher's and each magnet's evidence from buyers' verdicts and
its score, the score's weekly trend, the platform's priors and payout bounds, and a
campaign's minimum source quality (docs/quality.md)

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "source_quality",
        sa.Column("source_key", sa.String(length=40), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("magnet_id", sa.Integer(), nullable=True),
        sa.Column("sales", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.Column("rating_sum", sa.Integer(), nullable=False),
        sa.Column("accepted_returns", sa.Integer(), nullable=False),
        sa.Column("won", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("payout_multiplier_bps", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_source_quality_score_range")),
        sa.CheckConstraint(
            "payout_multiplier_bps > 0", name=op.f("ck_source_quality_multiplier_positive")
        ),
        sa.ForeignKeyConstraint(
            ["magnet_id"],
            ["lead_magnets.id"],
            name=op.f("fk_source_quality_magnet_id_lead_magnets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["publisher_id"],
            ["organizations.id"],
            name=op.f("fk_source_quality_publisher_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_key", name=op.f("pk_source_quality")),
        sa.UniqueConstraint("magnet_id", name=op.f("uq_source_quality_magnet_id")),
    )
    with op.batch_alter_table("source_quality", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_quality_publisher_id"), ["publisher_id"], unique=False
        )
    op.create_table(
        "source_quality_weeks",
        sa.Column("source_key", sa.String(length=40), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source_key", "week_start", name=op.f("pk_source_quality_weeks")),
    )
    settings = op.create_table(
        "quality_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prior_rating_tenths", sa.Integer(), nullable=False),
        sa.Column("prior_weight", sa.Integer(), nullable=False),
        sa.Column("payout_min_bps", sa.Integer(), nullable=False),
        sa.Column("payout_max_bps", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "prior_rating_tenths BETWEEN 10 AND 50",
            name=op.f("ck_quality_settings_prior_rating_range"),
        ),
        sa.CheckConstraint(
            "prior_weight BETWEEN 1 AND 1000", name=op.f("ck_quality_settings_prior_weight_range")
        ),
        sa.CheckConstraint(
            "payout_min_bps BETWEEN 5000 AND 10000 AND payout_max_bps BETWEEN 10000 AND 15000",
            name=op.f("ck_quality_settings_payout_bounds_range"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"],
            ["users.id"],
            name=op.f("fk_quality_settings_updated_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_settings")),
    )
    op.bulk_insert(
        settings,
        [
            {
                "id": 1,
                "prior_rating_tenths": 35,
                "prior_weight": 10,
                "payout_min_bps": 9000,
                "payout_max_bps": 11000,
            }
        ],
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("min_source_quality", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_check_constraint(
            "min_source_quality_range", "min_source_quality BETWEEN 0 AND 100"
        )


def downgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaigns_min_source_quality_range"), type_="check")
        batch_op.drop_column("min_source_quality")
    op.drop_table("quality_settings")
    op.drop_table("source_quality_weeks")
    with op.batch_alter_table("source_quality", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_quality_publisher_id"))
    op.drop_table("source_quality")
