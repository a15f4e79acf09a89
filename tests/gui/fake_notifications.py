"""A fake freedesktop notification service (``org.freedesktop.Notifications``) for tests.

Run as a script on a private session bus (``DBUS_SESSION_BUS_ADDRESS`` set)::

    python fake_notifications.py RECORD_FILE [DELAY_S]

It prints ``ready`` once it owns the name, then appends one JSON object per ``Notify`` call to
RECORD_FILE (``app_name``, ``summary``, ``body``, ``expire_timeout``). ``Notify`` answers after
DELAY_S seconds (default 0), to show that the app does not wait for it. It runs until killed.
dbus-fast reads the D-Bus signatures from the ``Annotated`` type hints.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, method, signal

StrList = Annotated[list, DBusSignature("as")]
Hints = Annotated[dict, DBusSignature("a{sv}")]
ServerInfo = Annotated[list, DBusSignature("ssss")]
Closed = Annotated[list, DBusSignature("uu")]
Action = Annotated[list, DBusSignature("us")]

PATH = "/org/freedesktop/Notifications"
NAME = "org.freedesktop.Notifications"


class FakeNotifications(ServiceInterface):
    def __init__(self, record: str, delay_s: float) -> None:
        super().__init__(NAME)
        self.record = record
        self.delay_s = delay_s
        self.last_id = 0

    @method()
    async def Notify(self, app_name: DBusStr, replaces_id: DBusUInt32,  # noqa: N802 - D-Bus
                     app_icon: DBusStr, summary: DBusStr, body: DBusStr, actions: StrList,
                     hints: Hints, expire_timeout: DBusInt32) -> DBusUInt32:
        await asyncio.sleep(self.delay_s)
        self.last_id += 1
        with open(self.record, "a", encoding="utf-8") as f:
            f.write(json.dumps({"app_name": app_name, "summary": summary, "body": body,
                                "expire_timeout": expire_timeout}) + "\n")
        return self.last_id

    @method()
    def GetCapabilities(self) -> StrList:  # noqa: N802
        return ["body"]

    @method()
    def GetServerInformation(self) -> ServerInfo:  # noqa: N802
        return ["fake-notifications", "anomalizer tests", "1.0", "1.2"]

    @method()
    def CloseNotification(self, id_: DBusUInt32):  # noqa: N802
        self.NotificationClosed(id_, 3)

    @signal()
    def NotificationClosed(self, id_: DBusUInt32, reason: DBusUInt32) -> Closed:  # noqa: N802
        return [id_, reason]

    @signal()
    def ActionInvoked(self, id_: DBusUInt32, action_key: DBusStr) -> Action:  # noqa: N802
        return [id_, action_key]


async def main(record: str, delay_s: float) -> None:
    bus = await MessageBus().connect()
    bus.export(PATH, FakeNotifications(record, delay_s))
    await bus.request_name(NAME)
    print("ready", flush=True)
    await bus.wait_for_disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.0))
