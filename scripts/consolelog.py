"""consolelog.py: what a guest hands to the host through its console log.

A guest prints records as "@@TAG name key=value ..." lines and files as
gzip+base64 blocks between "@@TAG-BEGIN name" and "@@TAG-END name"
(tests/lib.sh emit_block). make bench uses TAG=BENCH (scripts/bench-report.py),
make run TAG=DEMO (scripts/demo-plot.py). Kernel messages may land between
the lines of a block on the serial console, so block lines that are not
base64 are skipped, and a damaged block is reported, not fatal.
"""
import base64
import gzip
import re
import subprocess
import sys


def kv(line):
    """'a=1 b=x' -> {'a': '1', 'b': 'x'}"""
    return dict(re.findall(r"(\w+)=(\S+)", line))


def parse(path, tag):
    """-> ([(record name, {key: value})], {block name: bytes}) of one console log"""
    recs, blocks = [], {}
    cur, buf = None, []
    begin = re.compile(rf"@@{tag}-BEGIN (\S+)")
    record = re.compile(rf"@@{tag} (\w+) (.*)")
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.replace("\r", "").rstrip("\n")
            if cur is not None:
                if line.startswith(f"@@{tag}-END "):
                    try:
                        blocks[cur] = gzip.decompress(base64.b64decode("".join(buf)))
                    except Exception as e:  # noqa: BLE001
                        print(f"warning: {path}: block {cur}: {e}", file=sys.stderr)
                    cur, buf = None, []
                elif re.fullmatch(r"[A-Za-z0-9+/=]+", line.strip()):
                    buf.append(line.strip())
                continue
            m = begin.search(line)
            if m:
                cur, buf = m.group(1), []
                continue
            m = record.search(line)
            if m:
                recs.append((m.group(1), kv(m.group(2))))
    return recs, blocks


def gnuplot(script, cwd):
    """Run a gnuplot script in cwd; a failure is a warning (the CSV stays)."""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, cwd=cwd)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"warning: gnuplot: {e}", file=sys.stderr)
        return False
