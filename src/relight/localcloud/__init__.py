"""The embedded local cloud: an AWS-API emulator (moto's server) on 127.0.0.1, with a data plane.

``relight local-cloud`` runs one in the foreground; :class:`LocalCloud` starts one in-process
for tests and the demo::

    with LocalCloud() as cloud:
        os.environ.update(cloud.env())
        ...  # relight plan / apply against cloud.endpoint

The emulator keeps metadata; the data plane (``dataplane/``) gives it substance on one
machine: volumes and snapshots hold bytes (directories under the data directory), instances
run in sandboxes (bubblewrap) seeded from their image, attached volumes are mounted where the
instance's ``/etc/fstab`` says, user data runs at first boot, and SSM Run Command
(``AWS-RunShellScript``) runs commands inside. Where sandboxes cannot run, the local cloud says
so once and keeps metadata only (:attr:`LocalCloud.data_plane_reason`).

Where the emulator is more lenient than AWS, :func:`make_emulator_strict` (``strict.py``)
patches it to refuse what AWS refuses. The images the local cloud ships are in ``images.py``.
moto is an optional dependency (``pip install 'relight[local]'``); without it, creating a
:class:`LocalCloud` raises :class:`LocalCloudUnavailable` with that instruction.

Modules: ``cloud.py`` (the server's lifecycle), ``gateway.py`` (latency, durability, the
``/_relight`` API), ``persist.py`` (objects kept across restarts with a data directory),
``strict.py``, ``images.py``, ``standin_ghe.py`` (the service inside the shipped images) and
``dataplane/``. Only this package and ``providers/aws`` use boto3 or moto internals.
"""

from relight.localcloud.cloud import (
    ACCESS_KEY,
    DEFAULT_PORT,
    REGION,
    SECRET_KEY,
    LocalCloud,
    LocalCloudUnavailable,
    data_plane_problem,
)
from relight.localcloud.images import ACCOUNT, IMAGES, SERVICE_PORT
from relight.localcloud.strict import make_emulator_strict

__all__ = [
    "ACCESS_KEY",
    "ACCOUNT",
    "DEFAULT_PORT",
    "IMAGES",
    "REGION",
    "SECRET_KEY",
    "SERVICE_PORT",
    "LocalCloud",
    "LocalCloudUnavailable",
    "data_plane_problem",
    "make_emulator_strict",
]
