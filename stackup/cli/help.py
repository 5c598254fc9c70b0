"""Help that guides: ``stackup --help`` lists the commands in groups, as a person looks for
them, each with one sentence that fits; a command's flags can be grouped (``up --help``, common
ones first); a global option typed after the command gets a hint to move it.

Pipeline position: CLI only, through click's public formatting hooks (``format_commands``,
``format_options``); the lazy group (``cli.main``) and grouped commands use these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import click

# (heading, commands), in the order they are shown; a command missing here is under "Other".
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("The stack", ("up", "down", "ps", "logs", "start", "stop", "restart", "create", "rm",
                   "scale", "ls")),
    ("Plans", ("plan", "apply", "schema")),
    ("History and drift", ("history", "rollback", "drift", "agent")),
    ("Development", ("watch",)),
    ("Images", ("build", "pull", "push", "images")),
    ("Containers", ("exec", "run", "attach", "cp", "kill", "pause", "unpause", "top", "port",
                    "wait", "stats", "events", "commit", "export")),
)

# One whole sentence per command for `stackup --help` (a command's own --help says more).
SUMMARIES = {
    "up": "Create and start the stack, changing only what differs.",
    "down": "Stop and remove the stack (volumes too with -v).",
    "ps": "List the project's containers.",
    "logs": "Show the output of the project's containers.",
    "start": "Start the project's stopped containers.",
    "stop": "Stop the project's containers, keeping them.",
    "restart": "Restart the project's containers.",
    "create": "Create the stack's containers without starting them.",
    "rm": "Remove the project's stopped containers.",
    "scale": "Set how many containers a service runs.",
    "ls": "List the projects on the engine.",
    "plan": "Show what `up` would change, and why.",
    "apply": "Run a saved plan exactly, or nothing if anything moved.",
    "schema": "Print the JSON Schema of plans or progress events.",
    "history": "List the revisions recorded on the engine.",
    "rollback": "Go back to an earlier revision.",
    "drift": "Report drift as it happens; heal it with --heal.",
    "watch": "Sync, restart or rebuild services as their files change.",
    "agent": "Follow git branches and converge their stacks (GitOps).",
    "build": "Build the images of services with a build section.",
    "pull": "Pull the images of the stack's services.",
    "push": "Push the images of the stack's services.",
    "images": "List the images the project's containers run.",
    "exec": "Run a command in a running container.",
    "run": "Run a one-off command in a new container of a service.",
    "attach": "Attach this terminal to a running container.",
    "cp": "Copy files between a container and the host.",
    "commit": "Make a new image from a service container's changes.",
    "export": "Write a service container's filesystem as a tar archive.",
    "kill": "Send a signal to the project's containers.",
    "pause": "Pause the project's running containers.",
    "unpause": "Unpause the project's paused containers.",
    "top": "Show the processes running in the containers.",
    "port": "Print the host address a container port is published on.",
    "wait": "Wait until containers stop; print their exit codes.",
    "stats": "Show the containers' CPU, memory and I/O use.",
    "events": "Stream the engine's events for the project.",
    "config": "Validate the stack files and print the resolved model.",
    "completion": "Print the shell completion script.",
    "docker-plugin": "Install `docker stackup` as a docker CLI plugin.",
    "unlock": "Release a project's lock left by a run that died.",
    "version": "Show stackup's version.",
    "volumes": "List the project's volumes.",
}


def format_commands(group: click.Group, ctx: click.Context,
                    formatter: click.HelpFormatter) -> None:
    """The commands under their headings, each with its one-sentence summary."""
    names = group.list_commands(ctx)
    placed = {name for _, members in SECTIONS for name in members}
    sections = [(heading, [n for n in members if n in names]) for heading, members in SECTIONS]
    sections.append(("Other", sorted(n for n in names if n not in placed)))
    for heading, members in sections:
        if not members:
            continue
        rows = [(name, SUMMARIES.get(name) or _summary(group, ctx, name)) for name in members]
        with formatter.section(heading):
            formatter.write_dl(rows)


def _summary(group: click.Group, ctx: click.Context, name: str) -> str:
    command = group.get_command(ctx, name)
    return command.get_short_help_str(limit=60) if command is not None else ""


class GroupedCommand(click.Command):
    """A command whose ``--help`` shows its options under headings, common ones first:
    ``option_groups`` maps a heading to the parameter names it holds; the rest go last."""

    def __init__(self, *args: object, option_groups: Sequence[tuple[str, Iterable[str]]] = (),
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # click's own signature
        self.option_groups = [(heading, tuple(names)) for heading, names in option_groups]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx)
                   if isinstance(p, click.Option)}
        shown: set[str | None] = set()
        for heading, names in self.option_groups:
            rows = [records[n] for n in names if records.get(n) is not None]
            shown.update(names)
            if rows:
                with formatter.section(heading):
                    formatter.write_dl([r for r in rows if r is not None])
        rest = [r for n, r in records.items() if n not in shown and r is not None]
        if rest:
            with formatter.section("Other options"):
                formatter.write_dl(rest)


def misplaced_global(error: click.NoSuchOption, group: click.Group,
                     argv: Sequence[str]) -> str | None:
    """For ``stackup up --progress quiet``: the hint that global options go before the
    command (``put it before the command: stackup --progress quiet up``), or None when the
    unknown option is not one of the group's."""
    ctx = error.ctx
    if ctx is None or ctx.command is group:
        return None
    name, _, inline = error.option_name.partition("=")
    for param in group.params:
        if isinstance(param, click.Option) and name in param.opts + param.secondary_opts:
            moved = [error.option_name]
            args = list(argv)
            if not param.is_flag and not inline and name in args:
                at = args.index(name)
                moved += args[at + 1:at + 2]
            command = ctx.info_name or "COMMAND"
            return f"{name} is a global option: put it before the command: " \
                   f"stackup {' '.join(moved)} {command}"
    return None
