"""label checks table and metric lookup index

Adds ``label_checks``, where the startup integrity check stores every label
version whose file is missing, unreadable or differs from its stored hash,
and an index on run_metrics (run_id, name) for reading one metric curve.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 23:20:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["label_id"], ["labels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("label_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_checks_label_id"), ["label_id"], unique=False)
    with op.batch_alter_table("run_metrics", schema=None) as batch_op:
        batch_op.create_index("ix_run_metrics_run_id_name", ["run_id", "name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_run_metrics_run_id_name")
    with op.batch_alter_table("label_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_checks_label_id"))
    op.drop_table("label_checks")
