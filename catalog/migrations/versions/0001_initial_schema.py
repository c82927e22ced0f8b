"""Initial schema: every table and the search indexes (SQLite and PostgreSQL)

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:03:36.905191
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('start', sa.Date(), nullable=True),
    sa.Column('end', sa.Date(), nullable=True),
    sa.Column('intensive_end', sa.Date(), nullable=True),
    sa.Column('research_release_months', sa.Integer(), nullable=False),
    sa.Column('operational_release_months', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('code', name=op.f('uq_campaigns_code'))
    )
    op.create_table('centers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('is_local', sa.Boolean(), nullable=False),
    sa.Column('shared_records', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_centers')),
    sa.UniqueConstraint('code', name=op.f('uq_centers_code'))
    )
    op.create_table('change_counter',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_counter'))
    )
    op.create_table('changes',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('origin_center', sa.String(length=16), nullable=False),
    sa.Column('origin_version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('upsert', 'tombstone')", name=op.f('ck_changes_kind')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_changes'))
    )
    op.create_index(op.f('ix_changes_public_id'), 'changes', ['public_id'], unique=False)

    op.create_table('peer_states',
    sa.Column('peer_code', sa.String(length=16), nullable=False),
    sa.Column('last_seq_applied', sa.Integer(), nullable=False),
    sa.Column('last_contact', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('peer_code', name=op.f('pk_peer_states'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('anonymous', 'pi', 'staff', 'admin', 'peer')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)

    op.create_table('datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('did', sa.String(length=64), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('pi_name', sa.String(length=200), nullable=False),
    sa.Column('pi_key', sa.String(length=200), nullable=False),
    sa.Column('platform', sa.String(length=200), nullable=False),
    sa.Column('platform_key', sa.String(length=200), nullable=False),
    sa.Column('instrument', sa.String(length=200), nullable=False),
    sa.Column('instrument_key', sa.String(length=200), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('project', sa.String(length=200), nullable=True),
    sa.Column('project_key', sa.String(length=200), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stop', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('south', sa.Float(), nullable=True),
    sa.Column('north', sa.Float(), nullable=True),
    sa.Column('west', sa.Float(), nullable=True),
    sa.Column('east', sa.Float(), nullable=True),
    sa.Column('min_altitude', sa.Float(), nullable=True),
    sa.Column('max_altitude', sa.Float(), nullable=True),
    sa.Column('feature_type', sa.String(length=32), nullable=True),
    sa.Column('data_version', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('access_state', sa.String(length=16), nullable=False),
    sa.Column('release_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('origin_center', sa.String(length=16), nullable=False),
    sa.Column('origin_version', sa.Integer(), nullable=False),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("access_state IN ('open', 'embargoed', 'password', 'private', 'withdrawn')", name=op.f('ck_datasets_access_state')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_datasets_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['origin_center'], ['centers.code'], name=op.f('fk_datasets_origin_center_centers')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_datasets_owner_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('campaign_id', 'did', 'origin_center', name='uq_datasets_key'),
    sa.UniqueConstraint('public_id', name=op.f('uq_datasets_public_id'))
    )
    op.create_index('ix_datasets_center_state', 'datasets', ['origin_center', 'access_state'], unique=False)
    op.create_index('ix_datasets_duration', 'datasets', ['duration_s'], unique=False)
    op.create_index('ix_datasets_instrument_start', 'datasets', ['instrument_key', 'start', 'public_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_datasets_lat', 'datasets', ['south', 'north'], unique=False)
        op.create_index('ix_datasets_lon', 'datasets', ['west', 'east'], unique=False)
    op.create_index('ix_datasets_owner', 'datasets', ['owner_user_id'], unique=False)
    op.create_index('ix_datasets_pi_pid', 'datasets', ['pi_key', 'public_id'], unique=False)
    op.create_index('ix_datasets_pi_start', 'datasets', ['pi_key', 'start', 'public_id'], unique=False)
    op.create_index('ix_datasets_platform_pid', 'datasets', ['platform_key', 'public_id'], unique=False)
    op.create_index('ix_datasets_platform_start', 'datasets', ['platform_key', 'start', 'public_id'], unique=False)
    op.create_index('ix_datasets_project_start', 'datasets', ['project_key', 'start', 'public_id'], unique=False)
    op.create_index('ix_datasets_start_pid', 'datasets', ['start', 'public_id'], unique=False)
    op.create_index('ix_datasets_state_release', 'datasets', ['access_state', 'release_at'], unique=False)
    op.create_index('ix_datasets_stop', 'datasets', ['stop'], unique=False)
    op.create_index('ix_datasets_title_pid', 'datasets', ['title', 'public_id'], unique=False)
    op.create_index('ix_datasets_updated_pid', 'datasets', ['updated', 'public_id'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('center_code', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('product_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('ext', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('access_state', sa.String(length=16), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_products_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['center_code'], ['centers.code'], name=op.f('fk_products_center_code_centers')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_products_uploaded_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('filename', name=op.f('uq_products_filename'))
    )
    op.create_index('ix_products_time', 'products', ['product_time'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('center_code', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('report_date', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_reports_author_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_reports_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['center_code'], ['centers.code'], name=op.f('fk_reports_center_code_centers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    op.create_index('ix_reports_date', 'reports', ['report_date'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_audit_events_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_audit_events_dataset_id_datasets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index(op.f('ix_audit_events_at'), 'audit_events', ['at'], unique=False)
    op.create_index(op.f('ix_audit_events_dataset_id'), 'audit_events', ['dataset_id'], unique=False)

    op.create_table('dataset_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('data_version', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('source_format', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_versions_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_versions'))
    )
    op.create_index('ix_dataset_versions_dataset_current', 'dataset_versions', ['dataset_id', 'is_current'], unique=False)
    op.create_index(op.f('ix_dataset_versions_sha256'), 'dataset_versions', ['sha256'], unique=False)

    op.create_table('variables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=100), nullable=True),
    sa.Column('original_unit', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_variables_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variables'))
    )
    op.create_index('ix_variables_dataset_name', 'variables', ['dataset_id', 'name_key', 'name'], unique=False)

    op.create_table('derived_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'], name=op.f('fk_derived_files_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_derived_files')),
    sa.UniqueConstraint('version_id', 'format', name='uq_derived_files_format')
    )
    op.bulk_insert(
        sa.table('change_counter', sa.column('id', sa.Integer()), sa.column('last_seq', sa.Integer())),
        [{'id': 1, 'last_seq': 0}],
    )


def downgrade() -> None:
    op.drop_table('derived_files')
    op.drop_table('variables')
    op.drop_table('dataset_versions')
    op.drop_table('audit_events')
    op.drop_table('reports')
    op.drop_table('products')
    op.drop_table('datasets')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('peer_states')
    op.drop_table('changes')
    op.drop_table('change_counter')
    op.drop_table('centers')
    op.drop_table('campaigns')
