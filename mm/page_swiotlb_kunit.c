// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for MIGRATE_SWIOTLB: the page allocator's side of lending
 * swiotlb memory. Each test borrows a free pageblock-aligned range from
 * the running system, lends it as MIGRATE_SWIOTLB, drives the real
 * allocator against it and gives the range back to the system at the end.
 */

#include <kunit/test.h>
#include <linux/file.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/page-isolation.h>
#include <linux/page-swiotlb.h>
#include <linux/shmem_fs.h>
#include <linux/vmstat.h>

#include "internal.h"

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

/* Lending, taking and lending again keeps the free counters exact. */
static void page_swiotlb_counters_exact(struct kunit *test)
{
	struct swiotlb_range r;
	unsigned long base;
	int cycle;

	borrow_range(test, &r);
	base = free_swiotlb_pages(r.zone);

	for (cycle = 0; cycle < 3; cycle++) {
		KUNIT_ASSERT_EQ(test, swiotlb_lend_pageblocks(r.pfn, r.nr_pages), 0);
		KUNIT_EXPECT_TRUE(test, range_is_swiotlb(&r));
		KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base + r.nr_pages);

		KUNIT_ASSERT_EQ(test, swiotlb_take_pageblocks(r.pfn, r.nr_pages,
							      GFP_KERNEL), 0);
		KUNIT_EXPECT_TRUE(test, range_is_swiotlb(&r));
		KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base);
	}

	KUNIT_ASSERT_EQ(test, swiotlb_lend_pageblocks(r.pfn, r.nr_pages), 0);
	return_range(test, &r);
	KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base);
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
	KUNIT_EXPECT_TRUE(test, range_is_swiotlb(&r));
	KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base);

	return_range(test, &r);
}

/* Bad ranges are refused with -EINVAL and change nothing. */
static void page_swiotlb_bad_ranges(struct kunit *test)
{
	struct swiotlb_range r;
	unsigned long base;

	borrow_range(test, &r);
	base = free_swiotlb_pages(r.zone);

	KUNIT_EXPECT_EQ(test, swiotlb_lend_pageblocks(r.pfn + 1, r.nr_pages),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_lend_pageblocks(r.pfn, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_lend_reserved_pageblocks(r.pfn, r.nr_pages),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_take_pageblocks(r.pfn, r.nr_pages,
						      GFP_KERNEL), -EINVAL);
	KUNIT_EXPECT_EQ(test, free_swiotlb_pages(r.zone), base);
	KUNIT_EXPECT_FALSE(test, is_migrate_swiotlb_page(pfn_to_page(r.pfn)));

	free_contig_range(r.pfn, r.nr_pages);
}

static struct kunit_case page_swiotlb_cases[] = {
	KUNIT_CASE(page_swiotlb_counters_exact),
	KUNIT_CASE(page_swiotlb_bad_ranges),
	KUNIT_CASE(page_swiotlb_isolation_refused),
	KUNIT_CASE_SLOW(page_swiotlb_movable_uses_lent),
	KUNIT_CASE_SLOW(page_swiotlb_unmovable_never),
	KUNIT_CASE_SLOW(page_swiotlb_take_moves_data),
	{}
};

static struct kunit_suite page_swiotlb_suite = {
	.name = "page_swiotlb",
	.test_cases = page_swiotlb_cases,
};

kunit_test_suite(page_swiotlb_suite);

MODULE_DESCRIPTION("KUnit tests for MIGRATE_SWIOTLB");
MODULE_LICENSE("GPL");
