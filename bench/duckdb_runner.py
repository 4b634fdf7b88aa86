#!/usr/bin/env python3
"""DuckDB side of `bench query`: times SQL over Parquet files in one DuckDB process.

    python3 bench/duckdb_runner.py SPEC.json            # results as JSON on stdout
    python3 bench/duckdb_runner.py --setup              # only create the venv

SPEC.json: {"setup": [SQL, ...], "repeat": N, "threads": null or N,
            "queries": [{"name": ..., "sql": ...}, ...]}

Each query runs once as a warm-up (its rows are the ones reported, for the comparison
with Trailwatch), then N timed times; the wall time of each run is `execute` +
`fetchall` in this process, the CPU time that of the whole process (every DuckDB
thread). Progress goes to stderr.

The script runs itself inside a venv with a pinned DuckDB, which it creates on first use:
$TRAILWATCH_BENCH_VENV, else $CARGO_TARGET_DIR/bench-venv, else <repo>/target/bench-venv
(or --venv DIR).
"""

import json
import os
import subprocess
import sys
import time

DUCKDB_VERSION = "1.5.6"
HERE = os.path.dirname(os.path.abspath(__file__))


def default_venv():
    if os.environ.get("TRAILWATCH_BENCH_VENV"):
        return os.environ["TRAILWATCH_BENCH_VENV"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(HERE, "..", "target")
    return os.path.join(target, "bench-venv")


def log(message):
    print(f"duckdb_runner: {message}", file=sys.stderr, flush=True)


def ensure_venv(venv):
    """Creates the venv (or repairs it) and installs the pinned DuckDB; returns its python."""
    python = os.path.join(venv, "bin", "python")
    check = f"import duckdb, sys; sys.exit(duckdb.__version__ != '{DUCKDB_VERSION}')"
    if os.path.exists(python) and subprocess.run([python, "-c", check], capture_output=True).returncode == 0:
        return python
    if not (os.path.exists(python) and subprocess.run([python, "-c", "import pip"], capture_output=True).returncode == 0):
        log(f"creating venv {venv}")
        import shutil
        import venv as venv_module

        shutil.rmtree(venv, ignore_errors=True)
        venv_module.create(venv, with_pip=True)
    log(f"installing duckdb=={DUCKDB_VERSION} into {venv}")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"duckdb=={DUCKDB_VERSION}"],
        check=True,
        stdout=sys.stderr,
    )
    return python


def plain(value):
    """A result cell as JSON: numbers and strings as they are, anything else as text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        import decimal

        if isinstance(value, decimal.Decimal):
            return float(value)
    except ImportError:
        pass
    return str(value)


def run(spec):
    import duckdb

    con = duckdb.connect(database=":memory:")
    if spec.get("threads"):
        con.execute(f"SET threads = {int(spec['threads'])}")
    for sql in spec.get("setup", []):
        con.execute(sql)
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    repeat = max(1, int(spec.get("repeat", 3)))
    out = []
    for q in spec["queries"]:
        log(f"{q['name']}: warm-up")
        cursor = con.execute(q["sql"])
        columns = [d[0] for d in cursor.description]
        rows = [[plain(v) for v in row] for row in cursor.fetchall()]
        walls, cpus = [], []
        for _ in range(repeat):
            cpu0, t0 = time.process_time(), time.perf_counter()
            con.execute(q["sql"]).fetchall()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - cpu0)
        log(f"{q['name']}: {min(walls):.3f} s best of {repeat}, {len(rows)} rows")
        out.append({"name": q["name"], "columns": columns, "rows": rows, "wall_s": walls, "cpu_s": cpus})
    return {"duckdb_version": duckdb.__version__, "threads": threads, "queries": out}


def main(argv):
    venv = default_venv()
    args = list(argv)
    if "--venv" in args:
        i = args.index("--venv")
        venv = args[i + 1]
        del args[i : i + 2]
    venv = os.path.abspath(venv)
    if os.path.realpath(sys.prefix) != os.path.realpath(venv):
        if os.environ.get("TRAILWATCH_BENCH_IN_VENV"):
            log(f"re-executed but still not inside {venv} (sys.prefix {sys.prefix})")
            return 1
        python = ensure_venv(venv)
        os.environ["TRAILWATCH_BENCH_IN_VENV"] = "1"
        os.execv(python, [python, os.path.abspath(__file__), "--venv", venv, *args])
    if args == ["--setup"]:
        import duckdb

        log(f"duckdb {duckdb.__version__} ready in {venv}")
        return 0
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0]) as f:
        spec = json.load(f)
    json.dump(run(spec), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
