"""Submissions: one row per upload through the intake pipeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('receiver', sa.String(length=16), nullable=False),
    sa.Column('submitter_user_id', sa.Integer(), nullable=True),
    sa.Column('submitter', sa.String(length=100), nullable=False),
    sa.Column('center_code', sa.String(length=16), nullable=False),
    sa.Column('campaign_code', sa.String(length=32), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('staging_name', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('report_text', sa.Text(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('dataset_public_id', sa.String(length=32), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('received', 'staged', 'validated', 'archived', 'registered', 'rejected')", name=op.f('ck_submissions_state')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_submissions_product_id_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submitter_user_id'], ['users.id'], name=op.f('fk_submissions_submitter_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('public_id', name=op.f('uq_submissions_public_id'))
    )
    op.create_index('ix_submissions_receiver_created', 'submissions', ['receiver', 'created_at'], unique=False)
    op.create_index('ix_submissions_sha256', 'submissions', ['sha256'], unique=False)
    op.create_index('ix_submissions_state', 'submissions', ['state'], unique=False)
    op.create_index('ix_submissions_submitter_created', 'submissions', ['submitter_user_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_submissions_submitter_created', table_name='submissions')
    op.drop_index('ix_submissions_state', table_name='submissions')
    op.drop_index('ix_submissions_sha256', table_name='submissions')
    op.drop_index('ix_submissions_receiver_created', table_name='submissions')
    op.drop_table('submissions')
