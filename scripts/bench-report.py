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

ALL_KERNELS = ["static", "dynamic", "reclaim", "reclaim-dynamic"]
RECLAIM_KERNELS = ["reclaim", "reclaim-dynamic"]  # the series' kernels (debugfs counters, tracepoints)
WORKLOADS = ["dma-force", "dma-direct", "mem"]
SCALES = ["256", "1024", "max"]  # bench-scale boots: workload "scale<size>"
BURSTS = [("idle", "idle guest, before the fill"), ("main", "main, after the fill and the release"),
          ("after", "after-pressure, once the pool shrank back"),
          ("evac", "evacuation: lent chunks refilled, pressure eased, then a wait")]
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
    # kernel names contain "-" (reclaim-dynamic): anchor on the workload
    m = re.fullmatch(r"run(\d+)-([\w-]+)-(" + "|".join(WORKLOADS + ["scale" + x for x in SCALES]) + r")\.log",
                     name)
    if m:
        logs[(int(m.group(1)), m.group(2), m.group(3))] = parse_log(os.path.join(args.raw, "logs", name))
# The kernels this run booted (BENCH_KERNELS may pick a subset), in the usual order
KERNELS = [k for k in ALL_KERNELS if any(key[1] == k for key in logs)] or ALL_KERNELS

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
bursts_rows, claim_rows = [], []  # all three bursts; every traced claim
boot_nslabs = {}  # (run, kernel) -> io_tlb_nslabs after boot
boot_active = {}  # (run, kernel) -> io_tlb_active_nslabs after boot (reclaim kernels)
ev_wait = {}  # (run, kernel) -> seconds waited for evacuation before the after-pressure burst
ev3_wait = {}  # (run, kernel) -> seconds waited for evacuation before the evacuation burst
refill = {}  # (run, kernel) -> the refill's @@BENCH record
cost_rows = []  # evacuation cost windows
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
    boot_nslabs[(run, k)] = num(b.get("io_tlb_nslabs"))
    boot_active[(run, k)] = num(b.get("active_nslabs"))
    ev = r.get("evacuate", {})
    if ev.get("wait_s"):
        ev_wait[(run, k)] = ev["wait_s"]
    ev3 = r.get("evacuate_evac", {})
    if ev3.get("wait_s"):
        ev3_wait[(run, k)] = ev3["wait_s"]
    if "refill" in r:
        refill[(run, k)] = r["refill"]
    for tag, d in recs:
        if tag == "evac_cost":
            cost_rows.append([run, k, int(d.get("pair", 0)), d.get("mode"), d.get("target"), d.get("win_s"),
                              num(d.get("ops_s")), d.get("chunks"), d.get("pages"), d.get("claimable"),
                              d.get("user_ticks", ""), d.get("sys_ticks", ""), d.get("kworker_ticks", ""),
                              d.get("hz", "")])
    for bn, _ in BURSTS:
        d = r.get("burst" if bn == "main" else f"burst_{bn}")
        if d is None:
            continue
        sh = r.get(f"shrink_{bn}", {})
        fj = blocks.get("fio" if bn == "main" else f"fio_{bn}")
        wb = rb = None
        if fj:
            t = fj.decode(errors="replace")
            try:
                jj = json.loads(t[t.index("{"):]).get("jobs", [{}])[0]
                wb, rb = jj.get("write", {}).get("io_bytes"), jj.get("read", {}).get("io_bytes")
            except (ValueError, json.JSONDecodeError, IndexError) as e:
                print(f"warning: run{run}-{k}: fio {bn} json: {e}", file=sys.stderr)
        evc = evp = ev0 = evp0 = ""
        evr = {"after": ev, "evac": ev3}.get(bn, {})
        if evr.get("count0") not in (None, ""):
            ev0, evp0 = evr.get("count0"), evr.get("pages0")
        if evr.get("count1") not in (None, ""):
            evc = int(num(evr.get("count1"), 0) - num(evr.get("count0"), 0))
            evp = int(num(evr.get("pages1"), 0) - num(evr.get("pages0"), 0))
        bursts_rows.append([run, k, bn, d.get("fio_rc"), d.get("burst_mib"), wb, rb,
                            d.get("buffer_full"), d.get("suppressed"), d.get("hiwater"),
                            d.get("claims", ""), d.get("claim_misses", ""), d.get("claim_ns_max", ""),
                            d.get("grows"), d.get("pages_migrated"), d.get("nslabs"), d.get("extra_nslabs"),
                            d.get("transient_nslabs", ""),
                            round(num(d.get("t1"), 0) - num(d.get("t0"), 0), 2) if d.get("t0") else "",
                            sh.get("wait_s"), sh.get("nslabs"), sh.get("extra_nslabs"),
                            sh.get("transient_nslabs", ""), sh.get("active_nslabs", ""), sh.get("lent_nslabs", ""),
                            evc, evp, d.get("requeues", ""), ev0, evp0,
                            evr.get("claimable0", ""), evr.get("claimable1", ""), evr.get("samples", ""),
                            d.get("transients", ""), d.get("transient_fails", ""), d.get("transient_lent", ""),
                            d.get("transient_fail_free_kb", ""), d.get("transient_fail_pool_free_kb", "")])
    t0 = num(bu.get("t0"), 0.0)
    if "pool" in blocks:
        for line in blocks["pool"].decode(errors="replace").splitlines()[1:]:
            f = line.split()
            if len(f) not in (7, 8):
                continue
            f += [""] * (8 - len(f))
            pool_rows.append([run, k, round(num(f[0]) - t0, 2)] + [("" if x == "-" else x) for x in f[1:]])
    if "trace" in blocks:
        marks = {}
        for line in blocks["trace"].decode(errors="replace").splitlines():
            m = re.search(r"\s(\d+\.\d+): tracing_mark_write: bench_mark (\S+)", line)
            if m:
                marks[m.group(2)] = float(m.group(1))
                continue
            m = re.search(r"\s(\d+\.\d+): swiotlb_reclaim_claim: chunk=(\S+) size=(\d+) duration_ns=(\d+)", line)
            if m:
                ts = float(m.group(1))
                # the burst whose begin marker precedes it last (the claim
                # event is only on from a burst's begin to its end)
                bn = max(((marks[f"burst_{b}_begin"], b) for b, _ in BURSTS if f"burst_{b}_begin" in marks
                          and marks[f"burst_{b}_begin"] <= ts), default=(0, "?"))[1]
                claim_rows.append([run, k, bn, round(ts, 6), m.group(2), int(m.group(3)), int(m.group(4))])
                continue
            m = re.search(r"\s(\d+\.\d+): swiotlb_reclaim_(grow|shrink): chunk=(\S+) size=(\d+) "
                          r"duration_us=(\d+) busy_pages=(\d+) err=(-?\d+)", line)
            if m:
                ts = float(m.group(1))
                # grow/shrink are traced from the main burst on: "burst" is
                # the main burst and its tail, "after" the after-pressure
                # burst (and its shrink), "quiet" the growth measurement
                if "grow_begin" in marks and ts >= marks["grow_begin"] and \
                        ("grow_end" not in marks or ts <= marks["grow_end"]):
                    phase = "quiet"
                elif "burst_evac_begin" in marks and ts >= marks["burst_evac_begin"] and \
                        ("grow_begin" not in marks or ts < marks["grow_begin"]):
                    phase = "evac"
                elif "burst_after_begin" in marks and ts >= marks["burst_after_begin"] and \
                        ("grow_begin" not in marks or ts < marks["grow_begin"]):
                    phase = "after"
                else:
                    phase = "burst"
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

# --- scale: one boot per region size (static: a plain pool of the same active size)
scale = {}  # (size, kernel) -> {"boot": {...}, "fill": {...}, "quiet"/"busy": {...}, "grows": {round: [...]}}
scale_grow_rows = []
for (run, k, w), (recs, blocks) in sorted(logs.items()):
    if not w.startswith("scale"):
        continue
    r = {tag: d for tag, d in recs}
    sz = w[len("scale"):]
    ent = {"boot": r.get("scale_boot", {}), "fill": r.get("scale_fill", {}),
           "quiet": r.get("scale_grow_quiet", {}), "busy": r.get("scale_grow_busy", {}),
           "end": r.get("scale_end", {}), "grows": {}}
    if "scale_trace" in blocks:
        marks, evs = {}, []
        for line in blocks["scale_trace"].decode(errors="replace").splitlines():
            m = re.search(r"\s(\d+\.\d+): tracing_mark_write: bench_mark (\S+)", line)
            if m:
                marks[m.group(2)] = float(m.group(1))
                continue
            m = re.search(r"\s(\d+\.\d+): swiotlb_reclaim_grow: chunk=(\S+) size=(\d+) "
                          r"duration_us=(\d+) busy_pages=(\d+) err=(-?\d+)", line)
            if m:
                evs.append((float(m.group(1)), m.group(2), int(m.group(4)), int(m.group(5)), int(m.group(6)),
                            int(m.group(3))))
        for rnd in ("quiet", "busy"):
            b0, b1 = marks.get(f"grow_{rnd}_begin"), marks.get(f"grow_{rnd}_end")
            if b0 is None:
                continue
            ge = [e for e in evs if e[0] >= b0 and (b1 is None or e[0] <= b1)]
            out = []
            for i, e in enumerate(ge):
                # the event is emitted as the take ends: the gap to the
                # previous one, minus this take, is the pick (and the loop)
                pick = (e[0] - ge[i - 1][0]) * 1e6 - e[2] if i else None
                out.append((e[2], e[3], e[4], pick, e[5]))
                scale_grow_rows.append([sz, k, rnd, i + 1, round(e[0] - b0, 6), e[1], e[2], e[3], e[4],
                                        "" if pick is None else round(pick)])
            ent["grows"][rnd] = out
    scale[(sz, k)] = ent

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
                       "nr_free_swiotlb", "transient_nslabs", "nr_free_pages"], pool_rows)
write_csv("grow.csv", ["run", "kernel", "event", "phase", "t_s", "chunk", "size", "duration_us", "busy_pages",
                        "err"],
          grow_rows)
write_csv("copy.csv", ["run", "kernel", "rep", "dd_32x2MiB_us", "dd_1x2MiB_us", "copy_2MiB_us"], copy_rows)
write_csv("bursts.csv", ["run", "kernel", "burst", "fio_rc", "burst_mib", "write_bytes", "verify_read_bytes",
                         "buffer_full_lines", "buffer_full_suppressed", "used_hiwater_slots", "claims",
                         "claim_misses", "claim_ns_max_so_far", "grows", "pages_migrated", "nslabs_after",
                         "extra_nslabs_after", "transient_nslabs_after", "burst_wall_s", "shrink_wait_s",
                         "nslabs_shrunk", "extra_nslabs_shrunk", "transient_nslabs_shrunk",
                         "active_nslabs_shrunk", "lent_nslabs_shrunk", "evacuate_count_wait",
                         "evacuate_pages_wait", "requeues", "evacuate_count_since_boot_before_wait",
                         "evacuate_pages_since_boot_before_wait", "claimable_wait_start", "claimable_wait_end",
                         "claimable_evacuated_per_second", "transients", "transient_fails", "transient_lent",
                         "transient_fail_free_kb", "transient_fail_pool_free_kb"],
          bursts_rows)
write_csv("evac-cost.csv", ["run", "kernel", "pair", "evacuation", "io_tlb_evacuate", "window_s",
                            "memcpy_bogo_ops_s", "chunks_evacuated", "pages_evacuated", "claimable_after",
                            "user_ticks", "sys_ticks", "kworker_ticks", "ticks_per_s"],
          cost_rows)
write_csv("claims.csv", ["run", "kernel", "burst", "trace_s", "chunk", "size", "duration_ns"], claim_rows)
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
def extra_slots(r):
    """slots of a pool sample outside the default pool's boot size: dynamic and transient pools"""
    b = boot_nslabs.get((r[0], r[1]))
    return (num(r[3], 0) - b if b is not None and r[3] != "" else 0) + num(r[8], 0)


# 1. the reclaim kernels' pool over time during the main burst, one panel per kernel and run
rec_panels = sorted({(r[1], r[0]) for r in pool_rows if r[1] in RECLAIM_KERNELS},
                    key=lambda x: (RECLAIM_KERNELS.index(x[0]), x[1]))
if rec_panels:
    for k, run in rec_panels:
        with open(os.path.join(args.out, f".pool-{k}-{run}.dat"), "w") as f:
            for r in pool_rows:
                if r[0] == run and r[1] == k and r[5] != "":
                    f.write(f"{r[2]} {num(r[5], 0) * SLOT / MIB:.2f} {num(r[4], 0) * SLOT / MIB:.2f} "
                            f"{num(r[6], 0) * SLOT / MIB:.2f} {num(r[7], 0) * 4096 / MIB:.2f} "
                            f"{extra_slots(r) * SLOT / MIB:.2f}\n")
    bend = {(r[1], r[0]): num(r[18]) for r in burst_rows if r[1] in RECLAIM_KERNELS}
    s = [f"set terminal pngcairo size 1000,{330 * len(rec_panels)} font ',9'",
         "set output 'pool-reclaim.png'", f"set multiplot layout {len(rec_panels)},1",
         "set xlabel 'seconds since the fio burst started'", "set ylabel 'MiB'", "set key outside right",
         "set grid"]
    for k, run in rec_panels:
        s.append(f"set title '{k} kernel, run {run}: swiotlb pool during the main burst (fio started at 0)'")
        if bend.get((k, run)):
            x = bend[(k, run)]
            s.append(f"set arrow 1 from {x:.2f}, graph 0 to {x:.2f}, graph 1 nohead dt 2")
            s.append(f"set label 1 'fio done' at {x:.2f}, graph 0.95 offset 0.5,0")
        else:
            s += ["unset arrow 1", "unset label 1"]
        s.append(f"plot '.pool-{k}-{run}.dat' u 1:2 w l lw 2 t 'active', '' u 1:3 w l lw 2 t 'used', "
                 f"'' u 1:4 w l lw 2 t 'lent', '' u 1:5 w l lw 2 t 'nr\\_free\\_swiotlb', "
                 f"'' u 1:6 w l lw 2 t 'extra pools'")
    s.append("unset multiplot")
    gnuplot("\n".join(s) + "\n")
    plots.append(("pool-reclaim.png", "the reclaim kernels' pool during the main burst (active, used, lent "
                  "slots, free lent pages, and dynamic + transient pools outside the region, in MiB), every run"))

# 2. used / total slots of all three kernels, run 1
if pool_rows:
    run = min(r[0] for r in pool_rows)
    for k in KERNELS:
        with open(os.path.join(args.out, f".pool-{k}.dat"), "w") as f:
            for r in pool_rows:
                if r[0] == run and r[1] == k:
                    total = num(r[5], 0) + extra_slots(r) if k in RECLAIM_KERNELS else num(r[3], 0) + num(r[8], 0)
                    f.write(f"{r[2]} {num(r[4], 0) * SLOT / MIB:.2f} {(total or 0) * SLOT / MIB:.2f}\n")
    s = ["set terminal pngcairo size 1000,420 font ',9'", "set output 'pool-all.png'",
         f"set title 'run {run}: bounce slots in use and usable (MiB) during the main burst'",
         "set xlabel 'seconds since the fio burst started'", "set ylabel 'MiB'", "set key outside right",
         "set grid", "set logscale y 2", "set yrange [0.5:512]",
         "plot " + ", ".join(
             f"'.pool-{k}.dat' u 1:($2>0?$2:0.5) w l lw 2 lc {i + 1} t '{k} used', "
             f"'' u 1:3 w l lw 1 dt 2 lc {i + 1} t '{k} usable'" for i, k in enumerate(KERNELS))]
    gnuplot("\n".join(s) + "\n")
    plots.append(("pool-all.png", f"slots in use and usable slots of the {len(KERNELS)} kernels during the main "
                  "burst (static: the whole pool; dynamic: pools + transient pools; reclaim: active chunks; "
                  "reclaim-dynamic: active chunks + dynamic and transient pools)"))

# 3. dma_map_benchmark latencies, every rep as a point
if dma_rows:
    with open(os.path.join(args.out, ".dma.dat"), "w") as f:
        for r in dma_rows:
            if r[1] not in KERNELS:
                continue
            x = KERNELS.index(r[1])
            f.write(f"{r[2]} {x} {r[4]} {r[6]}\n")
    s = ["set terminal pngcairo size 1000,400 font ',9'", "set output 'dma-latency.png'",
         "set multiplot layout 1,2", "set grid",
         "set xtics (" + ", ".join(f"'{k}' {i}" for i, k in enumerate(KERNELS)) + ")",
         f"set xrange [-0.5:{len(KERNELS) - 0.5}]", f"set ylabel 'us of icount time (shift={args.icount_shift})'",
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
L.append(f"The {len(KERNELS)} kernels ({', '.join(KERNELS)}) are built from the same tree and "
         "`config/base.config` (`make kernel VARIANT=...`; reclaim adds the series and `CONFIG_SWIOTLB_RECLAIM`, "
         "dynamic `CONFIG_SWIOTLB_DYNAMIC`, reclaim-dynamic both) and booted under QEMU TCG, `-smp 2`, one at a "
         f"time, interleaved (run 1: {', '.join(KERNELS)} for each workload, then run 2, ...). Swiotlb "
         "parameters, the same 256 MiB in every kernel:")
L.append("")
L.append("| kernel | command line | swiotlb memory |")
L.append("|---|---|---|")
KDESC = {
    "static": "| static | `swiotlb=131072` | 256 MiB pool, all of it reserved |",
    "dynamic": "| dynamic | `swiotlb=8192` | 16 MiB default pool; adds pools from the page allocator on demand "
               "(6.12 has no parameter for a maximum) |",
    "reclaim": "| reclaim | `swiotlb=8192 swiotlb_overprovision=16` | 256 MiB region, 16 MiB active, 240 MiB lent "
               "to the page allocator as MIGRATE_SWIOTLB |",
    "reclaim-dynamic": "| reclaim-dynamic | `swiotlb=8192 swiotlb_overprovision=16` | as reclaim; with "
                       "`CONFIG_SWIOTLB_DYNAMIC` it adds no permanent pool while the default pool lends, and "
                       "transient pools stay the last resort of a mapping |",
}
for k in KERNELS:
    L.append(KDESC[k])
L.append("")
L.append(",force is added for the bounce benchmark and the bursts. Medians are given as "
         "`median [min–max] (n=samples)`; ratios are computed within a run (kernel / static of the same "
         "run) and then summarised over the runs. Raw data: `dma.csv`, `memory.csv`, `burst.csv`, `bursts.csv`, "
         "`claims.csv`, `pool.csv`, `grow.csv`, `copy.csv`, `evac-cost.csv`, `scale.csv`, `scale-grow.csv`, "
         "`boots.csv` next to this file.")
L.append("")


def row(label, cells, ratio=""):
    """a table row: label, one cell per kernel (dict kernel -> text, missing: empty), the ratio column"""
    return f"| {label} | " + " | ".join(cells.get(k, "") for k in KERNELS) + f" | {ratio} |"


# summary table
targets = []
L.append("## Summary")
L.append("")
L.append("| figure | " + " | ".join(KERNELS) + " | reclaim / static |")
L.append("|---|" + "---|" * len(KERNELS) + "---|")
for mode, label in (("force", "bounced"), ("direct", "not bounced")):
    for col in ("map", "unmap"):
        r = per_run_ratio(lambda k, run, m=mode, c=col: dma_vals(k, m, c, run), "reclaim")
        L.append(row(f"{col} latency, {label} (us, icount)", {k: mmm(dma_vals(k, mode, col)) for k in KERNELS},
                     mmm(r, 3)))
held = {k: mcol(k, 7, lambda x: float(x) / 1024) for k in KERNELS}
avail = {k: mcol(k, 4, lambda x: float(x) / 1024) for k in KERNELS}
L.append(row("MemAvailable after boot (MiB)", {k: mmm(avail[k], 1) for k in KERNELS}))
L.append(row("movable memory held by the fill (MiB)", {k: mmm(held[k], 1) for k in KERNELS}))
# usable fraction of the lent area: (held kernel - held static) / lent, same run
fracs = {k: [] for k in KERNELS}
for run in range(1, args.runs + 1):
    rr = {r[1]: r for r in mem_rows if r[0] == run}
    lent_k = next((k for k in RECLAIM_KERNELS if k in rr and rr[k][6]), None)
    if "static" not in rr or not rr["static"][7] or lent_k is None:
        continue
    lent = float(rr[lent_k][6]) * SLOT / 1024
    for k in ("dynamic", *RECLAIM_KERNELS):
        if k in rr and rr[k][7] and k in fracs:
            fracs[k].append((float(rr[k][7]) - float(rr["static"][7])) / lent)
frac = fracs.get("reclaim", [])
L.append(row("lent area used by the fill: (held - held static) / lent",
             {k: mmm([x * 100 for x in fracs[k]], 1, '%') for k in KERNELS if k != "static"}))
L.append(row("lent pages still free when the fill stopped (MiB)",
             {k: mmm([num(r[9]) * 4096 / MIB for r in mem_rows if r[1] == k and num(r[9]) is not None], 1)
              for k in RECLAIM_KERNELS}))
for i, lab, nd in ((4, "main burst: bytes written (MiB)", 0), (5, "main burst: bytes verified (read, MiB)", 0)):
    L.append(row(lab, {k: mmm([x / MIB for x in bcol(k, i)], nd) for k in KERNELS}))
L.append(row("main burst: \"swiotlb buffer is full\" (lines + suppressed)",
             {k: mmm([(num(r[6], 0) or 0) + (num(r[7], 0) or 0) for r in burst_rows if r[1] == k], 0)
              for k in KERNELS}))
for i, lab in ((8, "p50"), (10, "p99"), (12, "max")):
    rr = per_run_ratio(lambda k, run, i=i: [num(r[i]) for r in burst_rows if r[1] == k and r[0] == run], "reclaim")
    L.append(row(f"main burst: write completion latency {lab} (ms)", {k: mmm(bcol(k, i)) for k in KERNELS},
                 mmm(rr, 2)))
L.append(row("main burst: pool grows / pages migrated",
             {k: f"{mmm(bcol(k, 19), 0)} / {mmm(bcol(k, 21), 0)}" for k in RECLAIM_KERNELS}))
grows_ok = [r for r in grow_rows if r[1] == "reclaim" and r[2] == "grow" and r[9] == 0]


def mostly_busy(size, busy_pages):
    """a take of @size bytes that migrated >= 90% of its pages"""
    return busy_pages >= int(size) // 4096 * 9 // 10


# a take is one chunk or (since grow_work migrates runs of adjacent chunks) several: "size"
full = [r for r in grows_ok if mostly_busy(r[6], r[8])]
fullq = [r for r in full if r[3] == "quiet"]
fullb = [r for r in full if r[3] == "burst"]
dur_full = [r[7] / 1000 / (int(r[6]) / (2 * MIB)) for r in fullq]  # ms per 2 MiB chunk
dur_fullb = [r[7] / 1000 / (int(r[6]) / (2 * MIB)) for r in fullb]
per_mib = [r[7] / (r[8] * 4096 / MIB) for r in fullq]
copy_mib = {k: [r[5] / 2 for r in copy_rows if r[1] == k] for k in KERNELS}
L.append(row("grow, quiet guest: a take with >= 90% of its pages in use, per 2 MiB chunk (ms)",
             {"reclaim": mmm(dur_full, 2)}))
L.append(row("grow, during the main burst: the same (ms)", {"reclaim": mmm(dur_fullb, 2)}))
L.append(row("grow, quiet: cost per MiB migrated (us/MiB)", {"reclaim": mmm(per_mib, 0)}))
L.append(row("plain copy, dd of 2 MiB tmpfs -> user (us/MiB)", {k: mmm(copy_mib[k], 0) for k in KERNELS}))
ratio_gc = [a / med(copy_mib["reclaim"]) for a in per_mib] if copy_mib.get("reclaim") and per_mib else []
L.append(row("grow cost / copy cost (reclaim kernel, per MiB)", {"reclaim": mmm(ratio_gc, 1)}))
# growth throughput: MiB of pool a chunk's take adds per second of it (2 MiB / duration)
gmibs_q = [2 / (d / 1000) for d in dur_full if d]
gmibs_b = [2 / (d / 1000) for d in dur_fullb if d]
# By the mem boot's quiet measurement evacuation has emptied most lent
# chunks; the scale boot of the same region (256 MiB) migrates chunks of a
# full lent area on an otherwise idle guest: the quiet figure, then.
scale_q = [g[4] / MIB / (g[0] / 1e6) for g in scale.get(("256", "reclaim"), {}).get("grows", {}).get("busy", [])
           if mostly_busy(g[4], g[1]) and g[0]]
L.append(row("growth throughput, quiet guest: MiB taken / take time, takes >= 90% in use (MiB/s)",
             {"reclaim": mmm(gmibs_q, 0) if gmibs_q else
              (f"{mmm(scale_q, 0)} (the scale boot's full lent area, 256 MiB region)" if scale_q else "n/a")}))
L.append(row("growth throughput, busy guest (during the main burst): the same (MiB/s)",
             {"reclaim": mmm(gmibs_b, 0)}))
evb = {k: [r for r in bursts_rows if r[1] == k and r[2] == "evac"] for k in KERNELS}
L.append(row("evacuation burst: \"swiotlb buffer is full\" (lines + suppressed) / requeued",
             {k: f"{mmm([(num(r[7], 0) or 0) + (num(r[8], 0) or 0) for r in evb[k]], 0)} / "
                f"{mmm([num(r[27]) for r in evb[k]], 0)}"
              for k in KERNELS if evb[k]}))
L.append(row("evacuation burst: chunks claimed / chunks evacuated in the wait before it",
             {k: f"{mmm([num(r[10]) for r in evb[k]], 0)} / {mmm([num(r[25]) for r in evb[k]], 0)}"
              for k in RECLAIM_KERNELS if evb.get(k)}))


def tick_ms(r, i):
    """guest CPU ticks of an evac_cost row (column i) in ms"""
    if r is None or r[i] in (None, "") or not num(r[13]):
        return None
    return num(r[i]) * 1000 / num(r[13])


def cost_ratio(k):
    """per pair: memcpy ops/s with evacuation on / off (same pair, same boot)"""
    out = []
    for run in sorted({r[0] for r in cost_rows if r[1] == k}):
        for pr in sorted({r[2] for r in cost_rows if r[1] == k and r[0] == run}):
            w = {r[3]: r for r in cost_rows if r[1] == k and r[0] == run and r[2] == pr}
            if "on" in w and "off" in w and w["on"][6] and w["off"][6]:
                out.append(w["on"][6] / w["off"][6])
    return out


L.append(row("evacuation cost: stress-ng memcpy (2 vCPUs) with evacuation moving pages / off",
             {k: f"{mmm([x * 100 for x in cost_ratio(k)], 1, '%')}" for k in RECLAIM_KERNELS
              if any(r[1] == k for r in cost_rows)}))
L.append("")


# --- the three bursts --------------------------------------------------------
def brows(k, bn):
    return [r for r in bursts_rows if r[1] == k and r[2] == bn]


def bmed(vals, nd=0, unit=""):
    """median of the runs, with [min–max] when they differ; 'n/a' when nothing was measured"""
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    m = statistics.median(vals)
    t = f"{m:.{nd}f}{unit}"
    if min(vals) != max(vals):
        t += f" [{min(vals):.{nd}f}–{max(vals):.{nd}f}]"
    return t


def nfull(r):
    return (num(r[7], 0) or 0) + (num(r[8], 0) or 0)


def slots_mib(x):
    return None if x is None else x * SLOT / MIB


def extra_mib(r, shrunk):
    """extra pool memory (dynamic + transient pools, MiB) right after the burst or after the shrink delay"""
    e, t = (num(r[21]), num(r[22])) if shrunk else (num(r[16]), num(r[17]))
    if e is None and t is None:
        return None
    return slots_mib((e or 0) + (t or 0))


claim_med_max = {}
for k in KERNELS:
    ns = sorted(r[6] for r in claim_rows if r[1] == k)
    claim_med_max[k] = ns
L.append("## Bursts")
L.append("")
L.append(f"{len(BURSTS)} direct-write bursts per `mem` boot, each verified by fio (crc32c). Cell: \"swiotlb buffer is "
         f"full\" lines + suppressed · chunks the map path claimed · extra pool MiB after the shrink delay "
         f"(median of {args.runs} run{'s' if args.runs > 1 else ''}, [min–max] when they differ).")
L.append("")
L.append("| burst | " + " | ".join(KERNELS) + " |")
L.append("|---|" + "---|" * len(KERNELS))
def burst_table(cell, label):
    """one row per burst: label(bn, lab), then cell(kernel, its runs' rows) per kernel ('n/a' without rows)"""
    for bn, lab in BURSTS:
        cells = {k: cell(k, brows(k, bn)) if brows(k, bn) else "n/a" for k in KERNELS}
        L.append(f"| {label(bn, lab)} | " + " | ".join(cells[k] for k in KERNELS) + " |")


def burst_cell(k, rs):
    cl = [num(r[10]) for r in rs if r[10] not in (None, "")]
    return (f"{bmed([nfull(r) for r in rs])} full · "
            f"{bmed(cl) if cl else '–'} claimed · "
            f"{bmed([extra_mib(r, True) for r in rs], 1)} MiB")


def burst_detail_cell(k, rs):
    cm = [num(r[11]) for r in rs if r[11] not in (None, "")]
    rq = [num(r[27]) for r in rs if r[27] not in (None, "")]
    return (f"{bmed(rq) if rq else 'n/a'} requeued · "
            f"{bmed([slots_mib(num(r[9])) for r in rs], 1)} MiB used · "
            f"{bmed([num(r[13]) for r in rs]) if k in RECLAIM_KERNELS else '–'} grows · "
            f"{bmed([extra_mib(r, False) for r in rs], 1)} MiB extra · "
            f"{bmed(cm) if cm else '–'} misses{transient_note(k, rs)} · rc {','.join(str(r[3]) for r in rs)}")


def transient_note(k, rs):
    """reclaim-dynamic: transient pools made (of them in lent chunks) and not made, or '' elsewhere"""
    tr = [r for r in rs if len(r) > 35 and r[33] not in (None, "") and r[35] not in (None, "")]
    if k != "reclaim-dynamic" or not tr:
        return ""
    free = [num(r[36]) for r in tr if len(r) > 36 and r[36] not in (None, "")]
    pool = [num(r[37]) for r in tr if len(r) > 37 and r[37] not in (None, "")]
    at = f", at most {max(free) / 1024:.1f} MiB free when one was not" if free else ""
    if pool:
        at += f" and at most {max(pool) / 1024:.1f} MiB of free slots in the region"
    return (f" · {bmed([num(r[33]) for r in tr])} transient ({bmed([num(r[35]) for r in tr])} in lent chunks, "
            f"{bmed([num(r[34]) for r in tr])} not made{at})")


burst_table(burst_cell, lambda bn, lab: f"{lab}, {next((r[4] for r in bursts_rows if r[2] == bn and r[4]), '?')} MiB")
cells = {}
for k in KERNELS:
    ns = claim_med_max[k]
    cells[k] = (f"{statistics.median(ns) / 1000:.1f} / {ns[-1] / 1000:.1f} µs (n={len(ns)})" if ns else
                ("no claim traced" if k in RECLAIM_KERNELS else "–"))
L.append("| claim latency, all bursts: median / max | " + " | ".join(cells[k] for k in KERNELS) + " |")


def main_start_room(k, run):
    """main burst, at the first pool sample with a slot in use: (free pages, free bounce slots) in MiB"""
    rs = sorted((r for r in pool_rows if r[0] == run and r[1] == k and r[2] >= 0), key=lambda r: r[2])
    for r in rs:
        used, free_pages = num(r[4], 0), num(r[9])
        if used and free_pages is not None:
            total = num(r[5] if k in RECLAIM_KERNELS else r[3], 0)
            return free_pages * 4096 / MIB, slots_mib(max(total - used, 0))
    return None


cells = {}
for k in KERNELS:
    rooms = [x for x in (main_start_room(k, run) for run in sorted({r[0] for r in pool_rows if r[1] == k})) if x]
    peaks = [slots_mib(num(r[9])) for r in brows(k, "main") if num(r[9])]
    cells[k] = (f"{bmed([a for a, _ in rooms], 0)} + {bmed([b for _, b in rooms], 0)} = "
                f"{bmed([a + b for a, b in rooms], 0)} MiB for a peak of {bmed(peaks, 0)} MiB"
                if rooms and peaks else "–")
L.append("| main burst: room it had, free memory + free bounce slots when its first mapping was seen (pool "
         "sampler, every 100 ms), against its bounce peak (`io_tlb_used_hiwater`) | " +
         " | ".join(cells[k] for k in KERNELS) + " |")
for bn, lab in (("after", "after-pressure"), ("evac", "evacuation")):
    cells = {}
    for k in KERNELS:
        rs = [r for r in brows(k, bn) if r[25] != ""]
        cells[k] = (f"{bmed([r[25] for r in rs])} chunks, {bmed([r[26] for r in rs])} pages (before the wait, "
                    f"since boot: {bmed([num(r[28]) for r in rs])} chunks, {bmed([num(r[29]) for r in rs])} pages)"
                    if rs else "–")
        if rs and bn == "evac":
            cells[k] += (f"; wholly free lent chunks {bmed([num(r[30]) for r in rs])} -> "
                         f"{bmed([num(r[31]) for r in rs])}")
    L.append(f"| evacuations in the wait before the {lab} burst | " +
             " | ".join(cells[k] for k in KERNELS) + " |")
L.append("")
L.append("Details of the same bursts. Cell: requests virtio-blk requeued (a failed mapping each) · peak bounce "
         "memory in use (`io_tlb_used_hiwater`, reset before each burst) · grows of the worker during the burst · "
         "extra pool MiB right after fio exited (before the shrink delay) · claim misses · on reclaim-dynamic, "
         "transient pools made (`io_tlb_transient_count`; of them made of a free block in a lent chunk, "
         "`io_tlb_transient_lent_count`, because ordinary memory had none; and not made, "
         "`io_tlb_transient_fail_count`, with the most free memory the zone had at such a failure and the most "
         "free slots the region had, in runs too short for the mapping, from the `swiotlb_reclaim_transient` "
         "tracepoint) · fio exit status.")
L.append("")
L.append("| burst | " + " | ".join(KERNELS) + " |")
L.append("|---|" + "---|" * len(KERNELS))
burst_table(burst_detail_cell, lambda bn, lab: lab)
L.append("")
L.append("* **Bursts.** *idle*: right after boot, before the fill: nothing holds the lent chunks, so on the reclaim "
         "kernels a mapping that finds no free slot claims a wholly free lent chunk itself. *main*: the burst "
         "of the summary (4 jobs x iodepth 32 x 1 MiB), after the fill and the release of its oldest "
         "192 MiB. *after-pressure*: once the main burst is over and the pool has shrunk back (the fill "
         "still holds lent pages, the release left ordinary memory free), "
         f"a wait of {bmed([num(ev_wait.get(key)) for key in ev_wait]) if ev_wait else '10'} s (`bench_evac_wait`) "
         "lets the evacuation worker empty lent chunks, then the burst; as the shrink has just lent back the "
         "chunks the main burst took, wholly free, this burst claims those and hardly needs evacuation. "
         "*evacuation*: the burst evacuation serves (section *Evacuation*): tmpfs refills the lent chunks, the "
         "part of the refill in ordinary memory is freed, and after a wait of "
         f"{bmed([num(ev3_wait[key]) for key in ev3_wait]) if ev3_wait else '8'} s (`bench_evac3_wait`) the "
         "burst. *idle*, *after-pressure* and *evacuation* have "
         "`tests/scenarios/burst-ms`'s shape: 64 threads each submit one batch of 8 x 256 KiB (2 MiB per "
         "job at its own offset, 128 MiB in flight, eight times the 16 MiB initial pool); they write from "
         "128, 256 and 384 MiB into the disk, past the main burst's data.")
L.append("* **full**: \"swiotlb buffer is full\" lines in dmesg during the burst plus the count its rate limit "
         "reports as suppressed (upstream's in `swiotlb_tbl_map_single`, the series' in "
         "`swiotlb_reclaim_warn_full`). A failed mapping is requeued by virtio-blk, so fio still completes; "
         "it costs latency, not data. The rate limit (10 lines per 5 s) reports what it suppressed only when it "
         "prints again, so lines + suppressed is a lower bound; **requeued** (the `block:block_rq_requeue` "
         "tracepoint during the burst, second table) counts every failed mapping.")
L.append("* **claimed**: `io_tlb_claim_count` after minus before the burst: lent chunks the map path took "
         "off the page allocator's free lists and activated itself (reclaim kernels only; – elsewhere). "
         "**misses**: `io_tlb_claim_miss_count`, claims that found no wholly free lent chunk.")
L.append("* **extra pool MiB after the shrink delay**: `io_tlb_nslabs` minus its value after boot (pools the "
         "dynamic code added; reclaim's region is counted from boot) plus `io_tlb_transient_nslabs`, read "
         "once the pool is back: on the reclaim kernels with `io_tlb_shrink_delay_ms` at 1 s, waiting until "
         "the active pool is back at its boot size and every chunk lent again (at most 60 s; `shrink_wait_s` "
         "and the active/lent slots are in `bursts.csv`); on static and dynamic, which have nothing that "
         "shrinks, 5 s after fio exited. Upstream dynamic never frees a pool it added, so its extra MiB stay "
         "for the rest of the boot (and are memory the fill after the idle burst does not get).")
L.append("* **claim latency**: the `swiotlb_reclaim:swiotlb_reclaim_claim` tracepoint, enabled from each "
         "burst's start to fio's exit; `duration_ns` is the time from the call to the published slots. "
         "Every traced claim of all runs and bursts (per burst: `claims.csv`). Wall-clock on a TCG guest.")
L.append("* **evacuations**: `io_tlb_evacuate_count` / `io_tlb_evacuate_pages` after minus before the "
         "wait: lent chunks the worker emptied by migrating their pages out (up to "
         "`io_tlb_evacuate_rate` (8) a second while fewer lent chunks are wholly free than its goal, "
         "`io_tlb_evacuate` or the last burst's need, and the zone has room); in "
         "brackets the counters' values before the wait, i.e. what it emptied since boot. For the "
         "evacuation burst, also `io_tlb_claimable_chunks` (wholly free lent chunks, what a claim can take) "
         "at the start and the end of the wait.")
L.append("")


# --- evacuation -------------------------------------------------------------
if any(refill.values()) or cost_rows:
    L.append("## Evacuation")
    L.append("")
    L.append("The evacuation burst, step by step (median of the runs). After the after-pressure burst's "
             "shrink the main fill is deleted and evacuation held off (`io_tlb_evacuate` 0). *Held*: tmpfs "
             "files of 4 MiB, as many MiB as free ordinary DMA32 memory exceeds free lent memory, less 8 "
             "(movable allocations take ordinary memory first until the two are level, so these sit in "
             "ordinary memory, in movable pageblocks). *Refill*: more tmpfs files until at most 1 lent chunk "
             "is wholly free (`io_tlb_claimable_chunks`), `MemFree` is below 32 MiB, or the DMA32 safety stop; "
             "*release*: the held files go, so ordinary memory has room again while the refill keeps the lent "
             "chunks full. *Wait*: `io_tlb_evacuate` back at its default, wholly free lent chunks / "
             "`io_tlb_evacuate_count` sampled every second; then the burst.")
    L.append("")
    L.append("| step | " + " | ".join(KERNELS) + " |")
    L.append("|---|" + "---|" * len(KERNELS))

    def rf(k, key, conv=num):
        return [conv(d.get(key)) for (run, kk), d in refill.items() if kk == k and d.get(key) not in (None, "")]

    L.append("| MiB held in ordinary memory / refilled (refill stopped by) | " + " | ".join(
        (f"{bmed(rf(k, 'held_mib'))} / {bmed(rf(k, 'mib'))} "
         f"({','.join(d.get('stop', '?') for (run, kk), d in sorted(refill.items()) if kk == k)})")
        if rf(k, "mib") else "–" for k in KERNELS) + " |")
    L.append("| free memory before the refill: ordinary / lent (MiB) | " + " | ".join(
        f"{bmed(rf(k, 'ordinary0_mib'))} / {bmed(rf(k, 'lent_free0_mib'))}" if rf(k, "mib") else "–"
        for k in KERNELS) + " |")
    L.append("| wholly free lent chunks: before the refill / refilled / after the release | " + " | ".join(
        f"{bmed(rf(k, 'claimable_before'))} / {bmed(rf(k, 'claimable_full'))} / "
        f"{bmed(rf(k, 'claimable_released'))}" if rf(k, "claimable_full") else "–" for k in KERNELS) + " |")
    L.append("| after the release: free lent / ordinary free DMA32 (MiB) | " + " | ".join(
        f"{bmed([x / 256 for x in rf(k, 'nr_free_swiotlb')], 1)} / "
        f"{bmed([x / 1024 for x in rf(k, 'dma32_ordinary_free_kb')], 1)}" if rf(k, "mib") else "–"
        for k in KERNELS) + " |")
    cells = {}
    for k in KERNELS:
        rs = [r for r in brows(k, "evac") if any(ch.isdigit() for ch in str(r[32]))]
        cells[k] = "<br>".join(f"run {r[0]}: {r[32].replace(',', ' ')}" for r in rs) if rs else "–"
    L.append("| wait, each second: wholly free lent chunks / evacuations since boot | " +
             " | ".join(cells[k] for k in KERNELS) + " |")
    cells = {}
    for k in KERNELS:
        rs = brows(k, "evac")
        cl = [num(r[10]) for r in rs if r[10] not in (None, "")]
        rq = [num(r[27]) for r in rs if r[27] not in (None, "")]
        cells[k] = (f"{bmed([nfull(r) for r in rs])} full · {bmed(rq) if rq else 'n/a'} requeued · "
                    f"{bmed(cl) if cl else '–'} claimed · "
                    f"{bmed([num(r[13]) for r in rs]) if k in RECLAIM_KERNELS else '–'} grows · "
                    f"{bmed([extra_mib(r, False) for r in rs], 1)} MiB extra" if rs else "n/a")
    L.append("| burst: full · requeued · claimed · grows · extra pool MiB right after it | " +
             " | ".join(cells[k] for k in KERNELS) + " |")
    L.append("")
    if cost_rows:
        ck = [k for k in RECLAIM_KERNELS if any(r[1] == k for r in cost_rows)]
        win = cost_rows[0][5]
        L.append(f"**Cost on a busy guest.** After the evacuation burst's shrink, "
                 f"`stress-ng --memcpy 2` (both vCPUs) for {win} s with `io_tlb_evacuate` 0, then {win} s with "
                 "evacuation on and moving pages, in pairs. *On* sets `io_tlb_evacuate` above the wholly free "
                 "lent chunks there are (their count + `io_tlb_evacuate_rate` x window + 4), so the worker "
                 "empties chunks at its full rate (8 a second by default) for the whole window, as it does "
                 "after memory pressure eased while fewer than its goal are free. The refill's pages still occupy lent chunks, and the "
                 "released part left ordinary memory to move them to. memcpy bogo ops/s (real time), per "
                 "window, and the guest's CPU time (USER_HZ ticks from /proc/stat and the kworker threads' "
                 "utime + stime) in the window; `evac-cost.csv`.")
        L.append("")
        L.append("| kernel | run | pair | off: ops/s | on: ops/s | on / off | chunks (pages) evacuated while on | "
                 "kworker CPU off / on (ms) | system CPU off / on (ms) |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for k in ck:
            for run in sorted({r[0] for r in cost_rows if r[1] == k}):
                for pr in sorted({r[2] for r in cost_rows if r[1] == k and r[0] == run}):
                    w = {r[3]: r for r in cost_rows if r[1] == k and r[0] == run and r[2] == pr}
                    off, on = w.get("off"), w.get("on")
                    ratio = (on[6] / off[6]) if on and off and on[6] and off[6] else None
                    L.append(f"| {k} | {run} | {pr} | {fmt(off[6], 1) if off else 'n/a'} | "
                             f"{fmt(on[6], 1) if on else 'n/a'} | "
                             f"{'n/a' if ratio is None else f'{ratio * 100:.1f}%'} | "
                             f"{on[7] if on else 'n/a'} ({on[8] if on else 'n/a'}) | "
                             f"{fmt(tick_ms(off, 12), 0)} / {fmt(tick_ms(on, 12), 0)} | "
                             f"{fmt(tick_ms(off, 11), 0)} / {fmt(tick_ms(on, 11), 0)} |")
        for k in ck:
            offs = [r for r in cost_rows if r[1] == k and r[3] == "off"]
            ons = [r for r in cost_rows if r[1] == k and r[3] == "on"]
            offc, onc = [num(r[7], 0) for r in offs], [num(r[7], 0) for r in ons]
            kw_on = sum(tick_ms(r, 12) or 0 for r in ons)
            kw_off = sum(tick_ms(r, 12) or 0 for r in offs)
            L.append("")
            txt = (f"{k}: with evacuation moving {sum(onc):.0f} chunks in {len(onc)} windows of {win} s "
                   f"({sum(offc):.0f} while off), memcpy ran at {mmm([x * 100 for x in cost_ratio(k)], 1, '%')} "
                   "of its speed with evacuation off (per pair).")
            if sum(onc) and any(r[12] not in (None, "") for r in ons):
                per = (kw_on - kw_off * len(ons) / max(len(offs), 1)) / sum(onc)
                rate = sum(onc) / (len(ons) * num(win))
                share = per * rate / (2 * 1000)
                txt += (f" The kworkers were charged {kw_on:.0f} ms of CPU in the *on* windows and {kw_off:.0f} ms "
                        f"in the *off* ones: about {per:.0f} ms per evacuated chunk, {share * 100:.1f}% of the "
                        f"guest's two vCPUs at the {rate:.1f} chunks a second it reached (tick-sampled guest "
                        "accounting, 10 ms ticks).")
            L.append(txt)
        L.append("")

# --- scale -----------------------------------------------------------------
if scale:
    sizes = [x for x in SCALES if any(key[0] == x for key in scale)]

    def sv(sz, k, part, key):
        return num(scale.get((sz, k), {}).get(part, {}).get(key))

    def pmax(sz, rnd):
        v = sv(sz, "reclaim", rnd, "pick_ns_max")
        return None if v is None else v / 1000

    def grows(sz, rnd, i):
        return [g[i] for g in scale.get((sz, "reclaim"), {}).get("grows", {}).get(rnd, []) if g[i] is not None]

    rows_csv = []
    L.append("## Scale")
    L.append("")
    L.append("One boot per region size and kernel (`tests/bench/bench-scale`, `-smp 2`, "
             "`transparent_hugepage=never`): reclaim with the region, static with a plain pool of the reclaim "
             "kernel's active size in the same guest. *Lending*: the boot line \"lent N MiB to the page "
             "allocator in X us\". *Pick* and *take*: the worker grows the pool by 8 chunks on a quiet guest "
             "(watermarks raised above the free slots, one 4 KiB read); the `swiotlb_reclaim_grow` tracepoint's "
             "duration is the take (a wholly free chunk taken off the free lists, or `alloc_contig_range()` of "
             "one chunk or a run of adjacent ones: isolation, migration, the memset, the activation); the "
             "pick (`swiotlb_pick_chunk()`: a sample of 8 lent chunks from a rotating cursor, each costed by "
             "walking its pages; plus the round's loop) is the gap between two consecutive events minus the "
             "second take; `io_tlb_pick_ns_max` is the longest pick since boot, read after each round. "
             "*Quiet, empty*: right after boot, every lent chunk free. *Busy lent area*: with evacuation off, "
             "a tmpfs part held in ordinary memory (free ordinary minus free lent memory, less 16 MiB), a "
             "tmpfs fill until no lent chunk is wholly free or `MemFree` is below 32 MiB, the held part "
             "released; the worker is asked for the wholly free chunks left (taken off the free lists first) "
             "plus 8, which it picks and migrates. *Slots*: `mem->slots`, 24 bytes per 2 KiB slot "
             "(`struct io_tlb_slot`: orig_addr, alloc_size, list, pad_slots) over the whole region, "
             "allocated at boot; reclaim adds per chunk 8 bytes (`retry_after`) and three bitmaps. "
             "Medians over the 8 chunks of a round; every event is in `scale-grow.csv`.")
    L.append("")
    L.append("| region (reclaim) | guest RAM | active / lent MiB | lending at core_initcall (ms; µs per lent MiB) "
             "+ in the background (ms for MiB) | "
             "take of a wholly free chunk, quiet (ms) | takes with migration, busy lent area: ms for MiB (pages "
             "moved), MiB/s | longest pick, busy lent area: `io_tlb_pick_ns_max` (µs) | slot metadata: reclaim / static (MiB) | "
             "reserved at boot beyond the region or pool: reclaim - static (MiB) | MemTotal reclaim - static (MiB) | "
             "MemFree reclaim - static (MiB) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for sz in sizes:
        bt = scale.get((sz, "reclaim"), {}).get("boot", {})
        st = scale.get((sz, "static"), {}).get("boot", {})
        region = num(bt.get("region_mib"))
        nsl = num(bt.get("nslabs"))
        snsl = num(st.get("nslabs"))
        meta = nsl * 24 / MIB if nsl else None
        smeta = snsl * 24 / MIB if snsl else None
        nch = nsl / 1024 if nsl else 0
        chunk_state = (nch * 8 + 3 * ((nch + 63) // 64) * 8) / MIB if nsl else None
        mem = next((b["qemu_extra"].split("-m ")[-1] for b in boots if b["workload"] == f"scale{sz}"
                    and "-m " in b["qemu_extra"]), "?")
        lend_us = num(bt.get("lend_us"))
        lend_mib = num(bt.get("lend_mib"))
        bg_us = num(bt.get("lend_bg_us"))
        bg = f" + {bg_us / 1000:.1f} for {bt.get('lend_bg_mib')}" if bg_us is not None else ""
        dtot = (num(bt.get("memtotal_kb")) - num(st.get("memtotal_kb"))) / 1024 \
            if bt.get("memtotal_kb") and st.get("memtotal_kb") else None
        dfree = (num(bt.get("memfree_kb")) - num(st.get("memfree_kb"))) / 1024 \
            if bt.get("memfree_kb") and st.get("memfree_kb") else None
        dres = None
        if bt.get("reserved_kb") and st.get("reserved_kb") and nsl and snsl:
            dres = ((num(bt["reserved_kb"]) - nsl * SLOT / 1024) - (num(st["reserved_kb"]) - snsl * SLOT / 1024)) / 1024
        qfree = [g[0] / 1000 for g in scale.get((sz, "reclaim"), {}).get("grows", {}).get("quiet", []) if g[1] == 0]
        bmig = [g for g in scale.get((sz, "reclaim"), {}).get("grows", {}).get("busy", []) if g[1] > 0]
        pb = [g[3] for g in scale.get((sz, "reclaim"), {}).get("grows", {}).get("busy", [])
              if g[1] > 0 and g[3] is not None]
        tb = [g[0] / 1000 for g in bmig]
        bp = [g[1] for g in bmig]
        ratio = f", ratio {bt['ratio_used']} (the largest that fits)" if bt.get("ratio_used") else ""
        L.append(f"| {fmt(region, 0) if region else 'n/a'} MiB{ratio} | {mem} | "
                 f"{fmt(slots_mib(num(bt.get('active_nslabs'))), 0)} / "
                 f"{fmt(slots_mib(num(bt.get('lent_nslabs'))), 0)} | "
                 f"{'n/a' if lend_us is None else f'{lend_us / 1000:.1f}'}"
                 f"{f'; {lend_us / lend_mib:.1f}' if lend_us and lend_mib else ''}{bg} | "
                 f"{mmm(qfree, 2)} | "
                 + ("; ".join(f"{g[0] / 1000:.1f} ms for {g[4] / MIB:.0f} MiB ({g[1]}), {g[4] / MIB / (g[0] / 1e6):.0f}"
                              for g in bmig) or "n/a") + " | "
                 f"{fmt(pmax(sz, 'busy'), 0)} | "
                 f"{fmt(meta, 2)} (+{fmt(chunk_state, 3)} chunk state) / {fmt(smeta, 2)} | {fmt(dres, 2)} | "
                 f"{fmt(dtot, 1)} | {fmt(dfree, 1)} |")
        rows_csv.append([sz, mem, bt.get("region_mib"), bt.get("ratio_used", ""), bt.get("active_nslabs"),
                         bt.get("lent_nslabs"), bt.get("lend_mib"), bt.get("lend_us"), bt.get("nslabs"),
                         st.get("nslabs"), bt.get("memtotal_kb"), st.get("memtotal_kb"), bt.get("memfree_kb"),
                         st.get("memfree_kb"), bt.get("memavailable_kb"), st.get("memavailable_kb"),
                         med(qfree), med(pb), med(tb), med(bp), pmax(sz, "busy"),
                         bt.get("reserved_kb", ""), st.get("reserved_kb", ""),
                         scale.get((sz, "reclaim"), {}).get("fill", {}).get("mib", ""),
                         scale.get((sz, "reclaim"), {}).get("fill", {}).get("claimable", ""),
                         scale.get((sz, "reclaim"), {}).get("end", {}).get("oom", ""),
                         bt.get("lend_bg_mib", ""), bt.get("lend_bg_us", "")])
    write_csv("scale.csv", ["size", "guest_mem", "region_mib", "ratio_used", "active_nslabs", "lent_nslabs",
                            "lent_mib", "lend_us", "reclaim_nslabs", "static_nslabs", "reclaim_memtotal_kb",
                            "static_memtotal_kb", "reclaim_memfree_kb", "static_memfree_kb",
                            "reclaim_memavailable_kb", "static_memavailable_kb", "take_free_quiet_ms_med",
                            "pick_busy_us_med", "take_busy_ms_med", "take_busy_pages_med", "pick_ns_max_busy_us",
                            "reclaim_reserved_kb", "static_reserved_kb", "busy_fill_mib",
                            "busy_claimable_after_fill", "oom_kills", "lend_bg_mib", "lend_bg_us"], rows_csv)
    write_csv("scale-grow.csv", ["size", "kernel", "round", "n", "t_s", "chunk", "duration_us", "busy_pages",
                                 "err", "pick_us"], scale_grow_rows)
    # the mem boots of the reclaim kernels lend the same 240 MiB in the same 768M guest as scale256
    lend_mem = []
    for (run, k, w) in logs:
        if w == "mem" and k in RECLAIM_KERNELS:
            with open(os.path.join(args.raw, "logs", f"run{run}-{k}-{w}.log"), errors="replace") as f:
                m = re.search(r"swiotlb_overprovision: lent (\d+) MiB to the page allocator in (\d+) us", f.read())
            if m:
                lend_mem.append(int(m.group(2)) / 1000)
                lend_mem_mib = m.group(1)
    if lend_mem:
        L.append("")
        L.append(f"Lending at core_initcall ({lend_mem_mib} MiB of 240; the rest in the background) in the `mem` "
                 f"boots of the reclaim kernels (the same region and guest as the 256 MiB row): {mmm(lend_mem, 1)} ms.")
    # flat or sub-linear? the largest region against the smallest
    fs = [x for x in rows_csv if num(x[2]) and x[7]]
    if len(fs) >= 2:
        a, b = fs[0], fs[-1]
        sr = num(b[2]) / num(a[2])
        parts = []
        for lab, ia in (("lending at boot", 7), ("take of a free chunk", 16), ("pick, busy", 17),
                        ("take with migration", 18), ("longest pick", 20)):
            va, vb = num(a[ia]), num(b[ia])
            if va and vb:
                g = vb / va
                how = ("lower" if g < 0.8 else "flat" if g < 1.25 else "sub-linear" if g < 0.8 * sr else
                       "about linear" if g <= 1.25 * sr else "super-linear")
                parts.append(f"{lab} x{g:.2f} ({how})")
        L.append("")
        L.append(f"From the {fmt(num(a[2]), 0)} MiB to the {fmt(num(b[2]), 0)} MiB region (x{sr:.2f}; lent "
                 f"memory x{num(b[6]) / num(a[6]):.2f}): " + "; ".join(parts) + ". Lower: under x0.8; flat: under x1.25; sub-linear: under "
                 "0.8 times the size ratio; medians of each round. One boot per size: read single figures as "
                 "such, on a shared TCG host.")
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
others = "; ".join(f"{k}: {sum((num(r[6], 0) or 0) + (num(r[7], 0) or 0) for r in burst_rows if r[1] == k):.0f} in "
                   f"{sum(1 for r in burst_rows if r[1] == k)} runs" for k in KERNELS if k != "reclaim")
L.append(f"| zero \"swiotlb buffer is full\" where the region holds the burst "
         f"(main burst, {'128' if not args.quick else '64'} MiB, region 256 MiB) | reclaim: {sum(rb):.0f} in "
         f"{len(rb)} runs; {others} | {verdict(None if not rb else sum(rb) == 0)} |")
for k in RECLAIM_KERNELS:
    if k not in KERNELS:
        continue
    fs = {bn: [nfull(r) for r in brows(k, bn)] for bn in ("idle", "after")}
    # Requeued requests count each failed mapping of the burst; the rate
    # limit's "suppressed" count, printed with the next message, can be
    # the previous burst's (the main burst's, for after-pressure).
    rq = {bn: [num(r[27], 0) for r in brows(k, bn) if r[27] not in (None, "")] for bn in ("idle", "after")}
    got = rq["idle"] + rq["after"] if rq["idle"] and rq["after"] else fs["idle"] + fs["after"]
    L.append(f"| {k}: zero failed mappings in the idle and after-pressure bursts (128 MiB in "
             f"flight) | requeued: idle {sum(rq['idle']):.0f}, after-pressure {sum(rq['after']):.0f} in "
             f"{len(fs['idle'])} runs (\"buffer is full\" lines + suppressed: {sum(fs['idle']):.0f}, "
             f"{sum(fs['after']):.0f}) | {verdict(None if not got else sum(got) == 0)} |")
if "reclaim" in KERNELS:
    rs = brows("reclaim", "evac")
    fl = [nfull(r) for r in rs]
    rq = [num(r[27], 0) for r in rs if r[27] not in (None, "")]
    ok = None if not rs else sum(fl) == 0 and sum(rq) == 0
    L.append("| reclaim alone: a burst after the lent area was full and memory pressure eased for a few seconds "
             "(evacuation burst): 0 failures, thanks to evacuation | "
             f"{sum(fl):.0f} \"buffer is full\", {sum(rq):.0f} requeued in {len(rs)} runs; claimed "
             f"{', '.join(str(r[10]) for r in rs)} chunks; evacuated {', '.join(str(r[25]) for r in rs)} in "
             f"the wait; wholly free lent chunks {', '.join(f'{r[30]} -> {r[31]}' for r in rs)} | "
             f"{verdict(ok)} |")
if "reclaim-dynamic" in KERNELS:
    rs = brows("reclaim-dynamic", "main")
    ex = [extra_mib(r, True) for r in rs]
    back = [num(r[23]) is not None and num(r[23]) == boot_active.get((r[0], r[1])) for r in rs]
    ok = None if not rs else all(x == 0 for x in ex) and all(back)
    L.append("| reclaim-dynamic: 0 MiB of extra pools and back at its initial active size after the main burst's "
             f"shrink delay | extra {', '.join(fmt(x, 1) for x in ex)} MiB; active "
             f"{', '.join(fmt(slots_mib(num(r[23])), 0) for r in rs)} MiB (boot: "
             f"{', '.join(fmt(slots_mib(boot_active.get((r[0], r[1]))), 0) for r in rs)} MiB) | {verdict(ok)} |")
L.append("")
L.append("fio also verified every burst (crc32c, `verify_fatal=1`): fio exit status per run, kernel and burst is in "
         "`bursts.csv` (`fio_rc`); a failed verify fails the boot.")
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
         "`MemFree`/`MemAvailable` 2 s after `/init` starts, then the idle burst (section *Bursts*), then a plain allocator: 4 MiB tmpfs files "
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
L.append("* **Main burst** (same boot, `swiotlb=...,force`): the oldest 192 MiB of the fill are freed (they "
         "sit in ordinary memory: movable allocations use lent pages first only once those are over "
         "half of the free memory, which at boot they are not), so the lent area stays full of movable "
         "pages while growth has somewhere to migrate them. Then `fio` direct "
         "writes to the scratch disk, 4 jobs x iodepth 32 x 1 MiB, 4 x 32 MiB = 128 MiB (eight times the "
         "16 MiB initial pool of dynamic and reclaim), verified by reading back with crc32c. QEMU "
         "throttles the disk's writes to 32 MiB/s (`-set drive.d0.throttling.bps-write`): unthrottled, "
         "the host completes each request about as fast as the TCG guest copies the next one into a "
         "bounce buffer and fewer than 16 MiB are ever in flight (peak `io_tlb_used_hiwater` is in "
         "`burst.csv`). The idle and after-pressure bursts (section *Bursts*) run on the same disk "
         "and throttle. "
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
         f"buffer full | write p50 / p99 (ms) | grows | buffer full {' / '.join(b for b, _ in BURSTS)} | "
         f"claims {' / '.join(b for b, _ in BURSTS)} |")
L.append("|---|---|---|---|---|---|---|---|---|---|---|")
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
        b3 = {r[2]: r for r in bursts_rows if r[0] == run and r[1] == k}
        bf3 = " / ".join(f"{nfull(b3[bn]):.0f}" if bn in b3 else "n/a" for bn, _ in BURSTS)
        cl3 = " / ".join((b3[bn][10] if b3[bn][10] not in (None, "") else "–") if bn in b3 else "n/a"
                         for bn, _ in BURSTS)
        L.append(f"| {run} | {k} | {fmt(med(dma_vals(k, 'force', 'map', run)))} / "
                 f"{fmt(med(dma_vals(k, 'force', 'unmap', run)))} | "
                 f"{fmt(med(dma_vals(k, 'direct', 'map', run)))} / "
                 f"{fmt(med(dma_vals(k, 'direct', 'unmap', run)))} | {held_s} | {wr} | {bf} | {lat} | {gr} | "
                 f"{bf3} | {cl3} |")
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
