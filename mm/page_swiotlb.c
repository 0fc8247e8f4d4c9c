// SPDX-License-Identifier: GPL-2.0
/*
 * Lend swiotlb pageblocks to the page allocator as MIGRATE_SWIOTLB.
 *
 * A lent pageblock is ordinary free memory that only movable allocations
 * may use (see __rmqueue() and __zone_watermark_unusable_free()). The page
 * allocator never changes its migratetype, never picks it for the
 * highatomic reserve and never lets anyone but swiotlb isolate it (see
 * has_unmovable_pages()), so the range stays swiotlb's to take back.
 *
 * Taking a range back is alloc_contig_range(..., MIGRATE_SWIOTLB, ...):
 * the range is isolated, its movable pages are migrated elsewhere (clean
 * page cache is simply dropped) and the caller ends up owning every page.
 * Lending it again is the reverse: free the pages into the range's
 * MIGRATE_SWIOTLB free lists.
 */

#define pr_fmt(fmt) "page_swiotlb: " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page-isolation.h>
#include <linux/page-swiotlb.h>
#include <linux/pgalloc_tag.h>

#include "internal.h"

/* Pages of the pageblocks swiotlb has lent and not taken back */
static atomic_long_t swiotlb_nr_lent_pages = ATOMIC_LONG_INIT(0);

/*
 * Both ends pageblock aligned, all pages present and in one zone: the
 * conditions alloc_contig_range() and the buddy allocator rely on.
 */
static bool swiotlb_pageblock_range_valid(unsigned long start_pfn,
					  unsigned long nr_pages)
{
	unsigned long end_pfn = start_pfn + nr_pages;
	unsigned long pfn;
	struct zone *zone;

	if (!nr_pages || !IS_ALIGNED(start_pfn | nr_pages, pageblock_nr_pages) ||
	    end_pfn < start_pfn) {
		pr_warn("range %#lx+%#lx is not pageblock aligned\n",
			start_pfn, nr_pages);
		return false;
	}

	if (!pfn_valid(start_pfn)) {
		pr_warn("pfn %#lx has no struct page\n", start_pfn);
		return false;
	}
	zone = page_zone(pfn_to_page(start_pfn));

	for (pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages) {
		if (!pfn_valid(pfn) || !pfn_valid(pfn + pageblock_nr_pages - 1) ||
		    !zone_spans_pfn(zone, pfn + pageblock_nr_pages - 1) ||
		    page_zone(pfn_to_page(pfn)) != zone) {
			pr_warn("range %#lx+%#lx crosses a zone or a hole at %#lx\n",
				start_pfn, nr_pages, pfn);
			return false;
		}
	}
	return true;
}

/*
 * swiotlb_pageblock_range_valid(), and every page still reserved by
 * memblock; @what names the refused operation in the message.
 */
static bool swiotlb_reserved_range_valid(unsigned long start_pfn,
					 unsigned long nr_pages,
					 const char *what)
{
	unsigned long pfn;

	if (!swiotlb_pageblock_range_valid(start_pfn, nr_pages))
		return false;

	for (pfn = start_pfn; pfn < start_pfn + nr_pages; pfn++) {
		if (!PageReserved(pfn_to_page(pfn))) {
			pr_warn("pfn %#lx is not reserved, not %s %#lx+%#lx\n",
				pfn, what, start_pfn, nr_pages);
			return false;
		}
	}
	return true;
}

/**
 * swiotlb_lend_reserved_pageblocks() - lend boot-reserved pageblocks
 * @start_pfn: first page frame of the range, pageblock aligned
 * @nr_pages: number of pages, a multiple of pageblock_nr_pages
 *
 * Hands memory that was reserved with memblock at boot to the buddy
 * allocator as MIGRATE_SWIOTLB, the way init_cma_reserved_pageblock()
 * hands CMA areas over, and counts it as managed memory from now on.
 * Zone watermarks are recomputed, because the zone just grew.
 *
 * Context: Process context. Takes the zone lock.
 * Return: 0 on success, -EINVAL if the range is not pageblock aligned,
 * crosses a zone or contains a page that is not reserved. Nothing is
 * lent on failure.
 */
int swiotlb_lend_reserved_pageblocks(unsigned long start_pfn,
				     unsigned long nr_pages)
{
	unsigned long end_pfn = start_pfn + nr_pages;
	unsigned long pfn, i;

	if (!swiotlb_reserved_range_valid(start_pfn, nr_pages, "lending"))
		return -EINVAL;

	for (pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages) {
		struct page *page = pfn_to_page(pfn);

		for (i = 0; i < pageblock_nr_pages; i++) {
			ClearPageReserved(page + i);
			set_page_count(page + i, 0);
		}
		/* Set the type first: __free_pages() files by pageblock type */
		set_pageblock_migratetype(page, MIGRATE_SWIOTLB);
		set_page_refcounted(page);
		/* The pages were reserved, never allocated: no tag to drop */
		clear_page_tag_ref(page);
		__free_pages(page, pageblock_order);
		adjust_managed_page_count(page, pageblock_nr_pages);
	}

	/* See swiotlb_lend_pageblocks(): pageblock-order frees use pcp lists */
	drain_all_pages(page_zone(pfn_to_page(start_pfn)));
	setup_per_zone_wmarks();
	atomic_long_add(nr_pages, &swiotlb_nr_lent_pages);
	return 0;
}

/*
 * Free pageblocks the caller owns as order-0 pages with one reference each
 * (see swiotlb_lend_pageblocks()) into the free lists of @migratetype.
 */
static int swiotlb_free_owned_pageblocks(unsigned long start_pfn,
					 unsigned long nr_pages,
					 int migratetype)
{
	unsigned long end_pfn = start_pfn + nr_pages;
	unsigned long pfn;

	if (!swiotlb_pageblock_range_valid(start_pfn, nr_pages))
		return -EINVAL;

	for (pfn = start_pfn; pfn < end_pfn; pfn++) {
		struct page *page = pfn_to_page(pfn);

		if (PageReserved(page) || PageBuddy(page) ||
		    page_count(page) != 1 || PageCompound(page)) {
			pr_warn("pfn %#lx is not owned by the caller, not freeing %#lx+%#lx\n",
				pfn, start_pfn, nr_pages);
			return -EINVAL;
		}
	}

	/*
	 * No page of these pageblocks is on a free list, so changing their
	 * type cannot leave a free page on the wrong list.
	 */
	for (pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages)
		set_pageblock_migratetype(pfn_to_page(pfn), migratetype);

	free_contig_range(start_pfn, nr_pages);
	/*
	 * Order-0 frees stop on the per-cpu lists, where the pages would count
	 * as neither free nor lent and would go to the next movable request
	 * as if they were MIGRATE_MOVABLE. Flush them to the buddy lists.
	 */
	drain_all_pages(page_zone(pfn_to_page(start_pfn)));
	return 0;
}

/**
 * swiotlb_lend_pageblocks() - lend pageblocks the caller owns
 * @start_pfn: first page frame of the range, pageblock aligned
 * @nr_pages: number of pages, a multiple of pageblock_nr_pages
 *
 * Marks the pageblocks MIGRATE_SWIOTLB and frees every page in them into
 * the buddy allocator. The caller must own each page of the range as an
 * order-0 page with a single reference, as swiotlb_take_pageblocks() and
 * alloc_contig_range() leave them.
 *
 * Context: Process context.
 * Return: 0 on success, -EINVAL if the range is misaligned or a page in it
 * is not owned as described; nothing is freed on failure.
 */
int swiotlb_lend_pageblocks(unsigned long start_pfn, unsigned long nr_pages)
{
	int err;

	err = swiotlb_free_owned_pageblocks(start_pfn, nr_pages,
					    MIGRATE_SWIOTLB);
	if (!err)
		atomic_long_add(nr_pages, &swiotlb_nr_lent_pages);
	return err;
}

/**
 * swiotlb_take_pageblocks() - take lent pageblocks back
 * @start_pfn: first page frame of the range, pageblock aligned
 * @nr_pages: number of pages, a multiple of pageblock_nr_pages
 * @gfp_mask: reclaim and action modifiers for the migration, as for
 *	      alloc_contig_range()
 *
 * Migrates every page that lives in the range elsewhere and gives the
 * caller ownership of all of its pages. The pageblocks keep their
 * MIGRATE_SWIOTLB type, so swiotlb_lend_pageblocks() can lend them again.
 * Pages that cannot be migrated (pinned, or busy for too long) make this
 * fail rather than wait: the caller should try another range.
 *
 * Context: Process context; may sleep.
 * Return: 0 on success, -EINVAL if the range is misaligned or not lent,
 * otherwise the error of alloc_contig_range() (-EBUSY, -ENOMEM, -EINTR).
 */
int swiotlb_take_pageblocks(unsigned long start_pfn, unsigned long nr_pages,
			    gfp_t gfp_mask)
{
	unsigned long end_pfn = start_pfn + nr_pages;
	unsigned long pfn;
	int ret;

	might_sleep();

	if (!swiotlb_pageblock_range_valid(start_pfn, nr_pages))
		return -EINVAL;

	for (pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages) {
		if (!is_migrate_swiotlb_page(pfn_to_page(pfn))) {
			pr_warn("pageblock at pfn %#lx is not lent swiotlb memory\n",
				pfn);
			return -EINVAL;
		}
	}

	ret = alloc_contig_range(start_pfn, end_pfn, MIGRATE_SWIOTLB, gfp_mask);
	if (!ret)
		atomic_long_sub(nr_pages, &swiotlb_nr_lent_pages);
	return ret;
}

/*
 * A claim must leave the zone at least its min watermark of memory that
 * movable allocations, which may use lent pages, count as free. Every other
 * allocation never counted free lent pages (__zone_watermark_unusable_free()),
 * so a claim cannot bring the zone closer to OOM for unmovable memory.
 */
static bool swiotlb_claim_keeps_min_wmark(struct zone *zone,
					  unsigned long nr_pages)
{
	return __zone_watermark_ok(zone, 0, min_wmark_pages(zone) + nr_pages,
				   zone_idx(zone), ALLOC_CMA | ALLOC_SWIOTLB,
				   zone_page_state(zone, NR_FREE_PAGES));
}

/*
 * Takes the smallest free lent entry of at least @order off the free lists,
 * under the zone lock and the claim's watermark rule, and gives it the hooks
 * of an allocation with @gfp: a block of @order, not compound, one reference.
 */
static struct page *swiotlb_take_free_block(struct zone *zone,
					    unsigned int order, gfp_t gfp)
{
	struct page *page = NULL;
	unsigned long flags;

	spin_lock_irqsave(&zone->lock, flags);
	if (swiotlb_claim_keeps_min_wmark(zone, 1UL << order))
		page = rmqueue_swiotlb_block(zone, order);
	spin_unlock_irqrestore(&zone->lock, flags);
	if (!page)
		return NULL;

	post_alloc_hook(page, order, gfp);
	set_page_refcounted(page);
	return page;
}

/**
 * swiotlb_claim_free_pageblock() - take a wholly free lent pageblock at once
 * @zone: the zone swiotlb's lent pageblocks are in
 *
 * For a caller that cannot wait for migration (the DMA map path): takes a
 * lent pageblock none of whose pages is in use straight off the free
 * lists, under the zone lock, in O(1). Pageblocks that hold movable pages
 * are left to swiotlb_take_pageblocks(). The pages get the allocation
 * hooks any allocation gets, so with init_on_alloc they are zeroed here.
 *
 * Context: Any context, including hard interrupt; takes the zone lock.
 * Return: the first page of the pageblock, whose pages the caller owns as
 * swiotlb_take_pageblocks() leaves them, or %NULL if no lent pageblock is
 * wholly free or the zone is at its min watermark.
 */
struct page *swiotlb_claim_free_pageblock(struct zone *zone)
{
	struct page *page;

	page = swiotlb_take_free_block(zone, pageblock_order, __GFP_MOVABLE);
	if (!page)
		return NULL;

	/* As alloc_contig_range() leaves them: order 0, one reference each */
	split_page(page, pageblock_order);
	atomic_long_sub(pageblock_nr_pages, &swiotlb_nr_lent_pages);
	return page;
}

/**
 * swiotlb_alloc_lent_block() - take a free block of lent pages at once
 * @zone: the zone swiotlb's lent pageblocks are in
 * @order: order of the block, below pageblock_order
 *
 * For swiotlb's transient pools (CONFIG_SWIOTLB_DYNAMIC: bounce buffer,
 * slot array, struct), which the DMA map path allocates without waiting:
 * when ordinary memory has no free block of @order, a free block inside a
 * lent pageblock is still swiotlb's own memory. The smallest free entry is
 * taken, so partly used lent pageblocks give theirs before a wholly free
 * one, which a claim could take whole, is split. The same watermark as for
 * a claim applies.
 *
 * The block stays in its lent pageblock and pins it: swiotlb cannot take
 * that pageblock back (swiotlb_take_pageblocks() fails with -EBUSY) until
 * the caller gives the block back with __free_pages(), which returns it to
 * the lent free lists.
 *
 * Context: Any context, including hard interrupt; takes the zone lock.
 * Return: the first page of the block, not compound, with one reference,
 * or %NULL if no lent pageblock has a free block of @order or the zone is
 * at its min watermark.
 */
struct page *swiotlb_alloc_lent_block(struct zone *zone, unsigned int order)
{
	if (order >= pageblock_order)
		return NULL;
	return swiotlb_take_free_block(zone, order, GFP_NOWAIT);
}

/**
 * swiotlb_free_pageblocks() - count the lent pageblocks a claim could take
 * @zone: the zone swiotlb's lent pageblocks are in
 * @max: the most the caller wants to know about
 *
 * The wholly free lent pageblocks on the free lists are what
 * swiotlb_claim_free_pageblock() can take. The allocator counts them as it
 * puts entries of pageblock_order or more on the MIGRATE_SWIOTLB free
 * lists and takes them off.
 *
 * Context: Any context. Without the zone lock the count may be stale by
 * the time the caller acts on it; a claim rechecks under the lock.
 * Return: their number, or @max if there are at least that many.
 */
unsigned long swiotlb_free_pageblocks(struct zone *zone, unsigned long max)
{
	return min(READ_ONCE(zone->nr_free_swiotlb_blocks), max);
}

/**
 * swiotlb_reserve_free_pageblocks() - keep wholly free lent pageblocks whole
 * @zone: the zone swiotlb's lent pageblocks are in
 * @nr: how many of them movable allocations should leave whole
 *
 * Movable allocations are served from lent pages first while those are
 * more than half of the zone's free memory. With a reserve they fill partly
 * used lent pageblocks first and split a wholly free one only while more
 * than @nr are left, so that the DMA map path finds @nr pageblocks to
 * claim without migration. Once the zone's ordinary free memory is below
 * a sixteenth of the zone, the reserve shrinks in proportion to it
 * (swiotlb_reserve_in_force()), and once no free memory of another type is
 * left to claim or steal, movable allocations take the reserved pageblocks
 * too: the reserve never makes an allocation fail, nor squeezes unmovable
 * ones.
 *
 * Context: Any context.
 */
void swiotlb_reserve_free_pageblocks(struct zone *zone, unsigned long nr)
{
	WRITE_ONCE(zone->swiotlb_blocks_reserve, nr);
}

/**
 * swiotlb_lent_pages() - how much memory swiotlb lends right now
 *
 * Counts the pages of the pageblocks that swiotlb_lend_reserved_pageblocks()
 * and swiotlb_lend_pageblocks() lent and swiotlb_take_pageblocks() did not
 * take back, whether they are free or hold movable data: "SwiotlbLent" in
 * /proc/meminfo, as "CmaTotal" is for CMA. The free ones among them are
 * NR_FREE_SWIOTLB_PAGES.
 *
 * Return: the number of lent pages.
 */
unsigned long swiotlb_lent_pages(void)
{
	return atomic_long_read(&swiotlb_nr_lent_pages);
}

/**
 * swiotlb_skip_straddling_buddy() - skip the free buddy that covers a pfn
 * @pfn: page frame number
 *
 * Looks for a free buddy that starts before @pfn and covers it, as
 * find_large_buddy() in page_alloc.c does, but without the zone lock.
 *
 * Return: the first pfn after that buddy, or @pfn if there is none.
 */
static unsigned long swiotlb_skip_straddling_buddy(unsigned long pfn)
{
	unsigned int order, buddy_order;
	unsigned long head;

	for (order = 1; order <= MAX_PAGE_ORDER; order++) {
		head = pfn & (~0UL << order);
		if (head == pfn || !PageBuddy(pfn_to_page(head)))
			continue;
		/* Racing with the allocator can yield any order */
		buddy_order = buddy_order_unsafe(pfn_to_page(head));
		if (buddy_order <= MAX_PAGE_ORDER &&
		    head + (1UL << buddy_order) > pfn)
			return head + (1UL << buddy_order);
		/* A smaller free buddy before @pfn: no larger one covers it */
		break;
	}
	return pfn;
}

/**
 * swiotlb_pageblocks_used_pages() - estimate the cost of taking a range back
 * @start_pfn: first page frame of the range
 * @nr_pages: number of pages
 *
 * Counts the pages of the range that are not free in the buddy allocator,
 * which is what swiotlb_take_pageblocks() would have to migrate. Nothing
 * is locked, so the answer is a snapshot that may already be stale; it is
 * meant for choosing the cheapest of several ranges.
 *
 * Return: the number of pages in the range that look allocated.
 */
unsigned long swiotlb_pageblocks_used_pages(unsigned long start_pfn,
					    unsigned long nr_pages)
{
	unsigned long end_pfn = start_pfn + nr_pages;
	unsigned long pfn, used = 0;

	/*
	 * A free buddy larger than a pageblock (MAX_PAGE_ORDER spans two on
	 * x86-64) can start before the range: its pages here are free tail
	 * pages, which PageBuddy() does not flag.
	 */
	pfn = swiotlb_skip_straddling_buddy(start_pfn);
	while (pfn < end_pfn) {
		struct page *page = pfn_to_page(pfn);

		if (PageBuddy(page)) {
			unsigned int order = buddy_order_unsafe(page);

			/* Racing with the allocator can yield any order */
			if (order <= MAX_PAGE_ORDER) {
				pfn += 1UL << order;
				continue;
			}
		}
		used++;
		pfn++;
	}
	return used;
}

/**
 * swiotlb_adopt_reserved_pageblocks() - account boot-reserved pageblocks
 * @start_pfn: first page frame of the range, pageblock aligned
 * @nr_pages: number of pages, a multiple of pageblock_nr_pages
 *
 * Turns memory reserved with memblock at boot into pages the caller owns,
 * each an order-0 page with a single reference, as swiotlb_take_pageblocks()
 * leaves them, and counts them as managed memory. A range that swiotlb
 * uses from boot on is thus accounted like one it took back, so lending
 * and taking back pageblocks never changes the managed page counts.
 *
 * Context: Process context.
 * Return: 0 on success, -EINVAL if the range is not pageblock aligned,
 * crosses a zone or contains a page that is not reserved. Nothing changes
 * on failure.
 */
int swiotlb_adopt_reserved_pageblocks(unsigned long start_pfn,
				      unsigned long nr_pages)
{
	unsigned long end_pfn = start_pfn + nr_pages;
	unsigned long pfn;

	if (!swiotlb_reserved_range_valid(start_pfn, nr_pages, "adopting"))
		return -EINVAL;

	for (pfn = start_pfn; pfn < end_pfn; pfn++) {
		struct page *page = pfn_to_page(pfn);

		ClearPageReserved(page);
		init_page_count(page);
		/* Reserved, never allocated: freeing it later drops no tag */
		clear_page_tag_ref(page);
	}
	adjust_managed_page_count(pfn_to_page(start_pfn), nr_pages);
	return 0;
}

/**
 * swiotlb_release_pageblocks() - give pageblocks to the page allocator for good
 * @start_pfn: first page frame of the range, pageblock aligned
 * @nr_pages: number of pages, a multiple of pageblock_nr_pages
 *
 * Frees pageblocks the caller owns, as swiotlb_lend_pageblocks() does, but
 * as ordinary MIGRATE_MOVABLE memory: swiotlb will not take them back.
 *
 * Context: Process context.
 * Return: 0 on success, -EINVAL if the range is misaligned or a page in it
 * is not owned by the caller; nothing is freed on failure.
 */
int swiotlb_release_pageblocks(unsigned long start_pfn, unsigned long nr_pages)
{
	return swiotlb_free_owned_pageblocks(start_pfn, nr_pages,
					     MIGRATE_MOVABLE);
}
