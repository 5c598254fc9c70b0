"""Benchmark: load + validate + graph for generated stacks of 1,000 and 5,000 services.

Usage: python bench/load_bench.py [--shape chain|layered] [--sizes 1000,5000] [--repeat 3]
       [--profile N]

``chain``: every service has an image, a command, environment, a named volume and labels;
every 3rd depends on 2 earlier ones. ``layered``: layers of 10, each service depending on all
10 of the layer below. Uses ``stackup.loader.loader.load_project`` when present, else reads with
yamlsrc (or PyYAML) and calls ``parse_project`` directly. Prints the median of ``repeat`` runs.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stackup.core.graph import build_graph, start_order  # noqa: E402


def generate(n: int, shape: str) -> str:
    lines = ["name: bench", "services:"]
    for i in range(n):
        lines += [f"  s{i}:", "    image: busybox:1.36", f"    command: sleep {1000 + i}",
                  "    environment:", f"      INDEX: \"{i}\"", "      MODE: bench",
                  f"    volumes: [\"data{i % 50}:/data\"]",
                  "    labels:", f"      com.example.index: \"{i}\"", "      com.example.tier: bench"]
        if shape == "layered" and i >= 10:
            base = (i // 10 - 1) * 10
            lines.append(f"    depends_on: [{', '.join(f's{base + j}' for j in range(10))}]")
        elif shape == "chain" and i % 3 == 2:
            lines.append(f"    depends_on: [s{i - 1}, s{i - 2}]")
    lines.append("volumes:")
    lines += [f"  data{j}: {{}}" for j in range(min(n, 50))]
    return "\n".join(lines) + "\n"


def _load(path: str) -> object:
    try:
        from stackup.loader.loader import LoadOptions, load_project
    except ImportError:
        from stackup.loader.parse import parse_project
        from stackup.loader.yamlsrc import read_yaml

        tree = read_yaml(Path(path).read_text(), path)
        return parse_project(tree, project_name="bench", working_dir=os.path.dirname(path),
                             environ={}, profiles=(), requested_services=(),
                             config_files=(path,), warnings=[])
    return load_project(LoadOptions(files=(path,), cwd=os.path.dirname(path))).project


def run_once(path: str) -> tuple[float, float]:
    began = time.perf_counter()
    project = _load(path)
    loaded = time.perf_counter()
    build_graph(project)  # type: ignore[arg-type]
    start_order(project)  # type: ignore[arg-type]
    return loaded - began, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=("chain", "layered"), default="chain")
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, help="cProfile one load of N services")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            path = os.path.join(tmp, "compose.yaml")
            Path(path).write_text(generate(args.profile, args.shape))
            cProfile.runctx("run_once(path)", globals(), {"path": path}, os.path.join(tmp, "p"))
            pstats.Stats(os.path.join(tmp, "p")).sort_stats("cumulative").print_stats(25)
            return
        print(f"shape={args.shape}  median of {args.repeat}")
        print(f"{'services':>9} {'lines':>8} {'load+validate':>14} {'+graph':>9}")
        for n in (int(s) for s in args.sizes.split(",")):
            path = os.path.join(tmp, f"compose-{n}.yaml")
            text = generate(n, args.shape)
            Path(path).write_text(text)
            runs = [run_once(path) for _ in range(args.repeat)]
            load = statistics.median(r[0] for r in runs)
            total = statistics.median(r[1] for r in runs)
            print(f"{n:>9} {text.count(chr(10)):>8} {load:>13.3f}s {total:>8.3f}s")


if __name__ == "__main__":
    main()
