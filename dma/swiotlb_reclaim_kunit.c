// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the swiotlb side of MIGRATE_SWIOTLB. Included from
 * swiotlb_reclaim.c so that they can drive the grow and shrink steps
 * directly. They work on the default pool and need a kernel booted with
 * "swiotlb=<n>,force swiotlb_overprovision=<N>".
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/dma-mapping.h>
#include <linux/slab.h>

#define MAP_BYTES	(64 * IO_TLB_SIZE)
#define MAX_MAPS	4096

struct reclaim_test {
	struct device *dev;
	void *buf;
	phys_addr_t maps[MAX_MAPS];
	unsigned int nr_maps;
	unsigned long saved_low, saved_high, saved_delay;
};

static struct io_tlb_reclaim *test_rc(void)
{
	return &default_reclaim;
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
	active = rc->nr_active;
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
	KUNIT_EXPECT_GT(test, READ_ONCE(rc->nr_active), active);
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
	unsigned long fails, active, first, chunk;

	mutex_lock(&rc->lock);
	fails = atomic_long_read(&rc->grow_fail_count);
	active = rc->nr_active;
	first = swiotlb_pick_chunk(rc);
	KUNIT_ASSERT_NE(test, first, ULONG_MAX);

	rc->fail_grow = 1;
	swiotlb_set_watermarks(rc, 0, swiotlb_free_slots(rc) + 1);
	swiotlb_grow(rc);

	KUNIT_EXPECT_EQ(test, atomic_long_read(&rc->grow_fail_count), fails + 1);
	KUNIT_EXPECT_EQ(test, rc->nr_active, active + 1);
	KUNIT_EXPECT_FALSE(test, chunk_lookup_active(t->dev, rc, first));
	KUNIT_EXPECT_TRUE(test,
			  swiotlb_before_deadline(rc->retry_after[first],
						  SWIOTLB_GROW_RETRY_DELAY));
	rc->retry_after[first] = 0;

	/* Idle and above the high watermark: shrink to the initial size */
	swiotlb_set_watermarks(rc, t->saved_low, t->saved_high);
	rc->shrink_delay_ms = 0;
	mutex_unlock(&rc->lock);

	swiotlb_shrink_work(&rc->shrink_work.work);
	swiotlb_shrink_work(&rc->shrink_work.work);

	mutex_lock(&rc->lock);
	KUNIT_EXPECT_EQ(test, rc->nr_active, rc->nr_initial);
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

static struct kunit_case swiotlb_reclaim_cases[] = {
	KUNIT_CASE(reclaim_parse_overprovision),
	KUNIT_CASE(reclaim_find_pool_slot_level),
	KUNIT_CASE(reclaim_watermark_validation),
	KUNIT_CASE(reclaim_shrink_spares_live_slot),
	KUNIT_CASE(reclaim_grow_on_low_wmark),
	KUNIT_CASE(reclaim_failed_grow_skipped),
	{}
};

static struct kunit_suite swiotlb_reclaim_suite = {
	.name = "swiotlb_reclaim",
	.init = reclaim_test_init,
	.exit = reclaim_test_exit,
	.test_cases = swiotlb_reclaim_cases,
};

kunit_test_suite(swiotlb_reclaim_suite);
