"""magnet views per hour: how many times each variant of a magnet's form was shown, per
hour (UTC), so that the publisher's results can count views per day in the reader's
timezone (docs/capture.md, "A magnet's results")

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    # The views before this migration are only in the all-time counters
    # (lead_magnets.views_a, views_b): they belong to no hour, and are not spread over any.
    op.create_table(
        "magnet_views",
        sa.Column("magnet_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("variant", sa.String(length=1), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.CheckConstraint("variant IN ('a', 'b')", name=op.f("ck_magnet_views_variant_known")),
        sa.CheckConstraint("views > 0", name=op.f("ck_magnet_views_views_positive")),
        sa.ForeignKeyConstraint(
            ["magnet_id"],
            ["lead_magnets.id"],
            name=op.f("fk_magnet_views_magnet_id_lead_magnets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("magnet_id", "hour", "variant", name=op.f("pk_magnet_views")),
    )


def downgrade():
    op.drop_table("magnet_views")
