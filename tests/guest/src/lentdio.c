// SPDX-License-Identifier: GPL-2.0
/*
 * lentdio: O_DIRECT I/O from user pages that live in lent swiotlb memory.
 *
 *   lentdio DEV REGION_START REGION_END NPAGES MAX_MIB
 *
 * Allocates anonymous memory, 8 MiB at a time and at most MAX_MIB, until
 * NPAGES of its pages sit inside [REGION_START, REGION_END) (physical
 * addresses, from /proc/self/pagemap; needs root). Inside the swiotlb
 * region, a user page can only be in a lent chunk. Each such page then
 * does two 1 KiB O_DIRECT writes and reads at page offsets 512 and 2560,
 * so a device with a min_align_mask (NVMe) unmaps addresses that are not
 * slot aligned: swiotlb must tell them from bounce slots by chunk, not by
 * the region's bounds. The data read back must match what was written.
 *
 * Prints "lentdio: pages_in_region=N bytes_verified=N mismatches=N";
 * exits 1 on a mismatch, an I/O error, or too few pages in the region.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define STEP_BYTES	(8UL << 20)
#define IO_BYTES	1024
#define PFN_MASK	((1ULL << 55) - 1)
#define PAGE_PRESENT	(1ULL << 63)

static const size_t io_offsets[] = { 512, 2560 };

static unsigned char pattern_byte(size_t page, size_t off)
{
	return (unsigned char)(page * 131 + off * 7 + 0x5a);
}

static int page_in_region(int pagemap, void *addr, long pagesize,
			  uint64_t start, uint64_t end)
{
	uint64_t entry, phys;
	off_t pos = (uintptr_t)addr / pagesize * sizeof(entry);

	if (pread(pagemap, &entry, sizeof(entry), pos) != sizeof(entry))
		return -1;
	if (!(entry & PAGE_PRESENT))
		return 0;
	phys = (entry & PFN_MASK) * (uint64_t)pagesize;
	if (!phys) {
		fprintf(stderr, "lentdio: pagemap hides PFNs (not root?)\n");
		return -1;
	}
	return phys >= start && phys < end;
}

int main(int argc, char **argv)
{
	long pagesize = sysconf(_SC_PAGESIZE);
	unsigned long npages, max_mib, allocated = 0, found = 0;
	unsigned long long verified = 0, mismatches = 0;
	uint64_t start, end;
	char **pages;
	int fd, pagemap;
	size_t i, k, b;

	if (argc != 6) {
		fprintf(stderr, "usage: %s DEV REGION_START REGION_END NPAGES MAX_MIB\n",
			argv[0]);
		return 2;
	}
	start = strtoull(argv[2], NULL, 0);
	end = strtoull(argv[3], NULL, 0);
	npages = strtoul(argv[4], NULL, 0);
	max_mib = strtoul(argv[5], NULL, 0);
	if (start >= end || !npages) {
		fprintf(stderr, "lentdio: bad region or page count\n");
		return 2;
	}
	pages = calloc(npages, sizeof(*pages));
	fd = open(argv[1], O_RDWR | O_DIRECT);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (!pages || fd < 0 || pagemap < 0) {
		perror("lentdio: setup");
		return 2;
	}

	while (found < npages && allocated + STEP_BYTES <= (max_mib << 20)) {
		char *buf = mmap(NULL, STEP_BYTES, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (buf == MAP_FAILED) {
			perror("lentdio: mmap");
			break;
		}
		/* Base pages: pagemap and the I/O below reason per page. */
		madvise(buf, STEP_BYTES, MADV_NOHUGEPAGE);
		memset(buf, 0xa5, STEP_BYTES);
		allocated += STEP_BYTES;
		for (b = 0; b < STEP_BYTES && found < npages; b += pagesize) {
			int in = page_in_region(pagemap, buf + b, pagesize,
						start, end);

			if (in < 0)
				return 2;
			if (in)
				pages[found++] = buf + b;
		}
	}
	printf("lentdio: allocated %lu MiB, %lu pages in [%#llx-%#llx)\n",
	       allocated >> 20, found, (unsigned long long)start,
	       (unsigned long long)end);

	for (i = 0; i < found; i++) {
		for (k = 0; k < 2; k++) {
			char *p = pages[i] + io_offsets[k];
			off_t pos = (off_t)i * pagesize + io_offsets[k];

			for (b = 0; b < IO_BYTES; b++)
				p[b] = pattern_byte(i, io_offsets[k] + b);
			if (pwrite(fd, p, IO_BYTES, pos) != IO_BYTES) {
				perror("lentdio: pwrite");
				return 1;
			}
		}
	}
	for (i = 0; i < found; i++) {
		for (k = 0; k < 2; k++) {
			char *p = pages[i] + io_offsets[k];
			off_t pos = (off_t)i * pagesize + io_offsets[k];

			memset(p, 0, IO_BYTES);
			if (pread(fd, p, IO_BYTES, pos) != IO_BYTES) {
				perror("lentdio: pread");
				return 1;
			}
			for (b = 0; b < IO_BYTES; b++)
				if ((unsigned char)p[b] !=
				    pattern_byte(i, io_offsets[k] + b))
					mismatches++;
			verified += IO_BYTES;
		}
	}
	printf("lentdio: pages_in_region=%lu bytes_verified=%llu mismatches=%llu\n",
	       found, verified, mismatches);
	if (found < npages) {
		fprintf(stderr, "lentdio: only %lu of %lu pages landed in the region\n",
			found, npages);
		return 1;
	}
	return mismatches ? 1 : 0;
}
