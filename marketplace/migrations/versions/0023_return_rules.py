"""returns that decide themselves: the rules an admin edits (return_rules, seeded with
the platform's flags on and a 15 % return cap on), which rule accepted a dispute
(disputes.decided_by_rule), and the permanent refusals of our e-mails by address hash
(mail_refusals)

Revision ID: 0023
Revises: 0022
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

DECIDING_RULES = (
    "duplicate_found_later",
    "suppressed_person",
    "erased_contact",
    "bounced_email",
    "return_cap",
)
# 15 %: the return cap the trade applies to a buyer's month of leads.
DEFAULT_RETURN_CAP_PERCENT = 15


def upgrade():
    rules = op.create_table(
        "return_rules",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("parameter", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "parameter IS NULL OR parameter BETWEEN 0 AND 100",
            name=op.f("ck_return_rules_parameter_range"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_return_rules")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        rules,
        [
            {"key": "platform_flagged", "enabled": True, "parameter": None, "updated_at": now},
            {
                "key": "return_cap",
                "enabled": True,
                "parameter": DEFAULT_RETURN_CAP_PERCENT,
                "updated_at": now,
            },
        ],
    )
    op.create_table(
        "mail_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("smtp_code", sa.Integer(), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_refusals")),
    )
    with op.batch_alter_table("mail_refusals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mail_refusals_address_hash"), ["address_hash"], unique=False
        )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by_rule", sa.String(length=32), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_disputes_decided_by_rule_known"),
            "decided_by_rule IS NULL OR decided_by_rule IN ("
            + ", ".join(f"'{rule}'" for rule in DECIDING_RULES)
            + ")",
        )


def downgrade():
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_disputes_decided_by_rule_known"), type_="check")
        batch_op.drop_column("decided_by_rule")
    with op.batch_alter_table("mail_refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_refusals_address_hash"))
    op.drop_table("mail_refusals")
    op.drop_table("return_rules")
