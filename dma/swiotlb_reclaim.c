// SPDX-License-Identifier: GPL-2.0
/*
 * Overprovisioned swiotlb: lend the unused part of the default pool to the
 * page allocator and take it back when bounce buffers run low.
 *
 * With "swiotlb_overprovision=N" the default pool is allocated N times as
 * large as "swiotlb=" asks for. One slot allocator manages all of it, so
 * alignment and segment-boundary rules keep working, but only some of its
 * pageblock-sized chunks are active (their slots can be allocated). The
 * others are lent to the page allocator as MIGRATE_SWIOTLB pageblocks,
 * which only movable allocations may use.
 *
 * The map path never sleeps: when an area runs short of free slots it
 * kicks grow_work, which takes lent chunks back with alloc_contig_range()
 * (migrating the pages that live there) and activates their slots. When a
 * search fails outright, the map path claims a lent chunk none of whose
 * pages is in use straight off the page allocator's free lists and
 * activates it itself (swiotlb_reclaim_claim()). A periodic shrink_work
 * lends fully free chunks again once the pool has stayed above its high
 * watermark for a while.
 *
 * This file holds the chunk state machine (lent, active, lost) with its
 * ordering protocol, and setting the region up and tearing it down.
 * When to grow and shrink is decided in swiotlb_reclaim_policy.c; the
 * debugfs files are in swiotlb_reclaim_debugfs.c.
 *
 * Memory ordering
 * ---------------
 * swiotlb_find_pool() decides "bounce buffer or not" from
 * pool->active_chunks without a lock. Two transitions change that bitmap.
 *
 * Activation (grow): no one holds an address in a chunk that is being
 * activated. Its pages were just migrated away by alloc_contig_range(),
 * which fails while any of them is pinned, and a live DMA mapping of a
 * page in a lent chunk pins that page until after the mapping is torn
 * down. swiotlb_activate_chunk() sets the bit, then smp_mb(), then
 * publishes the slots under the area lock. Whoever allocates one of the new slots
 * takes that lock afterwards, and the full barrier makes the bit visible
 * to every CPU before the slots are, so any CPU that later learns a slot
 * address (from the driver, through whatever chain) and issues the
 * smp_rmb() in swiotlb_pool_slot_active() sees the bit set.
 *
 * Retirement (shrink) is the dangerous direction (Catalin Marinas's
 * scenario in the dynamic-swiotlb review): CPU0 retires a chunk and frees
 * its pages; CPU1 allocates one of those pages, a driver maps it without
 * bouncing and hands the DMA address to CPU2, whose unmap calls
 * swiotlb_find_pool(). If CPU2 still saw the chunk as active, it would
 * "bounce" garbage over the page and free slots that were never
 * allocated. swiotlb_retire_chunk() therefore:
 *
 *   1. withdraws the slots under the area lock, failing if any is in use,
 *      so no new bounce buffer can be allocated in the chunk;
 *   2. clears the bit;
 *   3. smp_mb();
 *   4. only then frees the pages to the buddy allocator.
 *
 * The page reaches CPU1 through the zone lock or a per-cpu list and the
 * address reaches CPU2 through the driver; none of those steps is needed
 * to be a full barrier. The smp_mb() in step 3 is: it orders the clear
 * before the store that frees the page, and makes it visible to all CPUs
 * before that store is visible to any (a lock release/acquire chain alone
 * is not cumulative enough on every architecture, see
 * ARCH_WEAK_RELEASE_ACQUIRE). CPU2's smp_rmb() between loading the address
 * and loading the bitmap completes the pairing. smp_mb__after_atomic()
 * after clear_bit()/set_bit() is that full barrier.
 *
 * Growing and retiring run under rc->lock, one chunk at a time; a grow
 * may take a run of adjacent lent chunks in one alloc_contig_range() and
 * then activates them one by one, each as above.
 *
 * Claim (the map path activates a lent chunk, swiotlb_reclaim_claim()) is
 * the activation above without rc->lock, in any context. The page
 * allocator hands over a pageblock that was wholly free under the zone
 * lock, so no one holds an address in it, and the bit is set before the
 * slots are published, as for grow. What keeps it apart from the worker:
 *
 *  - grow: a chunk is claimable only while all of its pages are free on
 *    the MIGRATE_SWIOTLB lists. alloc_contig_range() isolates the pageblock
 *    under the zone lock before it migrates anything, which moves those
 *    pages to the isolate lists; if the claim took the chunk first, the
 *    take fails with -EBUSY (the pages are in use) and the worker, which
 *    then finds the bit set, does not count that as a failure.
 *  - retire: the pages are freed in step 4, after the bit was cleared, so
 *    a claim can only see a chunk whose retirement is complete.
 *  - teardown: claims run under rcu_read_lock() and only while rc->wq is
 *    set; swiotlb_reclaim_exit() clears it and waits for an RCU grace
 *    period before it frees any chunk.
 *
 * rc->nr_active is therefore atomic; a claimed chunk is shrunk and lent
 * again like any other. grow_work takes wholly free chunks off the free
 * lists the same way (swiotlb_grow_free_chunk()), under rc->lock, and
 * zeroes and shares them before activating them as any grow does.
 *
 * Withheld chunks: from boot until they are lent, the chunks that are not
 * initially active are reserved memory with their slots withdrawn, set in
 * rc->withheld. Boot lends only the first SWIOTLB_LEND_AT_BOOT of them;
 * lend_work lends the rest (swiotlb_reclaim_lend_init()). A withheld chunk
 * is in no state the workers act on: swiotlb_chunk_is_lent() is false for
 * it, so grow, standby and evacuation never pick it, shrink only looks at
 * active chunks, and swiotlb_lent_chunks() does not count it. Claims take
 * pageblocks off the free lists, where a withheld chunk's pages are not.
 * Its pages count as managed memory from boot on, as if allocated, so
 * lending it changes no total (swiotlb_count_withheld()).
 */

#define pr_fmt(fmt) "swiotlb: " fmt

#include <linux/bitmap.h>
#include <linux/cc_platform.h>
#include <linux/init.h>
#include <linux/kmemleak.h>
#include <linux/kstrtox.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/page-swiotlb.h>
#include <linux/sched/clock.h>
#include <linux/set_memory.h>
#include <linux/sizes.h>
#include <linux/swiotlb.h>
#include <linux/workqueue.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#include "swiotlb_reclaim_internal.h"

#define CREATE_TRACE_POINTS
#include <trace/events/swiotlb_reclaim.h>

/* Largest ratio accepted on the command line */
#define SWIOTLB_OVERPROVISION_MAX	64
/*
 * The region never takes more than this fraction of the memory below the
 * address limit it is allocated under (all of memory for SWIOTLB_ANY).
 * Until it is lent (core_initcall) it is unavailable, and early users size
 * themselves from what is left: the rootfs tmpfs that the initramfs is
 * unpacked into may use half of the memory there is when it is mounted.
 * Lent, it is movable-only memory in the zones GFP_DMA32 and GFP_DMA
 * allocations come from, which it must not crowd out.
 */
#define SWIOTLB_REGION_MAX_PERCENT	40
/*
 * Wholly free lent chunks evacuate_work keeps by default: three times the
 * initial pool, at least 4, at most a quarter of the lent chunks. A burst
 * of 128 MiB in flight against 16 MiB active right after memory pressure
 * (make bench) failed mappings with 4 (the worker takes them first and
 * must migrate the rest while the writers wait) and none with 24.
 */
#define SWIOTLB_EVACUATE_MIN		4
#define SWIOTLB_EVACUATE_PER_INITIAL	3
/*
 * Lent chunks evacuation empties a second at most: 8 fill the default
 * goal for a 16 MiB pool in 3 s and a 60-chunk one in 8 s (at 4, bursts 8 s
 * after pressure eased found 37 to 55 of those 60 and requeued requests),
 * for 3 to 27 ms of CPU per chunk under TCG.
 */
#define SWIOTLB_EVACUATE_RATE		8
/* Largest "swiotlb_standby=" accepted, in chunks */
#define SWIOTLB_STANDBY_MAX		64
/*
 * Default standby in a guest with memory encryption, in chunks: half as
 * much again as the default 16 MiB pool before the worker has to follow.
 * A burst of 128 MiB in flight against 16 MiB active (the burst-ms
 * scenario) has the map path claim 10 to 28 chunks where it may claim
 * any; such guests want "swiotlb_standby=" or a larger "swiotlb=".
 */
#define SWIOTLB_STANDBY_COCO		4
/*
 * Withheld chunks boot lends at core_initcall, at most: lending costs about
 * 30 instructions a page (every struct page goes to the free lists), so a
 * bounded part keeps boot flat in the size of the region, as deferred
 * struct page initialisation does for RAM. lend_work lends the rest in the
 * background. 64 MiB is there at once for a small machine, which may need
 * the memory to unpack the initramfs before lend_work has run.
 */
#define SWIOTLB_LEND_AT_BOOT		SZ_64M
/*
 * Most lend_work lends under rc->lock in one go: about 0.3 ms under TCG,
 * as long as grow_work may have to wait for it.
 */
#define SWIOTLB_LEND_RUN		SZ_32M

static unsigned int swiotlb_overprovision = 1;
/* "swiotlb_standby=": chunks, or -1 for the default */
static long swiotlb_standby = -1;

static void swiotlb_lend_work(struct work_struct *work);

struct io_tlb_reclaim swiotlb_default_reclaim = {
	.lock = __MUTEX_INITIALIZER(swiotlb_default_reclaim.lock),
	.grow_work = __WORK_INITIALIZER(swiotlb_default_reclaim.grow_work,
					swiotlb_grow_work),
	.shrink_work = __DELAYED_WORK_INITIALIZER(swiotlb_default_reclaim.shrink_work,
						  swiotlb_shrink_work, 0),
	/* Deferrable: an idle machine is not woken up to evacuate */
	.evacuate_work = __DELAYED_WORK_INITIALIZER(swiotlb_default_reclaim.evacuate_work,
						    swiotlb_evacuate_work,
						    TIMER_DEFERRABLE),
	.evacuate_target = SWIOTLB_EVACUATE_MIN,
	.evacuate_rate = SWIOTLB_EVACUATE_RATE,
	.lend_work = __WORK_INITIALIZER(swiotlb_default_reclaim.lend_work,
					swiotlb_lend_work),
};

/**
 * swiotlb_parse_overprovision() - parse "swiotlb_overprovision="
 * @str:	The value after the '=', or %NULL if there was none.
 * @ratio:	Where the ratio to use goes; 1 (no overprovisioning) unless
 *		@str is valid.
 *
 * Every rejected value is reported with the parameter's name and what is
 * done instead; boot goes on either way.
 *
 * Return: 0 if @str was valid, -EINVAL if it was rejected (@ratio is 1),
 * -ERANGE if it was too large (@ratio is the maximum).
 */
VISIBLE_IF_KUNIT int swiotlb_parse_overprovision(const char *str,
						 unsigned int *ratio)
{
	unsigned int val;

	*ratio = 1;
	if (!str || !*str) {
		pr_err("swiotlb_overprovision: missing value; not overprovisioning\n");
		return -EINVAL;
	}
	if (kstrtouint(str, 10, &val)) {
		pr_err("swiotlb_overprovision=%s: not a whole number from 1 to %u; not overprovisioning\n",
		       str, SWIOTLB_OVERPROVISION_MAX);
		return -EINVAL;
	}
	if (!val) {
		pr_err("swiotlb_overprovision=0: the ratio must be at least 1; not overprovisioning\n");
		return -EINVAL;
	}
	if (val > SWIOTLB_OVERPROVISION_MAX) {
		pr_warn("swiotlb_overprovision=%u: larger than %u; using %u\n",
			val, SWIOTLB_OVERPROVISION_MAX,
			SWIOTLB_OVERPROVISION_MAX);
		*ratio = SWIOTLB_OVERPROVISION_MAX;
		return -ERANGE;
	}
	*ratio = val;
	return 0;
}

/**
 * swiotlb_reclaim_memory_below() - memory a low allocation may come from
 * @limit:	Highest physical address such an allocation may use.
 *
 * Return: the bytes of memory memblock knows of at or below @limit.
 */
static phys_addr_t __init swiotlb_reclaim_memory_below(phys_addr_t limit)
{
	phys_addr_t start, end, size = 0;
	u64 i;

	for_each_mem_range(i, &start, &end) {
		if (start > limit)
			break;
		size += min(end - 1, limit) - start + 1;
	}
	return size;
}

/**
 * swiotlb_parse_standby() - parse "swiotlb_standby="
 * @str:	The value after the '=', or %NULL if there was none.
 * @chunks:	Where the standby size goes: the value if valid, else -1
 *		(the default) or, if too large, the maximum.
 *
 * Return: 0 if @str was valid, -EINVAL or -ERANGE (reported) if not.
 */
VISIBLE_IF_KUNIT int swiotlb_parse_standby(const char *str, long *chunks)
{
	unsigned int val;

	*chunks = -1;
	if (!str || !*str || kstrtouint(str, 10, &val)) {
		pr_err("swiotlb_standby=%s: not a whole number of chunks from 0 to %u; using the default\n",
		       str ?: "", SWIOTLB_STANDBY_MAX);
		return -EINVAL;
	}
	if (val > SWIOTLB_STANDBY_MAX) {
		pr_warn("swiotlb_standby=%u: larger than %u; using %u\n",
			val, SWIOTLB_STANDBY_MAX, SWIOTLB_STANDBY_MAX);
		*chunks = SWIOTLB_STANDBY_MAX;
		return -ERANGE;
	}
	*chunks = val;
	return 0;
}

static int __init setup_swiotlb_standby(char *str)
{
	swiotlb_parse_standby(str, &swiotlb_standby);
	return 0;
}
early_param("swiotlb_standby", setup_swiotlb_standby);

static int __init setup_swiotlb_overprovision(char *str)
{
	swiotlb_parse_overprovision(str, &swiotlb_overprovision);
	/* A bad value has been reported; do not make boot complain again */
	return 0;
}
early_param("swiotlb_overprovision", setup_swiotlb_overprovision);

/**
 * swiotlb_reclaim_memblock_alloc() - allocate an overprovisioned region
 * @nslabs:	In: slots the active part needs. Out: slots in the region.
 * @nareas:	Number of areas the pool will have.
 * @flags:	SWIOTLB_* flags of swiotlb_init_remap().
 * @remap:	Remapping callback of swiotlb_init_remap(), if any.
 *
 * Allocates "swiotlb_overprovision" times the active size, pageblock
 * aligned and rounded to whole chunks per area, below the same limit as
 * the plain pool and within SWIOTLB_REGION_MAX_PERCENT of the memory below
 * that limit. Falls back to smaller ratios if that does not fit.
 *
 * Return: the region, or %NULL (with the reason logged) if the pool should
 * be allocated the usual way.
 */
void * __init swiotlb_reclaim_memblock_alloc(unsigned long *nslabs,
					     unsigned int *nareas,
					     unsigned int flags,
					     int (*remap)(void *tlb,
							  unsigned long nslabs))
{
	unsigned long chunk_slots = swiotlb_chunk_slots();
	unsigned long max_slots, areas, region = 0;
	phys_addr_t align = PAGE_SIZE << pageblock_order;
	unsigned int ratio = swiotlb_overprovision;
	phys_addr_t usable;
	void *tlb = NULL;

	if (ratio <= 1)
		return NULL;
	if (remap) {
		pr_warn("swiotlb_overprovision=%u: not supported for a remapped pool; not overprovisioning\n",
			ratio);
		return NULL;
	}
	if (chunk_slots % IO_TLB_SEGSIZE) {
		pr_warn("swiotlb_overprovision=%u: pageblocks are too small to lend; not overprovisioning\n",
			ratio);
		return NULL;
	}

	usable = swiotlb_reclaim_memory_below(flags & SWIOTLB_ANY ?
					      PHYS_ADDR_MAX :
					      ARCH_LOW_ADDRESS_LIMIT);
	max_slots = div_u64(usable * SWIOTLB_REGION_MAX_PERCENT, 100) >>
		    IO_TLB_SHIFT;
	/*
	 * Each area needs a chunk of its own from the start. With an area per
	 * CPU, 64 CPUs would make the active part 64 chunks (128 MiB) however
	 * little "swiotlb=" asks for, more than a plain pool would hold. Use
	 * fewer areas instead: no more than the chunks asked for. Fewer areas
	 * mean more CPUs per area lock; the map path holds it only for the
	 * slot search.
	 */
	areas = min_t(unsigned long, *nareas,
		      rounddown_pow_of_two(DIV_ROUND_UP(*nslabs, chunk_slots)));
	for (; ratio > 1; ratio--) {
		region = roundup(*nslabs * ratio, chunk_slots * areas);
		if (region > max_slots)
			continue;
		/*
		 * Not zeroed: most of it goes to the page allocator, and zeroing
		 * a GiB takes a noticeable part of boot. The active chunks are
		 * zeroed in swiotlb_reclaim_init_pool(), others when activated.
		 */
		tlb = memblock_alloc_try_nid_raw(region << IO_TLB_SHIFT, align,
						 MEMBLOCK_LOW_LIMIT,
						 flags & SWIOTLB_ANY ?
						 MEMBLOCK_ALLOC_ACCESSIBLE :
						 ARCH_LOW_ADDRESS_LIMIT,
						 NUMA_NO_NODE);
		if (tlb)
			break;
	}

	if (!tlb) {
		pr_warn("swiotlb_overprovision=%u: no room for a larger region (at most %u%% of the %llu MiB it may come from); using a plain pool\n",
			swiotlb_overprovision, SWIOTLB_REGION_MAX_PERCENT,
			(u64)usable >> 20);
		return NULL;
	}
	if (ratio != swiotlb_overprovision)
		pr_warn("swiotlb_overprovision=%u: does not fit in %u%% of the %llu MiB it may come from; using %u\n",
			swiotlb_overprovision, SWIOTLB_REGION_MAX_PERCENT,
			(u64)usable >> 20, ratio);

	if (areas != *nareas)
		pr_info("swiotlb_overprovision: %lu areas, not %u: each needs an active chunk, and %lu MiB active make %lu chunks\n",
			areas, *nareas, (*nslabs << IO_TLB_SHIFT) >> 20,
			DIV_ROUND_UP(*nslabs, chunk_slots));
	*nslabs = region;
	*nareas = areas;
	return tlb;
}

/**
 * swiotlb_reclaim_init_pool() - start lending the chunks of a region
 * @pool:	Pool initialised over a region from
 *		swiotlb_reclaim_memblock_alloc().
 * @active_nslabs: Slots that are to be active from the start.
 *
 * Spreads the initially active chunks evenly over the areas and withholds
 * the slots of the others. The pages of those are lent later, once the
 * page allocator is up (swiotlb_reclaim_lend_init()).
 */
void __init swiotlb_reclaim_init_pool(struct io_tlb_pool *pool,
				      unsigned long active_nslabs)
{
	struct io_tlb_reclaim *rc = &swiotlb_default_reclaim;
	unsigned long chunk_slots = swiotlb_chunk_slots();
	unsigned long nr_chunks = pool->nslabs / chunk_slots;
	size_t bitmap_bytes = BITS_TO_LONGS(nr_chunks) * sizeof(long);
	unsigned long i, per_area, nr_initial;
	phys_addr_t last;

	nr_initial = min(DIV_ROUND_UP(active_nslabs, chunk_slots), nr_chunks);
	if (nr_initial < pool->nareas)
		nr_initial = min_t(unsigned long, pool->nareas, nr_chunks);

	pool->active_chunks = memblock_alloc(bitmap_bytes, SMP_CACHE_BYTES);
	rc->lost = memblock_alloc(bitmap_bytes, SMP_CACHE_BYTES);
	rc->standby = memblock_alloc(bitmap_bytes, SMP_CACHE_BYTES);
	rc->withheld = memblock_alloc(bitmap_bytes, SMP_CACHE_BYTES);
	rc->retry_after = memblock_alloc(nr_chunks * sizeof(long),
					 SMP_CACHE_BYTES);
	if (!pool->active_chunks || !rc->lost || !rc->standby ||
	    !rc->withheld || !rc->retry_after) {
		pr_warn("swiotlb_overprovision: no memory for chunk state; the whole region stays active\n");
		pool->active_chunks = NULL;
		/* Allocated raw, it is all in use now */
		memset(pool->vaddr, 0, pool->nslabs << IO_TLB_SHIFT);
		return;
	}

	rc->pool = pool;
	rc->nr_chunks = nr_chunks;
	rc->chunk_slots = chunk_slots;
	pool->chunk_shift = PAGE_SHIFT + pageblock_order;

	/* Active chunks first in every area, so that no area starts empty */
	per_area = swiotlb_chunks_per_area(rc);
	for (i = 0; i < nr_initial; i++)
		set_bit((i % pool->nareas) * per_area + i / pool->nareas,
			pool->active_chunks);
	/* The region was allocated raw: zero what is in use from the start */
	for_each_set_bit(i, pool->active_chunks, nr_chunks)
		memset(pool->vaddr + i * (chunk_slots << IO_TLB_SHIFT), 0,
		       chunk_slots << IO_TLB_SHIFT);
	for (i = 0; i < nr_chunks; i++) {
		if (test_bit(i, pool->active_chunks))
			continue;
		swiotlb_withdraw_slots(pool, i * chunk_slots, chunk_slots);
		set_bit(i, rc->withheld);
	}

	rc->nr_initial = nr_initial;
	rc->nr_withheld = nr_chunks - nr_initial;
	atomic_long_set(&rc->nr_active, nr_initial);
	rc->shrink_delay_ms = SWIOTLB_SHRINK_DELAY_MS;
	rc->evacuate_target = clamp(SWIOTLB_EVACUATE_PER_INITIAL * nr_initial,
				    (unsigned long)SWIOTLB_EVACUATE_MIN,
				    max((nr_chunks - nr_initial) / 4,
					(unsigned long)SWIOTLB_EVACUATE_MIN));
	/*
	 * Grow once a quarter of the initial pool is in use, back to all of it
	 * free. Starting early matters more than the count suggests: mappings
	 * of up to IO_TLB_SEGSIZE slots need a whole free segment, and those
	 * run out through fragmentation well before the free slots do.
	 */
	swiotlb_set_watermarks(rc, nr_initial * chunk_slots * 3 / 4,
			       nr_initial * chunk_slots);
	pool->reclaim = rc;

	last = pool->end - 1;
	pr_info("swiotlb_overprovision: %lu MiB region, %lu MiB active, %lu MiB to lend [mem %pa-%pa]\n",
		(pool->nslabs << IO_TLB_SHIFT) >> 20,
		(nr_initial * chunk_slots << IO_TLB_SHIFT) >> 20,
		((nr_chunks - nr_initial) * chunk_slots << IO_TLB_SHIFT) >> 20,
		&pool->start, &last);
}

/**
 * swiotlb_chunk_set_shared() - share a chunk with the host, or stop sharing
 * @rc:		Lending state.
 * @chunk:	Chunk whose pages swiotlb owns.
 * @shared:	%true to share (decrypt), %false to make private again.
 *
 * In a guest with memory encryption, devices can only reach shared
 * memory: every active chunk must be shared, and a chunk must be private
 * before its pages go to the page allocator. Elsewhere this does nothing.
 *
 * Context: Process context; may sleep.
 * Return: 0, or the error of set_memory_decrypted()/set_memory_encrypted(),
 * after which the chunk's encryption state is unknown.
 */
VISIBLE_IF_KUNIT int swiotlb_chunk_set_shared(struct io_tlb_reclaim *rc,
					      unsigned long chunk, bool shared)
{
	unsigned long vaddr = (unsigned long)swiotlb_chunk_vaddr(rc, chunk);

	KUNIT_STATIC_STUB_REDIRECT(swiotlb_chunk_set_shared, rc, chunk, shared);
	if (!cc_platform_has(CC_ATTR_MEM_ENCRYPT))
		return 0;
	if (shared)
		return set_memory_decrypted(vaddr, pageblock_nr_pages);
	return set_memory_encrypted(vaddr, pageblock_nr_pages);
}

/**
 * swiotlb_reclaim_update_mem_attributes() - share only the active chunks
 * @pool:	The default pool.
 *
 * In a guest with memory encryption only active chunks are shared with
 * the host; lent chunks are ordinary private memory.
 *
 * Return: %true if @pool lends chunks and was handled here.
 */
bool __init swiotlb_reclaim_update_mem_attributes(struct io_tlb_pool *pool)
{
	struct io_tlb_reclaim *rc = pool->reclaim;
	unsigned long chunk;

	if (!rc)
		return false;
	/* As for a plain pool, a failure here is not reported */
	for_each_set_bit(chunk, pool->active_chunks, rc->nr_chunks)
		swiotlb_chunk_set_shared(rc, chunk, true);
	return true;
}

/**
 * swiotlb_free_slots() - free slots in the active chunks of the pool
 * @rc:		Lending state.
 *
 * Return: the sum over the areas; a racy snapshot unless rc->lock and every
 * area lock are held, good enough for watermark decisions.
 */
unsigned long swiotlb_free_slots(struct io_tlb_reclaim *rc)
{
	unsigned long free = 0;
	unsigned int i;

	for (i = 0; i < rc->pool->nareas; i++)
		free += swiotlb_area_free_slots(rc->pool, i);
	return free;
}

/**
 * swiotlb_used_slots() - slots in use in the active chunks of the pool
 * @rc:		Lending state.
 *
 * Return: active slots less swiotlb_free_slots(); the same racy snapshot.
 */
unsigned long swiotlb_used_slots(struct io_tlb_reclaim *rc)
{
	unsigned long active = atomic_long_read(&rc->nr_active) *
			       rc->chunk_slots;

	return active - min(active, swiotlb_free_slots(rc));
}

static void swiotlb_lose_chunk(struct io_tlb_reclaim *rc, unsigned long chunk,
			       const char *why)
{
	pr_err("chunk at %#llx cannot be %s; it stays out of use\n",
	       (u64)swiotlb_chunk_phys(rc, chunk), why);
	set_bit(chunk, rc->lost);
	WRITE_ONCE(rc->nr_lost, rc->nr_lost + 1);
}

/*
 * Make a chunk's slots allocatable: the activation half of the protocol in
 * "Memory ordering" at the top of this file.
 */
static void swiotlb_activate_chunk(struct io_tlb_reclaim *rc,
				   unsigned long chunk)
{
	set_bit(chunk, rc->pool->active_chunks);
	/* Bit visible everywhere before any slot is */
	smp_mb__after_atomic();
	swiotlb_publish_slots(rc->pool, chunk * rc->chunk_slots,
			      rc->chunk_slots);
}

/*
 * Take a free active chunk out of use, steps 1 to 3 of retirement in
 * "Memory ordering" at the top of this file. Returns false, changing
 * nothing, if a slot of the chunk is in use.
 */
static bool swiotlb_deactivate_chunk(struct io_tlb_reclaim *rc,
				     unsigned long chunk)
{
	if (!swiotlb_withdraw_slots(rc->pool, chunk * rc->chunk_slots,
				    rc->chunk_slots))
		return false;

	clear_bit(chunk, rc->pool->active_chunks);
	/*
	 * Cleared bit visible everywhere before the pages can be handed out;
	 * pairs with smp_rmb() in swiotlb_pool_slot_active().
	 */
	smp_mb__after_atomic();
	return true;
}

/*
 * Zero a chunk swiotlb owns, so that nothing the pages held before (a
 * borrower's data, or anything at boot) can reach a device through a bounce
 * buffer's padding, and share it with the host in a CoCo guest. Returns
 * -EIO if it could not be shared; it is lost then.
 */
static int swiotlb_prepare_chunk(struct io_tlb_reclaim *rc, unsigned long chunk)
{
	memset(swiotlb_chunk_vaddr(rc, chunk), 0, PAGE_SIZE << pageblock_order);
	if (swiotlb_chunk_set_shared(rc, chunk, true)) {
		/* Its state is unknown now: neither share nor lend it */
		swiotlb_lose_chunk(rc, chunk, "shared with the host");
		return -EIO;
	}
	return 0;
}

/*
 * Take the pages of @nr adjacent lent chunks back, migrating what lives
 * there, or fail as if they were busy when @inject_failure
 * (io_tlb_fail_grow). A failure on chunks of which the map path claimed
 * one meanwhile is -EALREADY (see "Claim" at the top).
 */
static int swiotlb_take_lent_chunks(struct io_tlb_reclaim *rc,
				    unsigned long chunk, unsigned long nr,
				    bool inject_failure)
{
	unsigned long i;
	int err = -EBUSY;

	if (!inject_failure)
		err = swiotlb_take_pageblocks(PHYS_PFN(swiotlb_chunk_phys(rc, chunk)),
					      nr << pageblock_order,
					      GFP_KERNEL | __GFP_NOWARN);
	for (i = 0; err && i < nr; i++)
		if (test_bit(chunk + i, rc->pool->active_chunks))
			return -EALREADY;
	return err;
}

/**
 * swiotlb_use_chunk() - put a chunk swiotlb owns into use
 * @rc:		Lending state; rc->lock is held.
 * @chunk:	Chunk whose pages swiotlb owns and whose slots are withdrawn.
 *
 * Zeroes the chunk, shares it with the host in a CoCo guest and publishes
 * its slots.
 *
 * Return: 0, or -EIO if the chunk could not be shared; it is lost then.
 */
static int swiotlb_use_chunk(struct io_tlb_reclaim *rc, unsigned long chunk)
{
	lockdep_assert_held(&rc->lock);

	if (swiotlb_prepare_chunk(rc, chunk))
		return -EIO;
	swiotlb_activate_chunk(rc, chunk);
	atomic_long_inc(&rc->nr_active);
	return 0;
}

/**
 * swiotlb_grow_run() - take a run of adjacent lent chunks back in one go
 * @rc:		Lending state; rc->lock is held.
 * @chunk:	First chunk of the run.
 * @nr:		Chunks in the run; @chunk and the @nr - 1 after it are lent.
 *
 * One alloc_contig_range() for the run instead of one per chunk: one
 * isolation and one round of per-cpu drains, and the pages migrated out
 * of one chunk cannot land in the next one, which is isolated too. The
 * pages are then zeroed, shared with the host in a CoCo guest and their
 * slots published, chunk by chunk.
 *
 * Context: Process context; sleeps while the pages are migrated.
 * Return: 0 with every chunk of the run in use, -EALREADY if the map path
 * claimed a chunk of the run meanwhile, the error of
 * swiotlb_take_pageblocks() (every chunk stays lent), or -EIO if a chunk
 * could not be shared (that one is lost, the others are in use).
 */
int swiotlb_grow_run(struct io_tlb_reclaim *rc, unsigned long chunk,
		     unsigned long nr)
{
	unsigned long pfn = PHYS_PFN(swiotlb_chunk_phys(rc, chunk));
	unsigned long nr_pages = nr << pageblock_order;
	u64 start = ktime_get_ns();
	bool inject_failure;
	unsigned long busy, i;
	int err, use_err;

	lockdep_assert_held(&rc->lock);

	busy = swiotlb_pageblocks_used_pages(pfn, nr_pages);
	inject_failure = rc->fail_grow;
	if (inject_failure)
		rc->fail_grow--;
	err = swiotlb_take_lent_chunks(rc, chunk, nr, inject_failure);
	if (err == -EALREADY)
		return err;
	if (err) {
		trace_swiotlb_reclaim_grow(swiotlb_chunk_phys(rc, chunk),
					   nr_pages << PAGE_SHIFT,
					   ktime_get_ns() - start, busy, err);
		return err;
	}

	atomic_long_inc(&rc->grow_take_count);
	atomic_long_add(busy, &rc->grow_pages_migrated);
	for (i = 0; i < nr; i++) {
		use_err = swiotlb_use_chunk(rc, chunk + i);
		if (use_err)
			err = use_err;
		else
			atomic_long_inc(&rc->grow_count);
	}
	if (err)
		return err;
	trace_swiotlb_reclaim_grow(swiotlb_chunk_phys(rc, chunk),
				   nr_pages << PAGE_SHIFT,
				   ktime_get_ns() - start, busy, 0);
	return 0;
}

/**
 * swiotlb_grow_chunk() - take a lent chunk back and put it into use
 * @rc:		Lending state; rc->lock is held.
 * @chunk:	Lent chunk.
 *
 * Context: Process context; sleeps while the chunk's pages are migrated.
 * Return: as swiotlb_grow_run() for a run of one.
 */
int swiotlb_grow_chunk(struct io_tlb_reclaim *rc, unsigned long chunk)
{
	return swiotlb_grow_run(rc, chunk, 1);
}

/*
 * Take a wholly free lent chunk straight off the page allocator's free
 * lists, in O(1) and migrating nothing (swiotlb_claim_free_pageblock()).
 * Returns the chunk, swiotlb's now with its slots withdrawn, or ULONG_MAX.
 * Any context.
 */
static unsigned long swiotlb_take_free_chunk(struct io_tlb_reclaim *rc)
{
	struct io_tlb_pool *pool = rc->pool;
	struct page *page;
	phys_addr_t phys;

	page = swiotlb_claim_free_pageblock(rc->zone);
	if (!page)
		return ULONG_MAX;
	phys = page_to_phys(page);
	/* Only this pool lends MIGRATE_SWIOTLB pageblocks */
	if (WARN_ON_ONCE(phys < pool->start || phys >= pool->end))
		return ULONG_MAX;
	return (phys - pool->start) >> pool->chunk_shift;
}

/**
 * swiotlb_grow_free_chunk() - put a wholly free lent chunk into use
 * @rc:		Lending state; rc->lock is held.
 *
 * The cheapest way to grow, whatever the size of the region: no search,
 * no migration, no per-cpu drain.
 *
 * Context: Process context; sharing the chunk with the host may sleep.
 * Return: 0, -ENOENT if no lent chunk is wholly free or the zone is at its
 * min watermark, or -EIO if the chunk could not be shared (it is lost).
 */
int swiotlb_grow_free_chunk(struct io_tlb_reclaim *rc)
{
	u64 start = ktime_get_ns();
	unsigned long chunk;
	int err;

	KUNIT_STATIC_STUB_REDIRECT(swiotlb_grow_free_chunk, rc);
	lockdep_assert_held(&rc->lock);

	chunk = swiotlb_take_free_chunk(rc);
	if (chunk == ULONG_MAX)
		return -ENOENT;
	err = swiotlb_use_chunk(rc, chunk);
	if (err)
		return err;
	atomic_long_inc(&rc->grow_count);
	atomic_long_inc(&rc->grow_free_count);
	trace_swiotlb_reclaim_grow(swiotlb_chunk_phys(rc, chunk),
				   PAGE_SIZE << pageblock_order,
				   ktime_get_ns() - start, 0, 0);
	return 0;
}

/* Keep the longest duration seen in @max_ns, for debugfs; any context */
static void swiotlb_note_max_ns(atomic_long_t *max_ns, u64 ns)
{
	long max = atomic_long_read(max_ns);

	while ((long)ns > max && !atomic_long_try_cmpxchg(max_ns, &max, ns))
		;
}

/**
 * swiotlb_claim_needs_standby() - may the map path only use standby chunks?
 *
 * In a guest with memory encryption the host can read all of a shared
 * chunk, and sharing one may sleep: the map path can only activate chunks
 * the worker zeroed and shared beforehand.
 *
 * Return: %true if claims must come from the standby.
 */
VISIBLE_IF_KUNIT bool swiotlb_claim_needs_standby(void)
{
	KUNIT_STATIC_STUB_REDIRECT(swiotlb_claim_needs_standby);
	return cc_platform_has(CC_ATTR_MEM_ENCRYPT);
}

/*
 * Take a chunk off the standby, or return ULONG_MAX. A successful
 * test_and_clear_bit() is fully ordered: it sees the zeroing and sharing
 * that swiotlb_standby_chunk() finished before setting the bit.
 */
static unsigned long swiotlb_take_standby(struct io_tlb_reclaim *rc)
{
	unsigned long chunk;

	if (!atomic_long_read(&rc->nr_standby))
		return ULONG_MAX;
	for_each_set_bit(chunk, rc->standby, rc->nr_chunks) {
		if (test_and_clear_bit(chunk, rc->standby)) {
			atomic_long_dec(&rc->nr_standby);
			return chunk;
		}
	}
	return ULONG_MAX;
}

/* Offer a zeroed, shared chunk whose slots are withdrawn to claims */
static void swiotlb_put_standby(struct io_tlb_reclaim *rc, unsigned long chunk)
{
	/*
	 * Zeroing and sharing complete before the bit is set; pairs with
	 * the fully ordered test_and_clear_bit() in swiotlb_take_standby().
	 */
	smp_mb__before_atomic();
	set_bit(chunk, rc->standby);
	atomic_long_inc(&rc->nr_standby);
}

/**
 * swiotlb_standby_chunk() - take a lent chunk back onto the standby
 * @rc:		Lending state; rc->lock is held.
 * @chunk:	Lent chunk, or ULONG_MAX for a wholly free one off the free
 *		lists (swiotlb_grow_free_chunk() explains why that is cheap).
 *
 * Does what growing does, except publishing the slots: the map path
 * activates a standby chunk in any context (swiotlb_reclaim_claim()).
 *
 * Context: Process context; sleeps while the chunk's pages are migrated.
 * Return: 0, -ENOENT if @chunk is ULONG_MAX and no lent chunk is wholly
 * free, -EALREADY if the map path claimed @chunk meanwhile, the error of
 * swiotlb_take_pageblocks() (the chunk stays lent), or -EIO if it could
 * not be shared (the chunk is lost).
 */
int swiotlb_standby_chunk(struct io_tlb_reclaim *rc, unsigned long chunk)
{
	int err;

	lockdep_assert_held(&rc->lock);

	if (chunk == ULONG_MAX) {
		chunk = swiotlb_take_free_chunk(rc);
		if (chunk == ULONG_MAX)
			return -ENOENT;
	} else {
		err = swiotlb_take_lent_chunks(rc, chunk, 1, false);
		if (err)
			return err;
	}
	if (swiotlb_prepare_chunk(rc, chunk))
		return -EIO;
	swiotlb_put_standby(rc, chunk);
	return 0;
}

/**
 * swiotlb_evacuate_chunk() - move the movable pages out of a lent chunk
 * @rc:		Lending state; rc->lock is held.
 * @chunk:	Lent chunk holding pages in use.
 *
 * Takes the chunk back, which migrates its pages elsewhere, and lends it
 * again at once, wholly free, for the map path to claim. The chunk is
 * never active in between, so nothing about it changes for swiotlb.
 *
 * Context: Process context; sleeps while the pages are migrated.
 * Return: 0, -EALREADY if the map path claimed the chunk meanwhile, or
 * the error of swiotlb_take_pageblocks() (the chunk stays lent as it was).
 */
int swiotlb_evacuate_chunk(struct io_tlb_reclaim *rc, unsigned long chunk)
{
	unsigned long pfn = PHYS_PFN(swiotlb_chunk_phys(rc, chunk));
	unsigned long busy;
	int err;

	lockdep_assert_held(&rc->lock);

	busy = swiotlb_pageblocks_used_pages(pfn, pageblock_nr_pages);
	err = swiotlb_take_lent_chunks(rc, chunk, 1, false);
	if (err)
		return err;
	/* Taken just now, so owned as swiotlb_lend_pageblocks() wants it */
	WARN_ON_ONCE(swiotlb_lend_pageblocks(pfn, pageblock_nr_pages));
	atomic_long_inc(&rc->evacuate_count);
	atomic_long_add(busy, &rc->evacuate_pages);
	return 0;
}

/**
 * swiotlb_lend_standby_chunk() - lend a standby chunk again
 * @rc:		Lending state; rc->lock is held.
 *
 * Return: 0, -ENOENT if the standby is empty, or an error after which the
 * chunk is back on the standby or, if its encryption state is unknown,
 * lost.
 */
int swiotlb_lend_standby_chunk(struct io_tlb_reclaim *rc)
{
	unsigned long chunk = swiotlb_take_standby(rc);
	int err;

	lockdep_assert_held(&rc->lock);

	if (chunk == ULONG_MAX)
		return -ENOENT;
	if (swiotlb_chunk_set_shared(rc, chunk, false)) {
		swiotlb_lose_chunk(rc, chunk, "made private again");
		return -EIO;
	}
	err = swiotlb_lend_pageblocks(PHYS_PFN(swiotlb_chunk_phys(rc, chunk)),
				      pageblock_nr_pages);
	if (err) {
		if (swiotlb_chunk_set_shared(rc, chunk, true)) {
			swiotlb_lose_chunk(rc, chunk, "shared with the host");
			return err;
		}
		swiotlb_put_standby(rc, chunk);
	}
	return err;
}

/**
 * swiotlb_lent_chunks() - chunks lent to the page allocator now
 * @rc:		Lending state.
 *
 * Return: a snapshot, exact only under rc->lock with no claim running.
 */
unsigned long swiotlb_lent_chunks(struct io_tlb_reclaim *rc)
{
	long lent = rc->nr_chunks - atomic_long_read(&rc->nr_active) -
		    READ_ONCE(rc->nr_lost) - atomic_long_read(&rc->nr_standby) -
		    READ_ONCE(rc->nr_withheld);

	return max(lent, 0L);
}

/*
 * Activate a standby chunk or a wholly free lent one for the map path;
 * swiotlb_reclaim_claim() says why and how. @ahead: no search failed yet,
 * grow_work lags (swiotlb_reclaim_kick()); a miss is then no news.
 */
static bool swiotlb_claim(struct io_tlb_pool *pool, bool ahead)
{
	struct io_tlb_reclaim *rc = pool->reclaim;
	u64 start = local_clock(), elapsed;
	bool claimed = false, from_standby;
	unsigned long chunk;

	/* Pairs with smp_store_release() in swiotlb_reclaim_lend_init() */
	if (!rc || !smp_load_acquire(&rc->claim_enabled))
		return false;

	/* swiotlb_reclaim_exit() waits for this section; see the top */
	rcu_read_lock();
	if (!READ_ONCE(rc->wq))
		goto out;
	/* Nothing lent (the region is all in use): no zone lock per failure */
	if (!swiotlb_lent_chunks(rc) && !atomic_long_read(&rc->nr_standby))
		goto out;
	chunk = swiotlb_take_standby(rc);
	from_standby = chunk != ULONG_MAX;
	if (from_standby) {
		atomic_long_inc(&rc->standby_used_count);
	} else {
		if (!swiotlb_claim_needs_standby())
			chunk = swiotlb_take_free_chunk(rc);
		if (chunk == ULONG_MAX) {
			if (!ahead) {
				atomic_long_inc(&rc->claim_miss_count);
				swiotlb_after_claim(rc, false);
			}
			goto out;
		}
	}

	swiotlb_activate_chunk(rc, chunk);
	atomic_long_inc(&rc->nr_active);
	atomic_long_inc(&rc->claim_count);
	if (ahead)
		atomic_long_inc(&rc->claim_ahead_count);
	swiotlb_after_claim(rc, true);
	claimed = true;
	elapsed = local_clock() - start;
	swiotlb_note_max_ns(&rc->claim_ns_max, elapsed);
	trace_swiotlb_reclaim_claim(swiotlb_chunk_phys(rc, chunk),
				    PAGE_SIZE << pageblock_order, elapsed,
				    from_standby);
out:
	rcu_read_unlock();
	return claimed;
}

/**
 * swiotlb_reclaim_claim() - put a lent chunk into use from the map path
 * @pool:	Pool whose search for free slots just failed.
 *
 * The worker grows the pool by migration, which sleeps and takes
 * milliseconds per chunk: a burst of mappings outruns it. This activates
 * a chunk at once: one from the standby if there is one, else a lent chunk
 * none of whose pages is in use, taken straight off the page allocator's
 * free lists (swiotlb_claim_free_pageblock()). It leaves the rest to the
 * workers: growing on if the pool stays low, and
 * lending the chunk again once it is idle. The ordering argument is
 * "Claim" in "Memory ordering" at the top of this file.
 *
 * The chunk is not zeroed, which would hold the map path up for as long
 * as writing 2 MiB takes: no byte the borrower left can reach a device.
 * swiotlb_tbl_map_single() fills every byte of a mapping from the original
 * buffer, whatever the direction, before the device is given the address.
 * The padding around it is reachable only through an IOMMU granule, and
 * iommu_dma_map_page() zeroes it for untrusted devices; a device
 * without an IOMMU can read all of memory anyway. In a guest with memory
 * encryption the host can read all of a shared chunk, and sharing may
 * sleep: only standby chunks are activated there.
 *
 * Context: Any context, including hard interrupt; never sleeps.
 * Return: %true if a chunk was activated: the caller should search again.
 */
bool swiotlb_reclaim_claim(struct io_tlb_pool *pool)
{
	return swiotlb_claim(pool, false);
}

/**
 * swiotlb_reclaim_claim_ahead() - claim before a search fails
 * @pool:	Pool an area of which has stayed under its low watermark
 *		for SWIOTLB_KICK_LAG while grow_work had not caught up.
 *
 * As swiotlb_reclaim_claim(), but a miss is not counted and does not mark
 * the pool as outrun: no mapping has failed.
 *
 * Context: Any context, including hard interrupt; never sleeps.
 * Return: %true if a chunk was activated.
 */
bool swiotlb_reclaim_claim_ahead(struct io_tlb_pool *pool)
{
	return swiotlb_claim(pool, true);
}

/*
 * The transient tracepoint, with the region's free slots: summing them over
 * the areas costs a read per area, so only while the event is enabled.
 */
static void swiotlb_trace_transient(struct io_tlb_reclaim *rc, size_t size,
				    bool lent, u64 ns, int err)
{
	if (trace_swiotlb_reclaim_transient_enabled())
		trace_swiotlb_reclaim_transient(size, lent, ns, rc->zone,
						swiotlb_free_slots(rc), err);
}

/**
 * swiotlb_reclaim_note_transient() - count a fallback to a transient pool
 * @pool:	The default pool, which could not serve a mapping.
 * @transient:	The transient pool made for the mapping.
 * @ns:		Time from the failed search to the transient pool's slots.
 *
 * With CONFIG_SWIOTLB_DYNAMIC a mapping the region cannot serve, even
 * after a claim, gets a transient pool of its own from the page allocator.
 * That is the last resort; the counters say how often it was needed, the
 * swiotlb_reclaim_transient tracepoint when, and whether the pool lies in
 * a lent chunk (swiotlb_reclaim_alloc_tlb()).
 *
 * Context: Any context.
 */
void swiotlb_reclaim_note_transient(struct io_tlb_pool *pool,
				    struct io_tlb_pool *transient, u64 ns)
{
	struct io_tlb_reclaim *rc = pool->reclaim;

	if (!rc)
		return;
	atomic_long_inc(&rc->transient_count);
	swiotlb_note_max_ns(&rc->transient_ns_max, ns);
	swiotlb_trace_transient(rc, transient->end - transient->start,
				transient->start >= pool->start &&
				transient->start < pool->end, ns, 0);
}

/**
 * swiotlb_reclaim_note_transient_failed() - count a transient pool not made
 * @pool:	The default pool, which could not serve a mapping.
 * @size:	Size of the transient pool that could not be made.
 * @ns:		Time from the failed search to the failure.
 *
 * The page allocator had no room for the transient pool either, nor had a
 * lent chunk, so the mapping fails: the counter tells such failures from
 * those of a kernel without CONFIG_SWIOTLB_DYNAMIC, and the tracepoint
 * records how much memory was free then.
 *
 * Context: Any context.
 */
void swiotlb_reclaim_note_transient_failed(struct io_tlb_pool *pool,
					   size_t size, u64 ns)
{
	struct io_tlb_reclaim *rc = pool->reclaim;

	if (!rc)
		return;
	atomic_long_inc(&rc->transient_fail_count);
	swiotlb_trace_transient(rc, size, false, ns, -ENOMEM);
}

/* Lending state of @dev's default pool, or NULL if it does not lend */
static struct io_tlb_reclaim *swiotlb_dev_reclaim(struct device *dev)
{
	if (!dev || !dev->dma_io_tlb_mem)
		return NULL;
	return dev->dma_io_tlb_mem->defpool.reclaim;
}

/* A free block of a lent chunk of @dev's default pool, if that pool lends */
static struct page *swiotlb_alloc_lent(struct device *dev, unsigned int order)
{
	struct io_tlb_reclaim *rc = swiotlb_dev_reclaim(dev);

	return rc ? swiotlb_alloc_lent_block(rc->zone, order) : NULL;
}

/**
 * swiotlb_reclaim_alloc_tlb() - a transient pool from a lent chunk's free pages
 * @dev:	Device being mapped for (%NULL for upstream's pool worker).
 * @bytes:	Size of the transient pool.
 * @phys_limit:	Highest physical address the device can reach.
 *
 * With CONFIG_SWIOTLB_DYNAMIC, a mapping the region cannot serve (no free
 * slot, no wholly free lent chunk to claim) gets a transient pool, which
 * upstream allocates without waiting. Right after memory pressure ordinary
 * memory may have no free block of that size while the lent chunks, which
 * only movable data may use, still have free pages between it: the mapping
 * would fail although the region has room. Then the transient pool is made
 * of a free block of a lent chunk (swiotlb_alloc_lent_block(), partly used
 * chunks first). The chunk stays lent: its slots are not active, so
 * swiotlb_find_pool() passes the default pool and finds the transient pool,
 * and no worker can take the chunk back while the block is in use
 * (alloc_contig_range() cannot migrate it). swiotlb_free_tlb() gives the
 * block back to the lent free lists like any transient pool's pages.
 *
 * The caller, swiotlb_alloc_tlb(), sends devices that need decrypted
 * memory to the atomic pools before this, so a block is never shared with
 * a CoCo host here.
 *
 * Context: Any context.
 * Return: the first page of the block, or %NULL if @dev's default pool does
 * not lend or no lent chunk has a free block of that size below
 * @phys_limit.
 */
struct page *swiotlb_reclaim_alloc_tlb(struct device *dev, size_t bytes,
				       u64 phys_limit)
{
	unsigned int order = get_order(bytes);
	struct page *page;

	page = swiotlb_alloc_lent(dev, order);
	if (!page)
		return NULL;
	if (page_to_phys(page) + bytes - 1 > phys_limit) {
		__free_pages(page, order);
		return NULL;
	}
	atomic_long_inc(&swiotlb_dev_reclaim(dev)->transient_lent_count);
	return page;
}
EXPORT_SYMBOL_IF_KUNIT(swiotlb_reclaim_alloc_tlb);

/**
 * swiotlb_reclaim_alloc_slots() - a transient pool's slot array from a lent chunk
 * @dev:	Device being mapped for (%NULL for upstream's pool worker).
 * @order:	Order of the slot array's pages.
 *
 * When ordinary memory had no room for a transient pool's buffer, it
 * usually has none for the pages of its slot array either, which upstream
 * allocates the same way: those come from a lent chunk too, as for
 * swiotlb_reclaim_alloc_tlb(). swiotlb_dyn_free() frees them with
 * free_pages(), back to the lent free lists.
 *
 * Context: Any context.
 * Return: the array's address, or %NULL if @dev's default pool does not
 * lend or no lent chunk has a free block of @order.
 */
void *swiotlb_reclaim_alloc_slots(struct device *dev, unsigned int order)
{
	struct page *page = swiotlb_alloc_lent(dev, order);

	return page ? page_address(page) : NULL;
}

/**
 * swiotlb_reclaim_alloc_pool_struct() - a transient pool's struct from a lent chunk
 * @dev:	Device being mapped for (%NULL for upstream's pool worker).
 * @size:	Size of the struct with its areas.
 *
 * The struct of a transient pool comes from the slab, which needs a new
 * page from ordinary memory now and then: when ordinary memory is down to
 * its watermarks it fails first, before the buffer and the slot array,
 * which swiotlb_reclaim_alloc_tlb() and swiotlb_reclaim_alloc_slots() can
 * take from lent chunks. Then the struct takes a zeroed page of a lent
 * chunk too; swiotlb_reclaim_free_pool_struct() gives it back.
 *
 * Context: Any context.
 * Return: the zeroed struct, or %NULL if @dev's default pool does not lend,
 * @size is more than a page or no lent chunk has a free page.
 */
void *swiotlb_reclaim_alloc_pool_struct(struct device *dev, size_t size)
{
	struct page *page;

	if (size > PAGE_SIZE)
		return NULL;
	page = swiotlb_alloc_lent(dev, 0);
	if (!page)
		return NULL;
	return memset(page_address(page), 0, size);
}

/**
 * swiotlb_reclaim_free_pool_struct() - free a transient pool's struct
 * @pool:	The struct, from kzalloc() or swiotlb_reclaim_alloc_pool_struct().
 *
 * kzalloc() gives a slab object or, above two pages (a pool of many areas),
 * a large folio; a single page that is neither is a lent chunk's, which
 * goes back to the lent free lists. Neither test depends on the state of
 * the pageblock, which a take may be isolating right then.
 *
 * Context: Any context.
 */
void swiotlb_reclaim_free_pool_struct(struct io_tlb_pool *pool)
{
	struct folio *folio = virt_to_folio(pool);

	if (folio_test_slab(folio) || folio_test_large(folio))
		kfree(pool);
	else
		__free_page(&folio->page);
}

/**
 * swiotlb_retire_chunk() - lend a free active chunk again
 * @rc:		Lending state; rc->lock is held.
 * @chunk:	Active chunk.
 *
 * See "Memory ordering" at the top of this file for the order of the steps.
 *
 * Return: 0 if lent, -EBUSY if a slot of the chunk is in use, or another
 * error after which the chunk is back in use or, if its encryption state
 * is unknown, lost.
 */
int swiotlb_retire_chunk(struct io_tlb_reclaim *rc, unsigned long chunk)
{
	unsigned long pfn = PHYS_PFN(swiotlb_chunk_phys(rc, chunk));
	u64 start = ktime_get_ns();
	int err;

	lockdep_assert_held(&rc->lock);

	if (!swiotlb_deactivate_chunk(rc, chunk))
		return -EBUSY;

	if (swiotlb_chunk_set_shared(rc, chunk, false)) {
		swiotlb_lose_chunk(rc, chunk, "made private again");
		atomic_long_dec(&rc->nr_active);
		return -EIO;
	}

	/* Refuses, freeing nothing, a chunk still reserved at boot */
	err = swiotlb_lend_pageblocks(pfn, pageblock_nr_pages);
	if (err) {
		/* Nothing was freed: put the chunk back in use */
		if (swiotlb_chunk_set_shared(rc, chunk, true)) {
			swiotlb_lose_chunk(rc, chunk, "shared with the host");
			atomic_long_dec(&rc->nr_active);
			return err;
		}
		swiotlb_activate_chunk(rc, chunk);
		return err;
	}

	atomic_long_dec(&rc->nr_active);
	atomic_long_inc(&rc->shrink_count);
	trace_swiotlb_reclaim_shrink(swiotlb_chunk_phys(rc, chunk),
				     PAGE_SIZE << pageblock_order,
				     ktime_get_ns() - start, 0, 0);
	return 0;
}

/*
 * Chunks boot leaves to lend_work count as managed memory from boot on:
 * swiotlb_reclaim_lend_init() counts them (@sign +1). Lending or adopting
 * one counts its pages again, so they are uncounted just before (@sign
 * -1), and counted back if that did not happen. rc->lock is held.
 */
static void swiotlb_count_withheld(struct io_tlb_reclaim *rc,
				   unsigned long first, unsigned long nr,
				   long sign)
{
	unsigned long chunk;

	if (!rc->withheld_counted)
		return;
	for (chunk = first; chunk < first + nr; chunk++)
		adjust_managed_page_count(pfn_to_page(PHYS_PFN(swiotlb_chunk_phys(rc, chunk))),
					  sign * (long)pageblock_nr_pages);
}

/**
 * swiotlb_release_chunk() - give a chunk to the page allocator for good
 * @rc:		Lending state; rc->lock is held.
 * @chunk:	Chunk to release.
 *
 * A lent chunk is taken back first (its pages migrated); an active one
 * must have no slot in use and is retired as swiotlb_retire_chunk() does;
 * a standby chunk is already swiotlb's, a withheld one is still reserved.
 * The chunk is then made private in a CoCo guest and its pages become
 * ordinary free MIGRATE_MOVABLE memory. It is counted as lost from then on,
 * out of swiotlb's use.
 *
 * Return: 0, or an error after which a lent chunk stays lent and an active
 * one stays active, unless its encryption state became unknown (lost).
 */
VISIBLE_IF_KUNIT int swiotlb_release_chunk(struct io_tlb_reclaim *rc,
					   unsigned long chunk)
{
	unsigned long pfn = PHYS_PFN(swiotlb_chunk_phys(rc, chunk));
	int err;

	lockdep_assert_held(&rc->lock);

	if (test_bit(chunk, rc->lost))
		return -EIO;
	if (test_and_clear_bit(chunk, rc->standby)) {
		/* Cleared here, the chunk is ours and no claim's */
		atomic_long_dec(&rc->nr_standby);
	} else if (test_bit(chunk, rc->withheld)) {
		/* Never lent: owned as if taken back once it is adopted */
		swiotlb_count_withheld(rc, chunk, 1, -1);
		err = swiotlb_adopt_reserved_pageblocks(pfn, pageblock_nr_pages);
		if (err) {
			swiotlb_count_withheld(rc, chunk, 1, 1);
			return err;
		}
		clear_bit(chunk, rc->withheld);
		WRITE_ONCE(rc->nr_withheld, rc->nr_withheld - 1);
	} else if (!test_bit(chunk, rc->pool->active_chunks)) {
		err = swiotlb_take_pageblocks(pfn, pageblock_nr_pages,
					      GFP_KERNEL | __GFP_NOWARN);
		if (err)
			return err;
	} else {
		if (!swiotlb_deactivate_chunk(rc, chunk))
			return -EBUSY;
		atomic_long_dec(&rc->nr_active);
	}

	if (swiotlb_chunk_set_shared(rc, chunk, false)) {
		swiotlb_lose_chunk(rc, chunk, "made private again");
		return -EIO;
	}
	err = swiotlb_release_pageblocks(pfn, pageblock_nr_pages);
	/* Either way swiotlb has no use for the chunk any more */
	set_bit(chunk, rc->lost);
	WRITE_ONCE(rc->nr_lost, rc->nr_lost + 1);
	return err;
}

/**
 * swiotlb_reclaim_exit() - give a lending pool back to the page allocator
 * @pool:	The default pool, which is being torn down.
 *
 * swiotlb_exit() frees the default pool where a platform finds it needs no
 * bounce buffers after all (an IOMMU took over). For a lending pool the
 * workers stop and every chunk, lent or active, becomes ordinary movable
 * memory. A lent chunk whose pages cannot be migrated stays lent: movable
 * memory still, only not for unmovable allocations.
 *
 * Return: %true if @pool lent chunks and was handled here; the caller must
 * then neither decrypt nor free the region itself.
 */
bool __init swiotlb_reclaim_exit(struct io_tlb_pool *pool)
{
	struct io_tlb_reclaim *rc = pool->reclaim;
	size_t bitmap_bytes;
	unsigned long chunk, stuck = 0;
	struct workqueue_struct *wq;

	if (!rc)
		return false;

	mutex_lock(&rc->lock);
	wq = rc->wq;
	/* Nothing queues work from now on; see swiotlb_reclaim_kick() */
	WRITE_ONCE(rc->wq, NULL);
	mutex_unlock(&rc->lock);
	if (wq) {
		/* A kick that saw the workqueue is done with it after this */
		synchronize_rcu();
		/*
		 * No work queues itself or another one without rc->wq; what
		 * lend_work left withheld is released below
		 */
		cancel_work_sync(&rc->lend_work);
		cancel_delayed_work_sync(&rc->shrink_work);
		cancel_delayed_work_sync(&rc->evacuate_work);
		cancel_work_sync(&rc->grow_work);
		destroy_workqueue(wq);
	}

	mutex_lock(&rc->lock);
	for (chunk = 0; chunk < rc->nr_chunks; chunk++)
		if (!test_bit(chunk, rc->lost) && swiotlb_release_chunk(rc, chunk))
			stuck++;
	mutex_unlock(&rc->lock);

	if (stuck)
		pr_warn("swiotlb_overprovision: %lu chunks could not be freed and stay lent or in use\n",
			stuck);
	pr_info("swiotlb_overprovision: gave the %lu MiB region to the page allocator\n",
		(pool->nslabs << IO_TLB_SHIFT) >> 20);

	bitmap_bytes = BITS_TO_LONGS(rc->nr_chunks) * sizeof(long);
	memblock_free_late(__pa(pool->active_chunks), bitmap_bytes);
	memblock_free_late(__pa(rc->lost), bitmap_bytes);
	memblock_free_late(__pa(rc->standby), bitmap_bytes);
	memblock_free_late(__pa(rc->withheld), bitmap_bytes);
	memblock_free_late(__pa(rc->retry_after), rc->nr_chunks * sizeof(long));
	pool->active_chunks = NULL;
	pool->reclaim = NULL;
	rc->pool = NULL;
	return true;
}

/**
 * swiotlb_reclaim_warn_full() - report a failed mapping of a lending pool
 * @dev:	Device whose mapping failed.
 * @pool:	The default pool.
 * @size:	Bytes the mapping needed.
 *
 * "total" and "used" of the plain message count lent slots too, which
 * makes a pool that lends most of its region look almost empty. Say how
 * many slots are active, used and lent instead.
 *
 * Return: %true if @pool lends chunks and the message was printed here.
 */
bool swiotlb_reclaim_warn_full(struct device *dev, struct io_tlb_pool *pool,
			       size_t size)
{
	struct io_tlb_reclaim *rc = pool->reclaim;
	unsigned long active, lent;

	if (!rc)
		return false;
	active = atomic_long_read(&rc->nr_active) * rc->chunk_slots;
	lent = swiotlb_lent_chunks(rc) * rc->chunk_slots;
	dev_warn_ratelimited(dev,
			     "swiotlb buffer is full (sz: %zd bytes), active %lu (slots), used %lu (slots), lent %lu (slots)\n",
			     size, active, swiotlb_used_slots(rc), lent);
	return true;
}

/**
 * swiotlb_lend_withheld_chunk() - lend a chunk withheld since boot
 * @rc:		Lending state; rc->lock is held.
 * @chunk:	Chunk whose slots were withdrawn by swiotlb_reclaim_init_pool().
 * @can_lend:	%false if nothing could take the chunk back once lent.
 *
 * A chunk that cannot be lent is put into use instead: it counts as
 * initial from then on, and in a CoCo guest it must be shared like the
 * initial chunks, which swiotlb_update_mem_attributes() shared before.
 *
 * Return: %true if the chunk was lent.
 */
VISIBLE_IF_KUNIT bool swiotlb_lend_withheld_chunk(struct io_tlb_reclaim *rc,
						  unsigned long chunk,
						  bool can_lend)
{
	unsigned long pfn = PHYS_PFN(swiotlb_chunk_phys(rc, chunk));

	lockdep_assert_held(&rc->lock);

	if (can_lend && !swiotlb_lend_reserved_pageblocks(pfn,
							  pageblock_nr_pages))
		return true;
	/* A chunk that stays reserved is refused by lending later */
	swiotlb_adopt_reserved_pageblocks(pfn, pageblock_nr_pages);
	/* Shared with the host like the initial chunks, or lost */
	if (!swiotlb_use_chunk(rc, chunk))
		rc->nr_initial++;
	return false;
}

/*
 * Lend @nr withheld chunks from @first on, adjacent in the region, in one
 * call: one per-cpu drain and one watermark update for all of them. Falls
 * back to one chunk at a time if the run cannot be lent whole (it crosses
 * a zone, say). Returns the number of chunks kept active instead.
 */
static unsigned long swiotlb_lend_withheld_run(struct io_tlb_reclaim *rc,
					       unsigned long first,
					       unsigned long nr, bool can_lend)
{
	unsigned long chunk, kept = 0;

	if (can_lend && nr > 1 &&
	    !swiotlb_lend_reserved_pageblocks(PHYS_PFN(swiotlb_chunk_phys(rc, first)),
					      nr * pageblock_nr_pages))
		return 0;
	for (chunk = first; chunk < first + nr; chunk++)
		if (!swiotlb_lend_withheld_chunk(rc, chunk, can_lend))
			kept++;
	return kept;
}

/*
 * Lend the first run of withheld chunks, at most @max of them, or keep them
 * active if they cannot be lent (swiotlb_lend_withheld_chunk()). rc->lock
 * is held. Returns the chunks handled, 0 once none is withheld, and adds
 * those kept active to *@kept.
 */
static unsigned long swiotlb_lend_withheld(struct io_tlb_reclaim *rc,
					   unsigned long max, bool can_lend,
					   unsigned long *kept)
{
	unsigned long first, end;

	lockdep_assert_held(&rc->lock);

	first = find_first_bit(rc->withheld, rc->nr_chunks);
	if (first >= rc->nr_chunks)
		return 0;
	end = find_next_zero_bit(rc->withheld,
				 min(rc->nr_chunks, first + max), first);
	swiotlb_count_withheld(rc, first, end - first, -1);
	*kept += swiotlb_lend_withheld_run(rc, first, end - first, can_lend);
	/*
	 * Only now: a chunk is never counted as lent before it is. A claim may
	 * have activated one of them already; swiotlb_lent_chunks() is a
	 * snapshot and clamps the moment both count it.
	 */
	bitmap_clear(rc->withheld, first, end - first);
	WRITE_ONCE(rc->nr_withheld, rc->nr_withheld - (end - first));
	return end - first;
}

/* Chunks in @bytes of the region, at least one */
static unsigned long swiotlb_bytes_to_chunks(struct io_tlb_reclaim *rc,
					     unsigned long bytes)
{
	return max(1UL, bytes >> rc->pool->chunk_shift);
}

/*
 * lend_work: lend the chunks boot left withheld, one run of at most
 * SWIOTLB_LEND_RUN per execution, under rc->lock.
 *
 * rc->wq runs one work item at a time, so a loop here would hold grow_work
 * off until every chunk is lent. Instead each execution queues itself
 * again behind whatever was queued meanwhile: grow_work waits for one run
 * at most, and claims, which take no rc->lock, not at all. Every chunk the
 * workers may touch is lent or active already (see "Withheld chunks" at
 * the top of this file), so nothing needs the rest to be lent first.
 *
 * swiotlb_reclaim_exit() clears rc->wq under rc->lock and then cancels this
 * work: a run that sees rc->wq set queues itself before that cancel, one
 * that sees it clear stops, and the exit releases what is still withheld.
 */
static void swiotlb_lend_work(struct work_struct *work)
{
	struct io_tlb_reclaim *rc = container_of(work, struct io_tlb_reclaim,
						 lend_work);
	unsigned long lent, kept;
	u64 start = local_clock(), ns, wall;

	mutex_lock(&rc->lock);
	if (!rc->wq || !rc->nr_withheld) {
		mutex_unlock(&rc->lock);
		return;
	}
	swiotlb_lend_withheld(rc, swiotlb_bytes_to_chunks(rc, SWIOTLB_LEND_RUN),
			      true, &rc->lend_kept);
	rc->lend_ns += local_clock() - start;
	if (rc->nr_withheld) {
		queue_work(rc->wq, &rc->lend_work);
		mutex_unlock(&rc->lock);
		return;
	}
	/* The standby may have wanted more chunks than boot had lent */
	if (atomic_long_read(&rc->nr_standby) < rc->standby_target)
		queue_work(rc->wq, &rc->grow_work);
	kept = rc->lend_kept;
	lent = rc->lend_deferred - kept;
	ns = rc->lend_ns;
	wall = local_clock() - rc->lend_queued;
	mutex_unlock(&rc->lock);

	if (kept)
		pr_warn("swiotlb_overprovision: could not lend %lu of %lu chunks; they stay active\n",
			kept, lent + kept);
	pr_info("swiotlb_overprovision: lent %lu MiB more to the page allocator in %llu us, in the background (done %llu ms after the boot part)\n",
		(lent * rc->chunk_slots << IO_TLB_SHIFT) >> 20,
		div_u64(ns, NSEC_PER_USEC), div_u64(wall, NSEC_PER_MSEC));
}

/*
 * Lend the withheld chunks as soon as the page allocator and workqueues are
 * up, as CMA does with its areas: before the initramfs is unpacked, which
 * may need the memory on a small machine. Only the first
 * SWIOTLB_LEND_AT_BOOT of them are lent here; lend_work lends the rest.
 *
 * From here on the page allocator accounts for the whole region: lent
 * chunks are its free pages, active ones and those still withheld for
 * lend_work are pages swiotlb holds, as if allocated. So MemTotal and the
 * zone's managed pages (and with them min_free_kbytes, the watermarks and
 * lowmem_reserve, which init_per_zone_wmark_min() computes at
 * postcore_initcall, and every boot-time choice made from
 * totalram_pages(), such as THP's default) are what they are now, whenever
 * lend_work finishes, and never change when chunks are taken back or lent
 * again.
 *
 * Everything set up here holds while chunks are still withheld (see
 * "Withheld chunks" at the top of this file): the workers, claims and the
 * standby only ever see lent and active chunks, and lend_work, queued
 * last, needs only rc->wq, which exists as long as it may run.
 */
static int __init swiotlb_reclaim_lend_init(void)
{
	struct io_tlb_reclaim *rc = &swiotlb_default_reclaim;
	struct io_tlb_pool *pool = rc->pool;
	unsigned long chunk, budget, nr, to_lend, deferred, kept = 0, lent = 0;
	struct workqueue_struct *wq;
	/* The clocksource may still be jiffies here: sched_clock is finer */
	u64 start = local_clock();

	if (!pool || pool->reclaim != rc)
		return 0;

	wq = alloc_workqueue("swiotlb_reclaim", WQ_UNBOUND | WQ_MEM_RECLAIM, 1);

	/*
	 * kmemleak knows the region as one memblock object. Its pages are the
	 * page allocator's now, as after memblock_free_late(): a scan must not
	 * read lent pages (unmapped while free with DEBUG_PAGEALLOC) nor take
	 * the pointers in page cache there for references. Bounce slots only
	 * hold copies of DMA data, which are not references either.
	 */
	kmemleak_free_part_phys(pool->start, pool->end - pool->start);

	mutex_lock(&rc->lock);
	/* A chunk that stays reserved is refused by lending */
	for_each_set_bit(chunk, pool->active_chunks, rc->nr_chunks)
		swiotlb_adopt_reserved_pageblocks(PHYS_PFN(swiotlb_chunk_phys(rc, chunk)),
						  pageblock_nr_pages);
	/* Without a worker nothing could take a chunk back: keep them all */
	budget = wq ? swiotlb_bytes_to_chunks(rc, SWIOTLB_LEND_AT_BOOT) :
		 rc->nr_chunks;
	while (budget && (nr = swiotlb_lend_withheld(rc, budget, wq, &kept))) {
		budget -= nr;
		lent += nr;
	}
	to_lend = lent;
	lent -= kept;

	WRITE_ONCE(rc->wq, wq);
	rc->zone = page_zone(pfn_to_page(PHYS_PFN(pool->start)));
	if (swiotlb_standby < 0)
		swiotlb_standby = swiotlb_claim_needs_standby() ?
				  SWIOTLB_STANDBY_COCO : 0;
	/* lend_work lends the withheld chunks for the standby too */
	rc->standby_target = min_t(unsigned long, swiotlb_standby,
				   swiotlb_lent_chunks(rc) + rc->nr_withheld);
	/* The worker fills the standby */
	if (wq && rc->standby_target)
		queue_work(wq, &rc->grow_work);
	swiotlb_keep_evacuated(rc);
	swiotlb_arm_evacuate(rc);
	if (wq) {
		/*
		 * The map path may claim from here on. Pairs with
		 * smp_load_acquire() in swiotlb_reclaim_claim(), which then
		 * sees zone and wq set.
		 */
		smp_store_release(&rc->claim_enabled, 1);
	}
	deferred = rc->nr_withheld;
	if (deferred) {
		/* Counted now, uncounted by swiotlb_count_withheld() as lent */
		rc->withheld_counted = true;
		for_each_set_bit(chunk, rc->withheld, rc->nr_chunks)
			swiotlb_count_withheld(rc, chunk, 1, 1);
		rc->lend_deferred = deferred;
		rc->lend_queued = local_clock();
		queue_work(wq, &rc->lend_work);
	}
	mutex_unlock(&rc->lock);

	if (kept)
		pr_warn("swiotlb_overprovision: could not lend %lu of %lu chunks; they stay active\n",
			kept, to_lend);
	pr_info("swiotlb_overprovision: lent %lu MiB to the page allocator in %llu us\n",
		(lent * rc->chunk_slots << IO_TLB_SHIFT) >> 20,
		div_u64(local_clock() - start, NSEC_PER_USEC));
	if (deferred)
		pr_info("swiotlb_overprovision: lending %lu MiB more in the background\n",
			(deferred * rc->chunk_slots << IO_TLB_SHIFT) >> 20);
	if (rc->standby_target)
		pr_info("swiotlb_overprovision: keeping %lu chunks (%lu MiB) on standby for bursts\n",
			rc->standby_target,
			(rc->standby_target * rc->chunk_slots << IO_TLB_SHIFT) >> 20);
	return 0;
}
core_initcall(swiotlb_reclaim_lend_init);

