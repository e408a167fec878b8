"""The risk rows point at positions in the positions app: the same table, so state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('positions', '0001_initial'),
        ('risk', '0002_number_bounds'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='grouprisk',
                    name='group',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='risk', to='positions.positiongroup'),
                ),
                migrations.AlterField(
                    model_name='riskaction',
                    name='loser',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='risk_actions', to='positions.positiongroup'),
                ),
            ],
            database_operations=[],
        ),
    ]
