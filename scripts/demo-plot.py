#!/usr/bin/env python3
"""demo-plot.py: the pool over a whole `make run` (tests/scenarios/demo).

Reads the "@@DEMO-BEGIN pool" block of the demo's console log (samples of
the guest's sampler, every 0.2 s) and writes OUT/pool.csv (the raw samples,
plus seconds since the first one) and OUT/pool.png: active, used and lent
parts of the swiotlb region and the free pages of the lent area, in MiB,
with the phases marked. Prints nothing on success; exit status 1 when the
log has no samples.
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import consolelog  # noqa: E402

SLOT_MIB = 2048 / (1 << 20)
PAGE_MIB = 4096 / (1 << 20)
PHASE_TITLE = {"boot": "1 boot", "pressure": "2 pressure", "burst": "3 I/O burst",
               "idle": "4 idle", "summary": "5 summary"}

ap = argparse.ArgumentParser()
ap.add_argument("--log", required=True, help="console log of the demo boot")
ap.add_argument("--out", required=True, help="directory for pool.csv and pool.png")
args = ap.parse_args()

_, blocks = consolelog.parse(args.log, "DEMO")
if "pool" not in blocks:
    print(f"demo-plot: no pool samples in {args.log} (the demo did not get to its end)", file=sys.stderr)
    sys.exit(1)
lines = blocks["pool"].decode(errors="replace").splitlines()
header = lines[0].split()
rows = [ln.split() for ln in lines[1:]]
# A sample cut short (the sampler stopped mid-line) is dropped.
rows = [r for r in rows if len(r) == len(header)]
if not rows:
    print(f"demo-plot: the pool block of {args.log} has no complete sample", file=sys.stderr)
    sys.exit(1)
col = {name: i for i, name in enumerate(header)}
t0 = float(rows[0][col["t_s"]])

os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "pool.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["t_s", "uptime_s"] + header[1:])
    for r in rows:
        w.writerow([f"{float(r[0]) - t0:.2f}"] + r)

# gnuplot data in MiB: t active used lent free_lent ordinary_free
with open(os.path.join(args.out, ".pool.dat"), "w") as f:
    for r in rows:
        v = {k: float(r[i]) for k, i in col.items() if k != "phase"}
        f.write(f"{v['t_s'] - t0:.2f} {v['active_nslabs'] * SLOT_MIB:.2f} {v['used'] * SLOT_MIB:.2f} "
                f"{v['lent_nslabs'] * SLOT_MIB:.2f} {v['nr_free_swiotlb'] * PAGE_MIB:.2f} "
                f"{(v['nr_free_pages'] - v['nr_free_swiotlb']) * PAGE_MIB:.2f}\n")

# Where each phase starts, from the phase column.
starts, prev = [], None
for r in rows:
    ph = r[col["phase"]]
    if ph != prev:
        starts.append((float(r[0]) - t0, ph))
        prev = ph
t_end = float(rows[-1][0]) - t0
s = ["set terminal pngcairo size 1200,600 font ',10'", "set output 'pool.png'",
     "set title 'make run: the swiotlb pool over the whole demo (sampled every 0.2 s in the guest)'",
     "set xlabel 'seconds since the demo started'", "set ylabel 'MiB'", "set grid",
     "set key above horizontal maxrows 1 width -1", f"set xrange [0:{t_end:.1f}]", "set yrange [0:*]", "set offsets 0, 0, 30, 0"]
for n, (t, ph) in enumerate(starts, 1):
    s.append(f"set arrow {n} from {t:.2f}, graph 0 to {t:.2f}, graph 1 nohead dt 2 lc rgb '#666666'")
    # Alternate heights: a short phase's label would run into the next one.
    s.append(f"set label {n} '{PHASE_TITLE.get(ph, ph)}' at {t:.2f}, graph {0.97 - 0.05 * (n % 2 == 0):.2f} "
             "offset 0.5,0 font ',10'")
s.append("plot '.pool.dat' u 1:2 w l lw 2.5 lc rgb '#d62728' t 'active pool', "
         "'' u 1:3 w l lw 1.5 lc rgb '#ff7f0e' t 'used (in flight)', "
         "'' u 1:4 w l lw 2.5 lc rgb '#1f77b4' t 'lent', "
         "'' u 1:5 w l lw 2 lc rgb '#2ca02c' t 'free lent pages', "
         "'' u 1:6 w l lw 1 dt 3 lc rgb '#7f7f7f' t 'ordinary free memory'")
if not consolelog.gnuplot("\n".join(s) + "\n", args.out):
    sys.exit(1)
os.remove(os.path.join(args.out, ".pool.dat"))
