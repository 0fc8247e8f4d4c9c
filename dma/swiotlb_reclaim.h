/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between the swiotlb slot allocator (swiotlb.c) and the code
 * that lends unused parts of the default pool to the page allocator
 * (swiotlb_reclaim.c). See Documentation/core-api/swiotlb-reclaim.rst.
 */
#ifndef _KERNEL_DMA_SWIOTLB_RECLAIM_H
#define _KERNEL_DMA_SWIOTLB_RECLAIM_H

#include <linux/slab.h>
#include <linux/swiotlb.h>

#ifdef CONFIG_SWIOTLB_RECLAIM

/**
 * struct io_tlb_reclaim - lending state of an overprovisioned pool
 * @area_low_wmark: Free slots per area under which the map path kicks
 *		@grow_work. Read locklessly on the map path.
 * @pool:	The pool whose chunks are lent.
 * @nr_chunks:	Number of chunks in @pool.
 * @chunk_slots: Slots per chunk.
 * @nr_initial:	Active chunks at boot; shrinking never goes below this.
 * @nr_active:	Active chunks now. Atomic: the map path activates chunks
 *		(swiotlb_reclaim_claim()) without rc->lock.
 * @nr_lost:	Chunks that could be neither used nor lent because their
 *		encryption state could not be changed.
 * @lost:	Chunks counted in @nr_lost.
 * @retry_after: Per chunk: jiffies before which a failed chunk is not
 *		tried again.
 * @low_wmark:	Free active slots under which the pool grows.
 * @high_wmark:	Free active slots the pool grows to; it shrinks only while
 *		it stays above this by at least a chunk.
 * @shrink_delay_ms: How long the pool must stay above the high watermark
 *		before chunks are lent again.
 * @above_high_since: jiffies when the pool was first seen above the high
 *		watermark with a chunk to spare, or 0.
 * @fail_grow:	Fault injection: number of upcoming chunk takes to fail.
 * @grow_count:	Chunks activated since boot.
 * @shrink_count: Chunks lent again since boot.
 * @grow_fail_count: Chunks that could not be taken back (and were skipped).
 * @grow_pages_migrated: Pages that were in use in chunks taken back.
 * @grow_free_count: Chunks grow_work found wholly free and took off the
 *		free lists, migrating nothing.
 * @grow_take_count: Migrating takes (alloc_contig_range() calls) that
 *		grew the pool, each of one chunk or of a run of adjacent ones.
 * @pick_cursor: Where the next pick starts sampling lent chunks.
 * @evacuate_cursor: Where the next evacuation starts sampling.
 * @pick_ns_max: Longest pick of a chunk to take back.
 * @zone:	Zone of the region, where the map path claims free chunks.
 * @claim_enabled: 1 if the map path may claim chunks (debugfs
 *		io_tlb_atomic_claim), else 0.
 * @claim_count: Chunks the map path put into use itself.
 * @claim_miss_count: Claims that found no wholly free lent chunk.
 * @claim_ns_max: Longest claim, from the call to published slots.
 * @claim_ahead_count: Claims made before any search failed, because an
 *		area stayed under its low watermark while grow_work lagged.
 * @kicked_at:	jiffies of the first kick grow_work has not answered yet
 *		(0: none). The map path claims ahead once it is
 *		SWIOTLB_KICK_LAG old.
 * @transient_count: Mappings that fell back to a transient pool
 *		(CONFIG_SWIOTLB_DYNAMIC) after the region could not serve them.
 * @transient_ns_max: Longest such fallback, from the failed search to the
 *		transient pool's slots.
 * @transient_fail_count: Transient pools that could not be allocated: the
 *		mapping failed.
 * @transient_lent_count: Transient pools whose memory came from a free
 *		block of a lent chunk, ordinary memory having none.
 * @standby:	Chunks on standby: taken back, zeroed and shared with the
 *		host, slots withdrawn, for the map path to activate at once.
 * @nr_standby:	Chunks in @standby.
 * @standby_target: Chunks the worker keeps on standby.
 * @standby_used_count: Standby chunks the map path activated.
 * @outran:	Set by the map path when a search found no room; the next
 *		grow round clears it and grows by more.
 * @grow_boost:	Chunks a grow round takes beyond the high watermark.
 * @evacuate_target: Wholly free lent chunks evacuate_work tries to keep at
 *		least, so that the map path finds some to claim; 0 turns it off.
 * @evacuate_rate: Most lent chunks evacuate_work empties a second.
 * @burst_peak:	Most chunks above @nr_initial the pool has held, or its
 *		slots in use and the high watermark would have filled, since
 *		it was last at its initial size (swiotlb_note_burst_peak()).
 * @burst_until: jiffies until which a burst is being served: the pool grew
 *		SWIOTLB_BURST_QUIET before (swiotlb_keep_evacuated()).
 * @last_burst:	@burst_peak of the last burst the pool shrank back from:
 *		evacuate_work keeps that many free if it is more than
 *		@evacuate_target (swiotlb_evacuate_goal()).
 * @evacuate_count: Chunks emptied by evacuate_work.
 * @evacuate_pages: Pages it migrated out of them.
 * @evacuate_work: Empties a lent chunk now and then while memory has room.
 * @withheld:	Chunks reserved since boot and not lent yet: neither active
 *		nor lent, their slots withdrawn. Changed under @lock.
 * @nr_withheld: Chunks in @withheld. Written under @lock, read locklessly.
 * @lend_deferred: Chunks boot left to @lend_work.
 * @lend_kept:	Chunks of those that could not be lent and are active.
 * @lend_ns:	Time @lend_work spent lending.
 * @lend_queued: local_clock() when boot queued @lend_work.
 * @withheld_counted: Withheld chunks count as managed memory already.
 * @lend_work:	Lends the chunks boot left withheld, a run at a time.
 * @lock:	Serialises growing, shrinking and watermark updates.
 * @grow_work:	Takes chunks back; kicked from the map path.
 * @shrink_work: Periodic check for chunks to lend again.
 * @wq:		Workqueue both works run on.
 */
struct io_tlb_reclaim {
	unsigned long area_low_wmark;
	struct io_tlb_pool *pool;
	unsigned long nr_chunks;
	unsigned int chunk_slots;
	unsigned long nr_initial;
	atomic_long_t nr_active;
	unsigned long nr_lost;
	unsigned long *lost;
	unsigned long *retry_after;
	unsigned long low_wmark;
	unsigned long high_wmark;
	unsigned long shrink_delay_ms;
	unsigned long above_high_since;
	unsigned long fail_grow;
	atomic_long_t grow_count;
	atomic_long_t shrink_count;
	atomic_long_t grow_fail_count;
	atomic_long_t grow_pages_migrated;
	atomic_long_t grow_free_count;
	atomic_long_t grow_take_count;
	unsigned long pick_cursor;
	unsigned long evacuate_cursor;
	unsigned long pick_ns_max;
	struct zone *zone;
	unsigned long claim_enabled;
	atomic_long_t claim_count;
	atomic_long_t claim_miss_count;
	atomic_long_t claim_ns_max;
	atomic_long_t claim_ahead_count;
	unsigned long kicked_at;
	atomic_long_t transient_count;
	atomic_long_t transient_ns_max;
	atomic_long_t transient_fail_count;
	atomic_long_t transient_lent_count;
	unsigned long *standby;
	atomic_long_t nr_standby;
	unsigned long standby_target;
	atomic_long_t standby_used_count;
	atomic_t outran;
	unsigned long grow_boost;
	unsigned long evacuate_target;
	unsigned long evacuate_rate;
	unsigned long burst_peak;
	unsigned long burst_until;
	unsigned long last_burst;
	atomic_long_t evacuate_count;
	atomic_long_t evacuate_pages;
	struct delayed_work evacuate_work;
	unsigned long *withheld;
	unsigned long nr_withheld;
	unsigned long lend_deferred;
	unsigned long lend_kept;
	u64 lend_ns;
	u64 lend_queued;
	bool withheld_counted;
	struct work_struct lend_work;
	struct mutex lock;	/* grow, shrink, watermarks */
	struct work_struct grow_work;
	struct delayed_work shrink_work;
	struct workqueue_struct *wq;
};

/* swiotlb_reclaim.c, called by swiotlb.c */
void *swiotlb_reclaim_memblock_alloc(unsigned long *nslabs,
				     unsigned int *nareas, unsigned int flags,
				     int (*remap)(void *tlb, unsigned long nslabs));
void swiotlb_reclaim_init_pool(struct io_tlb_pool *pool,
			       unsigned long active_nslabs);
bool swiotlb_reclaim_update_mem_attributes(struct io_tlb_pool *pool);
void swiotlb_reclaim_kick(struct io_tlb_pool *pool);
bool swiotlb_reclaim_claim(struct io_tlb_pool *pool);
void swiotlb_reclaim_note_transient(struct io_tlb_pool *pool,
				    struct io_tlb_pool *transient, u64 ns);
void swiotlb_reclaim_note_transient_failed(struct io_tlb_pool *pool,
					   size_t size, u64 ns);
struct page *swiotlb_reclaim_alloc_tlb(struct device *dev, size_t bytes,
				       u64 phys_limit);
void *swiotlb_reclaim_alloc_slots(struct device *dev, unsigned int order);
void *swiotlb_reclaim_alloc_pool_struct(struct device *dev, size_t size);
void swiotlb_reclaim_free_pool_struct(struct io_tlb_pool *pool);
bool swiotlb_reclaim_exit(struct io_tlb_pool *pool);
bool swiotlb_reclaim_warn_full(struct device *dev, struct io_tlb_pool *pool,
			       size_t size);

/* swiotlb.c, called by swiotlb_reclaim.c */
bool swiotlb_withdraw_slots(struct io_tlb_pool *pool, unsigned long first,
			    unsigned long nr);
void swiotlb_publish_slots(struct io_tlb_pool *pool, unsigned long first,
			   unsigned long nr);
unsigned long swiotlb_area_free_slots(struct io_tlb_pool *pool,
				      unsigned int area_index);

/**
 * swiotlb_reclaim_pool_lends() - does a pool lend chunks?
 * @pool:	Pool to check.
 *
 * Return: %true if chunks of @pool may belong to the page allocator.
 */
static inline bool swiotlb_reclaim_pool_lends(struct io_tlb_pool *pool)
{
	return pool->reclaim;
}

/**
 * swiotlb_reclaim_transient_gfp() - how a transient pool is allocated
 * @pool:	The default pool, which could not serve a mapping.
 *
 * Upstream allocates transient pools with GFP_NOWAIT. While the default
 * pool lends, a transient pool stands in, for one mapping, for a region
 * chunk the worker is migrating back right then, and that happens when
 * ordinary memory is short: every lent chunk holds movable data. It may
 * then use the zone's atomic reserve (__GFP_HIGH), as a mempool would for
 * I/O that makes progress: the bounce may be the writeback that frees
 * memory. In make bench, the main burst (lent area full) failed mappings
 * on 5 of 9 boots with GFP_NOWAIT.
 *
 * Return: the GFP flags for swiotlb_alloc_pool().
 */
static inline gfp_t swiotlb_reclaim_transient_gfp(struct io_tlb_pool *pool)
{
	if (swiotlb_reclaim_pool_lends(pool))
		return GFP_NOWAIT | __GFP_HIGH | __GFP_NOWARN;
	return GFP_NOWAIT | __GFP_NOWARN;
}

/**
 * swiotlb_reclaim_area_low() - should the map path kick the grow worker?
 * @pool:	Pool an area of which was just searched.
 * @area_used:	Used (or lent) slots of that area, read under its lock.
 *
 * Return: %true if @pool lends chunks and the area is short of free slots.
 */
static inline bool swiotlb_reclaim_area_low(struct io_tlb_pool *pool,
					    unsigned long area_used)
{
	struct io_tlb_reclaim *rc = pool->reclaim;

	return rc && pool->area_nslabs - area_used < READ_ONCE(rc->area_low_wmark);
}

/**
 * swiotlb_reclaim_search_start() - where an area's next search begins
 * @pool:	Pool whose slots were just freed; the area lock is held.
 * @next:	The area's next-fit search index.
 * @freed:	Area-relative index of the first slot just freed.
 *
 * Next fit walks the whole area, so once the pool has grown, a mapping
 * that lives for long (a virtio ring in a CoCo guest) may settle in a
 * grown chunk and keep it from ever being lent again. While the pool is
 * above its initial size, searches restart at the lowest slot freed
 * since, so that mappings pack into the low chunks, which shrinking
 * retires last (it lends the highest free chunk of an area first), and
 * the grown chunks drain. Free slots are found at once, so the map path
 * pays nothing for it.
 *
 * Return: the index the area's next search should start at.
 */
static inline unsigned int swiotlb_reclaim_search_start(struct io_tlb_pool *pool,
							unsigned int next,
							unsigned int freed)
{
	struct io_tlb_reclaim *rc = pool->reclaim;

	if (rc && freed < next &&
	    atomic_long_read(&rc->nr_active) > rc->nr_initial)
		return freed;
	return next;
}

/**
 * swiotlb_reclaim_lent_slots() - slots a search can skip at a lent chunk
 * @pool:	Pool being searched; the lock of the slot's area is held.
 * @slot_index:	A slot whose free-run count is 0 (in use, or lent).
 *
 * A lent chunk has no free slot; stepping through one slot by slot costs
 * hundreds of iterations on the map path. Under the area lock a clear bit
 * means every slot of the chunk is withdrawn: slots are withdrawn under
 * this lock before the bit is cleared, and the bit is set before they are
 * published under it.
 *
 * Return: the number of slots from @slot_index to the end of its chunk if
 * the chunk is lent, else 0.
 */
static inline unsigned int swiotlb_reclaim_lent_slots(struct io_tlb_pool *pool,
						      unsigned int slot_index)
{
	unsigned int chunk_order = pool->chunk_shift - IO_TLB_SHIFT;

	if (!pool->active_chunks ||
	    test_bit(slot_index >> chunk_order, pool->active_chunks))
		return 0;
	return (1U << chunk_order) - (slot_index & ((1U << chunk_order) - 1));
}

#else /* !CONFIG_SWIOTLB_RECLAIM */

static inline unsigned int swiotlb_reclaim_lent_slots(struct io_tlb_pool *pool,
						      unsigned int slot_index)
{
	return 0;
}

static inline unsigned int swiotlb_reclaim_search_start(struct io_tlb_pool *pool,
							unsigned int next,
							unsigned int freed)
{
	return next;
}

static inline bool swiotlb_reclaim_exit(struct io_tlb_pool *pool)
{
	return false;
}

static inline bool swiotlb_reclaim_warn_full(struct device *dev,
					     struct io_tlb_pool *pool,
					     size_t size)
{
	return false;
}

static inline void *
swiotlb_reclaim_memblock_alloc(unsigned long *nslabs, unsigned int *nareas,
			       unsigned int flags,
			       int (*remap)(void *tlb, unsigned long nslabs))
{
	return NULL;
}

static inline void swiotlb_reclaim_init_pool(struct io_tlb_pool *pool,
					     unsigned long active_nslabs)
{
}

static inline bool swiotlb_reclaim_update_mem_attributes(struct io_tlb_pool *pool)
{
	return false;
}

static inline bool swiotlb_reclaim_pool_lends(struct io_tlb_pool *pool)
{
	return false;
}

static inline gfp_t swiotlb_reclaim_transient_gfp(struct io_tlb_pool *pool)
{
	return GFP_NOWAIT | __GFP_NOWARN;
}

static inline bool swiotlb_reclaim_area_low(struct io_tlb_pool *pool,
					    unsigned long area_used)
{
	return false;
}

static inline void swiotlb_reclaim_kick(struct io_tlb_pool *pool)
{
}

static inline bool swiotlb_reclaim_claim(struct io_tlb_pool *pool)
{
	return false;
}

static inline void swiotlb_reclaim_note_transient(struct io_tlb_pool *pool,
						  struct io_tlb_pool *transient,
						  u64 ns)
{
}

static inline void
swiotlb_reclaim_note_transient_failed(struct io_tlb_pool *pool, size_t size,
				      u64 ns)
{
}

static inline struct page *swiotlb_reclaim_alloc_tlb(struct device *dev,
						     size_t bytes,
						     u64 phys_limit)
{
	return NULL;
}

static inline void *swiotlb_reclaim_alloc_slots(struct device *dev,
						unsigned int order)
{
	return NULL;
}

static inline void *swiotlb_reclaim_alloc_pool_struct(struct device *dev,
						      size_t size)
{
	return NULL;
}

static inline void swiotlb_reclaim_free_pool_struct(struct io_tlb_pool *pool)
{
	kfree(pool);
}

#endif /* CONFIG_SWIOTLB_RECLAIM */

#endif /* _KERNEL_DMA_SWIOTLB_RECLAIM_H */
