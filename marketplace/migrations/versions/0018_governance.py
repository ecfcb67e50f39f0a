"""governance: why an organization is held, the leads held for it, a delivery's occasion (a second rectification is told too), (awaiting approval or suspended) and since
when, each sector's return window, and the audit trail's search indexes

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


# The audit trail is append-only: the database refuses to change or delete an event.
# SQLite (the laptop default) refuses the changes; its test runs empty the tables
# between tests with DELETE, so it lets deletions through.
PG_APPEND_ONLY = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
"""
SQLITE_APPEND_ONLY = """
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused');
END
"""


def upgrade():
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("standing_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_for", sa.String(length=40), nullable=True))
    with op.batch_alter_table("sectors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_window_days", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_sectors_return_window_range"),
            "return_window_days IS NULL OR (return_window_days >= 0 AND return_window_days <= 90)",
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("occasion", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.drop_constraint("uq_deliveries_sale_id_channel_event", type_="unique")
        batch_op.create_unique_constraint(
            "uq_deliveries_sale_id_channel_event_occasion",
            ["sale_id", "channel", "event", "occasion"],
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_action", ["action", "id"], unique=False)
        batch_op.create_index("ix_audit_events_actor_user", ["actor_user_id", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_events_actor_organization", ["actor_organization_id", "id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_APPEND_ONLY)
    else:
        op.execute(SQLITE_APPEND_ONLY)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER audit_events_append_only")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_deliveries_sale_id_channel_event_occasion", type_="unique")
        batch_op.create_unique_constraint(
            "uq_deliveries_sale_id_channel_event", ["sale_id", "channel", "event"]
        )
        batch_op.drop_column("occasion")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_actor_organization")
        batch_op.drop_index("ix_audit_events_actor_user")
        batch_op.drop_index("ix_audit_events_action")
    with op.batch_alter_table("sectors", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sectors_return_window_range"), type_="check")
        batch_op.drop_column("return_window_days")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("held_for")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("standing_reason")
        batch_op.drop_column("suspended_at")
