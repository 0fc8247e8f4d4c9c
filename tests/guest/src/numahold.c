// SPDX-License-Identifier: GPL-2.0
/*
 * numahold: hold anonymous memory with a given CPU and NUMA memory policy,
 * and say where its pages are, for the numa scenario.
 *
 *   numahold -r START_PFN:END_PFN -i CMDFIFO -o OUTFILE
 *
 * Commands are read line by line from CMDFIFO (opened read-write, so the
 * scenario's writers may come and go); after each one a line
 * "done SEQ CMD key=value..." is appended to OUTFILE. Commands:
 *
 *   cpu N               run on CPU N only (sched_setaffinity)
 *   bind N              set_mempolicy(MPOL_BIND, node N)
 *   default             set_mempolicy(MPOL_DEFAULT): local allocation
 *   fill MIB            allocate MIB MiB in 1 MiB steps (no THP), each page
 *                       written with a pattern tied to its index
 *   fill-until NODE ZONE PAGES MAX_MIB
 *                       allocate steps until zone ZONE of node NODE has
 *                       fewer than PAGES free pages that are not lent
 *                       swiotlb pages ("pages free" - nr_free_swiotlb in
 *                       /proc/zoneinfo), at most MAX_MIB, and stop early
 *                       if MemFree falls below 24 MiB
 *   keep-region         unmap the steps without a page in [START, END)
 *   report              pages held, in the region, on each node
 *                       (move_pages(2) query), data errors
 *   touch SECS NODE PCT read every held page again and again (NUMA hint
 *                       faults) until PCT% of them are on NODE or SECS
 *                       seconds passed
 *   bdev-pfn DEV        frame of page 0 of /dev/DEV's page cache (mmap of
 *                       the block device, then pagemap); in_region=0|1
 *   pfn PFN             what holds frame PFN: /proc/kpageflags (hex) and
 *                       /proc/kpagecount, and every process that maps it
 *                       (pid, comm, address, mapping), from their pagemaps
 *   exit                report, then exit (status 1 if a page lost its data)
 *
 * report's keys: pages, region (pages in the region), nodeN (pages on node
 * N), gone (no node: not present), bad (pages whose pattern is wrong),
 * steps. Needs root for the frame numbers in /proc/self/pagemap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#define STEP		(1UL << 20)
#define PAGE		4096UL
#define STEP_PAGES	(STEP / PAGE)
#define MAX_STEPS	4096
#define MAX_NODES	8
#define MPOL_DEFAULT	0
#define MPOL_BIND	2

#include "guest-mem.h"

static char *steps[MAX_STEPS];
static unsigned long nsteps;	/* steps allocated, mapped or not */
static unsigned long rstart, rend;
static int pagemap_fd = -1;
static FILE *out;
static unsigned long seq;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "numahold: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (out) {
		fprintf(out, "error seq=%lu\n", seq);
		fflush(out);
	}
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Free pages of zone @zone of node @node that are not lent swiotlb pages */
static long zone_ordinary_free(int node, const char *zone)
{
	char line[256], z[32];
	long free = -1, lent = 0;
	int n, in = 0;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		die("/proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone %31s", &n, z) == 2) {
			in = n == node && !strcmp(z, zone);
			continue;
		}
		if (!in)
			continue;
		sscanf(line, " pages free %ld", &free);
		sscanf(line, " nr_free_swiotlb %ld", &lent);
	}
	fclose(f);
	if (free < 0)
		die("no zone %s on node %d in /proc/zoneinfo", zone, node);
	return free - lent;
}

static void set_policy(int mode, int node)
{
	unsigned long mask = 1UL << node;

	if (syscall(SYS_set_mempolicy, mode, mode == MPOL_DEFAULT ? NULL : &mask,
		    mode == MPOL_DEFAULT ? 0 : sizeof(mask) * 8 + 1))
		die("set_mempolicy(%d, node %d): %s", mode, node, strerror(errno));
}

static void set_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity(cpu %d): %s", cpu, strerror(errno));
}

static void alloc_step(void)
{
	char *p;
	unsigned long i;

	if (nsteps >= MAX_STEPS)
		die("more than %d steps", MAX_STEPS);
	p = mmap(NULL, STEP, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	/* 4K pages: each is placed, counted and migrated on its own */
	madvise(p, STEP, MADV_NOHUGEPAGE);
	for (i = 0; i < STEP_PAGES; i++)
		fill_page(p + i * PAGE, nsteps * STEP_PAGES + i);
	steps[nsteps++] = p;
}

static unsigned long step_in_region(const char *p)
{
	uint64_t pfn[STEP_PAGES];
	unsigned long i, n = 0;

	pagemap_frames(pagemap_fd, p, STEP_PAGES, pfn);
	for (i = 0; i < STEP_PAGES; i++) {
		if (!pfn[i])
			die("a held page has no frame number in pagemap (not root?)");
		n += pfn[i] >= rstart && pfn[i] < rend;
	}
	return n;
}

struct where {
	unsigned long pages, region, gone, bad, steps;
	unsigned long node[MAX_NODES];
};

/* Node of each page of a step, by move_pages(2) without target nodes */
static void step_nodes(char *p, struct where *w)
{
	void *pages[STEP_PAGES];
	int status[STEP_PAGES];
	unsigned long i;

	for (i = 0; i < STEP_PAGES; i++)
		pages[i] = p + i * PAGE;
	if (syscall(SYS_move_pages, 0, STEP_PAGES, pages, NULL, status, 0))
		die("move_pages: %s", strerror(errno));
	for (i = 0; i < STEP_PAGES; i++) {
		if (status[i] >= 0 && status[i] < MAX_NODES)
			w->node[status[i]]++;
		else
			w->gone++;
	}
}

static void where(struct where *w, int data)
{
	unsigned long s, i;

	memset(w, 0, sizeof(*w));
	for (s = 0; s < nsteps; s++) {
		if (!steps[s])
			continue;
		w->steps++;
		w->pages += STEP_PAGES;
		w->region += step_in_region(steps[s]);
		step_nodes(steps[s], w);
		if (data)
			for (i = 0; i < STEP_PAGES; i++)
				w->bad += !page_ok(steps[s] + i * PAGE,
						   s * STEP_PAGES + i);
	}
}

static void put_where(const struct where *w)
{
	int n;

	fprintf(out, " steps=%lu pages=%lu region=%lu gone=%lu", w->steps,
		w->pages, w->region, w->gone);
	/* nodes 0 and 1 always (the scenario reads them), others if used */
	for (n = 0; n < MAX_NODES; n++)
		if (n < 2 || w->node[n])
			fprintf(out, " node%d=%lu", n, w->node[n]);
	fprintf(out, " bad=%lu", w->bad);
}

static void touch(double secs, int node, unsigned long pct)
{
	double t0 = now(), t = t0;
	unsigned long passes = 0, s, i, sum = 0;
	struct where w;

	for (;;) {
		for (s = 0; s < nsteps; s++) {
			if (!steps[s])
				continue;
			for (i = 0; i < STEP_PAGES; i++)
				sum += *(volatile uint64_t *)(steps[s] + i * PAGE);
		}
		passes++;
		t = now();
		where(&w, 0);
		if (w.node[node] * 100 >= w.pages * pct || t - t0 >= secs)
			break;
		usleep(100000);
	}
	fprintf(out, " passes=%lu ms=%lu sum=%lu", passes,
		(unsigned long)((t - t0) * 1000), sum & 1);
}

static uint64_t read_u64(const char *path, unsigned long idx)
{
	uint64_t v = ~0ULL;
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		if (pread(fd, &v, sizeof(v), idx * sizeof(v)) != sizeof(v))
			v = ~0ULL;
		close(fd);
	}
	return v;
}

/* Every process mapping frame @pfn, from /proc/PID/maps and pagemap */
static void pfn_users(unsigned long pfn)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[64], line[512], comm[64] = "?";
		FILE *maps, *f;
		int pm, pid = atoi(e->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
		pm = open(path, O_RDONLY);
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
		maps = fopen(path, "r");
		if (pm < 0 || !maps) {
			if (pm >= 0)
				close(pm);
			if (maps)
				fclose(maps);
			continue;
		}
		while (fgets(line, sizeof(line), maps)) {
			unsigned long lo, hi, a;
			char name[256] = "";

			if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &lo, &hi, name) < 2)
				continue;
			for (a = lo; a < hi; a += PAGE) {
				uint64_t ent;

				if (pread(pm, &ent, sizeof(ent), a / PAGE * sizeof(ent)) != sizeof(ent))
					break;
				if ((ent >> 63) && (ent & ((1ULL << 55) - 1)) == pfn)
					fprintf(out, " user=%d:%s:0x%lx:%s", pid, comm, a,
						name[0] ? name : "[anon]");
			}
		}
		fclose(maps);
		close(pm);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	const char *fifo = NULL, *outfile = NULL;
	char line[256];
	FILE *in;
	int c;

	while ((c = getopt(argc, argv, "r:i:o:")) != -1) {
		switch (c) {
		case 'r':
			if (sscanf(optarg, "%lu:%lu", &rstart, &rend) != 2 ||
			    rstart >= rend)
				die("bad -r %s", optarg);
			break;
		case 'i':
			fifo = optarg;
			break;
		case 'o':
			outfile = optarg;
			break;
		default:
			die("usage: numahold -r START_PFN:END_PFN -i CMDFIFO -o OUTFILE");
		}
	}
	if (!fifo || !outfile || !rend)
		die("usage: numahold -r START_PFN:END_PFN -i CMDFIFO -o OUTFILE");
	out = fopen(outfile, "a");
	if (!out)
		die("%s: %s", outfile, strerror(errno));
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		die("/proc/self/pagemap: %s", strerror(errno));
	/* Read-write: the FIFO never reports EOF between the scenario's writes */
	c = open(fifo, O_RDWR);
	if (c < 0)
		die("%s: %s", fifo, strerror(errno));
	in = fdopen(c, "r");
	fprintf(out, "ready pid=%d\n", getpid());
	fflush(out);

	while (fgets(line, sizeof(line), in)) {
		char cmd[32] = "", zone[32];
		unsigned long a, b, s;
		int n, node;
		double t0 = now();
		struct where w;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%31s", cmd) != 1)
			continue;
		seq++;
		fprintf(out, "done %lu %s", seq, cmd);
		if (!strcmp(cmd, "cpu") && sscanf(line, "cpu %d", &n) == 1) {
			set_cpu(n);
		} else if (!strcmp(cmd, "bind") && sscanf(line, "bind %d", &n) == 1) {
			set_policy(MPOL_BIND, n);
		} else if (!strcmp(cmd, "default")) {
			set_policy(MPOL_DEFAULT, 0);
		} else if (!strcmp(cmd, "fill") && sscanf(line, "fill %lu", &a) == 1) {
			for (s = 0; s < a; s++)
				alloc_step();
			fprintf(out, " mib=%lu", a);
		} else if (!strcmp(cmd, "fill-until") &&
			   sscanf(line, "fill-until %d %31s %lu %lu", &node, zone, &a, &b) == 4) {
			long left = zone_ordinary_free(node, zone);

			for (s = 0; s < b && left >= (long)a && memfree_kb() >= 24 * 1024; s++) {
				alloc_step();
				left = zone_ordinary_free(node, zone);
			}
			fprintf(out, " mib=%lu ordinary_free=%ld", s, left);
		} else if (!strcmp(cmd, "keep-region")) {
			unsigned long dropped = 0;

			for (s = 0; s < nsteps; s++) {
				if (!steps[s] || step_in_region(steps[s]))
					continue;
				munmap(steps[s], STEP);
				steps[s] = NULL;
				dropped++;
			}
			fprintf(out, " dropped=%lu", dropped);
		} else if (!strcmp(cmd, "report") || !strcmp(cmd, "exit")) {
			where(&w, 1);
			put_where(&w);
			if (!strcmp(cmd, "exit")) {
				fprintf(out, "\n");
				fflush(out);
				return w.bad ? 1 : 0;
			}
		} else if (!strcmp(cmd, "touch") &&
			   sscanf(line, "touch %lu %d %lu", &a, &node, &b) == 3 &&
			   node >= 0 && node < MAX_NODES) {
			touch(a, node, b);
			where(&w, 0);
			put_where(&w);
		} else if (!strcmp(cmd, "bdev-pfn") && sscanf(line, "bdev-pfn %31s", zone) == 1) {
			/* frame of page 0 of a block device's page cache */
			char dev[64];
			int fd;
			char *p;
			uint64_t ent = 0;

			snprintf(dev, sizeof(dev), "/dev/%s", zone);
			fd = open(dev, O_RDONLY);
			if (fd < 0)
				die("%s: %s", dev, strerror(errno));
			p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				die("mmap %s: %s", dev, strerror(errno));
			a = *(volatile char *)p;
			if (pread(pagemap_fd, &ent, 8, (uintptr_t)p / PAGE * 8) != 8)
				die("pagemap");
			ent = (ent >> 63) ? ent & ((1ULL << 55) - 1) : 0;
			munmap(p, PAGE);
			close(fd);
			fprintf(out, " bdev_pfn=%llu in_region=%d", (unsigned long long)ent,
				ent >= rstart && ent < rend);
		} else if (!strcmp(cmd, "pfn") && sscanf(line, "pfn %lu", &a) == 1) {
			fprintf(out, " pfn=%lu kpageflags=0x%llx kpagecount=%lld", a,
				(unsigned long long)read_u64("/proc/kpageflags", a),
				(long long)read_u64("/proc/kpagecount", a));
			pfn_users(a);
		} else {
			die("bad command '%s'", line);
		}
		fprintf(out, " cmd_ms=%lu\n", (unsigned long)((now() - t0) * 1000));
		fflush(out);
	}
	return 0;
}
