/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the guest helpers that hold memory and check where it lives
 * (lentpin, numahold): the data pattern tied to a page's index, MemFree,
 * and frame numbers from /proc/self/pagemap. The including file defines
 * PAGE and die(), which reports and exits.
 */
#ifndef GUEST_MEM_H
#define GUEST_MEM_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void die(const char *fmt, ...);

/* Pattern of page @idx of the held memory: tied to the page, not its frame */
static uint64_t pattern(unsigned long idx, unsigned long word)
{
	return (0x9e3779b97f4a7c15ULL * (idx + 1)) ^ (word * 0xbf58476d1ce4e5b9ULL);
}

static void fill_page(char *p, unsigned long idx)
{
	uint64_t *w = (uint64_t *)p;
	unsigned long i;

	for (i = 0; i < PAGE / 8; i++)
		w[i] = pattern(idx, i);
}

static int page_ok(const char *p, unsigned long idx)
{
	const uint64_t *w = (const uint64_t *)p;
	unsigned long i;

	for (i = 0; i < PAGE / 8; i++)
		if (w[i] != pattern(idx, i))
			return 0;
	return 1;
}

static unsigned long memfree_kb(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Frames of @n pages at @addr (pagemap @fd): 0 for a page not present */
static void pagemap_frames(int fd, const char *addr, unsigned long n,
			   uint64_t *pfn)
{
	off_t off = ((uintptr_t)addr / PAGE) * sizeof(uint64_t);
	unsigned long i;

	if (pread(fd, pfn, n * sizeof(uint64_t), off) !=
	    (ssize_t)(n * sizeof(uint64_t)))
		die("pagemap read: %s", strerror(errno));
	for (i = 0; i < n; i++)
		pfn[i] = (pfn[i] >> 63) ? pfn[i] & ((1ULL << 55) - 1) : 0;
}

#endif /* GUEST_MEM_H */
