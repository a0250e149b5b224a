"""The local cloud's data plane: volumes that hold bytes, instances that run, SSM Run Command.

See plane.py for the whole, hooks.py for how it is driven by the emulator, and
docs/local-cloud.md for what users see.
"""

from relight.localcloud.dataplane.plane import Catalog, DataPlane, InstanceInfo, InstanceRecord
from relight.localcloud.dataplane.store import Store, StoreError

__all__ = ["Catalog", "DataPlane", "InstanceInfo", "InstanceRecord", "Store", "StoreError"]
