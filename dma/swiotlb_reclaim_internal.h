/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the files of an overprovisioned swiotlb pool: the chunk state
 * machine (swiotlb_reclaim.c), the grow/shrink policy
 * (swiotlb_reclaim_policy.c) and the debugfs files
 * (swiotlb_reclaim_debugfs.c). swiotlb.c sees only swiotlb_reclaim.h.
 */
#ifndef _KERNEL_DMA_SWIOTLB_RECLAIM_INTERNAL_H
#define _KERNEL_DMA_SWIOTLB_RECLAIM_INTERNAL_H

#include <linux/bitops.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/swiotlb.h>
#include <linux/workqueue.h>

#include "swiotlb_reclaim.h"

/* A chunk that could not be taken is not tried again for this long */
#define SWIOTLB_GROW_RETRY_DELAY	(5 * HZ)
/* Default of io_tlb_shrink_delay_ms */
#define SWIOTLB_SHRINK_DELAY_MS		5000
/*
 * Lent chunks a pick looks at, at most: each costs a walk of its struct
 * pages, and a region may have thousands (2048 for 4 GiB).
 */
#define SWIOTLB_PICK_SAMPLE		8
/* Most adjacent chunks one migrating take brings back (16 MiB) */
#define SWIOTLB_GROW_RUN_MAX		8
/* The map path claims ahead once a kick has gone unanswered this long */
#define SWIOTLB_KICK_LAG		(HZ / 100 + 1)

/* The default pool's lending state; the only pool that lends */
extern struct io_tlb_reclaim swiotlb_default_reclaim;

/* swiotlb_reclaim.c: chunk state changes, all under rc->lock */
unsigned long swiotlb_free_slots(struct io_tlb_reclaim *rc);
unsigned long swiotlb_used_slots(struct io_tlb_reclaim *rc);
int swiotlb_grow_chunk(struct io_tlb_reclaim *rc, unsigned long chunk);
int swiotlb_grow_run(struct io_tlb_reclaim *rc, unsigned long chunk,
		     unsigned long nr);
int swiotlb_grow_free_chunk(struct io_tlb_reclaim *rc);
bool swiotlb_reclaim_claim_ahead(struct io_tlb_pool *pool);
int swiotlb_retire_chunk(struct io_tlb_reclaim *rc, unsigned long chunk);
int swiotlb_standby_chunk(struct io_tlb_reclaim *rc, unsigned long chunk);
int swiotlb_evacuate_chunk(struct io_tlb_reclaim *rc, unsigned long chunk);
int swiotlb_lend_standby_chunk(struct io_tlb_reclaim *rc);
unsigned long swiotlb_lent_chunks(struct io_tlb_reclaim *rc);

/* swiotlb_reclaim_policy.c */
void swiotlb_set_watermarks(struct io_tlb_reclaim *rc, unsigned long low,
			    unsigned long high);
void swiotlb_grow_work(struct work_struct *work);
void swiotlb_shrink_work(struct work_struct *work);
void swiotlb_after_claim(struct io_tlb_reclaim *rc, bool claimed);
void swiotlb_refill_standby(struct io_tlb_reclaim *rc);
void swiotlb_evacuate_work(struct work_struct *work);
void swiotlb_keep_evacuated(struct io_tlb_reclaim *rc);
unsigned long swiotlb_evacuate_goal(struct io_tlb_reclaim *rc);
void swiotlb_arm_evacuate(struct io_tlb_reclaim *rc);
int swiotlb_set_low_wmark(struct io_tlb_reclaim *rc, unsigned long val);
int swiotlb_set_high_wmark(struct io_tlb_reclaim *rc, unsigned long val);
int swiotlb_set_shrink_delay(struct io_tlb_reclaim *rc, unsigned long val);
int swiotlb_set_fail_grow(struct io_tlb_reclaim *rc, unsigned long val);
int swiotlb_set_atomic_claim(struct io_tlb_reclaim *rc, unsigned long val);
int swiotlb_set_standby(struct io_tlb_reclaim *rc, unsigned long val);
int swiotlb_set_evacuate(struct io_tlb_reclaim *rc, unsigned long val);
int swiotlb_set_evacuate_rate(struct io_tlb_reclaim *rc, unsigned long val);

#if IS_ENABLED(CONFIG_KUNIT)
/* Static otherwise; for swiotlb_reclaim_kunit.c */
int swiotlb_parse_overprovision(const char *str, unsigned int *ratio);
int swiotlb_chunk_set_shared(struct io_tlb_reclaim *rc, unsigned long chunk,
			     bool shared);
bool swiotlb_lend_withheld_chunk(struct io_tlb_reclaim *rc,
				 unsigned long chunk, bool can_lend);
int swiotlb_release_chunk(struct io_tlb_reclaim *rc, unsigned long chunk);
unsigned long swiotlb_pick_chunk(struct io_tlb_reclaim *rc);
unsigned long swiotlb_chunk_busy_pages(struct io_tlb_reclaim *rc,
				       unsigned long chunk);
bool swiotlb_claim_needs_standby(void);
bool swiotlb_evacuate_one(struct io_tlb_reclaim *rc);
int swiotlb_parse_standby(const char *str, long *chunks);
void swiotlb_grow(struct io_tlb_reclaim *rc);
unsigned long swiotlb_zone_free_pages(struct io_tlb_reclaim *rc);
void swiotlb_note_burst_peak(struct io_tlb_reclaim *rc);
#endif

/*
 * Is @deadline, set @span jiffies before it ran out, still ahead? Checking
 * the window rather than just time_before() keeps never-set (zero) and
 * long-expired deadlines from looking like future ones.
 */
static inline bool swiotlb_before_deadline(unsigned long deadline,
					   unsigned long span)
{
	return time_in_range(jiffies, deadline - span, deadline - 1);
}

static inline unsigned long swiotlb_chunk_slots(void)
{
	return pageblock_nr_pages << (PAGE_SHIFT - IO_TLB_SHIFT);
}

static inline unsigned long swiotlb_chunks_per_area(struct io_tlb_reclaim *rc)
{
	return rc->nr_chunks / rc->pool->nareas;
}

static inline unsigned long swiotlb_chunk_area(struct io_tlb_reclaim *rc,
					       unsigned long chunk)
{
	return chunk / swiotlb_chunks_per_area(rc);
}

static inline phys_addr_t swiotlb_chunk_phys(struct io_tlb_reclaim *rc,
					     unsigned long chunk)
{
	return rc->pool->start + ((phys_addr_t)chunk << rc->pool->chunk_shift);
}

static inline void *swiotlb_chunk_vaddr(struct io_tlb_reclaim *rc,
					unsigned long chunk)
{
	return rc->pool->vaddr + ((size_t)chunk << rc->pool->chunk_shift);
}

/*
 * Is @chunk lent to the page allocator? Neither active, lost nor on
 * standby, and no longer withheld: a chunk boot has not lent yet is
 * reserved memory that nothing may take back (swiotlb_reclaim_lend_init()).
 */
static inline bool swiotlb_chunk_is_lent(struct io_tlb_reclaim *rc,
					 unsigned long chunk)
{
	return !test_bit(chunk, rc->pool->active_chunks) &&
	       !test_bit(chunk, rc->lost) && !test_bit(chunk, rc->standby) &&
	       !test_bit(chunk, rc->withheld);
}

#endif /* _KERNEL_DMA_SWIOTLB_RECLAIM_INTERNAL_H */
