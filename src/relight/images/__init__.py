"""Image builds (Packer-compatible), the image registry with channels, and upgrade rehearsals.

    template = load_template("examples/ghe-image", [("var", "ghe_version=2.18.0")], env)
    run = run_builds(BuildRequest("examples/ghe-image", registry=".relight/images"), env, sink, cancel)
    promote(Cloud(env), Registry(".relight/images"), "ami-0abc", "production")

Templates are Packer's HCL2 (:mod:`.template`), read with relight's language engine; builds
follow amazon-ebs's order with a cleanup stack and build tags (:mod:`.builder`,
:mod:`.cleanup`); every build is recorded (:mod:`.registry`) and channels are also image tags
(:mod:`.channels`), which ``data "relight_image"`` reads. Rehearsals (:mod:`.rehearsal`) boot a
candidate image on a throwaway copy of a workspace's data through the run layer.
Every AWS call goes through the aws provider's boundary (:class:`relight.providers.aws.AwsApi`).
"""

from relight.images.builder import STEPS, BuildOptions, BuildResult, build
from relight.images.channels import PruneReport, promote, prune, revoke
from relight.images.cleanup import GcReport, collect_garbage, sweep
from relight.images.cloud import (
    BUILD_ID_TAG,
    CHANNEL_TAG_PREFIX,
    IMAGE_NAME_TAG,
    CallError,
    Canceled,
    Cloud,
)
from relight.images.events import (
    BuildArtifact,
    BuildFinished,
    BuildOutput,
    BuildStarted,
    BuildStep,
    RehearsalCheck,
    RehearsalStarted,
    RehearsalStep,
)
from relight.images.manifest import artifact_lines, machine_line, write_manifest
from relight.images.registry import ChannelMove, ImageRecord, Registry, RegistryError
from relight.images.run import BuildRequest, BuildRun, run_builds
from relight.images.template import BuildSpec, Template, load_template

__all__ = [
    "BUILD_ID_TAG",
    "CHANNEL_TAG_PREFIX",
    "IMAGE_NAME_TAG",
    "STEPS",
    "BuildArtifact",
    "BuildFinished",
    "BuildOptions",
    "BuildOutput",
    "BuildRequest",
    "BuildResult",
    "BuildRun",
    "BuildSpec",
    "BuildStarted",
    "BuildStep",
    "CallError",
    "Canceled",
    "ChannelMove",
    "Cloud",
    "GcReport",
    "ImageRecord",
    "PruneReport",
    "Registry",
    "RegistryError",
    "RehearsalCheck",
    "RehearsalStarted",
    "RehearsalStep",
    "Template",
    "artifact_lines",
    "build",
    "collect_garbage",
    "load_template",
    "machine_line",
    "promote",
    "prune",
    "revoke",
    "run_builds",
    "sweep",
    "write_manifest",
]
