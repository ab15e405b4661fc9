#!/usr/bin/env python3
"""Mutation harness: plant each bug of tests/mutate/sites.txt, one at a
time, rebuild incrementally, and run the suite without the digest
comparisons (labels golden, determinism) -- the tests that name what they
guard must catch it. docs/testing.md describes the site format.

A mutation is applied in place to the source tree and always undone: the
original bytes are kept in BUILD/mutate-restore and written back in a
finally block (SIGINT, SIGTERM and SIGHUP raise through it); a run killed
outright is repaired by the next one before it does anything else.

Exit status: 0 if every site was caught (or is a documented equivalent
mutant), 1 if one survived or could not be applied or built, 2 on bad
usage or a broken site list."""
import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXCLUDE = "bench|kernel|golden|determinism"
FIELDS = ("id", "file", "from", "to", "breaks", "tests", "equivalent")


class Interrupted(Exception):
    pass


def on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def parse_sites(path):
    """Blocks of `key: value` lines separated by blank lines; '#' starts a
    comment line. Returns a list of dicts; exits 2 on a malformed block."""
    sites, cur, errors = [], {}, []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = 1
    for n, line in enumerate(lines + [""], 1):
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                cur["line"] = start
                sites.append(cur)
                cur = {}
            continue
        if not cur:
            start = n
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in FIELDS:
            errors.append(f"{path}:{n}: expected one of {', '.join(FIELDS)}: VALUE")
            continue
        if key in cur:
            errors.append(f"{path}:{n}: {key} given twice in one site")
        cur[key] = value[1:] if value.startswith(" ") else value
    seen = set()
    for s in sites:
        for key in ("id", "file", "from", "to", "breaks"):
            if key not in s:
                errors.append(f"{path}:{s['line']}: site without {key}")
        if s.get("id") in seen:
            errors.append(f"{path}:{s['line']}: id {s.get('id')} used twice")
        seen.add(s.get("id"))
        if s.get("from") == s.get("to"):
            errors.append(f"{path}:{s['line']}: from and to are the same")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(2)
    return sites


def unescape(text):
    """Site texts are one line; \\n stands for a newline, \\\\ for a backslash."""
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def restore_file(build, leftover=False):
    """Write back the original of the mutated file, if one is mutated;
    leftover: at start-up, from a run that was killed."""
    keep = os.path.join(build, "mutate-restore")
    path_file = os.path.join(keep, "path")
    if not os.path.exists(path_file):
        return
    with open(path_file, encoding="utf-8") as f:
        rel = f.read().strip()
    shutil.copyfile(os.path.join(keep, "original"), os.path.join(ROOT, rel))
    os.utime(os.path.join(ROOT, rel))  # newer than any object built from the mutant
    os.remove(path_file)
    if leftover:
        print(f"mutate: restored {rel}, left mutated by a run that was killed")


def apply(site, build):
    """Mutate the site's file; returns an error string or None."""
    rel = site["file"]
    path = os.path.join(ROOT, rel)
    if not os.path.exists(path):
        return f"no file {rel}"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    old, new = unescape(site["from"]), unescape(site["to"])
    count = text.count(old)
    if count != 1:
        return f"'{site['from']}' occurs {count} times in {rel}, not once"
    keep = os.path.join(build, "mutate-restore")
    os.makedirs(keep, exist_ok=True)
    shutil.copyfile(path, os.path.join(keep, "original"))
    with open(os.path.join(keep, "path"), "w", encoding="utf-8") as f:
        f.write(rel + "\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))
    return None


def run(cmd, log, timeout=None):
    with open(log, "a", encoding="utf-8") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        try:
            return subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            f.write("timed out\n")
            return 124


def tests_of(build, regex):
    """Names of the ctest tests a site runs."""
    cmd = ["ctest", "--test-dir", build, "-N", "-LE", EXCLUDE]
    if regex:
        cmd += ["-R", regex]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True).stdout
    return re.findall(r"Test +#\d+: (\S+)", out)


def targets_of(tests):
    """Build targets those tests need: unit.X and coherence.X run X, the CLI
    tests the orrery binary."""
    t = set()
    for name in tests:
        kind, _, exe = name.partition(".")
        t.add("orrery" if kind == "cli" else exe)
    return sorted(t)


def failed_tests(build):
    log = os.path.join(build, "Testing", "Temporary", "LastTestsFailed.log")
    if not os.path.exists(log):
        return []
    with open(log, encoding="utf-8") as f:
        return [line.strip().split(":", 1)[-1] for line in f if line.strip()]


def pick(sites, n, seed):
    """n sites, chosen by the seed (a stable hash order), in list order."""
    order = sorted(sites, key=lambda s: hashlib.sha256(f"{seed}:{s['id']}".encode()).digest())
    chosen = {s["id"] for s in order[:n]}
    return [s for s in sites if s["id"] in chosen]


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `--list | head`
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ids", nargs="*", help="sites to run (default: all)")
    ap.add_argument("--sites", default=os.path.join(ROOT, "tests", "mutate", "sites.txt"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build-mutate"),
                    help="build directory (configured if missing)")
    ap.add_argument("--sample", type=int, metavar="N", help="run N sites chosen by --seed")
    ap.add_argument("--seed", default="0", help="which sample (CI: the date)")
    ap.add_argument("--jobs", "-j", default=os.environ.get("JOBS", "2"))
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip running the selected tests unmutated first")
    ap.add_argument("--list", action="store_true", help="print the sites and exit")
    ap.add_argument("--check", action="store_true",
                    help="check that every site applies (its text occurs once) and exit")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per test run")
    a = ap.parse_args()

    sites = parse_sites(a.sites)
    if a.ids:
        unknown = set(a.ids) - {s["id"] for s in sites}
        if unknown:
            print(f"mutate: no site {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        sites = [s for s in sites if s["id"] in a.ids]
    if a.sample is not None:
        sites = pick(sites, a.sample, a.seed)
    if a.list:
        for s in sites:
            eq = "  [equivalent]" if "equivalent" in s else ""
            print(f"{s['id']:28} {s['file']:32} {s['breaks']}{eq}")
        return 0

    if a.check:
        bad = 0
        for s in sites:
            with open(os.path.join(ROOT, s["file"]), encoding="utf-8") as f:
                n = f.read().count(unescape(s["from"]))
            if n != 1:
                bad += 1
                print(f"mutate: {s['id']}: '{s['from']}' occurs {n} times in {s['file']}",
                      file=sys.stderr)
        print(f"mutate: {len(sites) - bad} of {len(sites)} sites apply")
        return 1 if bad else 0

    build = os.path.abspath(a.build)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    os.makedirs(build, exist_ok=True)
    log = os.path.join(build, "mutate.log")
    open(log, "w").close()
    restore_file(build, leftover=True)
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        print(f"mutate: configuring {build} (RelWithDebInfo)")
        if run(["cmake", "-S", ".", "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                "-DORRERY_BENCH=OFF"], log):
            print(f"mutate: cmake failed, see {log}", file=sys.stderr)
            return 2

    t0 = time.monotonic()
    results = []
    built = set()  # targets built from a mutant: rebuilt from the restored tree at the end
    runnable = [s for s in sites if "equivalent" not in s]
    if not a.no_baseline and runnable:
        # the union of the sites' tests, by name: CMake's regular
        # expressions allow only 10 groups, too few to join the sites'
        if any(not s.get("tests") for s in runnable):
            tests, regex = tests_of(build, ""), ""
        else:
            tests = sorted({t for s in runnable for t in tests_of(build, s["tests"])})
            regex = "|".join("^" + re.escape(t) + "$" for t in tests)
        print(f"mutate: baseline: {len(tests)} tests unmutated", flush=True)
        if run(["cmake", "--build", build, "-j", a.jobs, "--target", *targets_of(tests)], log):
            print(f"mutate: the unmutated tree does not build; see {log}", file=sys.stderr)
            return 1
        if run(["ctest", "--test-dir", build, "-j", a.jobs, "-LE", EXCLUDE] +
               (["-R", regex] if regex else []), log, a.timeout):
            print(f"mutate: the unmutated tests fail ({', '.join(failed_tests(build))}); "
                  f"see {log}", file=sys.stderr)
            return 1
    try:
        for s in sites:
            start = time.monotonic()
            if "equivalent" in s:
                results.append((s, "equivalent", s["equivalent"]))
                print(f"  {'equivalent':10} {s['id']:28} {s['equivalent']}", flush=True)
                continue
            err = apply(s, build)
            if err:
                results.append((s, "invalid", err))
            else:
                try:
                    tests = tests_of(build, s.get("tests", ""))
                    built.update(targets_of(tests))
                    if not tests:
                        verdict = ("invalid", f"no test matches '{s.get('tests')}'")
                    elif run(["cmake", "--build", build, "-j", a.jobs, "--target",
                              *targets_of(tests)], log):
                        verdict = ("invalid", "does not build (see the log)")
                    elif run(["ctest", "--test-dir", build, "-j", a.jobs, "-LE", EXCLUDE] +
                             (["-R", s["tests"]] if s.get("tests") else []), log, a.timeout):
                        verdict = ("caught", "by " + ", ".join(failed_tests(build)))
                    else:
                        verdict = ("survived", f"{len(tests)} tests passed")
                finally:
                    restore_file(build)
                results.append((s, *verdict))
            s_, verdict, why = results[-1]
            print(f"  {verdict:10} {s['id']:28} {why}  ({time.monotonic() - start:.0f} s)",
                  flush=True)
    except Interrupted as e:
        print(f"mutate: interrupted ({e}); the tree is restored", file=sys.stderr)
        return 130
    finally:
        restore_file(build)
    if built and run(["cmake", "--build", build, "-j", a.jobs, "--target", *sorted(built)], log):
        print(f"mutate: rebuilding {build} from the restored tree failed; see {log}",
              file=sys.stderr)
        return 1

    count = {k: sum(1 for r in results if r[1] == k)
             for k in ("caught", "survived", "equivalent", "invalid")}
    print(f"mutate: {len(results)} sites: {count['caught']} caught, {count['survived']} survived, "
          f"{count['equivalent']} equivalent, {count['invalid']} invalid "
          f"in {time.monotonic() - t0:.0f} s (log: {log})")
    for s, verdict, why in results:
        if verdict in ("survived", "invalid"):
            print(f"mutate: {verdict}: {s['id']} ({s['file']}): {s['breaks']} -- {why}",
                  file=sys.stderr)
    return 1 if count["survived"] or count["invalid"] else 0


if __name__ == "__main__":
    sys.exit(main())
