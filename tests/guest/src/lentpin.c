// SPDX-License-Identifier: GPL-2.0
/*
 * lentpin: put anonymous memory into the lent swiotlb area, optionally pin
 * it FOLL_LONGTERM, and hold it until told to stop.
 *
 *   lentpin -r START_PFN:END_PFN [-m MIB] [-k CHUNKS] [-F FLOOR_MIB]
 *           [-p none|gup|uring|both] -o STATEFILE -s STOPFILE
 *
 * Fill: 1 MiB steps of anonymous memory (no THP) are written with a
 * per-page pattern and located through /proc/self/pagemap (needs root for
 * the PFNs). Movable allocations take lent pages last, so the first steps
 * land in ordinary memory; steps with at least one page in [START_PFN,
 * END_PFN) are kept, the others are unmapped once the targets are met:
 * MIB MiB of pages in the region and pages in at least CHUNKS distinct
 * 2 MiB chunks of it. Filling gives up when MemFree drops below FLOOR_MIB
 * (default 24) rather than wake the OOM killer.
 *
 * The kept steps are mremap()ed into one contiguous range and pinned:
 * "gup" with gup_test's PIN_LONGTERM_TEST_START (FOLL_LONGTERM|FOLL_WRITE),
 * "uring" with io_uring IORING_REGISTER_BUFFERS, "both" pins the first half
 * one way and the second half the other. FOLL_LONGTERM must not pin pages
 * in MIGRATE_SWIOTLB pageblocks: the kernel migrates them out first.
 *
 * The state file gets key=value lines (region pages before and after the
 * pin, ...) and "state=pinned" once everything is in place; the scenario
 * judges them. When STOPFILE appears the pattern is checked again, the
 * region pages are counted again and the pins are dropped. Exit status:
 * 0 when every check of the data held, 1 on a data mismatch or an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/io_uring.h>

#define STEP		(1UL << 20)
#define PAGE		4096UL
#define STEP_PAGES	(STEP / PAGE)
#define CHUNK_PAGES	512UL	/* a 2 MiB pageblock: one swiotlb chunk */

/* From the kernel's mm/gup_test.h */
struct pin_longterm_test {
	uint64_t addr;
	uint64_t size;
	uint32_t flags;
};
#define PIN_LONGTERM_TEST_START		_IOW('g', 7, struct pin_longterm_test)
#define PIN_LONGTERM_TEST_STOP		_IO('g', 8)
#define PIN_LONGTERM_TEST_READ		_IOW('g', 9, uint64_t)
#define PIN_LONGTERM_TEST_FLAG_USE_WRITE	1

#include "guest-mem.h"

static unsigned long rstart, rend;
static FILE *state;
static int pagemap_fd = -1;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "lentpin: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (state) {
		fprintf(state, "state=error\n");
		fflush(state);
	}
	exit(1);
}

static void put(const char *key, unsigned long val)
{
	fprintf(state, "%s=%lu\n", key, val);
	fflush(state);
	printf("lentpin: %s=%lu\n", key, val);
	fflush(stdout);
}

static int in_region(uint64_t pfn)
{
	return pfn >= rstart && pfn < rend;
}

/*
 * Count the pages of [addr, addr + n pages) inside the region and, if
 * @chunks is given, mark the region chunks they are in. A zero frame means
 * the PFNs are hidden (not root): refuse rather than report nothing.
 */
static unsigned long count_in_region(const char *addr, unsigned long n,
				     unsigned char *chunks)
{
	uint64_t pfn[STEP_PAGES];
	unsigned long i, done, cnt = 0;

	for (done = 0; done < n; done += STEP_PAGES) {
		unsigned long m = n - done < STEP_PAGES ? n - done : STEP_PAGES;

		pagemap_frames(pagemap_fd, addr + done * PAGE, m, pfn);
		for (i = 0; i < m; i++) {
			if (!pfn[i])
				die("page %lu has no frame number in pagemap (not root, or not present)",
				    done + i);
			if (in_region(pfn[i])) {
				cnt++;
				if (chunks)
					chunks[(pfn[i] - rstart) / CHUNK_PAGES] = 1;
			}
		}
	}
	return cnt;
}

static unsigned long check_data(const char *buf, unsigned long npages)
{
	unsigned long i, bad = 0;

	for (i = 0; i < npages; i++)
		if (!page_ok(buf + i * PAGE, i))
			bad++;
	return bad;
}

static int uring_setup(void)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		die("io_uring_setup: %s", strerror(errno));
	return fd;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: lentpin -r START_PFN:END_PFN [-m MIB] [-k CHUNKS] [-F FLOOR_MIB]\n"
		"               [-p none|gup|uring|both] -o STATEFILE -s STOPFILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long want_mib = 0, want_chunks = 0, floor_mib = 24;
	const char *mode = "none", *statefile = NULL, *stopfile = NULL;
	unsigned long nsteps = 0, maxsteps, kept = 0, lent_pages = 0, i;
	unsigned long nchunks, covered = 0, npages, before, after, bad;
	char **steps, *buf, *readback;
	unsigned char *chunks;
	int c, gup_fd = -1, uring_fd = -1, pin_gup, pin_uring;
	struct stat st;

	while ((c = getopt(argc, argv, "r:m:k:F:p:o:s:")) != -1) {
		switch (c) {
		case 'r':
			if (sscanf(optarg, "%li:%li", (long *)&rstart, (long *)&rend) != 2 ||
			    rend <= rstart)
				usage();
			break;
		case 'm':
			want_mib = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			want_chunks = strtoul(optarg, NULL, 0);
			break;
		case 'F':
			floor_mib = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			mode = optarg;
			break;
		case 'o':
			statefile = optarg;
			break;
		case 's':
			stopfile = optarg;
			break;
		default:
			usage();
		}
	}
	pin_gup = !strcmp(mode, "gup") || !strcmp(mode, "both");
	pin_uring = !strcmp(mode, "uring") || !strcmp(mode, "both");
	if (!rend || !statefile || !stopfile || (!want_mib && !want_chunks) ||
	    (!pin_gup && !pin_uring && strcmp(mode, "none")))
		usage();

	state = fopen(statefile, "w");
	if (!state)
		die("%s: %s", statefile, strerror(errno));
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		die("/proc/self/pagemap: %s", strerror(errno));
	if (pin_gup) {
		gup_fd = open("/sys/kernel/debug/gup_test", O_RDWR);
		if (gup_fd < 0)
			die("/sys/kernel/debug/gup_test: %s (CONFIG_GUP_TEST?)",
			    strerror(errno));
	}

	nchunks = (rend - rstart + CHUNK_PAGES - 1) / CHUNK_PAGES;
	chunks = calloc(nchunks, 1);
	maxsteps = memfree_kb() / 1024 + 1;
	steps = calloc(maxsteps, sizeof(*steps));
	if (!chunks || !steps)
		die("out of memory");

	/* Fill until enough of our pages sit in the region */
	while (lent_pages < want_mib * STEP_PAGES || covered < want_chunks) {
		char *p;
		unsigned long n;

		if (nsteps == maxsteps || memfree_kb() < floor_mib * 1024)
			die("MemFree %lu kB after %lu MiB with only %lu pages in %lu chunks of the region",
			    memfree_kb(), nsteps, lent_pages, covered);
		p = mmap(NULL, STEP, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap: %s", strerror(errno));
		/* Base pages: a THP would not land in the lent area page by page */
		madvise(p, STEP, MADV_NOHUGEPAGE);
		for (i = 0; i < STEP_PAGES; i++)
			p[i * PAGE] = 1;
		n = count_in_region(p, STEP_PAGES, chunks);
		if (n) {
			lent_pages += n;
			covered = 0;
			for (i = 0; i < nchunks; i++)
				covered += chunks[i];
			steps[nsteps++] = p;
			kept++;
		} else {
			/* Ordinary memory: keep it until the end of the fill */
			steps[nsteps++] = (char *)((uintptr_t)p | 1);
		}
	}
	for (i = 0; i < nsteps; i++)
		if ((uintptr_t)steps[i] & 1)
			munmap((char *)((uintptr_t)steps[i] & ~1UL), STEP);
	put("filled_mib", nsteps);
	put("kept_mib", kept);
	put("region_chunks_covered", covered);

	/* The kept steps, moved (not copied) into one range */
	npages = kept * STEP_PAGES;
	buf = mmap(NULL, kept * STEP, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (buf == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	kept = 0;
	for (i = 0; i < nsteps; i++) {
		if ((uintptr_t)steps[i] & 1)
			continue;
		if (mremap(steps[i], STEP, STEP, MREMAP_MAYMOVE | MREMAP_FIXED,
			   buf + kept * STEP) == MAP_FAILED)
			die("mremap: %s", strerror(errno));
		kept++;
	}
	for (i = 0; i < npages; i++)
		fill_page(buf + i * PAGE, i);
	before = count_in_region(buf, npages, NULL);
	put("held_pages", npages);
	put("region_pages_before_pin", before);

	if (pin_gup) {
		struct pin_longterm_test t = {
			.addr = (uintptr_t)buf,
			.size = (pin_uring ? npages / 2 : npages) * PAGE,
			.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE,
		};

		if (ioctl(gup_fd, PIN_LONGTERM_TEST_START, &t))
			die("PIN_LONGTERM_TEST_START: %s", strerror(errno));
		put("gup_pinned_pages", t.size / PAGE);
	}
	if (pin_uring) {
		unsigned long first = pin_gup ? npages / 2 : 0;
		struct iovec iov = {
			.iov_base = buf + first * PAGE,
			.iov_len = (npages - first) * PAGE,
		};

		uring_fd = uring_setup();
		if (syscall(__NR_io_uring_register, uring_fd,
			    IORING_REGISTER_BUFFERS, &iov, 1))
			die("IORING_REGISTER_BUFFERS: %s", strerror(errno));
		put("uring_pinned_pages", npages - first);
	}
	after = count_in_region(buf, npages, NULL);
	put("region_pages_after_pin", after);
	bad = check_data(buf, npages);
	put("bad_pages_after_pin", bad);
	if (pin_gup) {
		/* What the pin holds is what the process maps */
		unsigned long n = pin_uring ? npages / 2 : npages;
		uint64_t dst;

		readback = malloc(n * PAGE);
		if (!readback)
			die("out of memory");
		dst = (uintptr_t)readback;
		if (ioctl(gup_fd, PIN_LONGTERM_TEST_READ, &dst))
			die("PIN_LONGTERM_TEST_READ: %s", strerror(errno));
		put("gup_readback_mismatch", memcmp(readback, buf, n * PAGE) != 0);
		free(readback);
	}
	fprintf(state, "state=%s\n", strcmp(mode, "none") ? "pinned" : "held");
	fflush(state);

	while (stat(stopfile, &st)) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}

	bad = check_data(buf, npages);
	put("bad_pages_at_stop", bad);
	put("region_pages_at_stop", count_in_region(buf, npages, NULL));
	if (pin_gup && ioctl(gup_fd, PIN_LONGTERM_TEST_STOP))
		die("PIN_LONGTERM_TEST_STOP: %s", strerror(errno));
	if (pin_uring && syscall(__NR_io_uring_register, uring_fd,
				 IORING_UNREGISTER_BUFFERS, NULL, 0))
		die("IORING_UNREGISTER_BUFFERS: %s", strerror(errno));
	fprintf(state, "state=done\n");
	fclose(state);
	return bad ? 1 : 0;
}
