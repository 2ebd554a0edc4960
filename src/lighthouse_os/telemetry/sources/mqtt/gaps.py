"""Messages a broker dropped for our session, counted from gaps in packet ids (pure core)."""

from __future__ import annotations

PACKET_ID_MAX = 65_535  # packet ids run 1 … 65535, then 1 again (MQTT 5.0 §2.2.1)


class PacketIdGaps:
    """Counts packet ids a broker skipped on one connection: messages it dropped for us.

    Mosquitto numbers the QoS 1/2 messages it sends one client consecutively (1 … 65535, then 1
    again) and spends an id on a message even when its full session queue drops it
    (`max_queued_messages`), so a jump means lost messages. Brokers that reuse freed ids
    instead go backwards sometimes; at the first backward step the count is switched off for
    the connection, so it never cries wolf. Redeliveries (DUP) reuse old ids and are skipped.
    """

    def __init__(self) -> None:
        self.last: int | None = None
        self.enabled = True

    def observe(self, packet_id: int, duplicate: bool) -> int:
        """How many ids were skipped before `packet_id` (0 when in sequence or unknown)."""
        if duplicate or not self.enabled or packet_id == 0:
            return 0
        last, self.last = self.last, packet_id
        if last is None:
            return 0
        step = (packet_id - last) % PACKET_ID_MAX  # 65535 + 1 wraps to 1
        if step == 1:
            return 0
        if step == 0 or step > PACKET_ID_MAX // 2:
            self.enabled = False  # not consecutive numbering: stop counting on this connection
            return 0
        return step - 1
