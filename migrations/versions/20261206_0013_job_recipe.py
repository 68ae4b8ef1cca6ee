"""jobs: the recipe that ran (a clean-up then the upscaler, or a blend of two at a `detail`)

A job ran one model; a preset may now run a pipeline (a 1x clean-up, then the upscaler) or mix two at the
`detail` the request asked for. `recipe` is the JSON of models/recipe.py (null: the one model the row
names), `detail` the detail applied (null where none applies).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipe", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("detail")
        batch_op.drop_column("recipe")
