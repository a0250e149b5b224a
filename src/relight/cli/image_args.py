"""The argument parsers of ``relight image ...`` (kept apart from the commands, so that
``relight -h`` and ``relight version`` do not load the image builder)."""

from __future__ import annotations

import argparse

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    img = sub.add_parser(
        "image",
        help="build machine images from Packer templates; list, promote, revoke, prune them",
        description="Images for the node: Packer-compatible builds (amazon-ebs over SSM or SSH), "
        'recorded in a registry with channels that configurations read with data "relight_image".',
    )
    isub = img.add_subparsers(dest="image_command", metavar="SUBCOMMAND")
    b = isub.add_parser(
        "build",
        help="build the images of a template directory (*.pkr.hcl)",
        description="Build each amazon-ebs source of the template in amazon-ebs's order; temporary objects "
        "are tagged with the build's id and removed on success, failure, Ctrl-C and SIGTERM. A build whose "
        "template, variables and source image are unchanged is not rebuilt (unless -force).",
        epilog="Examples:\n  relight image build examples/ghe-image\n"
        "  relight image build -var ghe_version=2.18.1 -only amazon-ebs.ghe -machine-readable examples/ghe-image",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("directory", metavar="DIR", help="the template directory (or one .pkr.hcl file)")
    b.add_argument("--var", action="append", default=[], dest="vars", type=lambda v: ("var", v), metavar="K=V")
    b.add_argument(
        "--var-file", action="append", default=[], dest="vars", type=lambda v: ("var-file", v), metavar="FILE"
    )
    b.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="build only NAME (amazon-ebs.x; globs; a,b or repeated)")
    b.add_argument("--except", action="append", default=[], dest="except_", metavar="NAME",
                   help="skip NAME (a,b or repeated)")
    b.add_argument("--force", action="store_true", help="build even if an identical image exists")
    b.add_argument("--on-error", choices=["cleanup", "abort"], default="cleanup", help="default cleanup")
    b.add_argument("--machine-readable", action="store_true", help="Packer's machine-readable output")
    b.add_argument("--with-packer", action="store_true", help="run the packer binary instead, and record its images")
    _registry_flag(b)
    ls = isub.add_parser("list", help="list recorded images (newest last)")
    ls.add_argument("--name", help="only images of this name")
    ls.add_argument("--json", action="store_true")
    _registry_flag(ls)
    pr = isub.add_parser("promote", help="point a channel of the image's name at it")
    pr.add_argument("image_id", metavar="ID")
    pr.add_argument("--channel", required=True, help="e.g. production")
    _registry_flag(pr)
    rv = isub.add_parser("revoke", help="mark an image revoked (channels dropped; data sources refuse it)")
    rv.add_argument("image_id", metavar="ID")
    _registry_flag(rv)
    pu = isub.add_parser("prune", help="deregister old unpromoted images and delete their snapshots")
    pu.add_argument("--keep", type=int, default=5, help="newest builds kept per name (default 5)")
    pu.add_argument("--name", help="only images of this name")
    pu.add_argument("--dry-run", action="store_true")
    _registry_flag(pu)
    gc = isub.add_parser("gc", help="remove what killed builds left behind (found by their build tags)")
    gc.add_argument("--older-than", default="6h", help="builds from other hosts count as dead after this (default 6h)")
    gc.add_argument("--dry-run", action="store_true")
    gc.add_argument("--region", help="region (default AWS_REGION)")
    _registry_flag(gc)
    for parser_ in (pr, rv, pu):
        parser_.add_argument("--region", help="region (default AWS_REGION)")


def _registry_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", metavar="DIR", help="the registry directory (default .relight/images)")

