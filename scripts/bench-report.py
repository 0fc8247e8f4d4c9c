#!/usr/bin/env python3
"""bench-report.py: turn the console logs of `make bench` into CSV, plots
and report.md.

Input: RAW/logs/run<R>-<kernel>-<workload>.log (console of each boot, with
the "@@BENCH ..." lines and gzip+base64 blocks of tests/bench/*) and
RAW/boots.csv. Output in OUT: report.md, *.csv, *.png (gnuplot).
"""
import argparse
import csv
import datetime
import json
import os
import re
import statistics
import subprocess
import sys

KERNELS = ["static", "dynamic", "reclaim"]
SLOT = 2048  # bytes per swiotlb slot
CHUNK_PAGES = 512  # 2 MiB chunk / 4 KiB pages
MIB = 1 << 20

ap = argparse.ArgumentParser()
ap.add_argument("--raw", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--runs", type=int, required=True)
ap.add_argument("--icount-shift", type=int, default=6)
ap.add_argument("--quick", action="store_true")
ap.add_argument("--elapsed", type=int, default=0, help="seconds make bench took so far")
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- parsing ---------------------------------------------------------------
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import consolelog  # noqa: E402  (scripts/consolelog.py, shared with demo-plot.py)


def parse_log(path):
    """-> (list of (tag, dict)), {block name: bytes}"""
    return consolelog.parse(path, "BENCH")


def num(x, default=None):
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


logs = {}  # (run, kernel, workload) -> (recs, blocks)
for name in sorted(os.listdir(os.path.join(args.raw, "logs"))):
    m = re.fullmatch(r"run(\d+)-(\w+)-([\w-]+)\.log", name)
    if m:
        logs[(int(m.group(1)), m.group(2), m.group(3))] = parse_log(os.path.join(args.raw, "logs", name))

boots = []
with open(os.path.join(args.raw, "boots.csv")) as f:
    boots = list(csv.DictReader(f))


def write_csv(name, header, rows):
    with open(os.path.join(args.out, name), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


# --- statistics helpers ----------------------------------------------------
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=2):
    if x is None:
        return "n/a"
    if isinstance(x, float) and abs(x) >= 1000:
        return f"{x:.0f}"
    return f"{x:.{nd}f}"


def mmm(xs, nd=2, unit=""):
    """'median [min–max] (n)'"""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    if len(xs) == 1:
        return f"{fmt(xs[0], nd)}{unit} (n=1)"
    return f"{fmt(statistics.median(xs), nd)}{unit} [{fmt(min(xs), nd)}–{fmt(max(xs), nd)}] (n={len(xs)})"


def pct(x):
    return "n/a" if x is None else f"{(x - 1) * 100:+.1f}%"


# --- dma_map_benchmark -----------------------------------------------------
dma_rows = []
for (run, k, w), (recs, _) in sorted(logs.items()):
    if not w.startswith("dma-"):
        continue
    for tag, d in recs:
        if tag != "dma":
            continue
        bounced = int(num(d.get("hiwater_after"), 0) or 0) > int(num(d.get("hiwater_before"), 0) or 0) \
            or (d.get("force") == "1")
        dma_rows.append([run, k, w[4:], int(d["rep"]), num(d["map_us"]), num(d["map_sd"]),
                         num(d["unmap_us"]), num(d["unmap_sd"]), d.get("hiwater_before"), d.get("hiwater_after")])
write_csv("dma.csv", ["run", "kernel", "mode", "rep", "map_us", "map_sd_us", "unmap_us", "unmap_sd_us",
                      "hiwater_before", "hiwater_after"], dma_rows)


def dma_vals(k, mode, col, run=None):
    i = {"map": 4, "unmap": 6}[col]
    return [r[i] for r in dma_rows if r[1] == k and r[2] == mode and (run is None or r[0] == run)]


def per_run_ratio(getter, k, base="static"):
    """median over runs of (median of k in run / median of base in run)"""
    out = []
    for run in range(1, args.runs + 1):
        a, b = med(getter(k, run)), med(getter(base, run))
        if a is not None and b:
            out.append(a / b)
    return out


# --- memory / burst / growth ---------------------------------------------
mem_rows, burst_rows, pool_rows, grow_rows, copy_rows = [], [], [], [], []
fio_pct = ["50.000000", "90.000000", "99.000000", "99.900000"]
for (run, k, w), (recs, blocks) in sorted(logs.items()):
    if w != "mem":
        continue
    r = {tag: d for tag, d in recs}
    b, fl, bu = r.get("boot", {}), r.get("fill", {}), r.get("burst", {})
    mem_rows.append([run, k, b.get("memtotal_kb"), b.get("memfree_kb"), b.get("memavailable_kb"),
                     b.get("nr_free_swiotlb", ""), b.get("lent_nslabs", ""), fl.get("held_kb"),
                     fl.get("memfree_kb"), fl.get("nr_free_swiotlb", ""), fl.get("oom"), fl.get("stop"),
                     int(fl["dma32_nr_free_pages"]) - int(fl.get("dma32_nr_free_swiotlb") or 0)
                     if fl.get("dma32_nr_free_pages") else ""])
    fio = None
    if "fio" in blocks:
        t = blocks["fio"].decode(errors="replace")
        try:
            fio = json.loads(t[t.index("{"):])
        except (ValueError, json.JSONDecodeError) as e:
            print(f"warning: run{run}-{k}: fio json: {e}", file=sys.stderr)
    wr = rd = {}
    err = ""
    if fio and fio.get("jobs"):
        j = fio["jobs"][0]
        wr, rd, err = j.get("write", {}), j.get("read", {}), j.get("error", "")

    def lat(part, p):
        v = part.get("clat_ns", {}).get("percentile", {}).get(p)
        return None if v is None else v / 1e6

    burst_rows.append([run, k, bu.get("fio_rc"), err, wr.get("io_bytes"), rd.get("io_bytes"),
                       bu.get("buffer_full"), bu.get("suppressed"),
                       *[lat(wr, p) for p in fio_pct],
                       None if not wr.get("clat_ns") else wr["clat_ns"].get("max", 0) / 1e6,
                       *[lat(rd, p) for p in fio_pct[:3]],
                       wr.get("bw"), wr.get("runtime"),
                       num(bu.get("t1"), 0) - num(bu.get("t0"), 0) if bu.get("t0") else None,
                       bu.get("grows", ""), bu.get("grow_fails", ""), bu.get("pages_migrated", ""),
                       bu.get("hiwater"), bu.get("nslabs"), bu.get("oom")])
    t0 = num(bu.get("t0"), 0.0)
    if "pool" in blocks:
        for line in blocks["pool"].decode(errors="replace").splitlines()[1:]:
            f = line.split()
            if len(f) != 7:
                continue
            pool_rows.append([run, k, round(num(f[0]) - t0, 2)] + [("" if x == "-" else x) for x in f[1:]])
    if "trace" in blocks:
        marks = {}
        for line in blocks["trace"].decode(errors="replace").splitlines():
            m = re.search(r"\s(\d+\.\d+): tracing_mark_write: bench_mark (\S+)", line)
            if m:
                marks[m.group(2)] = float(m.group(1))
                continue
            m = re.search(r"\s(\d+\.\d+): swiotlb_reclaim_(grow|shrink): chunk=(\S+) size=(\d+) "
                          r"duration_us=(\d+) busy_pages=(\d+) err=(-?\d+)", line)
            if m:
                ts = float(m.group(1))
                phase = "quiet" if "grow_begin" in marks and ts >= marks["grow_begin"] and \
                    ("grow_end" not in marks or ts <= marks["grow_end"]) else "burst"
                grow_rows.append([run, k, m.group(2), phase, round(ts - t0, 6), m.group(3),
                                  int(m.group(4)), int(m.group(5)), int(m.group(6)), int(m.group(7))])
        rep = 1
        while f"c32_begin_{rep}" in marks:
            try:
                t32 = (marks[f"c32_end_{rep}"] - marks[f"c32_begin_{rep}"]) * 1e6
                t1 = (marks[f"c1_end_{rep}"] - marks[f"c1_begin_{rep}"]) * 1e6
                copy_rows.append([run, k, rep, round(t32, 1), round(t1, 1), round((t32 - t1) / 31, 1)])
            except KeyError:
                pass
            rep += 1

write_csv("memory.csv", ["run", "kernel", "memtotal_kb", "boot_memfree_kb", "boot_memavailable_kb",
                         "boot_nr_free_swiotlb", "lent_nslabs", "fill_held_kb", "fill_memfree_kb",
                         "fill_nr_free_swiotlb", "oom_kills", "fill_stop", "fill_dma32_ordinary_free_pages"],
          mem_rows)
write_csv("burst.csv", ["run", "kernel", "fio_rc", "fio_error", "write_bytes", "verify_read_bytes",
                        "buffer_full_lines", "buffer_full_suppressed",
                        "write_clat_p50_ms", "write_clat_p90_ms", "write_clat_p99_ms", "write_clat_p99.9_ms",
                        "write_clat_max_ms", "read_clat_p50_ms", "read_clat_p90_ms", "read_clat_p99_ms",
                        "write_bw_kib_s", "write_runtime_ms", "burst_wall_s", "grows", "grow_fails",
                        "pages_migrated", "used_hiwater_slots", "nslabs_after", "oom_kills"], burst_rows)
write_csv("pool.csv", ["run", "kernel", "t_s", "nslabs", "used", "active_nslabs", "lent_nslabs",
                       "nr_free_swiotlb", "transient_nslabs"], pool_rows)
write_csv("grow.csv", ["run", "kernel", "event", "phase", "t_s", "chunk", "size", "duration_us", "busy_pages",
                        "err"],
          grow_rows)
write_csv("copy.csv", ["run", "kernel", "rep", "dd_32x2MiB_us", "dd_1x2MiB_us", "copy_2MiB_us"], copy_rows)
with open(os.path.join(args.out, "boots.csv"), "w") as f, open(os.path.join(args.raw, "boots.csv")) as g:
    f.write(g.read())


def mcol(k, i, conv=float):
    out = []
    for r in mem_rows:
        if r[1] == k and r[i] not in (None, ""):
            out.append(conv(r[i]))
    return out


def bcol(k, i):
    return [num(r[i]) for r in burst_rows if r[1] == k and num(r[i]) is not None]


# --- plots -----------------------------------------------------------------
def gnuplot(script):
    consolelog.gnuplot(script, args.out)


plots = []
# 1. the reclaim pool over time during the burst, one panel per run
rec_runs = sorted({r[0] for r in pool_rows if r[1] == "reclaim"})
if rec_runs:
    for run in rec_runs:
        with open(os.path.join(args.out, f".pool-reclaim-{run}.dat"), "w") as f:
            for r in pool_rows:
                if r[0] == run and r[1] == "reclaim" and r[5] != "":
                    f.write(f"{r[2]} {num(r[5], 0) * SLOT / MIB:.2f} {num(r[4], 0) * SLOT / MIB:.2f} "
                            f"{num(r[6], 0) * SLOT / MIB:.2f} {num(r[7], 0) * 4096 / MIB:.2f}\n")
    bend = {r[0]: num(r[18]) for r in burst_rows if r[1] == "reclaim"}
    s = [f"set terminal pngcairo size 1000,{330 * len(rec_runs)} font ',9'",
         "set output 'pool-reclaim.png'", f"set multiplot layout {len(rec_runs)},1",
         "set xlabel 'seconds since the fio burst started'", "set ylabel 'MiB'", "set key outside right",
         "set grid"]
    for run in rec_runs:
        s.append(f"set title 'reclaim kernel, run {run}: swiotlb pool during the burst (fio started at 0)'")
        if bend.get(run):
            s.append(f"set arrow 1 from {bend[run]:.2f}, graph 0 to {bend[run]:.2f}, graph 1 nohead dt 2")
            s.append(f"set label 1 'fio done' at {bend[run]:.2f}, graph 0.95 offset 0.5,0")
        s.append(f"plot '.pool-reclaim-{run}.dat' u 1:2 w l lw 2 t 'active', '' u 1:3 w l lw 2 t 'used', "
                 f"'' u 1:4 w l lw 2 t 'lent', '' u 1:5 w l lw 2 t 'nr\\_free\\_swiotlb'")
    s.append("unset multiplot")
    gnuplot("\n".join(s) + "\n")
    plots.append(("pool-reclaim.png", "reclaim pool during the burst (active, used, lent slots and free lent "
                  "pages, in MiB), every run"))

# 2. used / total slots of all three kernels, run 1
if pool_rows:
    run = min(r[0] for r in pool_rows)
    for k in KERNELS:
        with open(os.path.join(args.out, f".pool-{k}.dat"), "w") as f:
            for r in pool_rows:
                if r[0] == run and r[1] == k:
                    total = num(r[5]) if k == "reclaim" else num(r[3], 0) + num(r[8], 0)
                    f.write(f"{r[2]} {num(r[4], 0) * SLOT / MIB:.2f} {(total or 0) * SLOT / MIB:.2f}\n")
    s = ["set terminal pngcairo size 1000,420 font ',9'", "set output 'pool-all.png'",
         f"set title 'run {run}: bounce slots in use and usable (MiB) during the burst'",
         "set xlabel 'seconds since the fio burst started'", "set ylabel 'MiB'", "set key outside right",
         "set grid", "set logscale y 2", "set yrange [0.5:512]",
         "plot " + ", ".join(
             f"'.pool-{k}.dat' u 1:($2>0?$2:0.5) w l lw 2 lc {i + 1} t '{k} used', "
             f"'' u 1:3 w l lw 1 dt 2 lc {i + 1} t '{k} usable'" for i, k in enumerate(KERNELS))]
    gnuplot("\n".join(s) + "\n")
    plots.append(("pool-all.png", "slots in use and usable slots of the three kernels during the burst "
                  "(static: the whole pool; dynamic: pools + transient pools; reclaim: active chunks)"))

# 3. dma_map_benchmark latencies, every rep as a point
if dma_rows:
    with open(os.path.join(args.out, ".dma.dat"), "w") as f:
        for r in dma_rows:
            x = KERNELS.index(r[1])
            f.write(f"{r[2]} {x} {r[4]} {r[6]}\n")
    s = ["set terminal pngcairo size 1000,400 font ',9'", "set output 'dma-latency.png'",
         "set multiplot layout 1,2", "set grid", "set xtics ('static' 0, 'dynamic' 1, 'reclaim' 2)",
         "set xrange [-0.5:2.5]", f"set ylabel 'us of icount time (shift={args.icount_shift})'",
         "set key top center horizontal"]
    for mode, title in (("force", "bounced (swiotlb=force)"), ("direct", "not bounced (find\\_pool path)")):
        if not any(r[2] == mode for r in dma_rows):
            continue
        s.append(f"set title 'dma\\_map\\_benchmark, {title}'")
        s.append(f"plot '.dma.dat' u (strcol(1) eq '{mode}' ? $2 - 0.08 : 1/0):3 w p pt 7 t 'map', "
                 f"'' u (strcol(1) eq '{mode}' ? $2 + 0.08 : 1/0):4 w p pt 5 t 'unmap'")
    s.append("unset multiplot")
    gnuplot("\n".join(s) + "\n")
    plots.append(("dma-latency.png", "dma_map_benchmark average map/unmap latency per run and repetition"))

# 4. memory held by the fill
if mem_rows:
    with open(os.path.join(args.out, ".mem.dat"), "w") as f:
        for k in KERNELS:
            f.write(f"{k} {fmt(med(mcol(k, 4, lambda x: float(x) / 1024)), 1)} "
                    f"{fmt(med(mcol(k, 7, lambda x: float(x) / 1024)), 1)}\n")
    s = ["set terminal pngcairo size 700,400 font ',9'", "set output 'memory.png'",
         "set title 'memory after boot and movable memory held by the fill (median, MiB)'",
         "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.7",
         "set ylabel 'MiB'", "set grid ytics", "set key top left", "set yrange [0:*]",
         "plot '.mem.dat' u 2:xtic(1) t 'MemAvailable after boot', '' u 3 t 'held by the tmpfs fill'"]
    gnuplot("\n".join(s) + "\n")
    plots.append(("memory.png", "MemAvailable after boot and memory held by the fill"))

for f in os.listdir(args.out):
    if f.startswith(".") and f.endswith(".dat"):
        os.remove(os.path.join(args.out, f))

# --- report ----------------------------------------------------------------
L = []
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
try:
    commit = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain", "--", "patches", "mm", "dma",
                            "include", "config"], capture_output=True, text=True).stdout.strip()
except OSError:
    commit, dirty = "?", ""
kver = "?"
for name in os.listdir(os.path.join(args.raw, "logs")):
    if name.endswith(".log"):
        with open(os.path.join(args.raw, "logs", name), errors="replace") as f:
            m = re.search(r"init: (\S+) up after", f.read())
            if m:
                kver = m.group(1)
                break
nboots = len(boots)
nfail = sum(1 for b in boots if b["verdict"] != "PASSED")
loads = [num(b["host_load1"]) for b in boots]

L.append("# MIGRATE_SWIOTLB benchmark report")
L.append("")
L.append(f"Generated by `make bench{' QUICK=1' if args.quick else ''} RUNS={args.runs}` on {now}, "
         f"tree at commit `{commit}`{' (series/config modified, uncommitted)' if dirty else ''}, "
         f"guest kernel {kver}. {nboots} boots ({nfail} failed), `make bench` took "
         f"{args.elapsed // 60} min {args.elapsed % 60:02d} s up to this report. "
         f"Host load average (1 min) at the boots: {mmm(loads, 1)} on 2 cores shared with other "
         "engineers' builds and QEMU runs: wall-clock figures are noisy.")
L.append("")
L.append("All three kernels are built from the same tree and `config/base.config` (`make kernel "
         "VARIANT=static|dynamic|reclaim`; reclaim adds the series and `CONFIG_SWIOTLB_RECLAIM`, dynamic "
         "`CONFIG_SWIOTLB_DYNAMIC`) and booted under QEMU TCG, `-smp 2`, one at a time, interleaved "
         "(run 1: static, dynamic, reclaim for each workload, then run 2, ...). Swiotlb parameters, the same "
         "256 MiB in all three:")
L.append("")
L.append("| kernel | command line | swiotlb memory |")
L.append("|---|---|---|")
L.append("| static | `swiotlb=131072` | 256 MiB pool, all of it reserved |")
L.append("| dynamic | `swiotlb=8192` | 16 MiB default pool; adds pools from the page allocator on demand "
         "(6.12 has no parameter for a maximum) |")
L.append("| reclaim | `swiotlb=8192 swiotlb_overprovision=16` | 256 MiB region, 16 MiB active, 240 MiB lent "
         "to the page allocator as MIGRATE_SWIOTLB |")
L.append("")
L.append(",force is added for the bounce benchmark and the burst. Medians are given as "
         "`median [min–max] (n=samples)`; ratios are computed within a run (kernel / static of the same "
         "run) and then summarised over the runs. Raw data: `dma.csv`, `memory.csv`, `burst.csv`, "
         "`pool.csv`, `grow.csv`, `copy.csv`, `boots.csv` next to this file.")
L.append("")

# summary table
targets = []
L.append("## Summary")
L.append("")
L.append("| figure | static | dynamic | reclaim | reclaim / static |")
L.append("|---|---|---|---|---|")
for mode, label in (("force", "bounced"), ("direct", "not bounced")):
    for col in ("map", "unmap"):
        r = per_run_ratio(lambda k, run, m=mode, c=col: dma_vals(k, m, c, run), "reclaim")
        L.append(f"| {col} latency, {label} (us, icount) | " +
                 " | ".join(mmm(dma_vals(k, mode, col)) for k in KERNELS) + f" | {mmm(r, 3)} |")
held = {k: mcol(k, 7, lambda x: float(x) / 1024) for k in KERNELS}
avail = {k: mcol(k, 4, lambda x: float(x) / 1024) for k in KERNELS}
L.append("| MemAvailable after boot (MiB) | " + " | ".join(mmm(avail[k], 1) for k in KERNELS) + " | |")
L.append("| movable memory held by the fill (MiB) | " + " | ".join(mmm(held[k], 1) for k in KERNELS) + " | |")
# usable fraction of the lent area: (held reclaim - held static) / lent, same run
frac, dfrac = [], []
for run in range(1, args.runs + 1):
    row = {r[1]: r for r in mem_rows if r[0] == run}
    if "reclaim" in row and "static" in row and row["reclaim"][7] and row["static"][7] and row["reclaim"][6]:
        lent = float(row["reclaim"][6]) * SLOT / 1024
        frac.append((float(row["reclaim"][7]) - float(row["static"][7])) / lent)
        if "dynamic" in row and row["dynamic"][7]:
            dfrac.append((float(row["dynamic"][7]) - float(row["static"][7])) / lent)
lent_free = [num(r[9]) * 4096 / MIB for r in mem_rows if r[1] == "reclaim" and num(r[9]) is not None]
L.append(f"| lent area used by the fill: (held - held static) / lent | | {mmm([x * 100 for x in dfrac], 1, '%')} "
         f"| {mmm([x * 100 for x in frac], 1, '%')} | |")
L.append(f"| lent pages still free when the fill stopped (MiB) | | | {mmm(lent_free, 1)} | |")
for i, lab, nd in ((4, "burst: bytes written (MiB)", 0), (5, "burst: bytes verified (read, MiB)", 0)):
    L.append(f"| {lab} | " + " | ".join(mmm([x / MIB for x in bcol(k, i)], nd) for k in KERNELS) + " | |")
L.append("| burst: \"swiotlb buffer is full\" (lines + suppressed) | " + " | ".join(
    mmm([(num(r[6], 0) or 0) + (num(r[7], 0) or 0) for r in burst_rows if r[1] == k], 0) for k in KERNELS) + " | |")
for i, lab in ((8, "p50"), (10, "p99"), (12, "max")):
    rr = per_run_ratio(lambda k, run, i=i: [num(r[i]) for r in burst_rows if r[1] == k and r[0] == run], "reclaim")
    L.append(f"| burst: write completion latency {lab} (ms) | " + " | ".join(mmm(bcol(k, i)) for k in KERNELS) +
             f" | {mmm(rr, 2)} |")
L.append("| burst: pool grows / pages migrated | | | " +
         f"{mmm(bcol('reclaim', 19), 0)} / {mmm(bcol('reclaim', 21), 0)} | |")
grows_ok = [r for r in grow_rows if r[1] == "reclaim" and r[2] == "grow" and r[9] == 0]
full = [r for r in grows_ok if r[8] >= CHUNK_PAGES * 9 // 10]
fullq = [r for r in full if r[3] == "quiet"]
fullb = [r for r in full if r[3] == "burst"]
dur_full = [r[7] / 1000 for r in fullq]
dur_fullb = [r[7] / 1000 for r in fullb]
per_mib = [r[7] / (r[8] * 4096 / MIB) for r in fullq]
copy_mib = {k: [r[5] / 2 for r in copy_rows if r[1] == k] for k in KERNELS}
L.append(f"| grow, quiet guest: one 2 MiB chunk with >= 90% of its pages in use (ms) | | | {mmm(dur_full, 2)} | |")
L.append(f"| grow, during the burst: the same (ms) | | | {mmm(dur_fullb, 2)} | |")
L.append(f"| grow, quiet: cost per MiB migrated (us/MiB) | | | {mmm(per_mib, 0)} | |")
L.append("| plain copy, dd of 2 MiB tmpfs -> user (us/MiB) | " +
         " | ".join(mmm(copy_mib[k], 0) for k in KERNELS) + " | |")
ratio_gc = [a / med(copy_mib["reclaim"]) for a in per_mib] if copy_mib["reclaim"] and per_mib else []
L.append(f"| grow cost / copy cost (reclaim kernel, per MiB) | | | {mmm(ratio_gc, 1)} | |")
L.append("")


# targets
def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def ratio_target(mode):
    rs = {}
    for col in ("map", "unmap"):
        rs[col] = per_run_ratio(lambda k, run, c=col: dma_vals(k, mode, c, run), "reclaim")
    allr = rs["map"] + rs["unmap"]
    ok = None if not allr else all(med(rs[c]) is not None and med(rs[c]) <= 1.05 for c in rs)
    return ok, f"map {pct(med(rs['map']))}, unmap {pct(med(rs['unmap']))} (median per-run ratio, {len(rs['map'])} runs)"


L.append("## Targets")
L.append("")
L.append("| target | measured | verdict |")
L.append("|---|---|---|")
ok, txt = ratio_target("direct")
L.append(f"| find_pool, non-bouncing device: reclaim within 5% of static | {txt} | {verdict(ok)} |")
ok, txt = ratio_target("force")
L.append(f"| bounce map/unmap: reclaim within 5% of static | {txt} | {verdict(ok)} |")
fr = med(frac)
L.append(f"| >= 95% of the lent area usable by movable memory | {mmm([x * 100 for x in frac], 1, '%')} "
         f"| {verdict(None if fr is None else fr >= 0.95)} |")
rb = [(num(r[6], 0) or 0) + (num(r[7], 0) or 0) for r in burst_rows if r[1] == "reclaim"]
sb = [(num(r[6], 0) or 0) + (num(r[7], 0) or 0) for r in burst_rows if r[1] == "static"]
L.append(f"| zero \"swiotlb buffer is full\" where the region holds the burst "
         f"({'128' if not args.quick else '64'} MiB burst, region 256 MiB) | reclaim: {sum(rb):.0f} in "
         f"{len(rb)} runs; static: {sum(sb):.0f} in {len(sb)} runs | "
         f"{verdict(None if not rb else sum(rb) == 0)} |")
L.append("")
L.append("fio also verified every burst (crc32c, `verify_fatal=1`): fio exit status per run and kernel is in "
         "`burst.csv` (`fio_rc`); a failed verify fails the boot.")
L.append("")

# method
L.append("## Method")
L.append("")
L.append(f"* **Hot path** (`tests/bench/bench-dma`): the kernel's `dma_map_benchmark` (`-t 1 -s 1 -g 1`, "
         f"one 4 KiB page, bidirectional) against the spare driverless e1000, 3 repetitions per boot, one boot "
         f"per kernel and run. These boots run with `-icount shift={args.icount_shift},sleep=off`: guest time "
         f"is instruction count x {2 ** args.icount_shift} ns, so the figures are instruction counts "
         f"(repeatable, independent of the host's load) rather than wall-clock time on any real CPU. "
         f"The shift is {args.icount_shift} instead of `ICOUNT=1`'s 0 because `map_benchmark.c` truncates "
         f"every sample to 100 ns: at shift 0 a non-bounced unmap is one or two such units; at "
         f"{2 ** args.icount_shift} ns per instruction one unit is ~{100 // 2 ** args.icount_shift} "
         "instructions. The benchmark's own `ktime_get()` pairs are included in every sample (the same "
         "in all kernels). `bounced` = `swiotlb=force`; `not bounced` = no force: the e1000 is mapped "
         "directly by dma-direct and `dma_unmap` asks `swiotlb_find_pool()` about an address outside the "
         "pool (the benchmark's buffer is unmovable, so it is never in the reclaim region); "
         "`io_tlb_used_hiwater` before/after each run (`dma.csv`) confirms no slot was used.")
L.append("* **Memory** (`tests/bench/bench-mem`, 768 MiB guest, all of it ZONE_DMA + ZONE_DMA32): "
         "`MemFree`/`MemAvailable` 2 s after `/init` starts, then a plain allocator: 4 MiB tmpfs files "
         "(movable pages, not reclaimable without swap) written until `MemFree` is below 48 MiB. The same "
         "floor in every kernel, so `held(reclaim) - held(static)` of the same run is the memory of the "
         "lent area that movable data could use; divided by the lent size (`io_tlb_lent_nslabs`) that is "
         "the usable fraction. A safety stop (`fill_stop=dma32` in `memory.csv`) ends the fill early if "
         "the free DMA32 memory outside lent pageblocks falls below 1 MiB: below that unmovable "
         "allocations OOM-kill the bench while lent pages are still free (a 32 MiB floor did). The mem "
         "boots of all kernels run with `transparent_hugepage=never`: THP is off below 512 MiB of RAM, "
         "which static's reserved pool keeps this guest under, while dynamic and reclaim count the "
         "256 MiB as RAM and get THP with `min_free_kbytes` raised to 5% of memory (36 MiB against "
         "2.7 MiB), which puts the 48 MiB floor at the edge of OOM.")
L.append("* **Burst** (same boot, `swiotlb=...,force`): the oldest 192 MiB of the fill are freed (they "
         "sit in ordinary memory: movable allocations use lent pages first only once those are over "
         "half of the free memory, which at boot they are not), so the lent area stays full of movable "
         "pages while growth has somewhere to migrate them. Then `fio` direct "
         "writes to the scratch disk, 4 jobs x iodepth 32 x 1 MiB, 4 x 32 MiB = 128 MiB (eight times the "
         "16 MiB initial pool of dynamic and reclaim), verified by reading back with crc32c. QEMU "
         "throttles the disk's writes to 32 MiB/s (`-set drive.d0.throttling.bps-write`): unthrottled, "
         "the host completes each request about as fast as the TCG guest copies the next one into a "
         "bounce buffer and fewer than 16 MiB are ever in flight (peak `io_tlb_used_hiwater` is in "
         "`burst.csv`). "
         "Completion latency percentiles come from fio's JSON; \"swiotlb buffer is full\" is counted in "
         "dmesg, plus the `callbacks suppressed` count of its rate limit. The pool is sampled every "
         "~0.1 s from debugfs and /proc/vmstat. Wall-clock time (no icount): I/O completions under icount "
         "with `sleep=off` do not keep meaningful time.")
L.append("* **Growth** (reclaim only): the `swiotlb_reclaim:swiotlb_reclaim_grow` tracepoint of every "
         "chunk taken back (`grow.csv`: duration, pages that were in use, `phase`). `burst`: chunks taken "
         "during the fio burst (fio and the verify compete for the 2 vCPUs). `quiet`: after the burst, "
         "once the pool has shrunk back, the watermarks are raised above the free slots (debugfs) by the "
         "number of empty lent chunks (free lent pages / 512, the chunks the burst gave back, which the "
         "worker takes first) plus 8, and one 4 KiB O_DIRECT read bounces: the worker takes them back "
         "with nothing else running, the last 8 still full of the fill's pages. The duration covers `alloc_contig_range()` "
         "(isolation, migration, freeing) and the 2 MiB memset; the cost per MiB is duration / (busy "
         "pages x 4 KiB), for chunks with >= 90% of their 512 pages in use. The plain copy is "
         "`dd if=<64 MiB tmpfs file> of=/dev/null bs=2M` on the same kernel ((32 blocks - 1 block) / 31, "
         "so the exec overhead cancels), timed with `trace_marker` on the trace clock, 3 times per boot.")
L.append("")
L.append("## Plots")
L.append("")
for p, cap in plots:
    L.append(f"![{cap}]({p})")
    L.append("")
    L.append(f"*{p}*: {cap}.")
    L.append("")

# per-run details
L.append("## Per-run figures")
L.append("")
L.append("| run | kernel | map / unmap bounced (us) | map / unmap direct (us) | held (MiB) | written (MiB) | "
         "buffer full | write p50 / p99 (ms) | grows |")
L.append("|---|---|---|---|---|---|---|---|---|")
for run in range(1, args.runs + 1):
    for k in KERNELS:
        m = [r for r in mem_rows if r[0] == run and r[1] == k]
        b = [r for r in burst_rows if r[0] == run and r[1] == k]
        held_s = fmt(float(m[0][7]) / 1024, 1) if m and m[0][7] else "n/a"
        if b:
            wr = fmt(num(b[0][4]) / MIB, 0) if num(b[0][4]) else "n/a"
            bf = f"{(num(b[0][6], 0) or 0) + (num(b[0][7], 0) or 0):.0f}"
            lat = f"{fmt(num(b[0][8]))} / {fmt(num(b[0][10]))}"
            gr = b[0][19] or "-"
        else:
            wr = bf = lat = gr = "n/a"
        L.append(f"| {run} | {k} | {fmt(med(dma_vals(k, 'force', 'map', run)))} / "
                 f"{fmt(med(dma_vals(k, 'force', 'unmap', run)))} | "
                 f"{fmt(med(dma_vals(k, 'direct', 'map', run)))} / "
                 f"{fmt(med(dma_vals(k, 'direct', 'unmap', run)))} | {held_s} | {wr} | {bf} | {lat} | {gr} |")
L.append("")

notes = os.path.join(TOP, "bench", "analysis.md")
if os.path.exists(notes) and not args.quick:
    L.append("## Analysis")
    L.append("")
    L.append("*(Written by hand from this run's figures; the sections above are generated.)*")
    L.append("")
    with open(notes) as f:
        L.append(f.read().rstrip())
    L.append("")

with open(os.path.join(args.out, "report.md"), "w") as f:
    f.write("\n".join(L) + "\n")
print("\n".join(L[L.index("## Summary"):L.index("## Method")]))
