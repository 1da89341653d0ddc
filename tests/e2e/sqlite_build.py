"""
SQLite as a third-party code base for the end-to-end tests: the
amalgamation bundled in the npm package better-sqlite3@12.9.0 (fetched
into $O/thirdparty/ or $THIRDPARTY_DIR once, checked against its pinned integrity; a failed
fetch fails the test), compiled with -finstrument-functions together with
the driver tests/thirdparty/sqlite_workload.c. Not a test itself:
test_thirdparty.py (calls) and test_thirdparty_mem.py (memory, against
heaptrack) both use it.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

from cprof_e2e import BUILD, ROOT

PACKAGE = "better-sqlite3@12.9.0"
# The registry's integrity string of that tarball (npm view ... dist.integrity).
INTEGRITY = "sha512-wqUv4Gm3toFpHDQmaKD4QhZm3g1DjUBI0yzS4UBl6lElUmXFYdTQmmEDpAFa5o8FiFiymURypEnfVHzILKaxqQ=="
SQLITE_VERSION = "3.53.0"
# $O/thirdparty, or THIRDPARTY_DIR: `make check`'s sanitizer pass reuses
# the plain pass's (the same gcc, the same flags: compiled once).
THIRDPARTY = os.environ.get("THIRDPARTY_DIR") or os.path.join(BUILD, "thirdparty")
CACHE = os.path.join(THIRDPARTY, "better-sqlite3-12.9.0")
SQLITE_C = os.path.join(CACHE, "sqlite3.c")
OUT = os.path.join(THIRDPARTY, "build")
OBJ = os.path.join(OUT, "sqlite3.o")
# What OBJ was compiled with: a later build reuses OBJ only when it matches.
STAMP = OBJ + ".flags"
EXE = os.path.join(OUT, "sqlite_workload")
DRIVER = os.path.join(ROOT, "tests", "thirdparty", "sqlite_workload.c")
# -O2 as a release build; single-threaded SQLite (no mutex calls);
# frame pointers so CPROF_UNWIND=fp can walk SQLite's stacks.
SQLITE_FLAGS = ["-g", "-O2", "-finstrument-functions", "-fno-omit-frame-pointer",
                "-DSQLITE_THREADSAFE=0"]


def fail_now(why):
    print("FAIL " + why)
    sys.exit(1)


def last_line(text):
    return (text.strip().splitlines() or ["(no message)"])[-1]


def fetch():
    """SQLite's sources from the npm registry into CACHE, unless there."""
    if os.path.exists(SQLITE_C) and os.path.exists(os.path.join(CACHE, "sqlite3.h")):
        return
    if not shutil.which("npm"):
        fail_now("fetch: npm is missing (scripts/install-deps.sh build installs it)")
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".fetch-", dir=os.path.dirname(CACHE))
    try:
        # npm pack downloads the tarball only: no install, no scripts.
        p = subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", tmp, "--ignore-scripts",
                            "--silent"], capture_output=True, text=True, timeout=300)
        tgz = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
        if p.returncode != 0 or len(tgz) != 1:
            fail_now("fetch: 'npm pack %s' failed: %s" % (PACKAGE, last_line(p.stderr)))
        data = open(os.path.join(tmp, tgz[0]), "rb").read()
        got = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if got != INTEGRITY:
            fail_now("fetch: %s does not match its pinned integrity (got %s)" % (tgz[0], got))
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        with tarfile.open(os.path.join(tmp, tgz[0])) as tar:
            for name in ("sqlite3.c", "sqlite3.h"):
                member = tar.getmember("package/deps/sqlite3/" + name)
                with open(os.path.join(src, name), "wb") as f:
                    f.write(tar.extractfile(member).read())
        os.rename(src, CACHE)  # whole or not at all
    except subprocess.TimeoutExpired:
        fail_now("fetch: 'npm pack %s' timed out after 300 s" % PACKAGE)
    except (OSError, KeyError, tarfile.TarError) as e:
        fail_now("fetch: cannot unpack %s: %s" % (PACKAGE, e))
    finally:
        shutil.rmtree(tmp, True)


def compiled_with():
    """The compiler and flags OBJ is built with, as STAMP records them."""
    version = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout
    return "%s\n%s\n" % (last_line(version.split("\n\n")[0]), " ".join(SQLITE_FLAGS))


def build(reuse=False):
    """Compiles sqlite3.c (unless reuse and OBJ matches STAMP) and links the
    driver into EXE. Returns the seconds sqlite3.c's compile took (None
    when reused)."""
    fetch()
    os.makedirs(OUT, exist_ok=True)
    want = compiled_with()
    compile_s = None
    have = open(STAMP).read() if reuse and os.path.exists(STAMP) and os.path.exists(OBJ) else None
    if have != want:
        t0 = time.monotonic()
        tmp = OBJ + ".tmp"
        # A hang guard only: the compile takes ~50 s on a quiet 2-core VM and
        # went past 400 s at a load average of 14; CI's own limit is 90 min.
        p = subprocess.run(["gcc", *SQLITE_FLAGS, "-c", SQLITE_C, "-o", tmp],
                           capture_output=True, text=True, timeout=1800)
        compile_s = time.monotonic() - t0
        if p.returncode != 0:
            fail_now("build: gcc sqlite3.c failed: " + last_line(p.stderr))
        os.rename(tmp, OBJ)
        with open(STAMP, "w") as f:
            f.write(want)
    p = subprocess.run(["gcc", "-std=gnu11", "-Wall", "-Wextra", "-Wshadow", "-Wstrict-prototypes",
                        "-Wmissing-prototypes", "-Werror", *SQLITE_FLAGS,
                        "-I" + CACHE, "-I" + os.path.join(ROOT, "include"),
                        DRIVER, OBJ, "-o", EXE + ".tmp", "-lm"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        fail_now("build: gcc sqlite_workload.c failed: " + last_line(p.stderr))
    os.rename(EXE + ".tmp", EXE)
    return compile_s
