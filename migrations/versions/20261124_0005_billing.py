"""billing: Stripe customers, applied events, credit purchases, subscriptions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 06:58:30.897002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "billing_customers",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_billing_customers_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_billing_customers")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_billing_customers_stripe_customer_id")),
    )
    op.create_table(
        "credit_purchases",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("product_id", sa.String(length=100), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("amount_paid", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("payment_intent", sa.String(length=100), nullable=True),
        sa.Column("amount_refunded", sa.Integer(), nullable=False),
        sa.Column("credits_taken_back", sa.Integer(), nullable=False),
        sa.Column("credits_already_spent", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_purchases_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_purchases")),
    )
    with op.batch_alter_table("credit_purchases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_purchases_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_credit_purchases_payment_intent"), ["payment_intent"], unique=False
        )

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("plan_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("last_event_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_subscriptions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_account_id"))

    op.drop_table("subscriptions")
    with op.batch_alter_table("credit_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_purchases_payment_intent"))
        batch_op.drop_index(batch_op.f("ix_credit_purchases_account_id"))

    op.drop_table("credit_purchases")
    op.drop_table("billing_customers")
    op.drop_table("stripe_events")
