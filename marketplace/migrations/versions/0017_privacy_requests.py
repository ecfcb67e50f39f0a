"""privacy requests: the person's phone hash and language, who decided, each request's
history, and the notices that tell every buyer of an erasure or a rectification

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("gdpr_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("locale", sa.String(length=5), nullable=False, server_default="fr")
        )
        batch_op.add_column(sa.Column("decided_by_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_gdpr_requests_decided_by_user_id_users",
            "users",
            ["decided_by_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "privacy_request_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["gdpr_requests.id"],
            name=op.f("fk_privacy_request_events_request_id_gdpr_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_privacy_request_events_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_request_events")),
    )
    op.create_index(
        op.f("ix_privacy_request_events_request_id"),
        "privacy_request_events",
        ["request_id"],
        unique=False,
    )
    op.create_table(
        "recipient_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["gdpr_requests.id"],
            name=op.f("fk_recipient_notices_request_id_gdpr_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"],
            ["sales.id"],
            name=op.f("fk_recipient_notices_sale_id_sales"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["organizations.id"],
            name=op.f("fk_recipient_notices_buyer_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_recipient_notices_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipient_notices")),
        sa.UniqueConstraint(
            "sale_id",
            "kind",
            "request_id",
            name=op.f("uq_recipient_notices_sale_id_kind_request_id"),
        ),
    )
    op.create_index(
        op.f("ix_recipient_notices_buyer_id"), "recipient_notices", ["buyer_id"], unique=False
    )
    op.create_index(
        op.f("ix_recipient_notices_lead_id"), "recipient_notices", ["lead_id"], unique=False
    )


def downgrade():
    op.drop_table("recipient_notices")
    op.drop_table("privacy_request_events")
    with op.batch_alter_table("gdpr_requests", schema=None) as batch_op:
        batch_op.drop_constraint("fk_gdpr_requests_decided_by_user_id_users", type_="foreignkey")
        batch_op.drop_column("decided_by_user_id")
        batch_op.drop_column("locale")
        batch_op.drop_column("phone_hash")
