"""mypy passes over stackup/ with the project's configuration (pyproject's [tool.mypy]: the
whole package checked, the pure core under the strict flags), and every ``type: ignore`` in the
package says why on the same line."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# `# type: ignore[code]` and what follows it on the line: the reason, as a comment of its own
IGNORE = re.compile(r"#\s*type:\s*ignore(?:\[[^\]]*\])?(?P<rest>.*)$")
REASON = re.compile(r"\s*#\s*\S")


def test_mypy_passes() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "pyproject.toml"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout


def unexplained_ignores(text: str) -> list[int]:
    """Line numbers of the ``type: ignore`` comments without a reason after them."""
    return [number for number, line in enumerate(text.splitlines(), 1)
            for match in [IGNORE.search(line)] if match and not REASON.match(match["rest"])]


def test_every_type_ignore_says_why() -> None:
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in sorted((ROOT / "stackup").rglob("*.py"))
             for number in unexplained_ignores(path.read_text())]
    assert not found, "`type: ignore` without a reason after it:\n" + "\n".join(found)


def test_the_check_finds_an_ignore_without_a_reason() -> None:
    assert unexplained_ignores("x = f()  # type: ignore[arg-type]\n") == [1]
    assert unexplained_ignores("x = f()  # type: ignore\n") == [1]
    assert unexplained_ignores("x = f()  # type: ignore[misc]  # noqa\n") == []
    assert unexplained_ignores(
        "x = f()  # type: ignore[misc]  # the SDK returns Any here\n") == []
