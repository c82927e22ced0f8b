"""Access: web sessions, password grants, password attempts, form passwords

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_secret', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)
    op.create_table('access_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder_hash', sa.String(length=64), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=True),
    sa.Column('form_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_access_grants_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grants'))
    )
    op.create_index('ix_access_grants_holder_expires', 'access_grants', ['holder_hash', 'expires_at'], unique=False)
    op.create_index(op.f('ix_access_grants_dataset_id'), 'access_grants', ['dataset_id'], unique=False)
    op.create_index(op.f('ix_access_grants_form_key'), 'access_grants', ['form_key'], unique=False)
    op.create_table('password_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_attempts'))
    )
    op.create_index('ix_password_attempts_client_target', 'password_attempts', ['client', 'target', 'at'], unique=False)
    op.create_table('form_passwords',
    sa.Column('form_key', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('form_key', name=op.f('pk_form_passwords'))
    )


def downgrade() -> None:
    op.drop_table('form_passwords')
    op.drop_index('ix_password_attempts_client_target', table_name='password_attempts')
    op.drop_table('password_attempts')
    op.drop_index(op.f('ix_access_grants_form_key'), table_name='access_grants')
    op.drop_index(op.f('ix_access_grants_dataset_id'), table_name='access_grants')
    op.drop_index('ix_access_grants_holder_expires', table_name='access_grants')
    op.drop_table('access_grants')
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_table('user_sessions')
