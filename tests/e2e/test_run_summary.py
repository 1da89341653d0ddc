"""
What `cprof run` prints after the program: the files it wrote, the
memory summary (peak, live at exit, top sites) and the call summary, all
on stderr, with the program's stdout untouched.
"""
import re

from cprof_e2e import Checks, Run, eq, prog

c = Checks()


def memory_and_calls_summary():
    r = Run([prog("mem_sites")])
    eq(r.status, 0, "exit status")
    err = r.stderr
    for needle in ["wrote", ".snap", ".prof", "peak traced memory", "top 4 sites by live size",
                   "function calls"]:
        if needle not in err:
            raise AssertionError("summary lacks %r:\n%s" % (needle, err))
    # keep_blocks: 500 blocks of 1000 bytes still live at exit
    if not re.search(r"mem_sites\.c:28: size=488 KiB, count=500, average=1000 B", err):
        raise AssertionError("top site line missing:\n" + err)
    if b"cprof:" in r.stdout or b"top " in r.stdout:
        raise AssertionError("cprof wrote to the program's stdout")


def memory_only_for_plain_binaries():
    r = Run(["/bin/ls", "/"])
    eq(r.status, 0, "exit status")
    if "memory only" not in r.stderr or "peak traced memory" not in r.stderr:
        raise AssertionError(r.stderr)
    eq(r.profiles(), [], "no call profile for a plain binary")


c.case("memory_and_calls_summary", memory_and_calls_summary)
c.case("memory_only_for_plain_binaries", memory_only_for_plain_binaries)
c.done()
