from __future__ import annotations

from apps.core.scoping import owned
from apps.notifications.models import Delivery, Destination


def destinations_for(user):
    return owned(Destination, user, owner_field="owner")


def recent_deliveries_for(user, *, limit: int = 50):
    return owned(Delivery, user, owner_field="destination__owner").select_related("destination")[
        :limit
    ]
