"""
heaptrack's view of one run, for the tests that check cprof against it:
`heaptrack -o` on a program, then what heaptrack_print says of the data
file, each figure in its exact form where heaptrack_print has one (its
text rounds bytes: "2.07M"). Not a test itself.
"""
import os
import re
import subprocess

TIMEOUT = 300


class Heaptrack:
    """One program run under heaptrack; data in DIR/ht.zst."""

    def __init__(self, argv, tmp):
        out = os.path.join(tmp, "ht")
        p = subprocess.run(["heaptrack", "-o", out, *argv], capture_output=True, timeout=TIMEOUT)
        if p.returncode != 0:
            raise AssertionError("heaptrack %s: exit %d: %s"
                                 % (" ".join(argv), p.returncode, p.stderr.decode()[-300:]))
        self.stdout, self.stderr = p.stdout, p.stderr.decode()
        data = [f for f in os.listdir(tmp) if f.startswith("ht.")]
        if len(data) != 1:
            raise AssertionError("heaptrack wrote %r, expected one ht.* data file" % data)
        self.data, self.tmp = os.path.join(tmp, data[0]), tmp
        # Every backtrace whole (-m 0: not merged by their top frame).
        self.text = self.print("-m", "0", "-n", "1000000", "-s", "0", "-a", "1", "-p", "0",
                               "-l", "0", "-T", "1")

    def print(self, *args):
        p = subprocess.run(["heaptrack_print", "-f", self.data, *args], capture_output=True,
                           text=True, timeout=TIMEOUT)
        if p.returncode != 0:
            raise AssertionError("heaptrack_print %s: exit %d: %s"
                                 % (" ".join(args), p.returncode, p.stderr[-300:]))
        return p.stdout

    def total(self, what):
        """A figure of heaptrack_print's closing summary, e.g. "calls to
        allocation functions", as printed."""
        m = re.search(r"^%s: (\S+)" % re.escape(what), self.text, re.M)
        if not m:
            raise AssertionError("heaptrack_print printed no %r" % what)
        return m.group(1)

    def recorder_stat(self, what):
        """A count of heaptrack's own end-of-run "heaptrack stats", which
        heaptrack_interpret prints while recording (stdout or stderr)."""
        both = self.stdout.decode(errors="replace") + self.stderr
        m = re.search(r"^\s*%s:\s*(\d+)$" % re.escape(what), both, re.M)
        if not m:
            raise AssertionError("heaptrack printed no stat %r" % what)
        return int(m.group(1))

    def stacks(self, section, head):
        """The entries of one section of the text: [(head's groups, frames)],
        frames innermost first, each (function, file, line, module); an
        unresolved frame's function is its address, file and line None."""
        if section not in self.text:
            raise AssertionError("heaptrack_print printed no section %r" % section)
        body = self.text.split(section, 1)[1].split("\n\n\n", 1)[0]
        out = []
        for block in body.strip("\n").split("\n\n"):
            lines = block.split("\n")
            m = re.fullmatch(head, lines[0])
            if not m:
                raise AssertionError("%s: unexpected line %r" % (section, lines[0]))
            frames = []
            for line in lines[1:]:
                if not line.startswith("    "):
                    frames.append([line.strip(), None, None, None])
                elif line.startswith("    at "):
                    path, num = line[7:].rsplit(":", 1)
                    frames[-1][1:3] = path, int(num)
                elif line.startswith("    in "):
                    frames[-1][3] = line[7:]
            out.append((m.groups(), [tuple(f) for f in frames]))
        return out

    def flamegraph(self, cost):
        """heaptrack_print -F with --flamegraph-cost-type cost (allocations,
        temporary, leaked, peak): {frame names from main outwards: exact
        cost}. Its order within one instruction pointer is innermost first
        (a function, then what it was inlined into)."""
        path = os.path.join(self.tmp, "fg-" + cost)
        self.print("--flamegraph-cost-type", cost, "-F", path)
        out = {}
        for line in open(path):
            stack, value = line.rstrip("\n").rsplit(" ", 1)
            names = tuple(re.sub(r" \([^()]*\)$", "", s) for s in stack.split(";") if s)
            out[names] = out.get(names, 0) + int(value)
        return out

    def histogram(self):
        """heaptrack_print -H: {request size: allocation calls}, exact."""
        path = os.path.join(self.tmp, "histogram")
        self.print("-H", path)
        out = {}
        for line in open(path):
            size, count = line.split()
            out[int(size)] = out.get(int(size), 0) + int(count)
        return out
