"""The argument parser of ``relight rehearse`` (apart from the command, for a fast start)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser(
        "rehearse",
        help="boot the candidate image on a throwaway copy of the data, check it, tear it down",
        description="Rehearse a change of image before it reaches the node: the configuration (with "
        "these -var values) as an ephemeral stack with the candidate image and volumes made from "
        "production's latest data snapshot (or a fresh one), isolated (its own network and security "
        "group, no DNS record, alarms without actions, no notifications); the checks of "
        'relight { rehearsal { check "http" {...} check "command" {...} } } run against it; then '
        "everything it made is destroyed. Production's objects and data are only read.",
        epilog="Examples:\n  relight rehearse -var ghe_version=2.17.0\n"
        "  relight rehearse --image ami-0abc --fresh-snapshot\n"
        "  relight rehearse --downgrade            # the previous image on the pre-upgrade snapshot",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--var", action="append", default=[], dest="vars", type=lambda v: ("var", v), metavar="K=V")
    r.add_argument("--var-file", action="append", default=[], dest="vars", type=lambda v: ("var-file", v), metavar="F")
    r.add_argument(
        "--image", metavar="AMI", help="boot this image on every node (default: what the configuration says)"
    )
    r.add_argument("--snapshot", action="append", default=[], metavar="[ADDR=]SNAP", help="use this data snapshot")
    r.add_argument("--fresh-snapshot", action="store_true", help="snapshot production's data now (kept as a backup)")
    r.add_argument("--downgrade", action="store_true", help="the previous image on the pre-upgrade snapshot")
    r.add_argument("--keep", action="store_true", help="keep the rehearsal's stack (relight rehearse --cleanup ID)")
    r.add_argument("--timeout", metavar="DURATION", help="override the rehearsal block's timeout")
    r.add_argument("--candidate", metavar="DIR", help="rehearse DIR's configuration on this workspace's data")
    r.add_argument("--cleanup", metavar="ID",
                   help="destroy what rehearsal ID left (after --keep or a failure); give the same -var flags")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
