"""Positions, pyramids, DCA legs and orders move from the trades app in state only: the tables
keep their names (`db_table`), so no row is rewritten."""

import apps.core.fields
import apps.strategies.domain.dca
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('exchanges', '0005_number_bounds'),
        ('strategies', '0003_number_bounds'),
        ('trades', '0006_ticket_positions_hold_the_money'),
        ('webhooks', '0005_number_bounds'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DcaLeg',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('index', models.PositiveSmallIntegerField()),
                        ('gap_pct', apps.core.fields.MoneyField()),
                        ('weight_pct', apps.core.fields.MoneyField()),
                        ('tp_pct', apps.core.fields.MoneyField()),
                        ('price', apps.core.fields.MoneyField()),
                        ('amount', apps.core.fields.MoneyField()),
                        ('status', models.CharField(choices=[('skipped', 'Below the minimum'), ('working', 'Working'), ('filled', 'Filled'), ('cancelled', 'Cancelled'), ('rejected', 'Refused'), ('closed', 'Closed')], default='working', max_length=10)),
                        ('problem', models.TextField(blank=True)),
                        ('filled', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('quantity', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('closed_quantity', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('fill_price', apps.core.fields.MoneyField(blank=True, null=True)),
                        ('cost', apps.core.fields.MoneyField(default=Decimal('0'))),
                    ],
                    options={
                        'db_table': 'trades_dcaleg',
                        'ordering': ['group', 'pyramid__index', 'index'],
                    },
                ),
                migrations.CreateModel(
                    name='PositionGroup',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('symbol', models.CharField(max_length=40)),
                        ('timeframe', models.CharField(max_length=10)),
                        ('side', models.CharField(choices=[('long', 'Long'), ('short', 'Short')], default='long', max_length=5)),
                        ('status', models.CharField(choices=[('open', 'Open'), ('closing', 'Closing'), ('closed', 'Closed'), ('error', 'Error')], default='open', max_length=10)),
                        ('tp_mode', models.CharField(choices=[(apps.strategies.domain.dca.TpMode['PER_LEG'], 'Per leg'), (apps.strategies.domain.dca.TpMode['AGGREGATE'], 'Aggregate'), (apps.strategies.domain.dca.TpMode['HYBRID'], 'Hybrid'), (apps.strategies.domain.dca.TpMode['RULES'], "By the ticket's rules")], default=apps.strategies.domain.dca.TpMode['AGGREGATE'], max_length=10)),
                        ('group_tp_pct', apps.core.fields.MoneyField(default=Decimal('2'))),
                        ('pyramid_limit', models.PositiveSmallIntegerField(default=5)),
                        ('grid', models.JSONField(blank=True, default=list)),
                        ('exit_rules', models.JSONField(blank=True, default=dict)),
                        ('rule_state', models.JSONField(blank=True, default=dict)),
                        ('highest', apps.core.fields.MoneyField(blank=True, null=True)),
                        ('lowest', apps.core.fields.MoneyField(blank=True, null=True)),
                        ('quantity', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('average_entry', apps.core.fields.MoneyField(blank=True, null=True)),
                        ('entry_cost', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('open_cost', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('exit_quantity', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('exit_proceeds', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('realised_pnl', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('last_price', apps.core.fields.MoneyField(blank=True, null=True)),
                        ('exit_reason', models.CharField(blank=True, max_length=20)),
                        ('opened_at', models.DateTimeField()),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='position_groups', to='exchanges.exchangeaccount')),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='position_groups', to=settings.AUTH_USER_MODEL)),
                        ('strategy', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='position_groups', to='strategies.strategy')),
                        ('trade', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='position', to='trades.trade')),
                    ],
                    options={
                        'db_table': 'trades_positiongroup',
                        'ordering': ['-opened_at', '-pk'],
                    },
                ),
                migrations.CreateModel(
                    name='Order',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('purpose', models.CharField(choices=[('entry', 'Entry'), ('initial_stop', 'Initial stop'), ('trailing_stop', 'Trailing stop'), ('take_profit', 'Take profit'), ('close', 'Close at market'), ('dca_leg', 'DCA leg'), ('leg_tp', 'Leg take profit'), ('group_tp', 'Group take profit'), ('exit_signal', 'Exit signal'), ('risk', 'Risk engine')], max_length=20)),
                        ('symbol', models.CharField(max_length=40)),
                        ('side', models.CharField(max_length=4)),
                        ('type', models.CharField(max_length=8)),
                        ('amount', apps.core.fields.MoneyField()),
                        ('price', apps.core.fields.MoneyField(blank=True, null=True)),
                        ('client_order_id', models.CharField(max_length=32, unique=True)),
                        ('exchange_order_id', models.CharField(blank=True, max_length=64)),
                        ('status', models.CharField(choices=[('pending', 'Not sent yet'), ('unknown', 'Sent, outcome unknown'), ('open', 'Open'), ('filled', 'Filled'), ('cancelled', 'Cancelled'), ('rejected', 'Rejected')], default='pending', max_length=10)),
                        ('filled', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('average', apps.core.fields.MoneyField(blank=True, null=True)),
                        ('fee_cost', apps.core.fields.MoneyField(default=Decimal('0'))),
                        ('fee_currency', models.CharField(blank=True, max_length=20)),
                        ('error', models.TextField(blank=True)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('cancel_requested_at', models.DateTimeField(blank=True, null=True)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='exchanges.exchangeaccount')),
                        ('leg', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='orders', to='positions.dcaleg')),
                        ('signal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='orders', to='webhooks.signal')),
                        ('group', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='orders', to='positions.positiongroup')),
                    ],
                    options={
                        'db_table': 'trades_order',
                        'ordering': ['created_at', 'pk'],
                    },
                ),
                migrations.AddField(
                    model_name='dcaleg',
                    name='group',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='legs', to='positions.positiongroup'),
                ),
                migrations.CreateModel(
                    name='Pyramid',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('index', models.PositiveSmallIntegerField()),
                        ('entry_price', apps.core.fields.MoneyField()),
                        ('capital', apps.core.fields.MoneyField()),
                        ('created_at', models.DateTimeField()),
                        ('group', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pyramids', to='positions.positiongroup')),
                        ('signal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='pyramids', to='webhooks.signal')),
                    ],
                    options={
                        'db_table': 'trades_pyramid',
                        'ordering': ['group', 'index'],
                    },
                ),
                migrations.AddField(
                    model_name='dcaleg',
                    name='pyramid',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='legs', to='positions.pyramid'),
                ),
                migrations.AddIndex(
                    model_name='positiongroup',
                    index=models.Index(condition=models.Q(('status', 'open')), fields=['account'], name='group_take_profit_loop_idx'),
                ),
                migrations.AddIndex(
                    model_name='positiongroup',
                    index=models.Index(condition=models.Q(('status', 'open'), models.Q(('exit_rules', {}), _negated=True)), fields=['account'], name='position_rules_loop_idx'),
                ),
                migrations.AddConstraint(
                    model_name='positiongroup',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'open'), ('trade__isnull', True)), fields=('account', 'symbol', 'timeframe', 'side'), name='position_group_key_unique'),
                ),
                migrations.AddConstraint(
                    model_name='positiongroup',
                    constraint=models.CheckConstraint(condition=models.Q(('quantity__gte', 0)), name='position_group_qty_gte_0'),
                ),
                migrations.AddIndex(
                    model_name='order',
                    index=models.Index(condition=models.Q(('status__in', ['pending', 'unknown', 'open'])), fields=['updated_at'], name='order_sync_loop_idx'),
                ),
                migrations.AddIndex(
                    model_name='order',
                    index=models.Index(condition=models.Q(('status__in', ['pending', 'unknown', 'open'])), fields=['group', 'side'], name='order_group_live_idx'),
                ),
                migrations.AddConstraint(
                    model_name='pyramid',
                    constraint=models.UniqueConstraint(fields=('group', 'index'), name='pyramid_group_index_unique'),
                ),
                migrations.AddConstraint(
                    model_name='dcaleg',
                    constraint=models.UniqueConstraint(fields=('pyramid', 'index'), name='dca_leg_pyramid_index_unique'),
                ),
            ],
            database_operations=[],
        ),
    ]
