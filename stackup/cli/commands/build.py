"""``stackup build``: build the images of services that have a build section."""

from __future__ import annotations

import os

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.image_runs import finish_images, run_images


@click.command("build")
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--pull", is_flag=True, help="Always try to pull newer base images.")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY[=VALUE]",
              help="A build argument for every service built (repeatable; KEY alone: from the "
                   "environment).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--push", is_flag=True, help="Push the built images afterwards.")
@click.option("--with-dependencies", is_flag=True,
              help="Also build the services the named ones depend on.")
@click.option("--ssh", metavar="default|ID=PATH",
              help="SSH agent socket or keys for the builds (as build.ssh).")
@click.option("--provenance", metavar="SPEC", help="Provenance attestation (as build.provenance).")
@click.option("--sbom", metavar="SPEC", help="SBOM attestation (as build.sbom).")
@click.option("--progress", "progress_mode",
              type=click.Choice(["auto", "tty", "plain", "json", "quiet"]),
              help="How to show the build's progress (the global --progress, for this build).")
@click.option("--print", "print_only", is_flag=True,
              help="Print the builds as a bake definition (JSON); build nothing.")
@click.option("-m", "--memory", metavar="BYTES",
              help="Accepted for Compose, which says: not supported by BuildKit.")
@click.option("--builder", metavar="NAME",
              help="Build with this docker buildx builder (needs the buildx plugin).")
@click.option("--check", is_flag=True,
              help="Refused: stackup does not run BuildKit's build checks.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def build_cmd(g: Globals, no_cache: bool, pull: bool, build_args: tuple[str, ...], quiet: bool,
              push: bool, with_dependencies: bool, ssh: str | None, provenance: str | None,
              sbom: str | None, progress_mode: str | None, print_only: bool,
              memory: str | None, builder: str | None, check: bool,
              services: tuple[str, ...]) -> None:
    """Build the images of services that have a build section."""
    if builder:  # a buildx builder: only `docker buildx` knows them (it reads BUILDX_BUILDER)
        os.environ["BUILDX_BUILDER"] = builder
        os.environ["STACKUP_BUILDER"] = "buildx"  # without the plugin: an error saying so
    if check:
        raise click.UsageError("--check is not implemented by stackup: run `docker buildx "
                               "build --check` on the build context")
    options = {"ssh": (ssh,) if ssh else None, "provenance": provenance, "sbom": sbom}
    plan, outcome, progress = run_images(g, "build", services, no_cache=no_cache, pull=pull,
                                   quiet=quiet, include_deps=with_dependencies,
                                   build_args=build_args, build_options=options,
                                   progress_mode=progress_mode, print_only=print_only)
    finish_images(g, "build", plan, outcome, progress, quiet)
    if push and outcome is not None:
        built = tuple(sorted({op.service_name for op in plan.operations if op.service_name}))
        plan, outcome, progress = run_images(g, "push", built, quiet=quiet)
        finish_images(g, "push", plan, outcome, progress, quiet)
