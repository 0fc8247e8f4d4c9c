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
#include <linux/math.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
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
struct page *swiotlb_alloc_lent_block(struct zone *zone, unsigned int order);
unsigned long swiotlb_free_pageblocks(struct zone *zone, unsigned long max);
void swiotlb_reserve_free_pageblocks(struct zone *zone, unsigned long nr);

/**
 * swiotlb_zone_ordinary_free() - free pages of a zone outside lent pageblocks
 * @zone: the zone swiotlb's lent pageblocks are in
 *
 * What allocations that may not use lent pages find free: the page
 * allocator's reserve of wholly free lent pageblocks and swiotlb's
 * evacuation judge room by it.
 *
 * Return: free pages less free lent pages; the two counters are read apart,
 * so the difference may be slightly off, even negative, for a moment.
 */
static inline long swiotlb_zone_ordinary_free(struct zone *zone)
{
	return zone_page_state(zone, NR_FREE_PAGES) -
	       zone_page_state(zone, NR_FREE_SWIOTLB_PAGES);
}

/**
 * swiotlb_reserve_floor() - ordinary free memory below which the reserve yields
 * @zone: the zone swiotlb's lent pageblocks are in
 *
 * A sixteenth of the zone (see swiotlb_reserve_in_force()). swiotlb's grow
 * boost takes no memory below this level either, above the high watermark.
 *
 * Return: a number of pages.
 */
static inline unsigned long swiotlb_reserve_floor(struct zone *zone)
{
	return zone_managed_pages(zone) / 16;
}

/**
 * swiotlb_reserve_in_force() - how much of the reserve holds now
 * @reserve: wholly free lent pageblocks swiotlb asked to keep whole
 * @ordinary: the zone's free pages outside lent pageblocks
 * @floor: ordinary free pages below which the reserve yields
 *
 * Above @floor the whole reserve holds. Below it the reserve shrinks in
 * proportion, to nothing when ordinary memory is used up: movable
 * allocations leave what ordinary memory is left to unmovable ones by
 * splitting reserved pageblocks, a few at first and all of them at the
 * end. All at once at @floor, they split the pageblocks a DMA burst was
 * claiming at that very moment, when its own buffers had taken ordinary
 * memory down to @floor.
 *
 * Return: the number of wholly free lent pageblocks to keep whole.
 */
static inline unsigned long swiotlb_reserve_in_force(unsigned long reserve,
						     long ordinary,
						     unsigned long floor)
{
	if (ordinary >= (long)floor)
		return reserve;
	if (ordinary <= 0)
		return 0;
	return mult_frac(reserve, (unsigned long)ordinary, floor);
}
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
