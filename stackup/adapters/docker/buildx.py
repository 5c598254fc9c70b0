"""Building with BuildKit through ``docker buildx`` (the docker CLI plugin), when installed.

Pipeline position: ``images.ImageMixin.build_image`` picks the builder; this module runs
``docker buildx build --load`` for one service and streams its plain progress to the caller's
output sink. buildx applies every build key of the Compose spec (secrets, ssh, cache_to,
additional contexts, platforms, entitlements, attestations ...): with the engine's own
``docker`` driver it uses the BuildKit built into the engine and loads the image into it.
Secret values never appear on a command line: ``content``/``environment`` secrets are handed
over in the child's environment (``--secret id=X,env=VAR``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping

from stackup.core.errors import OperationFailed
from stackup.core.model import BuildSpec

_TAIL = 8


def buildx_version(environ: Mapping[str, str]) -> str | None:
    """``docker buildx version``'s version word, or None when buildx (or docker) is missing."""
    docker = shutil.which("docker", path=environ.get("PATH"))
    if docker is None:
        return None
    try:
        done = subprocess.run([docker, "buildx", "version"], capture_output=True, text=True,
                              timeout=30, env=dict(environ))
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    words = done.stdout.split()
    return words[1] if len(words) > 1 else (words[0] if words else "?")


def buildx_command(build: BuildSpec, tag: str, *, no_cache: bool, pull: bool,
                   iidfile: str) -> tuple[list[str], dict[str, str], str | None]:
    """(argv after ``docker``, extra environment, Dockerfile text for stdin) for one build."""
    argv = ["buildx", "build", "--progress", "plain", "--load", "--iidfile", iidfile,
            "-t", tag]
    env: dict[str, str] = {}
    stdin = None
    for extra in build.tags:
        argv += ["-t", extra]
    if build.dockerfile_inline is not None:
        argv += ["-f", "-"]
        stdin = build.dockerfile_inline
    elif build.dockerfile:
        remote = "://" in build.context or build.context.startswith("git@")
        argv += ["-f", build.dockerfile if remote or os.path.isabs(build.dockerfile)
                 else os.path.join(build.context, build.dockerfile)]
    for key, value in build.args.items():
        if value is not None:
            argv += ["--build-arg", f"{key}={value}"]
    for key, value in build.labels.items():
        argv += ["--label", f"{key}={value}"]
    for flag, values in (("--cache-from", build.cache_from), ("--cache-to", build.cache_to),
                         ("--ssh", build.ssh), ("--allow", build.entitlements)):
        for value in values:
            argv += [flag, value]
    if build.privileged and "security.insecure" not in build.entitlements:
        argv += ["--allow", "security.insecure"]
    for name, location in build.additional_contexts.items():
        argv += ["--build-context", f"{name}={location}"]
    for i, secret in enumerate(build.secrets):
        if secret.file is not None:
            argv += ["--secret", f"id={secret.id},src={secret.file}"]
        else:
            var = f"STACKUP_BUILD_SECRET_{i}"
            env[var] = secret.content or ""
            argv += ["--secret", f"id={secret.id},env={var}"]
    for limit in build.ulimits:
        argv += ["--ulimit", f"{limit.name}={limit.soft}:{limit.hard}"]
    for flag, value in (("--target", build.target), ("--network", build.network),
                        ("--shm-size", str(build.shm_size) if build.shm_size else None),
                        ("--platform", ",".join(build.platforms) or None),
                        ("--provenance", build.provenance), ("--sbom", build.sbom)):
        if value:
            argv += [flag, value]
    for host in build.extra_hosts:
        argv += ["--add-host", host]
    if no_cache or build.no_cache:
        argv.append("--no-cache")
    if pull or build.pull:
        argv.append("--pull")
    argv.append(build.context)
    return argv, env, stdin


def build_with_buildx(service_name: str, build: BuildSpec, tag: str, *, no_cache: bool,
                      pull: bool, environ: Mapping[str, str],
                      on_line: Callable[[str], None]) -> str:
    """Run the build; returns the image id. Failure: ``OperationFailed`` with the step and
    buildx's own error lines."""
    docker = shutil.which("docker", path=environ.get("PATH")) or "docker"
    with tempfile.TemporaryDirectory(prefix="stackup-build-") as tmp:
        iidfile = os.path.join(tmp, "iid")
        argv, extra_env, stdin = buildx_command(build, tag, no_cache=no_cache, pull=pull,
                                                iidfile=iidfile)
        lines: list[str] = []
        step = None
        try:
            proc = subprocess.Popen([docker, *argv], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    env={**environ, **extra_env}, text=True, errors="replace")
        except OSError as exc:
            raise OperationFailed(f"cannot build image {tag} for service {service_name}: "
                                  f"cannot run docker buildx: {exc.strerror}") from exc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(stdin or "")
        proc.stdin.close()
        for raw in proc.stdout:
            line = raw.rstrip()
            if not line:
                continue
            lines.append(line)
            if line.startswith("#") and " [" in line and "internal]" not in line:
                step = line.split(" ", 1)[1]
            on_line(line)
        code = proc.wait()
        if code != 0:
            errors = [line for line in lines if "ERROR" in line or "error:" in line.lower()]
            where = f" at {step}" if step else ""
            raise OperationFailed(
                f"cannot build image {tag} for service {service_name}{where}: "
                f"{(errors or lines or ['docker buildx failed'])[-1]}",
                detail="\n".join(lines[-_TAIL:]))
        try:
            with open(iidfile, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError:
            raise OperationFailed(f"cannot build image {tag} for service {service_name}: "
                                  "docker buildx reported no image id") from None
