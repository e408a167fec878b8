"""Positions, pyramids, DCA legs and orders now belong to the positions app (its 0001): the
trades app forgets them in state only, their tables stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('risk', '0003_positions_app'),
        ('trades', '0006_ticket_positions_hold_the_money'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='order',
                    name='leg',
                ),
                migrations.RemoveField(
                    model_name='order',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='order',
                    name='group',
                ),
                migrations.RemoveField(
                    model_name='order',
                    name='signal',
                ),
                migrations.RemoveField(
                    model_name='positiongroup',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='positiongroup',
                    name='owner',
                ),
                migrations.RemoveField(
                    model_name='positiongroup',
                    name='strategy',
                ),
                migrations.RemoveField(
                    model_name='positiongroup',
                    name='trade',
                ),
                migrations.RemoveField(
                    model_name='pyramid',
                    name='group',
                ),
                migrations.RemoveField(
                    model_name='pyramid',
                    name='signal',
                ),
                migrations.DeleteModel(
                    name='DcaLeg',
                ),
                migrations.DeleteModel(
                    name='Order',
                ),
                migrations.DeleteModel(
                    name='PositionGroup',
                ),
                migrations.DeleteModel(
                    name='Pyramid',
                ),
            ],
            database_operations=[],
        ),
    ]
