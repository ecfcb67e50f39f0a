"""the person's leads by phone looked up per sector and date: a capture's recycling look-up
by phone reads the sector's window, not every lead ever left with that phone

Revision ID: 0029
Revises: 0028

Replaces ``ix_leads_phone_hash`` (phone_hash) by (phone_hash, sector_id, created_at),
as the e-mail's ``ix_leads_email_hash_sector``. A capture looks for the person's earlier
lead in the sector between the two windows' starts (marketplace/capture/store.py); by
phone it read every lead of the phone, then filtered: a phone posted thousands of times
(a test number, a dummy number a form fills in, a flood) made each capture slower than the
last (5,000 captures sharing a phone: the look-up read 5,000 rows each). The look-ups
by phone alone (privacy, the catalogue's "already has this person") read the leading
column as before; a lead still writes as many index entries. Built CONCURRENTLY on
PostgreSQL: leads go on being captured meanwhile.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

NEW = ("ix_leads_phone_hash_sector", ["phone_hash", "sector_id", "created_at"])
OLD = ("ix_leads_phone_hash", ["phone_hash"])


def _swap(add, drop):
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(add[0], "leads", add[1])
        op.drop_index(drop[0], table_name="leads")
        return
    with op.get_context().autocommit_block():
        op.create_index(add[0], "leads", add[1], postgresql_concurrently=True)
        op.drop_index(drop[0], table_name="leads", postgresql_concurrently=True)


def upgrade():
    _swap(NEW, OLD)


def downgrade():
    _swap(OLD, NEW)
