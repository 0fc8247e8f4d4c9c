// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for MIGRATE_SWIOTLB: the page allocator's side of lending
 * swiotlb memory. Each test borrows a free pageblock-aligned range from
 * the running system, lends it as MIGRATE_SWIOTLB, drives the real
 * allocator against it and gives the range back to the system at the end.
 */

#include <kunit/test.h>
#include <linux/compaction.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/initrd.h>
#include <linux/mm.h>
#include <linux/page-isolation.h>
#include <linux/page-swiotlb.h>
#include <linux/page_reporting.h>
#include <linux/scatterlist.h>
#include <linux/shmem_fs.h>
#include <linux/vmstat.h>

#include "internal.h"
#include "page_reporting.h"

#define TEST_BLOCKS	2

struct swiotlb_range {
	unsigned long pfn;
	unsigned long nr_pages;
	struct zone *zone;
};

static bool range_has_pfn(const struct swiotlb_range *r, unsigned long pfn)
{
	return pfn >= r->pfn && pfn < r->pfn + r->nr_pages;
}

static unsigned long free_swiotlb_pages(struct zone *zone)
{
	/* Per-cpu lists hide freed pages from the counters until drained */
	drain_all_pages(zone);
	return zone_page_state_snapshot(zone, NR_FREE_SWIOTLB_PAGES);
}

static bool range_is_swiotlb(const struct swiotlb_range *r)
{
	unsigned long pfn;

	for (pfn = r->pfn; pfn < r->pfn + r->nr_pages; pfn += pageblock_nr_pages)
		if (!is_migrate_swiotlb_page(pfn_to_page(pfn)))
			return false;
	return true;
}

/* Borrow a free range from the system; the test owns its pages. */
static void borrow_range(struct kunit *test, struct swiotlb_range *r)
{
	struct page *page;

	r->nr_pages = TEST_BLOCKS * pageblock_nr_pages;
	page = alloc_contig_pages(r->nr_pages, GFP_KERNEL | __GFP_NOWARN,
				  numa_mem_id(), NULL);
	KUNIT_ASSERT_NOT_NULL_MSG(test, page, "no free %lu-page range to borrow",
				  r->nr_pages);
	r->pfn = page_to_pfn(page);
	r->zone = page_zone(page);
	KUNIT_ASSERT_TRUE(test, IS_ALIGNED(r->pfn, pageblock_nr_pages));
}

/* Take a lent range back and return it to the system as movable memory. */
static void return_range(struct kunit *test, struct swiotlb_range *r)
{
	unsigned long pfn;

	KUNIT_ASSERT_EQ(test, swiotlb_take_pageblocks(r->pfn, r->nr_pages,
						      GFP_KERNEL), 0);
	for (pfn = r->pfn; pfn < r->pfn + r->nr_pages; pfn += pageblock_nr_pages)
		set_pageblock_migratetype(pfn_to_page(pfn), MIGRATE_MOVABLE);
	free_contig_range(r->pfn, r->nr_pages);
}

static void lend_range(struct kunit *test, struct swiotlb_range *r)
{
	borrow_range(test, r);
	KUNIT_ASSERT_EQ(test, swiotlb_lend_pageblocks(r->pfn, r->nr_pages), 0);
}

/*
 * zone->nr_free_swiotlb_blocks against a walk of the free lists, under the
 * zone lock so that both see the same lists.
 */
static bool free_blocks_counted_right(struct zone *zone)
{
	unsigned long flags, walked = 0, counted;
	unsigned int order;
	struct page *page;

	spin_lock_irqsave(&zone->lock, flags);
	for (order = pageblock_order; order < NR_PAGE_ORDERS; order++)
		list_for_each_entry(page,
				    &zone->free_area[order].free_list[MIGRATE_SWIOTLB],
				    buddy_list)
			walked += 1UL << (order - pageblock_order);
	counted = zone->nr_free_swiotlb_blocks;
	spin_unlock_irqrestore(&zone->lock, flags);
	return walked == counted;
}

/*
 * The watermark tests below need a zone whose ordinary free memory is short
 * while lent pages are still free. Rather than use up memory, they move one
 * of the zone's watermarks there for a moment: @extra pages below what is
 * free when half of the free lent pages are not counted. A check that
 * counts free lent pages as usable passes there, one that does not fails.
 * The caller holds the zone lock, so the free counters stay still, and
 * restores the watermark before dropping it.
 */
static unsigned long wmark_between(struct zone *zone, unsigned long extra)
{
	long free = zone_page_state(zone, NR_FREE_PAGES);
	long lent = zone_page_state(zone, NR_FREE_SWIOTLB_PAGES);
	long mark;

	mark = free - (long)READ_ONCE(zone->nr_reserved_highatomic) - lent / 2 -
	       (long)extra;
	return mark > 0 ? mark : 0;
}

static u32 pattern_word(pgoff_t index, unsigned int i)
{
	return (u32)index * 2654435761u ^ i;
}

static void fill_folio(struct folio *folio, pgoff_t index)
{
	u32 *p = kmap_local_folio(folio, 0);
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(*p); i++)
		p[i] = pattern_word(index, i);
	kunmap_local(p);
	folio_mark_dirty(folio);
}

static bool folio_holds_pattern(struct folio *folio, pgoff_t index)
{
	u32 *p = kmap_local_folio(folio, 0);
	bool ok = true;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(*p) && ok; i++)
		ok = p[i] == pattern_word(index, i);
	kunmap_local(p);
	return ok;
}

/*
 * Fill a shmem file with page cache until one of its pages comes from the
 * lent range. Page cache is movable and sits on the LRU, so it is what a
 * lent range really holds and what taking it back must migrate.
 *
 * Return: the page index that landed in @r, or -1 if memory ran out first.
 */
static long fill_until_in_range(struct kunit *test, struct file *file,
				const struct swiotlb_range *r,
				unsigned long *nr_filled)
{
	const gfp_t gfp = GFP_HIGHUSER_MOVABLE | __GFP_NORETRY | __GFP_NOWARN;
	unsigned long limit = totalram_pages();
	pgoff_t index;

	for (index = 0; index < limit; index++) {
		struct folio *folio;
		unsigned long pfn;

		folio = shmem_read_folio_gfp(file->f_mapping, index, gfp);
		if (IS_ERR(folio))
			break;
		fill_folio(folio, index);
		pfn = folio_pfn(folio);
		folio_put(folio);
		*nr_filled = index + 1;
		if (range_has_pfn(r, pfn))
			return index;
	}
	return -1;
}

static struct file *test_shmem_file(struct kunit *test)
{
	struct file *file;

	file = shmem_file_setup("page_swiotlb_kunit", (loff_t)totalram_pages()
				<< PAGE_SHIFT, VM_NORESERVE);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	return file;
}

/*
 * Lending, taking and lending again keeps the free counters and the count
 * of lent pages (SwiotlbLent in /proc/meminfo) exact.
 */
static void page_swiotlb_counters_exact(struct kunit *test)
{
	unsigned long base, lent_base;
	struct swiotlb_range r;
	int cycle;

	borrow_range(test, &r);
	base = free_swiotlb_pages(r.zone);
	lent_base = swiotlb_lent_pages();

	for (cycle = 0; cycle < 3; cycle++) {
		KUNIT_ASSERT_EQ(test, swiotlb_lend_pageblocks(r.pfn, r.nr_pages), 0);
		KUNIT_EXPECT_TRUE(test, range_is_swiotlb(&r));
		KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base + r.nr_pages);
		KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(), lent_base + r.nr_pages);
		KUNIT_EXPECT_TRUE(test, free_blocks_counted_right(r.zone));

		KUNIT_ASSERT_EQ(test, swiotlb_take_pageblocks(r.pfn, r.nr_pages,
							      GFP_KERNEL), 0);
		KUNIT_EXPECT_TRUE(test, range_is_swiotlb(&r));
		KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base);
		KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(), lent_base);
		KUNIT_EXPECT_TRUE(test, free_blocks_counted_right(r.zone));
	}

	KUNIT_ASSERT_EQ(test, swiotlb_lend_pageblocks(r.pfn, r.nr_pages), 0);
	return_range(test, &r);
	KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base);
	KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(), lent_base);
}

/*
 * Movable allocations reach lent memory once the rest is used up, and the
 * pages they get there may not be pinned long-term.
 */
static void page_swiotlb_movable_uses_lent(struct kunit *test)
{
	struct swiotlb_range r;
	unsigned long filled = 0;
	struct file *file;
	struct folio *folio;
	long index;

	lend_range(test, &r);
	file = test_shmem_file(test);

	index = fill_until_in_range(test, file, &r, &filled);
	KUNIT_EXPECT_GE_MSG(test, index, 0,
			    "%lu movable pages allocated, none from the lent range",
			    filled);
	if (index >= 0) {
		folio = shmem_read_folio(file->f_mapping, index);
		KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
		KUNIT_EXPECT_TRUE(test, range_has_pfn(&r, folio_pfn(folio)));
		KUNIT_EXPECT_FALSE(test, folio_is_longterm_pinnable(folio));
		folio_put(folio);
	}

	fput(file);
	return_range(test, &r);
}

/*
 * Unmovable allocations never get lent pages, even when nothing else is
 * free, and their fallbacks never claim a lent pageblock.
 */
static void page_swiotlb_unmovable_never(struct kunit *test)
{
	const gfp_t gfp = (GFP_KERNEL & ~__GFP_DIRECT_RECLAIM) | __GFP_NOWARN;
	unsigned long filled = 0, taken = 0, in_swiotlb = 0, left;
	struct swiotlb_range r;
	struct page *page, *tmp;
	struct file *file;
	LIST_HEAD(pages);

	lend_range(test, &r);
	file = test_shmem_file(test);

	/* Use up movable memory first so the lent range is what is left. */
	fill_until_in_range(test, file, &r, &filled);

	while (taken < totalram_pages()) {
		page = alloc_page(gfp);
		if (!page)
			break;
		taken++;
		if (is_migrate_swiotlb_page(page))
			in_swiotlb++;
		list_add(&page->lru, &pages);
	}
	left = free_swiotlb_pages(r.zone);

	list_for_each_entry_safe(page, tmp, &pages, lru) {
		list_del(&page->lru);
		__free_page(page);
	}

	KUNIT_EXPECT_EQ_MSG(test, in_swiotlb, 0,
			    "%lu of %lu unmovable pages came from lent memory",
			    in_swiotlb, taken);
	/* The test means something only if lent pages were there to take. */
	KUNIT_EXPECT_GT(test, left, 0);
	KUNIT_EXPECT_TRUE(test, range_is_swiotlb(&r));

	fput(file);
	return_range(test, &r);
}

/* Taking a range back migrates its pages with their data intact. */
static void page_swiotlb_take_moves_data(struct kunit *test)
{
	unsigned long filled = 0, bad = 0;
	struct swiotlb_range r;
	struct folio *folio;
	struct file *file;
	pgoff_t i;
	long index;

	lend_range(test, &r);
	file = test_shmem_file(test);

	index = fill_until_in_range(test, file, &r, &filled);
	KUNIT_ASSERT_GE(test, index, 0);

	KUNIT_ASSERT_EQ(test, swiotlb_take_pageblocks(r.pfn, r.nr_pages,
						      GFP_KERNEL), 0);

	folio = shmem_read_folio(file->f_mapping, index);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	KUNIT_EXPECT_FALSE(test, range_has_pfn(&r, folio_pfn(folio)));
	folio_put(folio);

	for (i = 0; i < filled; i++) {
		folio = shmem_read_folio(file->f_mapping, i);
		if (IS_ERR(folio) || !folio_holds_pattern(folio, i))
			bad++;
		if (!IS_ERR(folio))
			folio_put(folio);
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "%lu of %lu pages lost their data",
			    bad, filled);

	fput(file);
	KUNIT_ASSERT_EQ(test, swiotlb_lend_pageblocks(r.pfn, r.nr_pages), 0);
	return_range(test, &r);
}

/* Only swiotlb may isolate a lent range; other contiguous users may not. */
static void page_swiotlb_isolation_refused(struct kunit *test)
{
	struct swiotlb_range r;
	unsigned long base;

	lend_range(test, &r);
	base = free_swiotlb_pages(r.zone);

	KUNIT_EXPECT_NE(test, alloc_contig_range(r.pfn, r.pfn + r.nr_pages,
						 MIGRATE_MOVABLE,
						 GFP_KERNEL | __GFP_NOWARN), 0);
#ifdef CONFIG_CMA
	/* Nor may cma_alloc(), which isolates as MIGRATE_CMA */
	KUNIT_EXPECT_NE(test, alloc_contig_range(r.pfn, r.pfn + r.nr_pages,
						 MIGRATE_CMA,
						 GFP_KERNEL | __GFP_NOWARN), 0);
#endif
	KUNIT_EXPECT_TRUE(test, range_is_swiotlb(&r));
	KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base);

	return_range(test, &r);
}

/* Bad ranges are refused with -EINVAL and change nothing. */
static void page_swiotlb_bad_ranges(struct kunit *test)
{
	unsigned long base, lent_base;
	struct swiotlb_range r;

	borrow_range(test, &r);
	base = free_swiotlb_pages(r.zone);
	lent_base = swiotlb_lent_pages();

	KUNIT_EXPECT_EQ(test, swiotlb_lend_pageblocks(r.pfn + 1, r.nr_pages),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_lend_pageblocks(r.pfn, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_lend_reserved_pageblocks(r.pfn, r.nr_pages),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_take_pageblocks(r.pfn, r.nr_pages,
						      GFP_KERNEL), -EINVAL);
	KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base);
	KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(), lent_base);
	KUNIT_EXPECT_FALSE(test, is_migrate_swiotlb_page(pfn_to_page(r.pfn)));

	free_contig_range(r.pfn, r.nr_pages);
}

/*
 * A free buddy larger than a pageblock (MAX_PAGE_ORDER spans two on
 * x86-64) has its head in the first chunk of the range: the pages of the
 * second chunk are its tail pages, free as well, not busy.
 */
static void page_swiotlb_used_pages_large_buddy(struct kunit *test)
{
	unsigned long used[TEST_BLOCKS];
	struct swiotlb_range r;
	unsigned int order = 0;
	struct page *head;
	int i;

	if (pageblock_order >= MAX_PAGE_ORDER)
		kunit_skip(test, "no free buddy spans two pageblocks here");

	lend_range(test, &r);
	head = pfn_to_page(r.pfn);

	/* The zone lock keeps the buddies as they are while we count */
	spin_lock_irq(&r.zone->lock);
	if (PageBuddy(head))
		order = buddy_order(head);
	for (i = 0; i < TEST_BLOCKS; i++)
		used[i] = swiotlb_pageblocks_used_pages(r.pfn + i * pageblock_nr_pages,
							pageblock_nr_pages);
	spin_unlock_irq(&r.zone->lock);

	/* borrow_range() gives a MAX_PAGE_ORDER-aligned, now free range */
	KUNIT_EXPECT_GT_MSG(test, order, pageblock_order,
			    "the lent range is not one free buddy of order %u",
			    MAX_PAGE_ORDER);
	for (i = 0; i < TEST_BLOCKS; i++)
		KUNIT_EXPECT_EQ_MSG(test, used[i], 0,
				    "chunk %d of a free order-%u buddy: %lu pages counted busy",
				    i, order, used[i]);

	/* Once taken back, every page of every chunk is busy */
	KUNIT_ASSERT_EQ(test, swiotlb_take_pageblocks(r.pfn, r.nr_pages,
						      GFP_KERNEL), 0);
	for (i = 0; i < TEST_BLOCKS; i++)
		KUNIT_EXPECT_EQ(test,
				swiotlb_pageblocks_used_pages(r.pfn + i * pageblock_nr_pages,
							      pageblock_nr_pages),
				pageblock_nr_pages);
	KUNIT_ASSERT_EQ(test, swiotlb_lend_pageblocks(r.pfn, r.nr_pages), 0);
	return_range(test, &r);
}

/*
 * A free lent page is free memory to __isolate_free_page(), as a free CMA
 * page is: its callers (compaction's free scanner, free page reporting)
 * use it as a migration target or report it and put it back.
 */
static void page_swiotlb_isolate_free_page(struct kunit *test)
{
	unsigned long saved, mark = 0, base;
	struct swiotlb_range r;
	unsigned int order = 0;
	struct page *page;
	int isolated = 0;
	bool free;

	lend_range(test, &r);
	base = free_swiotlb_pages(r.zone);
	page = pfn_to_page(r.pfn);

	spin_lock_irq(&r.zone->lock);
	free = PageBuddy(page);
	if (free) {
		order = buddy_order(page);
		/* __isolate_free_page() wants min + (1 << order) pages */
		saved = r.zone->_watermark[WMARK_MIN];
		mark = wmark_between(r.zone, 1UL << order);
		WRITE_ONCE(r.zone->_watermark[WMARK_MIN], mark);
		isolated = __isolate_free_page(page, order);
		WRITE_ONCE(r.zone->_watermark[WMARK_MIN], saved);
		if (isolated)
			__putback_isolated_page(page, order, MIGRATE_SWIOTLB);
	}
	spin_unlock_irq(&r.zone->lock);

	KUNIT_EXPECT_TRUE_MSG(test, free, "the lent range's first page is not free");
	KUNIT_EXPECT_GT(test, mark, 0);
	KUNIT_EXPECT_EQ_MSG(test, isolated, 1 << order,
			    "order-%u lent page not isolated with %lu free, %lu free lent, min %lu",
			    order, zone_page_state(r.zone, NR_FREE_PAGES),
			    zone_page_state(r.zone, NR_FREE_SWIOTLB_PAGES), mark);
	KUNIT_EXPECT_TRUE(test, range_is_swiotlb(&r));
	KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base);

	return_range(test, &r);
}

/*
 * Free lent pages are migration targets for compaction (they are movable
 * pageblocks to suitable_migration_target()), so they count as free memory
 * when compaction decides whether it can run, as free CMA pages do.
 */
static void page_swiotlb_compaction_suitable(struct kunit *test)
{
	struct swiotlb_range r;
	unsigned long saved, mark;
	bool suitable;

	lend_range(test, &r);

	spin_lock_irq(&r.zone->lock);
	/* Order-0 compaction wants the min watermark plus compact_gap(0) */
	saved = r.zone->_watermark[WMARK_MIN];
	mark = wmark_between(r.zone, compact_gap(0) + r.zone->watermark_boost);
	WRITE_ONCE(r.zone->_watermark[WMARK_MIN], mark);
	suitable = compaction_suitable(r.zone, 0, zone_idx(r.zone));
	WRITE_ONCE(r.zone->_watermark[WMARK_MIN], saved);
	spin_unlock_irq(&r.zone->lock);

	KUNIT_EXPECT_GT(test, mark, 0);
	KUNIT_EXPECT_TRUE_MSG(test, suitable,
			      "compaction unsuitable with %lu free, %lu free lent, min %lu",
			      zone_page_state(r.zone, NR_FREE_PAGES),
			      zone_page_state(r.zone, NR_FREE_SWIOTLB_PAGES), mark);

	return_range(test, &r);
}

#ifdef CONFIG_PAGE_REPORTING
static const struct swiotlb_range *reported_range;
static atomic_long_t reported_pages;

static int count_reported(struct page_reporting_dev_info *prdev,
			  struct scatterlist *sgl, unsigned int nents)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sg(sgl, sg, nents, i)
		if (range_has_pfn(reported_range, page_to_pfn(sg_page(sg))))
			atomic_long_add(sg->length >> PAGE_SHIFT, &reported_pages);
	return 0;
}

/*
 * Free page reporting (virtio-balloon) reports free lent pages as it
 * reports free CMA pages: its per-zone check counts them as free memory.
 */
static void page_swiotlb_page_reporting(struct kunit *test)
{
	struct page_reporting_dev_info prdev = { .report = count_reported };
	unsigned int saved_order = page_reporting_order;
	unsigned long saved, mark;
	struct swiotlb_range r;
	int err, i;

	lend_range(test, &r);
	reported_range = &r;
	atomic_long_set(&reported_pages, 0);

	err = page_reporting_register(&prdev);
	if (err) {
		return_range(test, &r);
		kunit_skip(test, "page reporting is in use (%d)", err);
	}

	/*
	 * A zone is processed if it has the low watermark plus a full
	 * report free; the first pass starts PAGE_REPORTING_DELAY from now.
	 */
	spin_lock_irq(&r.zone->lock);
	saved = r.zone->_watermark[WMARK_LOW];
	mark = wmark_between(r.zone, (PAGE_REPORTING_CAPACITY << page_reporting_order) +
			     r.zone->watermark_boost);
	WRITE_ONCE(r.zone->_watermark[WMARK_LOW], mark);
	spin_unlock_irq(&r.zone->lock);

	for (i = 0; i < 100 && !atomic_long_read(&reported_pages); i++)
		msleep(100);

	WRITE_ONCE(r.zone->_watermark[WMARK_LOW], saved);
	page_reporting_unregister(&prdev);
	page_reporting_order = saved_order;

	KUNIT_EXPECT_GT(test, mark, 0);
	KUNIT_EXPECT_GT_MSG(test, atomic_long_read(&reported_pages), 0,
			    "no lent page reported in 10 s (low watermark %lu)",
			    mark);

	return_range(test, &r);
}
#endif

/* swiotlb_claim_free_pageblock() as the DMA map path calls it */
static struct page *claim_irqs_off(struct zone *zone)
{
	unsigned long flags;
	struct page *page;

	local_irq_save(flags);
	page = swiotlb_claim_free_pageblock(zone);
	local_irq_restore(flags);
	return page;
}

/* Every page of a claimed pageblock is the caller's: order 0, one ref */
static unsigned long claimed_not_owned(unsigned long pfn)
{
	unsigned long i, bad = 0;

	for (i = 0; i < pageblock_nr_pages; i++) {
		struct page *page = pfn_to_page(pfn + i);

		if (PageBuddy(page) || page_count(page) != 1 ||
		    PageCompound(page))
			bad++;
	}
	return bad;
}

/*
 * With interrupts off, a claim takes a whole free lent pageblock, never one
 * with a page in use, and the caller owns all of its pages, ready to be
 * lent again. The claims go on until the test range's free pageblock is
 * taken (other lent pageblocks of the zone, the swiotlb region's, may come
 * first; they are lent again at once).
 */
static void page_swiotlb_claim_whole_free_only(struct kunit *test)
{
	unsigned long busy_pfn, lent_base, free_base, pfn, tries, whole;
	bool took_free_block = false;
	struct swiotlb_range r;
	struct page *page;

	lend_range(test, &r);
	/* One page of the second pageblock in use, as a borrower's would be */
	busy_pfn = r.pfn + pageblock_nr_pages + 5;
	KUNIT_ASSERT_EQ(test, alloc_contig_range(busy_pfn, busy_pfn + 1,
						 MIGRATE_SWIOTLB, GFP_KERNEL), 0);
	free_base = free_swiotlb_pages(r.zone);
	lent_base = swiotlb_lent_pages();
	/* The range's first pageblock at least is claimable */
	whole = swiotlb_free_pageblocks(r.zone, ULONG_MAX);
	KUNIT_EXPECT_GE(test, whole, 1);

	tries = free_base / pageblock_nr_pages + 1;
	while (tries-- && !took_free_block) {
		page = claim_irqs_off(r.zone);
		if (!page)
			break;
		pfn = page_to_pfn(page);
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(pfn, pageblock_nr_pages));
		KUNIT_EXPECT_TRUE(test, is_migrate_swiotlb_page(page));
		KUNIT_EXPECT_FALSE_MSG(test, busy_pfn >= pfn &&
				       busy_pfn < pfn + pageblock_nr_pages,
				       "claimed the pageblock with a page in use");
		KUNIT_EXPECT_EQ(test, claimed_not_owned(pfn), 0);
		KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(),
				lent_base - pageblock_nr_pages);
		KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone),
				free_base - pageblock_nr_pages);
		KUNIT_EXPECT_EQ(test, swiotlb_free_pageblocks(r.zone, ULONG_MAX),
				whole - 1);
		if (pfn == r.pfn)
			took_free_block = true;
		/* Lent again as any taken pageblock is */
		KUNIT_ASSERT_EQ(test, swiotlb_lend_pageblocks(pfn,
							      pageblock_nr_pages), 0);
	}
	KUNIT_EXPECT_TRUE_MSG(test, took_free_block,
			      "the whole free pageblock of the range was never claimed");
	KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(), lent_base);

	free_contig_range(busy_pfn, 1);
	return_range(test, &r);
}

/*
 * A claim leaves the zone its min watermark of memory that movable
 * allocations count as free: raised to just above what would be left,
 * the watermark stops it.
 */
static void page_swiotlb_claim_keeps_min_wmark(struct kunit *test)
{
	struct swiotlb_range r;
	unsigned long saved, free;
	struct page *page;

	lend_range(test, &r);
	saved = r.zone->_watermark[WMARK_MIN];
	free = zone_page_state(r.zone, NR_FREE_PAGES);
	WRITE_ONCE(r.zone->_watermark[WMARK_MIN],
		   free - pageblock_nr_pages / 2);
	page = claim_irqs_off(r.zone);
	WRITE_ONCE(r.zone->_watermark[WMARK_MIN], saved);
	if (page)
		swiotlb_lend_pageblocks(page_to_pfn(page), pageblock_nr_pages);
	KUNIT_EXPECT_NULL(test, page);

	/* At the usual watermark the same claim succeeds */
	page = claim_irqs_off(r.zone);
	KUNIT_EXPECT_NOT_NULL(test, page);
	if (page)
		KUNIT_EXPECT_EQ(test, swiotlb_lend_pageblocks(page_to_pfn(page),
							      pageblock_nr_pages), 0);
	return_range(test, &r);
}

/* Free lent pages the allocator would serve first, less half the free pages */
static long lent_first_margin(struct zone *zone)
{
	return (long)zone_page_state_snapshot(zone, NR_FREE_SWIOTLB_PAGES) -
	       (long)zone_page_state_snapshot(zone, NR_FREE_PAGES) / 2;
}

/* Free lent pages outside wholly free lent pageblocks */
static unsigned long lent_partial_pages(struct zone *zone)
{
	long partial = (long)zone_page_state_snapshot(zone, NR_FREE_SWIOTLB_PAGES) -
		       (long)(swiotlb_free_pageblocks(zone, ULONG_MAX) *
			      pageblock_nr_pages);

	return max(partial, 0L);
}

static void free_page_list(struct list_head *list, unsigned int order)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, list, lru) {
		list_del(&page->lru);
		__free_pages(page, order);
	}
}

/* Allocate @nr movable pages onto @list; return how many are lent pages */
static unsigned long alloc_movable(struct kunit *test, struct list_head *list,
				   unsigned long nr)
{
	/* No reclaim, no compaction: only the allocator's choice counts */
	const gfp_t gfp = (GFP_HIGHUSER_MOVABLE & ~__GFP_RECLAIM) | __GFP_NOWARN;
	unsigned long in_lent = 0;
	struct page *page;

	while (nr--) {
		page = alloc_page(gfp);
		/* No assert: the caller gives the memory it holds back */
		KUNIT_EXPECT_NOT_NULL(test, page);
		if (!page)
			break;
		list_add(&page->lru, list);
		if (is_migrate_swiotlb_page(page))
			in_lent++;
	}
	return in_lent;
}

/*
 * While movable allocations are served from lent pages first, they use up
 * partly used lent pageblocks and leave zone->swiotlb_blocks_reserve wholly
 * free ones whole, so the map path can still claim them. Above the reserve
 * they split whole ones as before. To make lent pages more than half of
 * the zone's free memory, the test lends more of the system's memory
 * rather than using it up: the ordinary movable free lists keep plenty,
 * so no request falls back to the lent lists (which may take the reserve).
 */
static void page_swiotlb_lent_first_keeps_reserve(struct kunit *test)
{
	const unsigned long max_extra = 64;
	unsigned long saved, whole, nr, in_lent, whole_after, i, lent = 0;
	struct swiotlb_range r, *extra;
	LIST_HEAD(movable);
	struct zone *zone;
	struct page *page;

	extra = kunit_kcalloc(test, max_extra, sizeof(*extra), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, extra);
	lend_range(test, &r);
	zone = r.zone;
	saved = READ_ONCE(zone->swiotlb_blocks_reserve);

	for (;;) {
		/* Every partly used lent page, then two pageblocks' worth */
		nr = lent_partial_pages(zone) + 2 * pageblock_nr_pages;
		if (lent_first_margin(zone) > (long)(nr + 2 * pageblock_nr_pages) ||
		    lent == max_extra)
			break;
		extra[lent].nr_pages = TEST_BLOCKS * pageblock_nr_pages;
		page = alloc_contig_pages(extra[lent].nr_pages,
					  GFP_KERNEL | __GFP_NOWARN,
					  zone_to_nid(zone), NULL);
		if (!page)
			break;
		extra[lent].pfn = page_to_pfn(page);
		extra[lent].zone = page_zone(page);
		if (swiotlb_lend_pageblocks(extra[lent].pfn,
					    extra[lent].nr_pages)) {
			free_contig_range(extra[lent].pfn, extra[lent].nr_pages);
			break;
		}
		lent++;
	}
	KUNIT_EXPECT_GT_MSG(test, lent_first_margin(zone),
			    (long)(nr + 2 * pageblock_nr_pages),
			    "lent pages are not served first after lending %lu MiB more",
			    (lent * TEST_BLOCKS * pageblock_nr_pages) >> (20 - PAGE_SHIFT));
	if (lent_first_margin(zone) <= (long)(nr + 2 * pageblock_nr_pages))
		goto out;

	whole = swiotlb_free_pageblocks(zone, ULONG_MAX);
	swiotlb_reserve_free_pageblocks(zone, whole);
	in_lent = alloc_movable(test, &movable, nr);
	drain_all_pages(zone);
	whole_after = swiotlb_free_pageblocks(zone, ULONG_MAX);
	KUNIT_EXPECT_GE_MSG(test, whole_after, whole,
			    "a reserved whole lent pageblock was split (%lu of %lu movable pages were lent pages)",
			    in_lent, nr);
	KUNIT_EXPECT_TRUE(test, free_blocks_counted_right(zone));

	/* Two above the reserve: lent pages are still served first */
	swiotlb_reserve_free_pageblocks(zone, whole_after - 2);
	in_lent = alloc_movable(test, &movable, 2 * pageblock_nr_pages);
	KUNIT_EXPECT_LT_MSG(test, swiotlb_free_pageblocks(zone, ULONG_MAX),
			    whole_after,
			    "no whole lent pageblock above the reserve was used (%lu lent pages)",
			    in_lent);
	KUNIT_EXPECT_GE(test, swiotlb_free_pageblocks(zone, ULONG_MAX),
			whole_after - 2);
	KUNIT_EXPECT_TRUE(test, free_blocks_counted_right(zone));

out:
	swiotlb_reserve_free_pageblocks(zone, saved);
	free_page_list(&movable, 0);
	for (i = 0; i < lent; i++)
		return_range(test, &extra[i]);
	return_range(test, &r);
}

/* swiotlb_reserve_floor() of a zone of fewer than 16 pages */
static unsigned long tiny_zone_floor;

/*
 * The reserve holds whole above the floor of ordinary free memory and
 * yields in proportion below it: half at half the floor, none at none.
 */
static void page_swiotlb_reserve_yields_gradually(struct kunit *test)
{
	const unsigned long floor = 4000, reserve = 60;
	unsigned long no_floor;

	KUNIT_EXPECT_EQ(test, swiotlb_reserve_in_force(reserve, 2 * floor, floor),
			reserve);
	KUNIT_EXPECT_EQ(test, swiotlb_reserve_in_force(reserve, floor, floor),
			reserve);
	KUNIT_EXPECT_EQ(test,
			swiotlb_reserve_in_force(reserve, floor * 9 / 10, floor),
			54);
	KUNIT_EXPECT_EQ(test, swiotlb_reserve_in_force(reserve, floor / 2, floor),
			30);
	KUNIT_EXPECT_EQ(test, swiotlb_reserve_in_force(reserve, 0, floor), 0);
	/* Free counts are per-cpu sums: the difference can dip below 0 */
	KUNIT_EXPECT_EQ(test, swiotlb_reserve_in_force(reserve, -8, floor), 0);
	/*
	 * A zone too small for a floor (under 16 pages) keeps the whole
	 * reserve. The zero is read from memory: as a literal, sparse folds
	 * it into the division of the branch that is not taken.
	 */
	no_floor = READ_ONCE(tiny_zone_floor);
	KUNIT_EXPECT_EQ(test, swiotlb_reserve_in_force(reserve, 0, no_floor),
			reserve);
}

static struct kunit_case page_swiotlb_cases[] = {
	KUNIT_CASE(page_swiotlb_counters_exact),
	KUNIT_CASE(page_swiotlb_reserve_yields_gradually),
	KUNIT_CASE(page_swiotlb_bad_ranges),
	KUNIT_CASE(page_swiotlb_isolation_refused),
	KUNIT_CASE(page_swiotlb_used_pages_large_buddy),
	KUNIT_CASE(page_swiotlb_isolate_free_page),
	KUNIT_CASE(page_swiotlb_compaction_suitable),
	KUNIT_CASE(page_swiotlb_claim_whole_free_only),
	KUNIT_CASE(page_swiotlb_claim_keeps_min_wmark),
#ifdef CONFIG_PAGE_REPORTING
	KUNIT_CASE_SLOW(page_swiotlb_page_reporting),
#endif
	KUNIT_CASE_SLOW(page_swiotlb_movable_uses_lent),
	KUNIT_CASE_SLOW(page_swiotlb_unmovable_never),
	KUNIT_CASE_SLOW(page_swiotlb_take_moves_data),
	KUNIT_CASE_SLOW(page_swiotlb_lent_first_keeps_reserve),
	{}
};

/*
 * Built-in tests run while the initramfs may still be unpacked: its page
 * cache and, at the end, the freed initrd would move the free counts the
 * tests compare.
 */
static int page_swiotlb_suite_init(struct kunit_suite *suite)
{
	wait_for_initramfs();
	return 0;
}

static struct kunit_suite page_swiotlb_suite = {
	.name = "page_swiotlb",
	.suite_init = page_swiotlb_suite_init,
	.test_cases = page_swiotlb_cases,
};

kunit_test_suite(page_swiotlb_suite);

MODULE_DESCRIPTION("KUnit tests for MIGRATE_SWIOTLB");
MODULE_LICENSE("GPL");
