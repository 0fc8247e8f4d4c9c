/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lending swiotlb memory to the page allocator as MIGRATE_SWIOTLB.
 *
 * swiotlb owns a pageblock-aligned region. The pageblocks it does not need
 * for bounce buffers are handed to the buddy allocator, where only movable
 * allocations may use them, and taken back by migration when swiotlb needs
 * more bounce buffers. See Documentation/core-api/swiotlb-reclaim.rst.
 */
#ifndef _LINUX_PAGE_SWIOTLB_H
#define _LINUX_PAGE_SWIOTLB_H

#include <linux/errno.h>
#include <linux/gfp_types.h>
#include <linux/types.h>

struct page;
struct zone;

#ifdef CONFIG_SWIOTLB_RECLAIM
int swiotlb_lend_reserved_pageblocks(unsigned long start_pfn,
				     unsigned long nr_pages);
int swiotlb_lend_pageblocks(unsigned long start_pfn, unsigned long nr_pages);
int swiotlb_take_pageblocks(unsigned long start_pfn, unsigned long nr_pages,
			    gfp_t gfp_mask);
unsigned long swiotlb_pageblocks_used_pages(unsigned long start_pfn,
					    unsigned long nr_pages);
int swiotlb_adopt_reserved_pageblocks(unsigned long start_pfn,
				      unsigned long nr_pages);
int swiotlb_release_pageblocks(unsigned long start_pfn, unsigned long nr_pages);
unsigned long swiotlb_lent_pages(void);
struct page *swiotlb_claim_free_pageblock(struct zone *zone);
unsigned long swiotlb_free_pageblocks(struct zone *zone, unsigned long max);
void swiotlb_reserve_free_pageblocks(struct zone *zone, unsigned long nr);
#else
static inline int swiotlb_lend_reserved_pageblocks(unsigned long start_pfn,
						   unsigned long nr_pages)
{
	return -EOPNOTSUPP;
}

static inline int swiotlb_lend_pageblocks(unsigned long start_pfn,
					  unsigned long nr_pages)
{
	return -EOPNOTSUPP;
}

static inline int swiotlb_take_pageblocks(unsigned long start_pfn,
					  unsigned long nr_pages,
					  gfp_t gfp_mask)
{
	return -EOPNOTSUPP;
}

static inline unsigned long swiotlb_lent_pages(void)
{
	return 0;
}
#endif

#endif /* _LINUX_PAGE_SWIOTLB_H */
