#!/usr/bin/env python3
"""The mutation check (by hand, not in CI; docs/testing.md "Mutation check").

Each mutation in mutations.json breaks one critical line on purpose. For each, a scratch copy of
the working tree gets the mutation, only the mutation's targets are rebuilt (an incremental build
in a build folder kept between runs), and the tests that guard the line run. A mutation the tests
do not notice has survived: the script lists it and exits 1.

    python3 tests/mutation/run.py [--scratch /tmp/watchgate-mutation] [name-substring ...]
"""

import argparse
import json
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run(command, cwd, log):
    with open(log, "a") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        return subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode


def sync(origin, copy):
    """Copies what differs (by size or time) from `origin` to `copy`, times included."""
    for path in origin.rglob("*"):
        relative = path.relative_to(origin)
        if relative.parts[0] in ("build", ".git") or not path.is_file():
            continue
        target = copy / relative
        if target.exists():
            here, there = path.stat(), target.stat()
            if here.st_size == there.st_size and here.st_mtime_ns == there.st_mtime_ns:
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scratch", default="/tmp/watchgate-mutation")
    parser.add_argument("only", nargs="*", help="run the mutations whose name contains one of these")
    args = parser.parse_args()
    mutations = json.loads((ROOT / "tests/mutation/mutations.json").read_text())
    if args.only:
        mutations = [m for m in mutations if any(part in m["name"] for part in args.only)]
    scratch = pathlib.Path(args.scratch)
    source = scratch / "src"
    build = scratch / "build"
    log = scratch / "log.txt"
    scratch.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    # The working tree as it is (committed or not), without build output; times kept, so the
    # build folder only rebuilds what changed since the last run.
    sync(ROOT, source)
    if run(["cmake", "-S", str(source), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug",
            "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache", "-DWATCHGATE_WERROR=OFF"], source, log) != 0:
        sys.exit(f"configure failed: see {log}")

    survived = []
    for mutation in mutations:
        path = source / mutation["file"]
        original = path.read_text()
        if original.count(mutation["find"]) != 1:
            print(f"STALE    {mutation['name']}: the line to break is not in {mutation['file']} exactly once")
            survived.append(mutation["name"])
            continue
        try:
            path.write_text(original.replace(mutation["find"], mutation["replace"]))
            if run(["cmake", "--build", str(build), "-j2", "--target", *mutation["targets"]], source, log) != 0:
                print(f"BROKEN   {mutation['name']}: the mutation does not build (see {log})")
                survived.append(mutation["name"])
                continue
            binary = build / "bin" / mutation["binary"]
            if run([str(binary), mutation["tests"]], build, log) != 0:
                print(f"killed   {mutation['name']}")
            else:
                print(f"SURVIVED {mutation['name']}: {mutation['binary']} \"{mutation['tests']}\" still passes")
                survived.append(mutation["name"])
        finally:
            path.write_text(original)
    # Leave the build matching the unmutated tree.
    run(["cmake", "--build", str(build), "-j2", "--target", *sorted({t for m in mutations for t in m["targets"]})],
        source, log)
    print(f"{len(mutations) - len(survived)} of {len(mutations)} mutations killed")
    sys.exit(1 if survived else 0)


if __name__ == "__main__":
    main()
