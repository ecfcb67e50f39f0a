"""partner lists: one stored list shared by the consent records that showed it

Revision ID: 0007
Revises: 0006
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _digest(partners) -> str:
    canonical = json.dumps(partners, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def upgrade():
    op.create_table(
        "partner_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("partners", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_lists")),
        sa.UniqueConstraint("sha256", name=op.f("uq_partner_lists_sha256")),
    )
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_list_id", sa.Integer(), nullable=True))

    # Each distinct list kept inline so far becomes one row that its records point at.
    connection = op.get_bind()
    records = sa.table("consent_records", sa.column("id", sa.Integer),
                       sa.column("partners", JSON), sa.column("partner_list_id", sa.Integer),
                       sa.column("consented_at", sa.DateTime(timezone=True)))
    lists = sa.table("partner_lists", sa.column("id", sa.Integer), sa.column("sha256", sa.String),
                     sa.column("partners", JSON),
                     sa.column("created_at", sa.DateTime(timezone=True)))
    ids_by_digest = {}
    rows = connection.execute(
        sa.select(records.c.id, records.c.partners, records.c.consented_at)
    ).all()
    for record_id, partners, consented_at in rows:
        digest = _digest(partners)
        if digest not in ids_by_digest:
            ids_by_digest[digest] = connection.execute(
                sa.insert(lists)
                .values(sha256=digest, partners=partners, created_at=consented_at)
                .returning(lists.c.id)
            ).scalar_one()
        connection.execute(
            sa.update(records).where(records.c.id == record_id)
            .values(partner_list_id=ids_by_digest[digest])
        )

    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.alter_column("partner_list_id", nullable=False)
        batch_op.create_index(batch_op.f("ix_consent_records_partner_list_id"),
                              ["partner_list_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_consent_records_partner_list_id_partner_lists"),
                                    "partner_lists", ["partner_list_id"], ["id"])
        batch_op.drop_column("partners")


def downgrade():
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partners", JSON, nullable=True))
    op.execute(
        "UPDATE consent_records SET partners = (SELECT partners FROM partner_lists "
        "WHERE partner_lists.id = consent_records.partner_list_id)"
    )
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.alter_column("partners", nullable=False)
        batch_op.drop_constraint(batch_op.f("fk_consent_records_partner_list_id_partner_lists"),
                                 type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_consent_records_partner_list_id"))
        batch_op.drop_column("partner_list_id")
    op.drop_table("partner_lists")
