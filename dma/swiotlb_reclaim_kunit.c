// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the swiotlb side of MIGRATE_SWIOTLB. They drive the
 * chunk state changes and the grow and shrink steps directly, on the
 * default pool, and need a kernel booted with
 * "swiotlb=<n>,force swiotlb_overprovision=<N>".
 */

#include <kunit/device.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/initrd.h>
#include <linux/kthread.h>
#include <linux/mmzone.h>
#include <linux/page-swiotlb.h>
#include <linux/sched/clock.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <trace/events/swiotlb_reclaim.h>

#include "swiotlb_reclaim_internal.h"

#define MAP_BYTES	(64 * IO_TLB_SIZE)
#define MAX_MAPS	4096

struct reclaim_test {
	struct device *dev;
	void *buf;
	phys_addr_t maps[MAX_MAPS];
	unsigned int nr_maps;
	unsigned long saved_low, saved_high, saved_delay;
	/* swiotlb_chunk_set_shared() calls seen by fake_set_shared() */
	unsigned int share_calls;
	unsigned long shared_chunk;
	bool shared;
	int share_err;
	/* fake_busy_pages(): chunks looked at, and the one reported free */
	unsigned long *looked;
	unsigned int busy_calls;
	unsigned long free_chunk;
};

/* Records what a CoCo guest would share or make private; may fail */
static int fake_set_shared(struct io_tlb_reclaim *rc, unsigned long chunk,
			   bool shared)
{
	struct reclaim_test *t = kunit_get_current_test()->priv;

	t->share_calls++;
	t->shared_chunk = chunk;
	t->shared = shared;
	return t->share_err;
}

/* A guest with memory encryption: claims may only use the standby */
static bool fake_needs_standby(void)
{
	return true;
}

/* What fake_busy_pages() reports for @chunk */
static unsigned long fake_busy(struct reclaim_test *t, unsigned long chunk)
{
	return chunk == t->free_chunk ? 0 : chunk * 37 % 500 + 1;
}

/* Every chunk busy (1 to 500 pages), except t->free_chunk; records calls */
static unsigned long fake_busy_pages(struct io_tlb_reclaim *rc,
				     unsigned long chunk)
{
	struct reclaim_test *t = kunit_get_current_test()->priv;

	t->busy_calls++;
	set_bit(chunk, t->looked);
	return fake_busy(t, chunk);
}

/* No lent chunk is wholly free on the free lists */
static int fake_no_free_chunk(struct io_tlb_reclaim *rc)
{
	return -ENOENT;
}

static struct io_tlb_reclaim *test_rc(void)
{
	return &swiotlb_default_reclaim;
}

static bool chunk_lookup_active(struct device *dev, struct io_tlb_reclaim *rc,
				unsigned long chunk)
{
	return swiotlb_find_pool(dev, swiotlb_chunk_phys(rc, chunk) + 17);
}

static unsigned long addr_chunk(struct io_tlb_reclaim *rc, phys_addr_t addr)
{
	return (addr - rc->pool->start) >> rc->pool->chunk_shift;
}

/* A lent chunk taken back and owned by the test, its slots withdrawn */
static unsigned long take_lent_chunk(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	unsigned long chunk;

	lockdep_assert_held(&rc->lock);
	chunk = swiotlb_pick_chunk(rc);
	KUNIT_ASSERT_NE(test, chunk, ULONG_MAX);
	KUNIT_ASSERT_EQ(test,
			swiotlb_take_pageblocks(PHYS_PFN(swiotlb_chunk_phys(rc, chunk)),
						pageblock_nr_pages, GFP_KERNEL),
			0);
	return chunk;
}

/* Retire every active chunk above the initial count that has no mapping */
static void shrink_to_initial(struct io_tlb_reclaim *rc)
{
	unsigned long chunk;

	lockdep_assert_held(&rc->lock);
	for (chunk = rc->nr_chunks;
	     chunk-- > 0 && atomic_long_read(&rc->nr_active) > rc->nr_initial;)
		if (test_bit(chunk, rc->pool->active_chunks))
			swiotlb_retire_chunk(rc, chunk);
}

/*
 * Restore the suite's watermarks and run shrink_work as its timer would,
 * with no shrink delay: the first look starts the delay, the second
 * shrinks. Called with rc->lock held, which shrink_work takes itself: the
 * lock is dropped meanwhile and held again on return.
 */
static void shrink_work_now(struct io_tlb_reclaim *rc, struct reclaim_test *t)
{
	lockdep_assert_held(&rc->lock);
	swiotlb_set_watermarks(rc, t->saved_low, t->saved_high);
	rc->shrink_delay_ms = 0;
	mutex_unlock(&rc->lock);
	swiotlb_shrink_work(&rc->shrink_work.work);
	swiotlb_shrink_work(&rc->shrink_work.work);
	mutex_lock(&rc->lock);
}

/*
 * Back to the initial chunks, with a worker that never hears of a shortage
 * (low watermark 0) and no claims: the active slots are all there is.
 * Returns their number. Checked once rc->lock is dropped: an assertion
 * under it would deadlock the suite's exit.
 */
static unsigned long deaf_pool_without_claims(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	unsigned long active_slots;
	int err;

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	swiotlb_set_watermarks(rc, 0, rc->high_wmark);
	active_slots = atomic_long_read(&rc->nr_active) * rc->chunk_slots;
	err = swiotlb_set_atomic_claim(rc, 0);
	mutex_unlock(&rc->lock);
	KUNIT_ASSERT_EQ(test, err, 0);
	return active_slots;
}

static phys_addr_t test_map(struct kunit *test, struct reclaim_test *t)
{
	phys_addr_t tlb;

	tlb = swiotlb_tbl_map_single(t->dev, virt_to_phys(t->buf), MAP_BYTES, 0,
				     DMA_TO_DEVICE, DMA_ATTR_NO_WARN);
	if (tlb == (phys_addr_t)DMA_MAPPING_ERROR)
		return tlb;
	KUNIT_ASSERT_LT(test, t->nr_maps, MAX_MAPS);
	t->maps[t->nr_maps++] = tlb;
	return tlb;
}

static void test_unmap_all(struct reclaim_test *t)
{
	while (t->nr_maps)
		swiotlb_tbl_unmap_single(t->dev, t->maps[--t->nr_maps],
					 MAP_BYTES, DMA_TO_DEVICE, 0);
}

static int reclaim_test_init(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL_MSG(test, rc->pool,
				  "boot with swiotlb_overprovision=N (N > 1)");
	KUNIT_ASSERT_NOT_NULL(test, READ_ONCE(rc->wq));
	/*
	 * Every test starts with what boot left to lend_work lent. It queues
	 * itself again after each run: flush until it is idle.
	 */
	while (flush_work(&rc->lend_work))
		;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->buf = kunit_kmalloc(test, MAP_BYTES, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->buf);
	for (i = 0; i < MAP_BYTES; i++)
		((u8 *)t->buf)[i] = i * 7 + 3;

	t->dev = kunit_device_register(test, "swiotlb-reclaim-kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t->dev));
	t->dev->coherent_dma_mask = DMA_BIT_MASK(64);
	t->dev->dma_mask = &t->dev->coherent_dma_mask;
	swiotlb_dev_init(t->dev);
#ifdef CONFIG_SWIOTLB_DYNAMIC
	/*
	 * With dynamic pools, swiotlb_find_pool() only searches for devices
	 * that have bounced before. Look up addresses as such a device does,
	 * so that the pool walk and the chunk check both run.
	 */
	WRITE_ONCE(t->dev->dma_uses_io_tlb, true);
#endif

	mutex_lock(&rc->lock);
	t->saved_low = rc->low_wmark;
	t->saved_high = rc->high_wmark;
	t->saved_delay = rc->shrink_delay_ms;
	mutex_unlock(&rc->lock);

	test->priv = t;
	return 0;
}

static void reclaim_test_exit(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;

	if (!t)
		return;
	test_unmap_all(t);
	mutex_lock(&rc->lock);
	swiotlb_set_watermarks(rc, t->saved_low, t->saved_high);
	rc->shrink_delay_ms = t->saved_delay;
	rc->fail_grow = 0;
	swiotlb_set_atomic_claim(rc, 1);
	rc->standby_target = 0;
	swiotlb_refill_standby(rc);
	atomic_set(&rc->outran, 0);
	rc->grow_boost = 0;
	mutex_unlock(&rc->lock);
}

/* find_pool is true for active chunks only, whatever the region bounds. */
static void reclaim_find_pool_slot_level(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long chunk, active = 0, lent = 0;
	struct io_tlb_pool *pool = rc->pool;

	mutex_lock(&rc->lock);
	for (chunk = 0; chunk < rc->nr_chunks; chunk++) {
		bool is_active = test_bit(chunk, pool->active_chunks);

		KUNIT_EXPECT_EQ_MSG(test, chunk_lookup_active(t->dev, rc, chunk),
				    is_active, "chunk %lu", chunk);
		if (is_active)
			active++;
		else
			lent++;
	}
	mutex_unlock(&rc->lock);

	KUNIT_EXPECT_GT(test, active, 0);
	KUNIT_EXPECT_GT(test, lent, 0);
	KUNIT_EXPECT_NULL(test, swiotlb_find_pool(t->dev, pool->start - 1));
	KUNIT_EXPECT_NULL(test, swiotlb_find_pool(t->dev, pool->end));
}

/* A live mapping is found, and its chunk is never lent while it lives. */
static void reclaim_shrink_spares_live_slot(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long chunk, shrinks;
	struct page *page;
	phys_addr_t tlb;

	tlb = test_map(test, t);
	KUNIT_ASSERT_NE(test, tlb, (phys_addr_t)DMA_MAPPING_ERROR);
	chunk = addr_chunk(rc, tlb);

	mutex_lock(&rc->lock);
	shrinks = atomic_long_read(&rc->shrink_count);
	KUNIT_EXPECT_EQ(test, swiotlb_retire_chunk(rc, chunk), -EBUSY);
	KUNIT_EXPECT_TRUE(test, test_bit(chunk, rc->pool->active_chunks));
	KUNIT_EXPECT_NOT_NULL(test, swiotlb_find_pool(t->dev, tlb));
	KUNIT_EXPECT_EQ(test, memcmp(phys_to_virt(tlb), t->buf, MAP_BYTES), 0);
	mutex_unlock(&rc->lock);

	test_unmap_all(t);

	/* Now free (unless a real user has a slot there): lend and take back */
	mutex_lock(&rc->lock);
	if (!swiotlb_retire_chunk(rc, chunk)) {
		KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->shrink_count),
				shrinks + 1);
		KUNIT_EXPECT_FALSE(test, chunk_lookup_active(t->dev, rc, chunk));
		page = pfn_to_page(PHYS_PFN(swiotlb_chunk_phys(rc, chunk)));
		KUNIT_EXPECT_TRUE(test, is_migrate_swiotlb_page(page));
		KUNIT_EXPECT_EQ(test, swiotlb_grow_chunk(rc, chunk), 0);
		KUNIT_EXPECT_TRUE(test, chunk_lookup_active(t->dev, rc, chunk));
	}
	mutex_unlock(&rc->lock);
}

/*
 * Mapping past the low watermark makes the map path kick the worker, which
 * activates lent chunks while earlier mappings stay intact.
 */
static void reclaim_grow_on_low_wmark(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long grows, active, free;
	unsigned int i;

	mutex_lock(&rc->lock);
	grows = atomic_long_read(&rc->grow_count);
	active = atomic_long_read(&rc->nr_active);
	free = swiotlb_free_slots(rc);
	/* Grow by a chunk once a quarter of what is free now is mapped */
	swiotlb_set_watermarks(rc, free - free / 4, free + rc->chunk_slots);
	mutex_unlock(&rc->lock);

	while (atomic_long_read(&rc->grow_count) == grows &&
	       t->nr_maps < MAX_MAPS) {
		if (test_map(test, t) == (phys_addr_t)DMA_MAPPING_ERROR)
			break;
		flush_workqueue(rc->wq);
	}

	KUNIT_EXPECT_GT(test, atomic_long_read(&rc->grow_count), grows);
	KUNIT_EXPECT_GT(test, atomic_long_read(&rc->nr_active), active);
	for (i = 0; i < t->nr_maps; i++) {
		KUNIT_EXPECT_NOT_NULL(test, swiotlb_find_pool(t->dev, t->maps[i]));
		KUNIT_EXPECT_EQ(test, memcmp(phys_to_virt(t->maps[i]), t->buf,
					     MAP_BYTES), 0);
	}
}

/*
 * A chunk that cannot be taken back is skipped and counted; the grow
 * round moves on to another one. Afterwards an idle pool shrinks back to
 * its initial size.
 */
static void reclaim_failed_grow_skipped(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long fails, active, chunk, failed = 0;

	/* Migrating takes only, which the failed chunk cannot dodge */
	kunit_activate_static_stub(test, swiotlb_grow_free_chunk,
				   fake_no_free_chunk);
	mutex_lock(&rc->lock);
	fails = atomic_long_read(&rc->grow_fail_count);
	active = atomic_long_read(&rc->nr_active);

	rc->fail_grow = 1;
	swiotlb_set_watermarks(rc, 0, swiotlb_free_slots(rc) + 1);
	swiotlb_grow(rc);

	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->grow_fail_count), fails + 1);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 1);
	/* The chunk that failed waits before it is tried again, still lent */
	for (chunk = 0; chunk < rc->nr_chunks; chunk++) {
		if (!swiotlb_before_deadline(rc->retry_after[chunk],
					     SWIOTLB_GROW_RETRY_DELAY))
			continue;
		failed++;
		KUNIT_EXPECT_TRUE(test, swiotlb_chunk_is_lent(rc, chunk));
		KUNIT_EXPECT_FALSE(test, chunk_lookup_active(t->dev, rc, chunk));
		rc->retry_after[chunk] = 0;
	}
	KUNIT_EXPECT_EQ(test, failed, 1);

	/* Idle and above the high watermark: shrink to the initial size */
	shrink_work_now(rc, t);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), rc->nr_initial);
	for (chunk = 0; chunk < rc->nr_chunks; chunk++)
		KUNIT_EXPECT_EQ(test, chunk_lookup_active(t->dev, rc, chunk),
				(bool)test_bit(chunk, rc->pool->active_chunks));
	mutex_unlock(&rc->lock);
}

/* Watermark writes that make no sense are refused and change nothing. */
static void reclaim_watermark_validation(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	unsigned long low, high;

	mutex_lock(&rc->lock);
	low = rc->low_wmark;
	high = rc->high_wmark;
	KUNIT_EXPECT_EQ(test, swiotlb_set_low_wmark(rc, high), -EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_set_high_wmark(rc, low), -EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_set_high_wmark(rc, rc->pool->nslabs + 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_set_shrink_delay(rc, ULONG_MAX), -EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_set_fail_grow(rc, rc->nr_chunks + 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, rc->low_wmark, low);
	KUNIT_EXPECT_EQ(test, rc->high_wmark, high);
	KUNIT_EXPECT_EQ(test, swiotlb_set_low_wmark(rc, high - 1), 0);
	KUNIT_EXPECT_EQ(test, rc->low_wmark, high - 1);
	mutex_unlock(&rc->lock);
}

static const struct {
	const char *str;
	int err;
	unsigned int ratio;
} overprovision_cases[] = {
	{ "4", 0, 4 },
	{ "1", 0, 1 },
	{ "64", 0, 64 },
	{ "65", -ERANGE, 64 },
	{ "0", -EINVAL, 1 },
	{ "-3", -EINVAL, 1 },
	{ "abc", -EINVAL, 1 },
	{ "4x", -EINVAL, 1 },
	{ "", -EINVAL, 1 },
	{ NULL, -EINVAL, 1 },
	{ "99999999999999999999", -EINVAL, 1 },
};

static void reclaim_parse_overprovision(struct kunit *test)
{
	unsigned int i, ratio;
	const char *str;
	int err;

	for (i = 0; i < ARRAY_SIZE(overprovision_cases); i++) {
		str = overprovision_cases[i].str;
		ratio = 12345;
		err = swiotlb_parse_overprovision(str, &ratio);
		KUNIT_EXPECT_EQ_MSG(test, err, overprovision_cases[i].err,
				    "\"%s\"", str ?: "(null)");
		KUNIT_EXPECT_EQ_MSG(test, ratio, overprovision_cases[i].ratio,
				    "\"%s\"", str ?: "(null)");
	}
}

/*
 * A chunk boot cannot lend is put into use, and so, in a CoCo guest, must
 * be shared with the host first: swiotlb_update_mem_attributes() has run
 * by then and shared only the initial chunks. If sharing fails the chunk
 * is lost, never active.
 */
static void reclaim_kept_chunk_is_shared(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long chunk, active, initial;

	kunit_activate_static_stub(test, swiotlb_chunk_set_shared,
				   fake_set_shared);
	mutex_lock(&rc->lock);
	active = atomic_long_read(&rc->nr_active);
	initial = rc->nr_initial;
	chunk = take_lent_chunk(test);

	/* As at boot without a workqueue: the chunk cannot be lent */
	KUNIT_EXPECT_FALSE(test, swiotlb_lend_withheld_chunk(rc, chunk, false));
	KUNIT_EXPECT_EQ(test, t->share_calls, 1);
	KUNIT_EXPECT_EQ(test, t->shared_chunk, chunk);
	KUNIT_EXPECT_TRUE(test, t->shared);
	KUNIT_EXPECT_TRUE(test, chunk_lookup_active(t->dev, rc, chunk));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 1);
	KUNIT_EXPECT_EQ(test, rc->nr_initial, initial + 1);
	rc->nr_initial = initial;

	/* Lending it again makes it private first */
	t->share_calls = 0;
	KUNIT_EXPECT_EQ(test, swiotlb_retire_chunk(rc, chunk), 0);
	KUNIT_EXPECT_EQ(test, t->share_calls, 1);
	KUNIT_EXPECT_FALSE(test, t->shared);

	/* Sharing fails: the chunk is lost, not used */
	chunk = take_lent_chunk(test);
	t->share_calls = 0;
	t->share_err = -EIO;
	KUNIT_EXPECT_FALSE(test, swiotlb_lend_withheld_chunk(rc, chunk, false));
	KUNIT_EXPECT_EQ(test, t->share_calls, 1);
	KUNIT_EXPECT_FALSE(test, chunk_lookup_active(t->dev, rc, chunk));
	KUNIT_EXPECT_TRUE(test, test_bit(chunk, rc->lost));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active);
	KUNIT_EXPECT_EQ(test, rc->nr_initial, initial);

	/* Undo the loss the test caused: the chunk is merely owned */
	clear_bit(chunk, rc->lost);
	rc->nr_lost--;
	KUNIT_EXPECT_EQ(test,
			swiotlb_lend_pageblocks(PHYS_PFN(swiotlb_chunk_phys(rc, chunk)),
						pageblock_nr_pages), 0);
	mutex_unlock(&rc->lock);
}

/*
 * From boot on the page allocator accounts for the whole region, so
 * lending chunks (initial ones among them) and taking them back changes
 * neither MemTotal nor the zone's managed pages and watermarks.
 */
static void reclaim_accounting_stable(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct zone *zone = page_zone(pfn_to_page(PHYS_PFN(rc->pool->start)));
	unsigned long total = totalram_pages();
	unsigned long managed = zone_managed_pages(zone);
	unsigned long min_wmark = min_wmark_pages(zone);
	unsigned long chunk, cycles = 0;

	mutex_lock(&rc->lock);
	/* Lend each free active chunk, initial ones too, and take it back */
	for (chunk = 0; chunk < rc->nr_chunks && cycles < 8; chunk++) {
		if (!test_bit(chunk, rc->pool->active_chunks) ||
		    swiotlb_retire_chunk(rc, chunk))
			continue;
		KUNIT_EXPECT_EQ_MSG(test, totalram_pages(), total,
				    "chunk %lu lent", chunk);
		KUNIT_EXPECT_EQ(test, zone_managed_pages(zone), managed);
		KUNIT_ASSERT_EQ(test, swiotlb_grow_chunk(rc, chunk), 0);
		KUNIT_EXPECT_EQ_MSG(test, totalram_pages(), total,
				    "chunk %lu taken back", chunk);
		KUNIT_EXPECT_EQ(test, zone_managed_pages(zone), managed);
		cycles++;
	}
	mutex_unlock(&rc->lock);
	KUNIT_EXPECT_GT(test, cycles, 0);
	KUNIT_EXPECT_EQ(test, min_wmark_pages(zone), min_wmark);
}

/*
 * A mapping made after a burst that grew the pool lands in a chunk the
 * pool had before, so that the grown chunks drain and are lent again while
 * the mapping lives on (a virtio ring in a CoCo guest lives for good).
 */
static void reclaim_grown_chunks_drain(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long *before, grows, chunk;
	unsigned int failures = 0;
	bool in_grown = false;
	phys_addr_t tlb;

	before = kunit_kcalloc(test, BITS_TO_LONGS(rc->nr_chunks), sizeof(long),
			       GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, before);

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	bitmap_copy(before, rc->pool->active_chunks, rc->nr_chunks);
	grows = atomic_long_read(&rc->grow_count);
	/* Grow as soon as a tenth of what is free now is mapped */
	swiotlb_set_watermarks(rc, swiotlb_free_slots(rc) * 9 / 10,
			       swiotlb_free_slots(rc) + rc->chunk_slots);
	mutex_unlock(&rc->lock);

	/* One area throughout: each CPU starts its searches in its own */
	migrate_disable();
	/* The burst: map until a mapping lands in a grown chunk */
	while (!in_grown && t->nr_maps < MAX_MAPS && failures < 100) {
		tlb = test_map(test, t);
		if (tlb == (phys_addr_t)DMA_MAPPING_ERROR) {
			failures++;
			flush_workqueue(rc->wq);
			continue;
		}
		in_grown = !test_bit(addr_chunk(rc, tlb), before);
		flush_workqueue(rc->wq);
	}
	test_unmap_all(t);
	/* The long-lived mapping */
	tlb = test_map(test, t);
	migrate_enable();
	KUNIT_ASSERT_TRUE(test, in_grown);
	KUNIT_EXPECT_GT(test, atomic_long_read(&rc->grow_count), grows);
	KUNIT_ASSERT_NE(test, tlb, (phys_addr_t)DMA_MAPPING_ERROR);
	chunk = addr_chunk(rc, tlb);
	KUNIT_EXPECT_TRUE_MSG(test, test_bit(chunk, before),
			      "long-lived mapping in grown chunk %lu", chunk);

	/*
	 * Idle: the pool shrinks while it has a chunk to spare above the high
	 * watermark, here the initial size less a chunk, so that the mapping
	 * does not stop it early. Every grown chunk must go.
	 */
	mutex_lock(&rc->lock);
	swiotlb_set_watermarks(rc, 0, (rc->nr_initial - 1) * rc->chunk_slots);
	rc->shrink_delay_ms = 0;
	mutex_unlock(&rc->lock);
	swiotlb_shrink_work(&rc->shrink_work.work);
	swiotlb_shrink_work(&rc->shrink_work.work);

	mutex_lock(&rc->lock);
	for (chunk = 0; chunk < rc->nr_chunks; chunk++)
		KUNIT_EXPECT_FALSE_MSG(test,
				       test_bit(chunk, rc->pool->active_chunks) &&
				       !test_bit(chunk, before),
				       "grown chunk %lu still active", chunk);
	mutex_unlock(&rc->lock);
	KUNIT_EXPECT_NOT_NULL(test, swiotlb_find_pool(t->dev, tlb));
	KUNIT_EXPECT_EQ(test, memcmp(phys_to_virt(tlb), t->buf, MAP_BYTES), 0);
}

/*
 * Unmapping what is not mapped (a driver's double unmap) changes nothing.
 * With a min_align_mask (NVMe) and an offset inside the slot, the second
 * unmap would free one more slot each time, making the area count free
 * slots it does not have.
 */
static void reclaim_double_unmap_ignored(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	struct device_dma_parameters *parms;
	unsigned long area, free;
	phys_addr_t tlb;

	parms = kunit_kzalloc(test, sizeof(*parms), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, parms);
	t->dev->dma_parms = parms;
	dma_set_min_align_mask(t->dev, SZ_4K - 1);

	tlb = swiotlb_tbl_map_single(t->dev, virt_to_phys(t->buf) + 512,
				     MAP_BYTES / 2, 0, DMA_TO_DEVICE, 0);
	KUNIT_ASSERT_NE(test, tlb, (phys_addr_t)DMA_MAPPING_ERROR);
	KUNIT_EXPECT_EQ(test, tlb & (IO_TLB_SIZE - 1), 512);
	swiotlb_tbl_unmap_single(t->dev, tlb, MAP_BYTES / 2, DMA_TO_DEVICE, 0);

	area = ((tlb - rc->pool->start) >> IO_TLB_SHIFT) / rc->pool->area_nslabs;
	free = swiotlb_area_free_slots(rc->pool, area);
	swiotlb_tbl_unmap_single(t->dev, tlb, MAP_BYTES / 2, DMA_TO_DEVICE, 0);
	KUNIT_EXPECT_EQ(test, swiotlb_area_free_slots(rc->pool, area), free);
	t->dev->dma_parms = NULL;
}

/*
 * What swiotlb_exit() does to each chunk of a lending pool: a lent chunk
 * and a free active one both become ordinary free movable memory, private
 * in a CoCo guest, out of swiotlb's use for good. MemTotal does not move.
 * Runs last: the two chunks stay out of the pool until the next boot.
 */
static void reclaim_release_chunks(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long total = totalram_pages();
	unsigned long lent, active, lost, nr_active;
	struct page *page;

	kunit_activate_static_stub(test, swiotlb_chunk_set_shared,
				   fake_set_shared);
	mutex_lock(&rc->lock);
	lost = rc->nr_lost;
	lent = swiotlb_pick_chunk(rc);
	KUNIT_ASSERT_NE(test, lent, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, swiotlb_grow_chunk(rc, lent), 0);
	active = lent;
	lent = swiotlb_pick_chunk(rc);
	KUNIT_ASSERT_NE(test, lent, ULONG_MAX);
	nr_active = atomic_long_read(&rc->nr_active);

	KUNIT_EXPECT_EQ(test, swiotlb_release_chunk(rc, lent), 0);
	page = pfn_to_page(PHYS_PFN(swiotlb_chunk_phys(rc, lent)));
	KUNIT_EXPECT_EQ(test, get_pageblock_migratetype(page), MIGRATE_MOVABLE);
	KUNIT_EXPECT_FALSE(test, chunk_lookup_active(t->dev, rc, lent));

	t->share_calls = 0;
	KUNIT_EXPECT_EQ(test, swiotlb_release_chunk(rc, active), 0);
	KUNIT_EXPECT_EQ(test, t->share_calls, 1);
	KUNIT_EXPECT_FALSE(test, t->shared);
	page = pfn_to_page(PHYS_PFN(swiotlb_chunk_phys(rc, active)));
	KUNIT_EXPECT_EQ(test, get_pageblock_migratetype(page), MIGRATE_MOVABLE);
	KUNIT_EXPECT_FALSE(test, chunk_lookup_active(t->dev, rc, active));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), nr_active - 1);
	KUNIT_EXPECT_EQ(test, rc->nr_lost, lost + 2);
	KUNIT_EXPECT_NE(test, swiotlb_pick_chunk(rc), lent);
	mutex_unlock(&rc->lock);

	KUNIT_EXPECT_EQ(test, totalram_pages(), total);
	/* Both are usable by any allocation now: no longer lent */
	KUNIT_EXPECT_FALSE(test, is_migrate_swiotlb_page(page));
}

/* swiotlb_reclaim_claim() as the map path calls it, interrupts off */
static bool claim_irqs_off(struct io_tlb_reclaim *rc)
{
	unsigned long flags;
	bool claimed;

	local_irq_save(flags);
	claimed = swiotlb_reclaim_claim(rc->pool);
	local_irq_restore(flags);
	return claimed;
}

/* The chunk active now that was not in @before, or ULONG_MAX */
static unsigned long new_active_chunk(struct io_tlb_reclaim *rc,
				      const unsigned long *before)
{
	unsigned long chunk;

	for (chunk = 0; chunk < rc->nr_chunks; chunk++)
		if (test_bit(chunk, rc->pool->active_chunks) &&
		    !test_bit(chunk, before))
			return chunk;
	return ULONG_MAX;
}

/*
 * A burst the worker never hears of (low watermark 0) fails once the active
 * slots are used up, unless the map path claims free lent chunks itself:
 * then every mapping succeeds and keeps its data.
 */
static void reclaim_claim_serves_burst(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long claims, active_slots, mapped;
	unsigned int i;
	int err;
#ifdef CONFIG_SWIOTLB_DYNAMIC
	struct io_tlb_mem *mem = t->dev->dma_io_tlb_mem;
	bool can_grow = mem->can_grow;

	/* Transient pools would serve what does not fit: none here */
	mem->can_grow = false;
#endif

	active_slots = deaf_pool_without_claims(test);

	/* Without claims: full once the active slots are mapped */
	while (t->nr_maps < MAX_MAPS &&
	       test_map(test, t) != (phys_addr_t)DMA_MAPPING_ERROR)
		;
	mapped = (unsigned long)t->nr_maps * (MAP_BYTES >> IO_TLB_SHIFT);
	KUNIT_EXPECT_LE(test, mapped, active_slots);
	test_unmap_all(t);

	mutex_lock(&rc->lock);
	err = swiotlb_set_atomic_claim(rc, 1);
	mutex_unlock(&rc->lock);
	KUNIT_ASSERT_EQ(test, err, 0);
	claims = atomic_long_read(&rc->claim_count);

	/* With claims: twice the active slots, and no mapping fails */
	while (t->nr_maps * (MAP_BYTES >> IO_TLB_SHIFT) < 2 * active_slots) {
		if (test_map(test, t) == (phys_addr_t)DMA_MAPPING_ERROR)
			break;
	}
	mapped = (unsigned long)t->nr_maps * (MAP_BYTES >> IO_TLB_SHIFT);
	KUNIT_EXPECT_GE_MSG(test, mapped, 2 * active_slots,
			    "a mapping failed with %lu of %lu active slots mapped",
			    mapped, active_slots);
	KUNIT_EXPECT_GT(test, atomic_long_read(&rc->claim_count), claims);
	for (i = 0; i < t->nr_maps; i++) {
		KUNIT_EXPECT_NOT_NULL(test, swiotlb_find_pool(t->dev, t->maps[i]));
		KUNIT_EXPECT_EQ(test, memcmp(phys_to_virt(t->maps[i]), t->buf,
					     MAP_BYTES), 0);
	}
	test_unmap_all(t);
	flush_workqueue(rc->wq);
#ifdef CONFIG_SWIOTLB_DYNAMIC
	mem->can_grow = can_grow;
#endif
}

/* What the swiotlb_reclaim_claim tracepoint reported last */
struct traced_claim {
	unsigned int count;
	phys_addr_t addr;
	bool standby;
};

static void probe_claim(void *data, phys_addr_t addr, size_t size,
			u64 duration_ns, bool standby)
{
	struct traced_claim *tc = data;

	WRITE_ONCE(tc->addr, addr);
	WRITE_ONCE(tc->standby, standby);
	WRITE_ONCE(tc->count, tc->count + 1);
}

/* Listens to claims until stop_tracing_claims(); false without tracepoints */
static bool trace_claims(struct kunit *test, struct traced_claim *tc)
{
	memset(tc, 0, sizeof(*tc));
	if (!IS_ENABLED(CONFIG_TRACEPOINTS))
		return false;
	KUNIT_ASSERT_EQ(test, register_trace_swiotlb_reclaim_claim(probe_claim,
								   tc), 0);
	return true;
}

static void stop_tracing_claims(struct traced_claim *tc)
{
	unregister_trace_swiotlb_reclaim_claim(probe_claim, tc);
	tracepoint_synchronize_unregister();
}

/*
 * A chunk claimed with interrupts off is active, found by swiotlb_find_pool()
 * and adds exactly one chunk of free slots; the worker, finding it claimed,
 * neither activates it again nor counts a failure; and once idle it is
 * retired and lent again like any other chunk.
 */
static void reclaim_claimed_chunk_lent_again(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long active, free, fails, lent, chunk, pfn;
	struct traced_claim tc;
	unsigned long *before;
	bool claimed, traced;

	before = kunit_kcalloc(test, BITS_TO_LONGS(rc->nr_chunks), sizeof(long),
			       GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, before);

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	bitmap_copy(before, rc->pool->active_chunks, rc->nr_chunks);
	active = atomic_long_read(&rc->nr_active);
	free = swiotlb_free_slots(rc);
	fails = atomic_long_read(&rc->grow_fail_count);
	lent = swiotlb_lent_pages();

	traced = trace_claims(test, &tc);
	claimed = claim_irqs_off(rc);
	/* The probe writes to @tc on this stack: unregister it before any assert */
	if (traced)
		stop_tracing_claims(&tc);
	KUNIT_ASSERT_TRUE(test, claimed);
	chunk = new_active_chunk(rc, before);
	KUNIT_ASSERT_NE(test, chunk, ULONG_MAX);
	pfn = PHYS_PFN(swiotlb_chunk_phys(rc, chunk));
	if (traced) {
		KUNIT_EXPECT_EQ(test, tc.count, 1);
		KUNIT_EXPECT_EQ(test, tc.addr, swiotlb_chunk_phys(rc, chunk));
		KUNIT_EXPECT_FALSE(test, tc.standby);
	}
	KUNIT_EXPECT_TRUE(test, chunk_lookup_active(t->dev, rc, chunk));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 1);
	KUNIT_EXPECT_EQ(test, swiotlb_free_slots(rc), free + rc->chunk_slots);
	KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(), lent - pageblock_nr_pages);

	/* The worker picked it before the claim: it must not take it twice */
	KUNIT_EXPECT_EQ(test, swiotlb_grow_chunk(rc, chunk), -EALREADY);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 1);
	KUNIT_EXPECT_EQ(test, swiotlb_free_slots(rc), free + rc->chunk_slots);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->grow_fail_count), fails);

	/* Idle: retiring lends it again, as shrink_work would */
	KUNIT_EXPECT_EQ(test, swiotlb_retire_chunk(rc, chunk), 0);
	KUNIT_EXPECT_FALSE(test, test_bit(chunk, rc->pool->active_chunks));
	KUNIT_EXPECT_FALSE(test, chunk_lookup_active(t->dev, rc, chunk));
	KUNIT_EXPECT_TRUE(test, is_migrate_swiotlb_page(pfn_to_page(pfn)));
	KUNIT_EXPECT_EQ(test, swiotlb_pageblocks_used_pages(pfn,
							    pageblock_nr_pages), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active);
	KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(), lent);
	mutex_unlock(&rc->lock);
}

struct claim_racer {
	struct io_tlb_reclaim *rc;
	atomic_t claims;
	bool stop;
};

static int claim_racer_fn(void *data)
{
	struct claim_racer *racer = data;

	while (!READ_ONCE(racer->stop)) {
		if (claim_irqs_off(racer->rc))
			atomic_inc(&racer->claims);
		cond_resched();
		if (atomic_read(&racer->claims) >= 8)
			break;
	}
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

/*
 * Claims racing with a grow round never activate a chunk twice nor make
 * the worker count a failure: afterwards the active count, the bitmap
 * and the free slots of the idle pool all agree.
 */
static void reclaim_claim_races_grow(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	struct claim_racer racer = { .rc = rc };
	unsigned long fails, active, weight;
	struct task_struct *task;

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	fails = atomic_long_read(&rc->grow_fail_count);
	active = atomic_long_read(&rc->nr_active);
	swiotlb_set_watermarks(rc, 0, swiotlb_free_slots(rc) +
			       8 * rc->chunk_slots);
	mutex_unlock(&rc->lock);

	task = kthread_run(claim_racer_fn, &racer, "swiotlb-claim-racer");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	mutex_lock(&rc->lock);
	swiotlb_grow(rc);
	mutex_unlock(&rc->lock);
	WRITE_ONCE(racer.stop, true);
	kthread_stop(task);
	flush_workqueue(rc->wq);

	mutex_lock(&rc->lock);
	weight = bitmap_weight(rc->pool->active_chunks, rc->nr_chunks);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), weight);
	KUNIT_EXPECT_GE(test, weight, active + atomic_read(&racer.claims));
	/* A chunk published twice would count its slots twice */
	KUNIT_EXPECT_LE(test, swiotlb_free_slots(rc), weight * rc->chunk_slots);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->grow_fail_count), fails);
	swiotlb_set_watermarks(rc, t->saved_low, t->saved_high);
	shrink_to_initial(rc);
	mutex_unlock(&rc->lock);
}

/* Lent, active, standby, lost and withheld chunks make up the region */
static void expect_chunks_add_up(struct kunit *test, struct io_tlb_reclaim *rc)
{
	KUNIT_EXPECT_EQ(test, swiotlb_lent_chunks(rc) +
			atomic_long_read(&rc->nr_active) + rc->nr_lost +
			atomic_long_read(&rc->nr_standby) +
			READ_ONCE(rc->nr_withheld), rc->nr_chunks);
	KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(),
			swiotlb_lent_chunks(rc) * pageblock_nr_pages);
}

/*
 * The standby: the worker fills it with chunks it zeroed and shared; in a
 * guest with memory encryption the map path activates only those, and
 * claims nothing once they are gone, however many lent chunks are free;
 * lowering the target lends them again. The counts add up throughout.
 */
static void reclaim_standby_accounting(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long active, used, chunk;
	struct traced_claim tc;
	bool traced;

	kunit_activate_static_stub(test, swiotlb_chunk_set_shared,
				   fake_set_shared);
	kunit_activate_static_stub(test, swiotlb_claim_needs_standby,
				   fake_needs_standby);
	/* Held throughout, so the worker cannot refill behind the test */
	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	active = atomic_long_read(&rc->nr_active);
	used = atomic_long_read(&rc->standby_used_count);
	expect_chunks_add_up(test, rc);

	KUNIT_ASSERT_EQ(test, swiotlb_set_standby(rc, 2), 0);
	t->share_calls = 0;
	swiotlb_refill_standby(rc);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_standby), 2);
	KUNIT_EXPECT_EQ(test, t->share_calls, 2);
	KUNIT_EXPECT_TRUE(test, t->shared);
	expect_chunks_add_up(test, rc);
	for_each_set_bit(chunk, rc->standby, rc->nr_chunks) {
		KUNIT_EXPECT_FALSE(test, chunk_lookup_active(t->dev, rc, chunk));
		KUNIT_EXPECT_NULL(test, memchr_inv(swiotlb_chunk_vaddr(rc, chunk),
						   0, PAGE_SIZE << pageblock_order));
	}

	traced = trace_claims(test, &tc);
	KUNIT_EXPECT_TRUE(test, claim_irqs_off(rc));
	KUNIT_EXPECT_TRUE(test, claim_irqs_off(rc));
	if (traced) {
		stop_tracing_claims(&tc);
		KUNIT_EXPECT_EQ(test, tc.count, 2);
		KUNIT_EXPECT_TRUE(test, tc.standby);
	}
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_standby), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->standby_used_count),
			used + 2);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 2);
	/* Standby used up: no unshared chunk may be claimed instead */
	KUNIT_EXPECT_FALSE(test, claim_irqs_off(rc));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 2);
	expect_chunks_add_up(test, rc);

	/* Refilled, then the target lowered: all of it is lent again */
	swiotlb_refill_standby(rc);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_standby), 2);
	KUNIT_ASSERT_EQ(test, swiotlb_set_standby(rc, 0), 0);
	swiotlb_refill_standby(rc);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_standby), 0);
	shrink_to_initial(rc);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active);
	expect_chunks_add_up(test, rc);
	mutex_unlock(&rc->lock);
}

/*
 * After a search found no room, a grow round takes a chunk even with the
 * free count at the high watermark (fragmentation can leave no run long
 * enough), and each such round aims twice as far above the watermark;
 * shrinking halves that again. Wholly free lent chunks come straight off
 * the free lists, with no migrating take.
 */
static void reclaim_outran_grows_more(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	unsigned long active, free_grows, takes;

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	free_grows = atomic_long_read(&rc->grow_free_count);
	takes = atomic_long_read(&rc->grow_take_count);
	rc->grow_boost = 0;
	atomic_set(&rc->outran, 0);
	/* At the high watermark: a plain round has nothing to do */
	swiotlb_set_watermarks(rc, 0, swiotlb_free_slots(rc));
	active = atomic_long_read(&rc->nr_active);
	swiotlb_grow(rc);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active);

	atomic_set(&rc->outran, 1);
	swiotlb_grow(rc);
	KUNIT_EXPECT_EQ(test, rc->grow_boost, 1);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 1);

	atomic_set(&rc->outran, 1);
	swiotlb_grow(rc);
	KUNIT_EXPECT_EQ(test, rc->grow_boost, 2);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 2);
	/* An idle guest's lent chunks are wholly free: nothing migrated */
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->grow_free_count),
			free_grows + 2);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->grow_take_count), takes);

	rc->shrink_delay_ms = 0;
	mutex_unlock(&rc->lock);
	swiotlb_shrink_work(&rc->shrink_work.work);
	swiotlb_shrink_work(&rc->shrink_work.work);

	mutex_lock(&rc->lock);
	KUNIT_EXPECT_EQ(test, rc->grow_boost, 1);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active);
	mutex_unlock(&rc->lock);
}

/* What the zone's free pages look like to swiotlb_grow() in the next test */
static unsigned long pretend_zone_free;

static unsigned long zone_free_pretended(struct io_tlb_reclaim *rc)
{
	return pretend_zone_free;
}

/*
 * At the memory edge a grow round after a failed search takes the one
 * chunk the search needs, not the boost: the boost only takes memory the
 * zone has free beyond its high watermark plus a sixteenth of it, a chunk
 * per pageblock above that.
 */
static void reclaim_boost_spares_memory(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	unsigned long active, keep, boost, at_edge, above_edge;

	KUNIT_ASSERT_NOT_NULL(test, rc->zone);
	keep = high_wmark_pages(rc->zone) + swiotlb_reserve_floor(rc->zone);
	kunit_activate_static_stub(test, swiotlb_zone_free_pages,
				   zone_free_pretended);

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	/* At the high watermark: only the boost makes a round grow */
	swiotlb_set_watermarks(rc, 0, swiotlb_free_slots(rc));
	active = atomic_long_read(&rc->nr_active);

	pretend_zone_free = keep;
	rc->grow_boost = 4;
	atomic_set(&rc->outran, 1);
	swiotlb_grow(rc);
	boost = rc->grow_boost;
	at_edge = atomic_long_read(&rc->nr_active) - active;

	pretend_zone_free = keep + 3 * pageblock_nr_pages;
	swiotlb_grow(rc);
	above_edge = atomic_long_read(&rc->nr_active) - active;
	mutex_unlock(&rc->lock);

	KUNIT_EXPECT_EQ(test, boost, 8);
	KUNIT_EXPECT_EQ_MSG(test, at_edge, 1,
			    "a round at the memory edge grew %lu chunks",
			    at_edge);
	KUNIT_EXPECT_EQ_MSG(test, above_edge, 3,
			    "three pageblocks above the edge: %lu chunks over the high watermark",
			    above_edge);
}

/* May the worker try @chunk now? */
static bool test_takeable(struct io_tlb_reclaim *rc, unsigned long chunk)
{
	return swiotlb_chunk_is_lent(rc, chunk) &&
	       !swiotlb_before_deadline(rc->retry_after[chunk],
					SWIOTLB_GROW_RETRY_DELAY);
}

/*
 * A pick reads the struct pages of at most SWIOTLB_PICK_SAMPLE chunks,
 * however large the region, takes the least busy of them, stops at a
 * wholly free one, and goes round the area's lent chunks on successive
 * picks rather than looking at the same few each time.
 */
static void reclaim_pick_is_bounded(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long per_area = swiotlb_chunks_per_area(rc);
	unsigned long chunk, picked, first, last, nr_lent = 0, seen_lent = 0;
	unsigned int round, max_calls = 0, free_calls;
	unsigned long *seen;
	bool least_busy = true;

	t->looked = kunit_kcalloc(test, BITS_TO_LONGS(rc->nr_chunks),
				  sizeof(long), GFP_KERNEL);
	seen = kunit_kcalloc(test, BITS_TO_LONGS(rc->nr_chunks), sizeof(long),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->looked);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	t->free_chunk = ULONG_MAX;
	kunit_activate_static_stub(test, swiotlb_chunk_busy_pages,
				   fake_busy_pages);

	mutex_lock(&rc->lock);
	picked = swiotlb_pick_chunk(rc);
	chunk = picked == ULONG_MAX ? 0 : picked;
	first = swiotlb_chunk_area(rc, chunk) * per_area;
	last = first + per_area;
	for (chunk = first; chunk < last; chunk++)
		nr_lent += test_takeable(rc, chunk);

	for (round = 0; round <= nr_lent / SWIOTLB_PICK_SAMPLE; round++) {
		bitmap_zero(t->looked, rc->nr_chunks);
		t->busy_calls = 0;
		picked = swiotlb_pick_chunk(rc);
		max_calls = max(max_calls, t->busy_calls);
		if (picked == ULONG_MAX)
			break;
		/* Nothing looked at in this round was less busy */
		for_each_set_bit(chunk, t->looked, rc->nr_chunks)
			if (fake_busy(t, chunk) < fake_busy(t, picked))
				least_busy = false;
		bitmap_or(seen, seen, t->looked, rc->nr_chunks);
	}
	for (chunk = first; chunk < last; chunk++)
		seen_lent += test_takeable(rc, chunk) && test_bit(chunk, seen);

	/* The chunk the next pick looks at first is wholly free: it ends there */
	chunk = rc->pick_cursor >= first && rc->pick_cursor < last ?
		rc->pick_cursor : first;
	while (!test_takeable(rc, chunk))
		chunk = chunk + 1 == last ? first : chunk + 1;
	t->free_chunk = chunk;
	t->busy_calls = 0;
	chunk = swiotlb_pick_chunk(rc);
	free_calls = t->busy_calls;
	mutex_unlock(&rc->lock);

	KUNIT_ASSERT_NE(test, picked, ULONG_MAX);
	KUNIT_EXPECT_GT(test, nr_lent, SWIOTLB_PICK_SAMPLE);
	KUNIT_EXPECT_LE(test, max_calls, SWIOTLB_PICK_SAMPLE);
	KUNIT_EXPECT_EQ_MSG(test, seen_lent, nr_lent,
			    "%lu picks looked at %lu of %lu lent chunks",
			    nr_lent / SWIOTLB_PICK_SAMPLE + 1, seen_lent,
			    nr_lent);
	KUNIT_EXPECT_TRUE(test, least_busy);
	KUNIT_EXPECT_EQ(test, chunk, t->free_chunk);
	KUNIT_EXPECT_EQ(test, free_calls, 1);
}

/*
 * When no lent chunk is wholly free, a grow round that wants several
 * chunks takes a run of adjacent lent chunks in one migrating take, and
 * every chunk of the run is in use afterwards.
 */
static void reclaim_grow_takes_runs(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long chunk, end, first = ULONG_MAX, takes, active, i;
	const unsigned long nr = 4;
	bool all_active = true;

	kunit_activate_static_stub(test, swiotlb_grow_free_chunk,
				   fake_no_free_chunk);

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	rc->grow_boost = 0;
	atomic_set(&rc->outran, 0);
	/*
	 * In the area the round will pick from, a chunk with nr - 1 lent
	 * chunks right after it, to start from
	 */
	chunk = swiotlb_pick_chunk(rc);
	end = chunk == ULONG_MAX ? 0 :
	      (swiotlb_chunk_area(rc, chunk) + 1) * swiotlb_chunks_per_area(rc);
	for (; chunk + nr <= end && first == ULONG_MAX; chunk++) {
		for (i = 0; i < nr && test_takeable(rc, chunk + i); i++)
			;
		if (i == nr)
			first = chunk;
	}
	if (first == ULONG_MAX) {
		mutex_unlock(&rc->lock);
		KUNIT_FAIL(test, "no %lu adjacent lent chunks", nr);
		return;
	}
	/* The pick samples from the cursor on: make it start at first */
	rc->pick_cursor = first;
	takes = atomic_long_read(&rc->grow_take_count);
	active = atomic_long_read(&rc->nr_active);
	swiotlb_set_watermarks(rc, 0, swiotlb_free_slots(rc) +
				      (nr - 1) * rc->chunk_slots + 1);
	swiotlb_grow(rc);
	for (i = 0; i < nr; i++)
		all_active &= chunk_lookup_active(t->dev, rc, first + i);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + nr);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->grow_take_count), takes + 1);
	KUNIT_EXPECT_TRUE(test, all_active);

	swiotlb_set_watermarks(rc, t->saved_low, t->saved_high);
	shrink_to_initial(rc);
	mutex_unlock(&rc->lock);
}

/*
 * Make a chunk the test owns withheld again, as boot leaves the chunks it
 * does not lend itself: reserved pages, not counted as managed memory.
 */
static void withhold_chunk(struct io_tlb_reclaim *rc, unsigned long chunk)
{
	struct page *page = pfn_to_page(PHYS_PFN(swiotlb_chunk_phys(rc, chunk)));
	unsigned long i;

	lockdep_assert_held(&rc->lock);
	for (i = 0; i < pageblock_nr_pages; i++)
		SetPageReserved(page + i);
	/* Still counted as managed memory, as boot leaves withheld chunks */
	rc->withheld_counted = true;
	set_bit(chunk, rc->withheld);
	WRITE_ONCE(rc->nr_withheld, rc->nr_withheld + 1);
	/* As boot queues lend_work */
	rc->lend_deferred = 1;
	rc->lend_kept = 0;
	rc->lend_ns = 0;
	rc->lend_queued = local_clock();
}

/*
 * Boot lends the first SWIOTLB_LEND_AT_BOOT of the region and lend_work
 * the rest. Once boot is over nothing is withheld. A withheld chunk is
 * reserved memory: it counts as neither lent nor active, and a grow round
 * whose pick looks at it first (it seems wholly free) leaves it alone and
 * grows with another chunk, without a failed take. lend_work then lends
 * it. MemTotal never changes: withheld chunks count as managed memory from
 * boot on, so it is what it was when boot queued lend_work.
 */
static void reclaim_deferred_lending(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long total = totalram_pages();
	unsigned long chunk, lent_pages, fails, active, withheld;
	bool lent_after;
	struct page *page;

	withheld = READ_ONCE(rc->nr_withheld);
	KUNIT_EXPECT_EQ_MSG(test, withheld, 0,
			    "boot left %lu chunks withheld", withheld);
	/* Boot counted what it left to lend_work as managed memory */
	KUNIT_EXPECT_EQ(test, rc->withheld_counted, rc->lend_deferred > 0);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(rc->withheld, rc->nr_chunks));
	expect_chunks_add_up(test, rc);

	t->looked = kunit_kcalloc(test, BITS_TO_LONGS(rc->nr_chunks),
				  sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->looked);
	t->free_chunk = ULONG_MAX;
	kunit_activate_static_stub(test, swiotlb_grow_free_chunk,
				   fake_no_free_chunk);
	kunit_activate_static_stub(test, swiotlb_chunk_busy_pages,
				   fake_busy_pages);

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	rc->grow_boost = 0;
	atomic_set(&rc->outran, 0);
	chunk = take_lent_chunk(test);
	page = pfn_to_page(PHYS_PFN(swiotlb_chunk_phys(rc, chunk)));
	withhold_chunk(rc, chunk);
	lent_pages = swiotlb_lent_pages();
	KUNIT_EXPECT_EQ(test, totalram_pages(), total);
	KUNIT_EXPECT_FALSE(test, swiotlb_chunk_is_lent(rc, chunk));
	expect_chunks_add_up(test, rc);

	/* One chunk wanted; the pick starts at the withheld chunk */
	t->free_chunk = chunk;
	rc->pick_cursor = chunk;
	fails = atomic_long_read(&rc->grow_fail_count);
	active = atomic_long_read(&rc->nr_active);
	swiotlb_set_watermarks(rc, 0, swiotlb_free_slots(rc) + 1);
	swiotlb_grow(rc);
	KUNIT_EXPECT_FALSE(test, chunk_lookup_active(t->dev, rc, chunk));
	KUNIT_EXPECT_TRUE(test, test_bit(chunk, rc->withheld));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->grow_fail_count), fails);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 1);
	swiotlb_set_watermarks(rc, t->saved_low, t->saved_high);
	shrink_to_initial(rc);

	queue_work(rc->wq, &rc->lend_work);
	mutex_unlock(&rc->lock);
	while (flush_work(&rc->lend_work))
		;

	mutex_lock(&rc->lock);
	lent_after = swiotlb_chunk_is_lent(rc, chunk);
	withheld = rc->nr_withheld;
	mutex_unlock(&rc->lock);
	KUNIT_EXPECT_TRUE(test, lent_after);
	KUNIT_EXPECT_EQ(test, withheld, 0);
	KUNIT_EXPECT_TRUE(test, is_migrate_swiotlb_page(page));
	KUNIT_EXPECT_FALSE(test, PageReserved(page));
	KUNIT_EXPECT_EQ(test, swiotlb_lent_pages(),
			lent_pages + pageblock_nr_pages);
	KUNIT_EXPECT_EQ(test, totalram_pages(), total);
	expect_chunks_add_up(test, rc);
}

/*
 * While grow_work cannot answer (here: it waits for rc->lock), a pool that
 * stays under its low watermark for SWIOTLB_KICK_LAG gets a chunk from the
 * map path itself, before any search fails.
 */
static void reclaim_claims_ahead_when_grow_lags(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long ahead, misses, active, claims;
	phys_addr_t first, second;

	/* Past any kick backoff a previous grow round left */
	msleep(100);
	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	ahead = atomic_long_read(&rc->claim_ahead_count);
	claims = atomic_long_read(&rc->claim_count);
	misses = atomic_long_read(&rc->claim_miss_count);
	active = atomic_long_read(&rc->nr_active);
	/* Every area is under its low watermark */
	swiotlb_set_watermarks(rc, rc->pool->nslabs, rc->pool->nslabs + 1);
	WRITE_ONCE(rc->kicked_at, 0);

	first = test_map(test, t);
	/* Lag: the kick above is not answered, the worker waits for us */
	msleep(jiffies_to_msecs(SWIOTLB_KICK_LAG) + 20);
	second = test_map(test, t);

	KUNIT_EXPECT_NE(test, first, (phys_addr_t)DMA_MAPPING_ERROR);
	KUNIT_EXPECT_NE(test, second, (phys_addr_t)DMA_MAPPING_ERROR);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->claim_ahead_count),
			ahead + 1);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->claim_count), claims + 1);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->claim_miss_count), misses);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->nr_active), active + 1);

	swiotlb_set_watermarks(rc, t->saved_low, t->saved_high);
	mutex_unlock(&rc->lock);
	test_unmap_all(t);
	flush_workqueue(rc->wq);
	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	mutex_unlock(&rc->lock);
}

#ifdef CONFIG_SWIOTLB_DYNAMIC
/* What the swiotlb_reclaim_transient tracepoint reported */
struct traced_transients {
	atomic_t made;
	/* The region's free slots at the last event */
	unsigned long pool_free_slots;
};

static void probe_transient(void *data, size_t size, bool lent,
			    u64 duration_ns, struct zone *zone,
			    unsigned long pool_free_slots, int err)
{
	struct traced_transients *tt = data;

	if (!err && size)
		atomic_inc(&tt->made);
	WRITE_ONCE(tt->pool_free_slots, pool_free_slots);
}

/*
 * A mapping of a whole segment while the region's only free slots are half
 * of one: a transient pool, traced with those free slots, which a search
 * could not use. The caller's probe is still registered: no assertion may
 * end the test here, so failures are expectations that return.
 */
static void map_segment_with_half_free(struct kunit *test,
				       struct traced_transients *tt)
{
	struct reclaim_test *t = test->priv;
	size_t size = IO_TLB_SEGSIZE << IO_TLB_SHIFT;
	unsigned long half = MAP_BYTES >> IO_TLB_SHIFT, traced_free, free;
	void *buf = kunit_kzalloc(test, size, GFP_KERNEL);
	phys_addr_t tlb;

	BUILD_BUG_ON(2 * (MAP_BYTES >> IO_TLB_SHIFT) != IO_TLB_SEGSIZE);
	/* The first mapping is in the region; the full region has no other room */
	free = swiotlb_free_slots(test_rc());
	KUNIT_EXPECT_EQ(test, free, 0UL);
	KUNIT_EXPECT_GT(test, t->nr_maps, 1U);
	KUNIT_EXPECT_NOT_NULL(test, buf);
	if (free || t->nr_maps < 2 || !buf)
		return;
	swiotlb_tbl_unmap_single(t->dev, t->maps[0], MAP_BYTES, DMA_TO_DEVICE, 0);
	t->maps[0] = t->maps[--t->nr_maps];

	tlb = swiotlb_tbl_map_single(t->dev, virt_to_phys(buf), size, 0,
				     DMA_TO_DEVICE, DMA_ATTR_NO_WARN);
	KUNIT_EXPECT_NE(test, tlb, (phys_addr_t)DMA_MAPPING_ERROR);
	if (tlb == (phys_addr_t)DMA_MAPPING_ERROR)
		return;
	traced_free = READ_ONCE(tt->pool_free_slots);
	KUNIT_EXPECT_EQ(test, traced_free, half);
	swiotlb_tbl_unmap_single(t->dev, tlb, size, DMA_TO_DEVICE, 0);
}
#endif

/*
 * With CONFIG_SWIOTLB_DYNAMIC, a mapping the region cannot serve (claims
 * off, worker deaf) gets a transient pool, and that is counted with its
 * latency and traced, with the region's free slots: none when it is full,
 * half a segment's when that is all a whole segment's mapping finds.
 */
static void reclaim_transient_fallback_counted(struct kunit *test)
{
#ifdef CONFIG_SWIOTLB_DYNAMIC
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long transient, active_slots, mapped = 0;
	struct traced_transients tt = { .made = ATOMIC_INIT(0) };
	bool tracing = IS_ENABLED(CONFIG_TRACEPOINTS);

	active_slots = deaf_pool_without_claims(test);
	if (tracing)
		KUNIT_ASSERT_EQ(test,
				register_trace_swiotlb_reclaim_transient(probe_transient,
									 &tt),
				0);
	transient = atomic_long_read(&rc->transient_count);

	do {
		if (test_map(test, t) == (phys_addr_t)DMA_MAPPING_ERROR)
			break;
		mapped = (unsigned long)t->nr_maps * (MAP_BYTES >> IO_TLB_SHIFT);
	} while (mapped < active_slots + 4 * (MAP_BYTES >> IO_TLB_SHIFT));

	KUNIT_EXPECT_GE(test, mapped,
			active_slots + 4 * (MAP_BYTES >> IO_TLB_SHIFT));
	KUNIT_EXPECT_GE(test, atomic_long_read(&rc->transient_count),
			transient + 4);
	KUNIT_EXPECT_GT(test, atomic_long_read(&rc->transient_ns_max), 0);
	if (tracing) {
		/* The full region: no free slot at all */
		KUNIT_EXPECT_EQ(test, tt.pool_free_slots, 0UL);
		map_segment_with_half_free(test, &tt);
		unregister_trace_swiotlb_reclaim_transient(probe_transient,
							   &tt);
		tracepoint_synchronize_unregister();
		KUNIT_EXPECT_EQ(test, atomic_read(&tt.made),
				atomic_long_read(&rc->transient_count) -
				transient);
	}
	test_unmap_all(t);

	mutex_lock(&rc->lock);
	KUNIT_EXPECT_EQ(test, swiotlb_set_atomic_claim(rc, 1), 0);
	swiotlb_set_watermarks(rc, t->saved_low, t->saved_high);
	mutex_unlock(&rc->lock);
	flush_workqueue(rc->wq);
#else
	kunit_skip(test, "needs CONFIG_SWIOTLB_DYNAMIC");
#endif
}

/* Free lent pages of the zone, read until two readings agree */
static unsigned long steady_free_lent(struct zone *zone)
{
	unsigned long before, now = zone_page_state(zone, NR_FREE_SWIOTLB_PAGES);
	int tries = 10;

	do {
		before = now;
		now = zone_page_state(zone, NR_FREE_SWIOTLB_PAGES);
	} while (now != before && --tries);
	return now;
}

/*
 * With CONFIG_SWIOTLB_DYNAMIC, a transient pool that ordinary memory cannot
 * give is made of a free block of a lent chunk (IRQs off, as on the map
 * path): a partly used chunk's block before a wholly free chunk is split,
 * the chunk stays lent (no pool is found at the block's address), and the
 * block goes back to the lent free lists. A device that cannot reach the
 * block gets none, and no page is lost. The pool's struct, when the slab
 * has no room, is a zeroed lent page, freed back there.
 */
static void reclaim_transient_from_lent_block(struct kunit *test)
{
	unsigned int order = get_order(IO_TLB_SEGSIZE << IO_TLB_SHIFT);
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long chunk_pages = 1UL << (rc->pool->chunk_shift - PAGE_SHIFT);
	unsigned long chunk, pfn = 0, whole, lent_blocks, free_lent;
	struct io_tlb_pool *pool;
	unsigned long flags;
	struct page *page;
	phys_addr_t phys;
	int tries;

	mutex_lock(&rc->lock);
	for (chunk = 0; chunk < rc->nr_chunks; chunk++) {
		pfn = PHYS_PFN(swiotlb_chunk_phys(rc, chunk));
		if (swiotlb_chunk_is_lent(rc, chunk) &&
		    !swiotlb_pageblocks_used_pages(pfn, chunk_pages))
			break;
	}
	KUNIT_ASSERT_LT_MSG(test, chunk, rc->nr_chunks,
			    "no wholly free lent chunk");
	/* One page of it in use, as a borrower's would be */
	KUNIT_ASSERT_EQ(test, alloc_contig_range(pfn + 5, pfn + 6,
						 MIGRATE_SWIOTLB, GFP_KERNEL), 0);

	whole = swiotlb_free_pageblocks(rc->zone, ULONG_MAX);
	lent_blocks = atomic_long_read(&rc->transient_lent_count);
	local_irq_save(flags);
	page = swiotlb_reclaim_alloc_tlb(t->dev, PAGE_SIZE << order,
					 DMA_BIT_MASK(64));
	local_irq_restore(flags);
	KUNIT_ASSERT_NOT_NULL(test, page);
	phys = page_to_phys(page);

	KUNIT_EXPECT_EQ_MSG(test, swiotlb_free_pageblocks(rc->zone, ULONG_MAX),
			    whole, "a wholly free lent chunk was split");
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->transient_lent_count),
			lent_blocks + 1);
	KUNIT_EXPECT_GE(test, phys, rc->pool->start);
	KUNIT_EXPECT_LE(test, phys + (PAGE_SIZE << order), rc->pool->end);
	KUNIT_EXPECT_TRUE(test, swiotlb_chunk_is_lent(rc, addr_chunk(rc, phys)));
	KUNIT_EXPECT_NULL(test, swiotlb_find_pool(t->dev, phys));
	KUNIT_EXPECT_EQ(test, page_count(page), 1);
	KUNIT_EXPECT_EQ(test, swiotlb_pageblocks_used_pages(PHYS_PFN(phys),
							    1UL << order),
			1UL << order);

	__free_pages(page, order);
	KUNIT_EXPECT_EQ(test, swiotlb_pageblocks_used_pages(PHYS_PFN(phys),
							    1UL << order), 0);
	KUNIT_EXPECT_EQ(test, get_pageblock_migratetype(page), MIGRATE_SWIOTLB);

	/* Out of the device's reach: given back at once, none counted */
	for (tries = 0; tries < 3; tries++) {
		free_lent = steady_free_lent(rc->zone);
		page = swiotlb_reclaim_alloc_tlb(t->dev, PAGE_SIZE << order,
						 rc->pool->start - 1);
		KUNIT_EXPECT_NULL(test, page);
		if (steady_free_lent(rc->zone) == free_lent)
			break;
	}
	KUNIT_EXPECT_LT_MSG(test, tries, 3, "free lent pages went missing");
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->transient_lent_count),
			lent_blocks + 1);

	/* The pool's struct: a zeroed lent page, given back by its free */
	pool = swiotlb_reclaim_alloc_pool_struct(t->dev, sizeof(*pool));
	KUNIT_ASSERT_NOT_NULL(test, pool);
	phys = virt_to_phys(pool);
	KUNIT_EXPECT_GE(test, phys, rc->pool->start);
	KUNIT_EXPECT_LT(test, phys, rc->pool->end);
	KUNIT_EXPECT_NULL(test, memchr_inv(pool, 0, sizeof(*pool)));
	swiotlb_reclaim_free_pool_struct(pool);
	drain_all_pages(rc->zone);	/* a page freed alone waits on a pcp list */
	KUNIT_EXPECT_EQ(test, swiotlb_pageblocks_used_pages(PHYS_PFN(phys), 1), 0);
	/*
	 * and a slab struct goes back to the slab, as does one of a pool with
	 * many areas, a large kmalloc() folio (freed as a page, it would
	 * corrupt the allocator: the test then crashes rather than fails)
	 */
	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pool);
	swiotlb_reclaim_free_pool_struct(pool);
	pool = kzalloc(4 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pool);
	swiotlb_reclaim_free_pool_struct(pool);

	free_contig_range(pfn + 5, 1);
	mutex_unlock(&rc->lock);
}

static void put_file(void *file)
{
	fput(file);
	/*
	 * From a kthread the last fput is deferred to a work item: without
	 * the flush, the file's page cache is freed while later tests, and
	 * the page allocator's suite, count free lent pages.
	 */
	flush_delayed_fput();
}

static bool folio_pattern(struct folio *folio, pgoff_t index, bool fill)
{
	u32 *words = kmap_local_folio(folio, 0);
	bool same = true;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(u32); i++) {
		if (fill)
			words[i] = index * 4099 + i;
		else if (words[i] != index * 4099 + i)
			same = false;
	}
	kunmap_local(words);
	return same;
}

/*
 * During a burst the page allocator leaves every wholly free lent chunk
 * whole, and once growth has stopped for a while only the goal's worth.
 * Once the pool has shrunk back from a burst that grew it by more chunks
 * than io_tlb_evacuate, evacuation keeps that many lent chunks wholly free
 * for the next one, and the page allocator leaves them whole.
 */
static void reclaim_evacuation_learns_burst(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long target, last, grown, learnt, goal, reserve, in_burst;
	unsigned long quiet, quiet_goal;

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	rc->grow_boost = 0;
	atomic_set(&rc->outran, 0);
	rc->burst_peak = 0;
	last = rc->last_burst;
	target = rc->evacuate_target;
	rc->evacuate_target = 1;
	/* A burst three chunks deep */
	swiotlb_set_watermarks(rc, 0, swiotlb_free_slots(rc) +
			       2 * rc->chunk_slots + 1);
	swiotlb_grow(rc);
	grown = atomic_long_read(&rc->nr_active) - rc->nr_initial;
	in_burst = READ_ONCE(rc->zone->swiotlb_blocks_reserve);
	/* SWIOTLB_BURST_QUIET after the last growth, still grown */
	rc->burst_until = jiffies;
	swiotlb_keep_evacuated(rc);
	quiet = READ_ONCE(rc->zone->swiotlb_blocks_reserve);
	quiet_goal = swiotlb_evacuate_goal(rc);
	shrink_work_now(rc, t);
	learnt = rc->last_burst;
	goal = swiotlb_evacuate_goal(rc);
	reserve = READ_ONCE(rc->zone->swiotlb_blocks_reserve);
	rc->evacuate_target = target;
	rc->last_burst = last;
	swiotlb_keep_evacuated(rc);
	mutex_unlock(&rc->lock);

	KUNIT_EXPECT_EQ(test, grown, 3);
	KUNIT_EXPECT_EQ(test, in_burst, rc->nr_chunks);
	KUNIT_EXPECT_EQ(test, quiet, quiet_goal);
	KUNIT_EXPECT_EQ(test, learnt, grown);
	KUNIT_EXPECT_EQ(test, goal, grown);
	KUNIT_EXPECT_EQ(test, reserve, goal);
}

/**
 * fill_lent_chunks() - page cache until it holds pages in a few lent chunks
 * @test:	The test; its end drops the file and its page cache.
 * @rc:		Lending state.
 * @chunks:	Filled with the lent chunks the pages landed in.
 * @want:	How many different lent chunks.
 * @filled:	Set to the pages written, each with folio_pattern().
 *
 * Movable allocations take lent pages once those are over half of the
 * free memory, so shmem pages land in lent chunks after a while.
 *
 * Return: the file, or an ERR_PTR; the test is failed if fewer than @want
 * lent chunks got a page.
 */
static struct file *fill_lent_chunks(struct kunit *test,
				     struct io_tlb_reclaim *rc,
				     unsigned long *chunks, unsigned int want,
				     pgoff_t *filled)
{
	const gfp_t gfp = GFP_HIGHUSER_MOVABLE | __GFP_NORETRY | __GFP_NOWARN;
	unsigned int found = 0, j;
	struct folio *folio;
	struct file *file;
	pgoff_t i;

	file = shmem_file_setup("swiotlb_reclaim_kunit",
				(loff_t)totalram_pages() << PAGE_SHIFT,
				VM_NORESERVE);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	/* Its page cache goes with it, also when an assertion ends the test */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, put_file, file), 0);

	*filled = 0;
	for (i = 0; i < totalram_pages() && found < want; i++) {
		phys_addr_t phys;
		unsigned long chunk;

		folio = shmem_read_folio_gfp(file->f_mapping, i, gfp);
		if (IS_ERR(folio))
			break;
		*filled = i + 1;
		folio_pattern(folio, i, true);
		folio_mark_dirty(folio);
		phys = PFN_PHYS(folio_pfn(folio));
		folio_put(folio);
		if (phys < rc->pool->start || phys >= rc->pool->end)
			continue;
		chunk = addr_chunk(rc, phys);
		if (!swiotlb_chunk_is_lent(rc, chunk))
			continue;
		for (j = 0; j < found && chunks[j] != chunk; j++)
			;
		if (j == found)
			chunks[found++] = chunk;
	}
	KUNIT_ASSERT_EQ_MSG(test, found, want,
			    "%lu pages of page cache landed in %u lent chunks, not %u",
			    *filled, found, want);
	return file;
}

/* Every page fill_lent_chunks() wrote still holds its pattern */
static void expect_pages_kept(struct kunit *test, struct file *file,
			      pgoff_t filled)
{
	struct folio *folio;
	unsigned int bad = 0;
	pgoff_t i;

	for (i = 0; i < filled; i++) {
		folio = shmem_read_folio(file->f_mapping, i);
		if (IS_ERR(folio) || !folio_pattern(folio, i, false))
			bad++;
		if (!IS_ERR(folio))
			folio_put(folio);
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "%u of %lu pages lost their data",
			    bad, filled);
}

/*
 * A burst the pool could not grow for is learnt by what it needed: slots
 * in use plus the high watermark, here five chunks above the initial ones
 * with no chunk grown (six if a mapping came and went meanwhile).
 */
static void reclaim_burst_peak_counts_demand(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	struct reclaim_test *t = test->priv;
	unsigned long peak, noted;

	mutex_lock(&rc->lock);
	shrink_to_initial(rc);
	peak = rc->burst_peak;
	rc->burst_peak = 0;
	swiotlb_set_watermarks(rc, 0, swiotlb_free_slots(rc) +
			       5 * rc->chunk_slots);
	swiotlb_note_burst_peak(rc);
	noted = rc->burst_peak;
	rc->burst_peak = peak;
	swiotlb_set_watermarks(rc, t->saved_low, t->saved_high);
	mutex_unlock(&rc->lock);

	KUNIT_EXPECT_GE(test, noted, 5);
	KUNIT_EXPECT_LE(test, noted, 6);
}

/*
 * Movable pages in a lent chunk are moved out while the zone has room,
 * which leaves the chunk wholly free for the map path to claim, lent all
 * along; the data survives the move.
 */
static void reclaim_evacuate_empties_chunk(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	unsigned long chunk, target, count, cpfn;
	unsigned int tries;
	pgoff_t filled;
	bool evacuated;
	int err = 0;
	struct file *file;

	file = fill_lent_chunks(test, rc, &chunk, 1, &filled);
	cpfn = PHYS_PFN(swiotlb_chunk_phys(rc, chunk));

	/* Held from here on: evacuate_work waits */
	mutex_lock(&rc->lock);

	/* The policy: fewer wholly free chunks than wanted, room to move to */
	count = atomic_long_read(&rc->evacuate_count);
	target = rc->evacuate_target;
	rc->evacuate_target = rc->nr_chunks;
	evacuated = false;
	for (tries = 0; tries < 3 && !evacuated; tries++)
		evacuated = swiotlb_evacuate_one(rc);
	KUNIT_EXPECT_TRUE(test, evacuated);
	rc->evacuate_target = 0;
	KUNIT_EXPECT_FALSE(test, swiotlb_evacuate_one(rc));

	/* The chunk the page landed in, if the policy chose another one */
	for (tries = 0; tries < 3; tries++) {
		err = swiotlb_evacuate_chunk(rc, chunk);
		if (err != -EBUSY)
			break;
	}
	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, swiotlb_pageblocks_used_pages(cpfn,
							    pageblock_nr_pages), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->evacuate_count), count + 2);
	KUNIT_EXPECT_TRUE(test, swiotlb_chunk_is_lent(rc, chunk));
	KUNIT_EXPECT_TRUE(test, is_migrate_swiotlb_page(pfn_to_page(cpfn)));
	rc->evacuate_target = target;
	mutex_unlock(&rc->lock);

	expect_pages_kept(test, file, filled);
}

/*
 * evacuate_work empties at most io_tlb_evacuate_rate chunks a look, however
 * many it could, and a rate of 0 or over the maximum is refused.
 */
static void reclaim_evacuation_rate_limited(struct kunit *test)
{
	struct io_tlb_reclaim *rc = test_rc();
	unsigned long chunks[4], target, rate, count, rise, most = 0;
	unsigned int tries;
	struct file *file;
	pgoff_t filled;

	rate = READ_ONCE(rc->evacuate_rate);
	KUNIT_EXPECT_EQ(test, swiotlb_set_evacuate_rate(rc, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_set_evacuate_rate(rc, ULONG_MAX), -EINVAL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(rc->evacuate_rate), rate);

	/* Four lent chunks to empty; a look at rate 1 may empty only one */
	file = fill_lent_chunks(test, rc, chunks, ARRAY_SIZE(chunks), &filled);
	KUNIT_ASSERT_EQ(test, swiotlb_set_evacuate_rate(rc, 1), 0);
	mutex_lock(&rc->lock);
	target = rc->evacuate_target;
	rc->evacuate_target = rc->nr_chunks;
	mutex_unlock(&rc->lock);

	for (tries = 0; tries < 3; tries++) {
		/* Run a look now, and only the one this test makes */
		cancel_delayed_work_sync(&rc->evacuate_work);
		count = atomic_long_read(&rc->evacuate_count);
		swiotlb_evacuate_work(&rc->evacuate_work.work);
		rise = atomic_long_read(&rc->evacuate_count) - count;
		most = max(most, rise);
	}
	KUNIT_EXPECT_EQ_MSG(test, most, 1,
			    "a look at rate 1 emptied up to %lu lent chunks",
			    most);

	cancel_delayed_work_sync(&rc->evacuate_work);
	mutex_lock(&rc->lock);
	rc->evacuate_target = target;
	mutex_unlock(&rc->lock);
	KUNIT_EXPECT_EQ(test, swiotlb_set_evacuate_rate(rc, rate), 0);
	mutex_lock(&rc->lock);
	swiotlb_arm_evacuate(rc);
	mutex_unlock(&rc->lock);

	expect_pages_kept(test, file, filled);
}

/* "swiotlb_standby=": chunks from 0 to 64; anything else is reported */
static void reclaim_parse_standby(struct kunit *test)
{
	long chunks;

	KUNIT_EXPECT_EQ(test, swiotlb_parse_standby("3", &chunks), 0);
	KUNIT_EXPECT_EQ(test, chunks, 3);
	KUNIT_EXPECT_EQ(test, swiotlb_parse_standby("0", &chunks), 0);
	KUNIT_EXPECT_EQ(test, chunks, 0);
	KUNIT_EXPECT_EQ(test, swiotlb_parse_standby("x", &chunks), -EINVAL);
	KUNIT_EXPECT_EQ(test, chunks, -1);
	KUNIT_EXPECT_EQ(test, swiotlb_parse_standby("-2", &chunks), -EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_parse_standby(NULL, &chunks), -EINVAL);
	KUNIT_EXPECT_EQ(test, swiotlb_parse_standby("65", &chunks), -ERANGE);
	KUNIT_EXPECT_EQ(test, chunks, 64);
}

static struct kunit_case swiotlb_reclaim_cases[] = {
	KUNIT_CASE(reclaim_parse_overprovision),
	KUNIT_CASE(reclaim_find_pool_slot_level),
	KUNIT_CASE(reclaim_watermark_validation),
	KUNIT_CASE(reclaim_shrink_spares_live_slot),
	KUNIT_CASE(reclaim_grow_on_low_wmark),
	KUNIT_CASE(reclaim_failed_grow_skipped),
	KUNIT_CASE(reclaim_kept_chunk_is_shared),
	KUNIT_CASE(reclaim_accounting_stable),
	KUNIT_CASE(reclaim_grown_chunks_drain),
	KUNIT_CASE(reclaim_double_unmap_ignored),
	KUNIT_CASE(reclaim_claim_serves_burst),
	KUNIT_CASE(reclaim_claimed_chunk_lent_again),
	KUNIT_CASE(reclaim_claim_races_grow),
	KUNIT_CASE(reclaim_standby_accounting),
	KUNIT_CASE(reclaim_parse_standby),
	KUNIT_CASE(reclaim_outran_grows_more),
	KUNIT_CASE(reclaim_boost_spares_memory),
	KUNIT_CASE(reclaim_pick_is_bounded),
	KUNIT_CASE(reclaim_grow_takes_runs),
	KUNIT_CASE(reclaim_deferred_lending),
	KUNIT_CASE(reclaim_claims_ahead_when_grow_lags),
	KUNIT_CASE(reclaim_transient_fallback_counted),
	KUNIT_CASE(reclaim_transient_from_lent_block),
	KUNIT_CASE(reclaim_evacuation_learns_burst),
	KUNIT_CASE(reclaim_burst_peak_counts_demand),
	KUNIT_CASE_SLOW(reclaim_evacuate_empties_chunk),
	KUNIT_CASE_SLOW(reclaim_evacuation_rate_limited),
	/* Last: takes two chunks out of the pool */
	KUNIT_CASE(reclaim_release_chunks),
	{}
};

/*
 * Built-in tests run while the initramfs may still be unpacked: its page
 * cache and, at the end, the freed initrd would move the memory counts
 * the tests compare.
 */
static int reclaim_suite_init(struct kunit_suite *suite)
{
	wait_for_initramfs();
	return 0;
}

/*
 * The page allocator's suite runs next and counts free lent pages to the
 * page: evacuation, re-armed by the tests above, could move pages out of a
 * lent chunk behind its back.
 */
static void reclaim_suite_exit(struct kunit_suite *suite)
{
	struct io_tlb_reclaim *rc = test_rc();

	mutex_lock(&rc->lock);
	rc->evacuate_target = 0;
	swiotlb_keep_evacuated(rc);
	mutex_unlock(&rc->lock);
	cancel_delayed_work_sync(&rc->evacuate_work);
}

static struct kunit_suite swiotlb_reclaim_suite = {
	.name = "swiotlb_reclaim",
	.suite_init = reclaim_suite_init,
	.suite_exit = reclaim_suite_exit,
	.init = reclaim_test_init,
	.exit = reclaim_test_exit,
	.test_cases = swiotlb_reclaim_cases,
};

kunit_test_suite(swiotlb_reclaim_suite);
