"""OPC UA session with one data-change subscription, over asyncua (imports nothing from the app).

asyncua's own auto-reconnect is left off: the source owns reconnecting, so failure and recovery
are logged once, re-subscription happens in one place, and a server restart (new session,
subscriptions gone) is handled like any other loss.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.subscription import DataChangeNotif, Subscription
from asyncua.ua.uaerrors import UaError


class OpcUaUnavailable(Exception):
    """The server cannot be reached, or refused the session or subscription."""


@dataclass(frozen=True, slots=True)
class DataChange:
    """One value change of a subscribed node; `node_id` as the caller spelled it."""

    node_id: str
    value: object
    source_time: datetime | None
    server_time: datetime | None
    status: str
    good: bool
    uncertain: bool = False


def _aware(moment: datetime | None) -> datetime | None:
    # asyncua returns naive datetimes that are UTC (OPC UA Part 6 §5.2.2.5 DateTime).
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class _Handler:
    """asyncua subscription callbacks, forwarded as `DataChange`s and a loss signal."""

    def __init__(
        self, names: dict[str, str], on_change: Callable[[DataChange], None], lost: asyncio.Event
    ) -> None:
        self._names = names
        self._on_change = on_change
        self._lost = lost

    def datachange_notification(self, node: Any, val: Any, data: DataChangeNotif) -> None:
        value = data.monitored_item.Value
        status = value.StatusCode
        self._on_change(
            DataChange(
                node_id=self._names.get(node.nodeid.to_string(), node.nodeid.to_string()),
                value=val,
                source_time=_aware(value.SourceTimestamp),
                server_time=_aware(value.ServerTimestamp),
                status=status.name if status is not None else "Good",
                good=status is None or status.is_good(),
                uncertain=status is not None and status.is_uncertain(),
            )
        )

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        # e.g. BadShutdown or BadTimeout: the subscription is gone, reconnect and re-subscribe.
        self._lost.set()


class OpcUaSession:
    """Connect, subscribe to data changes, wait for loss, close."""

    def __init__(self, endpoint: str, *, timeout: float = 4.0, watchdog: float = 1.0) -> None:
        self.endpoint = endpoint
        self.lost = asyncio.Event()
        self._client = Client(endpoint, timeout=timeout, watchdog_intervall=watchdog)
        self._client.connection_lost_callback = self._on_lost
        self._subscription: Subscription | None = None

    async def _on_lost(self, _error: Exception) -> None:
        self.lost.set()

    async def open(
        self,
        node_ids: Sequence[str],
        interval_ms: int,
        on_change: Callable[[DataChange], None],
    ) -> list[str]:
        """Connect and subscribe; return the node ids the server refused (e.g. unknown)."""
        names = {ua.NodeId.from_string(n).to_string(): n for n in node_ids}
        try:
            await self._client.connect(auto_reconnect=False)
            handler = _Handler(names, on_change, self.lost)
            self._subscription = await self._client.create_subscription(interval_ms, handler)
            nodes = [self._client.get_node(n) for n in node_ids]
            results = await self._subscription.subscribe_data_change(nodes)
        except (OSError, TimeoutError, UaError) as err:
            raise OpcUaUnavailable(f"{self.endpoint}: {err!r}") from err
        return [n for n, r in zip(node_ids, results, strict=True) if isinstance(r, ua.StatusCode)]

    async def close(self) -> None:
        """Disconnect; errors are ignored because the link may already be gone."""
        with contextlib.suppress(OSError, TimeoutError, UaError):
            await self._client.disconnect()
