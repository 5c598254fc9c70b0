"""How the `stackup` command ends (``cli.main.run``, a normal exit): every byte written reaches
stdout, exit codes are kept, ``atexit`` handlers and ``weakref.finalize`` callbacks run, and a
reader that went away (``| head -1``) is no error and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

STACKUP = str(Path(sys.executable).parent / "stackup")
# buffered output, as users have it (this suite may run with PYTHONUNBUFFERED set)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def _stack(folder: Path, services: int) -> Path:
    body = "".join(f"  s{i:04d}:\n    image: busybox:local\n    environment: {{N: '{i}'}}\n"
                   for i in range(services))
    path = folder / "compose.yaml"
    path.write_text("services:\n" + body)
    return path


def test_all_output_arrives_and_exit_codes_are_kept(tmp_path: Path) -> None:
    path = _stack(tmp_path, 400)
    out = tmp_path / "out.txt"
    with out.open("w") as sink:  # a file: block-buffered, the case a skipped flush would lose
        done = subprocess.run([STACKUP, "-p", "exit", "-f", str(path), "config"], stdout=sink,
                              stderr=subprocess.PIPE, text=True, timeout=60, env=ENV)
    assert done.returncode == 0, done.stderr
    expected = subprocess.run(
        [sys.executable, "-c", "from stackup.cli.main import main; main()", "-p", "exit", "-f",
         str(path), "config"], capture_output=True, text=True, timeout=60).stdout
    assert out.read_text() == expected and expected.count("image: busybox:local") == 400
    usage = subprocess.run([STACKUP, "up", "--no-such-flag"], capture_output=True, text=True,
                           timeout=60)
    assert usage.returncode == 64
    missing = subprocess.run([STACKUP, "-f", str(tmp_path / "nope.yaml"), "config"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "nope.yaml" in missing.stderr


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    path = _stack(tmp_path, 2000)
    done = subprocess.run(f"'{STACKUP}' -p exit -f '{path}' config | head -n 1",
                          shell=True, capture_output=True, text=True, timeout=60, env=ENV)
    assert done.stdout == "name: exit\n"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_atexit_handlers_finalizers_and_unflushed_output(tmp_path: Path) -> None:
    marker, made = tmp_path / "atexit-ran", tmp_path / "finalized"
    made.mkdir()
    path = _stack(tmp_path, 1)
    script = textwrap.dedent(f"""
        import atexit, shutil, sys, weakref
        from stackup.cli import main as M

        class Resource:
            pass

        keep = Resource()
        weakref.finalize(keep, shutil.rmtree, {str(made)!r})
        atexit.register(lambda: open({str(marker)!r}, "w").write("ran"))
        sys.stdout.write("unflushed")  # a pipe: block-buffered, written at exit only
        sys.argv = ["stackup", "-f", {str(path)!r}, "config", "-q"]  # prints nothing itself
        M.run()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=ENV)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "unflushed"
    assert marker.read_text() == "ran"
    assert not made.exists()


def test_ctrl_c_while_a_class_is_being_built_is_an_interrupt_not_a_bug(tmp_path: Path) -> None:
    """Python 3.11 wraps a ``KeyboardInterrupt`` that lands in a descriptor's ``__set_name__``
    (a dataclass being defined during an import) in a ``RuntimeError``; CI caught `up` printing
    that as an internal error when Ctrl-C came 0.33 s in."""
    path = _stack(tmp_path, 1)
    script = textwrap.dedent(f"""
        import sys
        from stackup.cli import main as M

        class Landed:
            def __set_name__(self, owner, name):
                raise KeyboardInterrupt

        def interrupted_import(*args, **kwargs):
            class Record:  # what an import being run when Ctrl-C lands does
                field = Landed()

        M.cli.main = interrupted_import
        sys.argv = ["stackup", "-f", {str(path)!r}, "config"]
        M.run()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=ENV)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


def test_ctrl_c_while_the_cli_loads_is_an_interrupt_not_a_traceback() -> None:
    """The `stackup` program starts in ``cli.entry``, which imports nothing of stackup at its
    top: a Ctrl-C that lands while the CLI's modules load ends it with `interrupted`, 130."""
    for how in ("raise KeyboardInterrupt",
                "raise RuntimeError('Error calling __set_name__') from KeyboardInterrupt()"):
        script = textwrap.dedent(f"""
            import importlib.abc, sys

            class Landed(importlib.abc.MetaPathFinder):
                def find_spec(self, name, path, target=None):
                    if name == "stackup.cli.main":
                        {how}

            sys.meta_path.insert(0, Landed())
            from stackup.cli.entry import run
            run()
        """)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=60, env=ENV)
        assert (done.returncode, done.stderr) == (130, "interrupted\n"), how
    lean = subprocess.run([sys.executable, "-c", "import sys, stackup.cli.entry\n"
                           "print(sorted(m for m in sys.modules if m.startswith('stackup')))"],
                          capture_output=True, text=True, timeout=60, env=ENV)
    assert lean.stdout.strip() == "['stackup', 'stackup.cli', 'stackup.cli.entry', " \
        "'stackup.core', 'stackup.core.version']"
