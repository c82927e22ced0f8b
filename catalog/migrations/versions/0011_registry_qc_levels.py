"""Instrument registry (places, instruments, components, calibrations, deployments), QC
configurations, results and overrides, processing levels of versions and datasets, and
scheduled jobs (definitions and runs) and pull-transfer sources

Revision ID: 0011
Revises: 0014
Create Date: 2026-12-06 01:13:11.336026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruments')),
    sa.UniqueConstraint('key', name=op.f('uq_instruments_key'))
    )
    op.create_table('places',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('altitude', sa.Float(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('platform', 'station')", name=op.f('ck_places_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_places')),
    sa.UniqueConstraint('kind', 'key', name=op.f('uq_places_kind'))
    )
    op.create_table('calibrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('certificate_name', sa.String(length=255), nullable=False),
    sa.Column('certificate_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_calibrations_instrument_id_instruments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibrations'))
    )
    with op.batch_alter_table('calibrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibrations_instrument_id'), ['instrument_id'], unique=False)

    op.create_table('deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stop', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_deployments_instrument_id_instruments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_deployments_place_id_places'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployments'))
    )
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployments_instrument_id'), ['instrument_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployments_place_id'), ['place_id'], unique=False)

    op.create_table('instrument_components',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('serial', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_instrument_components_instrument_id_instruments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_components'))
    )
    with op.batch_alter_table('instrument_components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_components_instrument_id'), ['instrument_id'], unique=False)

    op.create_table('qc_configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('variable_key', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tests', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_qc_configs_instrument_id_instruments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_configs')),
    sa.UniqueConstraint('instrument_id', 'variable_key', 'version', name=op.f('uq_qc_configs_instrument_id'))
    )
    op.create_table('dataset_deployments',
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('chosen_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_deployments_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_dataset_deployments_deployment_id_deployments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', name=op.f('pk_dataset_deployments'))
    )
    op.create_table('qc_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('variable', sa.String(length=200), nullable=False),
    sa.Column('first', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.Column('flag', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'], name=op.f('fk_qc_overrides_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_overrides'))
    )
    with op.batch_alter_table('qc_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qc_overrides_version_id'), ['version_id'], unique=False)

    op.create_table('qc_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('variable', sa.String(length=200), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('stretches', sa.JSON(), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['qc_configs.id'], name=op.f('fk_qc_results_config_id_qc_configs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'], name=op.f('fk_qc_results_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_results')),
    sa.UniqueConstraint('version_id', 'variable', name=op.f('uq_qc_results_version_id'))
    )
    with op.batch_alter_table('qc_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qc_results_version_id'), ['version_id'], unique=False)

    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('level_note', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('level_released_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.Integer(), server_default='0', nullable=False))

    op.create_table('job_definitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('next_due', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("period IN ('hourly', 'daily', 'weekly')", name=op.f('ck_job_definitions_period')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_job_definitions_owner_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_definitions'))
    )
    with op.batch_alter_table('job_definitions', schema=None) as batch_op:
        batch_op.create_index('ix_job_definitions_due', ['enabled', 'next_due'], unique=False)

    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.CheckConstraint("state IN ('running', 'succeeded', 'failed')", name=op.f('ck_job_runs_state')),
    sa.ForeignKeyConstraint(['definition_id'], ['job_definitions.id'], name=op.f('fk_job_runs_definition_id_job_definitions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('definition_id', 'due_at', 'attempt', name=op.f('uq_job_runs_definition_id'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_definition_id'), ['definition_id'], unique=False)

    op.create_table('transfer_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('auth', sa.String(length=8), nullable=False),
    sa.Column('key_id', sa.String(length=100), nullable=False),
    sa.Column('secret', sa.String(length=500), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('campaign', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=True),
    sa.Column('access', sa.String(length=16), nullable=True),
    sa.Column('cursor', sa.String(length=500), nullable=False),
    sa.Column('last_checked', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("auth IN ('token', 'hmac')", name=op.f('ck_transfer_sources_auth')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_transfer_sources_owner_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_transfer_sources_name'))
    )


def downgrade() -> None:
    op.drop_table('transfer_sources')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_definition_id'))

    op.drop_table('job_runs')
    with op.batch_alter_table('job_definitions', schema=None) as batch_op:
        batch_op.drop_index('ix_job_definitions_due')

    op.drop_table('job_definitions')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_column('level')

    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.drop_column('level_released_at')
        batch_op.drop_column('level_note')
        batch_op.drop_column('level')

    with op.batch_alter_table('qc_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qc_results_version_id'))

    op.drop_table('qc_results')
    with op.batch_alter_table('qc_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qc_overrides_version_id'))

    op.drop_table('qc_overrides')
    op.drop_table('dataset_deployments')
    op.drop_table('qc_configs')
    with op.batch_alter_table('instrument_components', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instrument_components_instrument_id'))

    op.drop_table('instrument_components')
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployments_place_id'))
        batch_op.drop_index(batch_op.f('ix_deployments_instrument_id'))

    op.drop_table('deployments')
    with op.batch_alter_table('calibrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibrations_instrument_id'))

    op.drop_table('calibrations')
    op.drop_table('places')
    op.drop_table('instruments')
