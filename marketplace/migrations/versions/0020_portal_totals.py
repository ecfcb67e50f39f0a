"""portal totals: each organization's balance per currency and each buyer's number of
purchases, kept by the database at every ledger entry and sale; the lead's sector
copied onto its sales

Revision ID: 0020
Revises: 0019

The balance and the count are kept by triggers, in the transaction of each insert,
whichever code writes the row (the distribution's one-statement rounds, the
catalogue, disputes, credits, payouts, the ORM, COPY): one rule, in one place. On
PostgreSQL the triggers run once per statement over its new rows (a transition table),
adding them up per organization in organization order, so that two rounds selling to
the same buyers lock their totals in the same order and cannot deadlock. SQLite runs
them per row (it has one writer at a time).

The ledger is append-only (its amounts, currencies and organizations are never
updated nor deleted): the triggers only add. ``billing.ledger.summed_balances`` adds
the ledger up, for the tests and the reconciliation that compare the two.

On PostgreSQL the triggers are created, then the totals added up, in the migration's
transaction: creating a trigger locks its table against writes until the commit, so
no row is counted twice or missed. Filling ``sales.sector_id`` rewrites every sale
(about 2 minutes for 2,500,000 on the bench machine) while the sales are locked: run
it when no worker sells (the code of a release before it cannot write sales after it:
the column is NOT NULL).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

SALES_INCLUDE_0016 = [
    "lead_id", "campaign_id", "price_cents", "rating_stars", "outcome", "outcome_amount_cents"
]
SALES_INCLUDE = [
    "lead_id", "campaign_id", "sector_id", "price_cents", "rating_stars", "outcome",
    "outcome_amount_cents",
]

POSTGRESQL_TRIGGERS = """
CREATE FUNCTION ledger_balances_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_balances AS b (organization_id, currency, balance_cents)
    SELECT organization_id, currency, sum(amount_cents) FROM added
    GROUP BY organization_id, currency ORDER BY organization_id, currency
    ON CONFLICT (organization_id, currency)
    DO UPDATE SET balance_cents = b.balance_cents + excluded.balance_cents;
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_balances_add AFTER INSERT ON ledger_entries
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ledger_balances_add();

CREATE FUNCTION purchase_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO purchase_counts AS c (buyer_id, purchases)
    SELECT buyer_id, count(*) FROM added GROUP BY buyer_id ORDER BY buyer_id
    ON CONFLICT (buyer_id) DO UPDATE SET purchases = c.purchases + excluded.purchases;
    RETURN NULL;
END
$$;
CREATE TRIGGER purchase_counts_add AFTER INSERT ON sales
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION purchase_counts_add();
"""

SQLITE_TRIGGERS = (
    """
CREATE TRIGGER ledger_balances_add AFTER INSERT ON ledger_entries
BEGIN
    INSERT INTO ledger_balances (organization_id, currency, balance_cents)
    VALUES (NEW.organization_id, NEW.currency, NEW.amount_cents)
    ON CONFLICT (organization_id, currency)
    DO UPDATE SET balance_cents = balance_cents + excluded.balance_cents;
END
""",
    """
CREATE TRIGGER purchase_counts_add AFTER INSERT ON sales
BEGIN
    INSERT INTO purchase_counts (buyer_id, purchases) VALUES (NEW.buyer_id, 1)
    ON CONFLICT (buyer_id) DO UPDATE SET purchases = purchases + 1;
END
""",
)

BACKFILL = (
    "INSERT INTO ledger_balances (organization_id, currency, balance_cents) "
    "SELECT organization_id, currency, sum(amount_cents) FROM ledger_entries "
    "GROUP BY organization_id, currency",
    "INSERT INTO purchase_counts (buyer_id, purchases) "
    "SELECT buyer_id, count(*) FROM sales GROUP BY buyer_id",
)


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    # The lead's sector on its sales.
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sector_id", sa.Integer(), nullable=True))
    if postgresql:
        op.execute("SET LOCAL work_mem = '256MB'")
        op.execute(
            "UPDATE sales SET sector_id = leads.sector_id FROM leads WHERE leads.id = sales.lead_id"
        )
    else:
        op.execute(
            "UPDATE sales SET sector_id = (SELECT sector_id FROM leads WHERE leads.id = sales.lead_id)"
        )
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.alter_column("sector_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_sales_sector_id_sectors"), "sectors", ["sector_id"], ["id"],
            ondelete="RESTRICT",
        )
    # The totals, after the sales' column: SQLite's batch copies the table, without
    # its triggers.
    op.create_table(
        "ledger_balances",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_ledger_balances_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("organization_id", "currency", name=op.f("pk_ledger_balances")),
    )
    op.create_table(
        "purchase_counts",
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["organizations.id"],
            name=op.f("fk_purchase_counts_buyer_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("buyer_id", name=op.f("pk_purchase_counts")),
    )
    if postgresql:
        op.execute(POSTGRESQL_TRIGGERS)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    for statement in BACKFILL:
        op.execute(statement)

    if not postgresql:
        return  # SQLite's index has the key columns only: unchanged
    # The buyer's index with the sector among its included columns: the dashboard's
    # sectors and the inbox's sector filter without a look-up of each lead.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_sales_buyer_id_created_at_id_new", "sales", ["buyer_id", "created_at", "id"],
            postgresql_include=SALES_INCLUDE, postgresql_concurrently=True,
        )
        op.drop_index(
            "ix_sales_buyer_id_created_at_id", table_name="sales", postgresql_concurrently=True
        )
    op.execute(
        "ALTER INDEX ix_sales_buyer_id_created_at_id_new RENAME TO ix_sales_buyer_id_created_at_id"
    )


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_sales_buyer_id_created_at_id_old", "sales",
                ["buyer_id", "created_at", "id"],
                postgresql_include=SALES_INCLUDE_0016, postgresql_concurrently=True,
            )
            op.drop_index(
                "ix_sales_buyer_id_created_at_id", table_name="sales",
                postgresql_concurrently=True,
            )
        op.execute(
            "ALTER INDEX ix_sales_buyer_id_created_at_id_old "
            "RENAME TO ix_sales_buyer_id_created_at_id"
        )
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_sales_sector_id_sectors"), type_="foreignkey")
        batch_op.drop_column("sector_id")
    op.execute("DROP TRIGGER IF EXISTS purchase_counts_add" + (" ON sales" if postgresql else ""))
    op.execute(
        "DROP TRIGGER IF EXISTS ledger_balances_add" + (" ON ledger_entries" if postgresql else "")
    )
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS purchase_counts_add()")
        op.execute("DROP FUNCTION IF EXISTS ledger_balances_add()")
    op.drop_table("purchase_counts")
    op.drop_table("ledger_balances")
