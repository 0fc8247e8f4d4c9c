// SPDX-License-Identifier: GPL-2.0
/*
 * When an overprovisioned swiotlb pool grows and shrinks.
 *
 * The map path kicks grow_work when an area runs short of free slots
 * (swiotlb_reclaim_kick(), any context, never waits). The worker picks lent
 * chunks, cheapest first in the neediest area, and takes them back until
 * the free active slots reach the high watermark. shrink_work lends free
 * chunks again once the pool has stayed a chunk above that watermark for
 * io_tlb_shrink_delay_ms. How a chunk changes state, and the ordering that
 * makes it safe, is in swiotlb_reclaim.c.
 */

#define pr_fmt(fmt) "swiotlb: " fmt

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/page-swiotlb.h>
#include <linux/swiotlb.h>
#include <linux/workqueue.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#include "swiotlb_reclaim_internal.h"

/* A grow round gives up after this many chunks could not be taken */
#define SWIOTLB_GROW_MAX_FAILURES	4
/* The map path does not kick a worker that just found nothing to do */
#define SWIOTLB_KICK_BACKOFF		(HZ / 50 + 1)
/* How often shrink_work looks for chunks to lend again */
#define SWIOTLB_SHRINK_PERIOD		(HZ / 2)
#define SWIOTLB_SHRINK_DELAY_MS_MAX	(3600 * 1000)
/* How often evacuate_work looks for lent chunks to empty */
#define SWIOTLB_EVACUATE_PERIOD		HZ
/* Most chunks io_tlb_evacuate_rate lets it empty in one look */
#define SWIOTLB_EVACUATE_RATE_MAX	64
/* Most chunks a grow round takes beyond the high watermark after bursts */
#define SWIOTLB_GROW_BOOST_MAX		32
/* A burst is being served until this long after the pool last grew */
#define SWIOTLB_BURST_QUIET		(HZ / 2)

/* End of the backoff after a grow round that could not help; see kick */
static unsigned long kick_after;

/**
 * swiotlb_set_watermarks() - set the free-slot watermarks
 * @rc:		Lending state; rc->lock is held (or boot).
 * @low:	Free active slots under which the pool grows.
 * @high:	Free active slots growing stops at.
 *
 * The map path compares each area with its share of @low, read locklessly.
 */
void swiotlb_set_watermarks(struct io_tlb_reclaim *rc, unsigned long low,
			    unsigned long high)
{
	rc->low_wmark = low;
	rc->high_wmark = high;
	WRITE_ONCE(rc->area_low_wmark, DIV_ROUND_UP(low, rc->pool->nareas));
}

/*
 * Has grow_work left a kick unanswered for SWIOTLB_KICK_LAG? Records the
 * first unanswered kick, and restarts the wait for whoever answers yes,
 * so that at most one caller per SWIOTLB_KICK_LAG claims ahead.
 */
static bool swiotlb_grow_lags(struct io_tlb_reclaim *rc)
{
	unsigned long now = jiffies ?: 1;
	unsigned long kicked = READ_ONCE(rc->kicked_at);

	if (!kicked) {
		cmpxchg(&rc->kicked_at, 0, now);
		return false;
	}
	return time_after_eq(now, kicked + SWIOTLB_KICK_LAG) &&
	       try_cmpxchg(&rc->kicked_at, &kicked, now);
}

/**
 * swiotlb_reclaim_kick() - ask for more active slots
 * @pool:	Pool that is short of free slots.
 *
 * Called from the map path when an area is under its low watermark. If
 * grow_work has not answered an earlier kick for SWIOTLB_KICK_LAG (it is
 * migrating, or waiting for a CPU), the map path claims a chunk itself
 * now rather than wait for a search to fail.
 *
 * Context: Any context: never sleeps, never waits.
 */
void swiotlb_reclaim_kick(struct io_tlb_pool *pool)
{
	struct io_tlb_reclaim *rc = pool->reclaim;
	struct workqueue_struct *wq;
	bool lags = false;

	/* swiotlb_reclaim_exit() waits for this section before destroying wq */
	rcu_read_lock();
	wq = READ_ONCE(rc->wq);
	if (wq && !swiotlb_before_deadline(READ_ONCE(kick_after),
					   SWIOTLB_KICK_BACKOFF)) {
		lags = swiotlb_grow_lags(rc);
		if (!work_pending(&rc->grow_work))
			queue_work(wq, &rc->grow_work);
	}
	rcu_read_unlock();
	if (lags)
		swiotlb_reclaim_claim_ahead(pool);
}

/**
 * swiotlb_after_claim() - follow up a failed search
 * @rc:		Lending state; rc->wq is set and the caller is in an RCU
 *		read-side section (see swiotlb_reclaim_claim()).
 * @claimed:	Whether the map path activated a chunk itself.
 *
 * A search that found no room means demand outran growth, whatever the
 * free count says (fragmentation can leave no run long enough): the next
 * grow round takes at least one chunk and grows by more
 * (rc->grow_boost). It is queued without the backoff that keeps idle kicks
 * quiet, and shrink_work is armed to lend a claimed chunk again once the
 * burst is over.
 *
 * Context: Any context; never sleeps.
 */
void swiotlb_after_claim(struct io_tlb_reclaim *rc, bool claimed)
{
	struct workqueue_struct *wq = READ_ONCE(rc->wq);

	atomic_set(&rc->outran, 1);
	queue_work(wq, &rc->grow_work);
	if (claimed)
		queue_delayed_work(wq, &rc->shrink_work, SWIOTLB_SHRINK_PERIOD);
}

/**
 * swiotlb_chunk_busy_pages() - pages in use in a chunk
 * @rc:		Lending state.
 * @chunk:	Lent chunk.
 *
 * Return: what taking @chunk back would migrate; a snapshot.
 */
VISIBLE_IF_KUNIT unsigned long swiotlb_chunk_busy_pages(struct io_tlb_reclaim *rc,
							unsigned long chunk)
{
	KUNIT_STATIC_STUB_REDIRECT(swiotlb_chunk_busy_pages, rc, chunk);
	return swiotlb_pageblocks_used_pages(PHYS_PFN(swiotlb_chunk_phys(rc, chunk)),
					     pageblock_nr_pages);
}

/* May @chunk be taken now: lent, and not failed recently? */
static bool swiotlb_chunk_takeable(struct io_tlb_reclaim *rc,
				   unsigned long chunk)
{
	return swiotlb_chunk_is_lent(rc, chunk) &&
	       !swiotlb_before_deadline(rc->retry_after[chunk],
					SWIOTLB_GROW_RETRY_DELAY);
}

/*
 * The least busy of at most SWIOTLB_PICK_SAMPLE takeable chunks in
 * [@first, @last), looking from *@cursor on and wrapping. With @need_busy
 * only chunks holding pages are wanted, and wholly free ones, which cost a
 * single struct page to recognise, do not count towards the sample;
 * otherwise a wholly free chunk ends the look at once. *@cursor moves past
 * what was looked at, so successive calls go round the range. Bounded
 * whatever the size of the region: a bit test per chunk passed over and at
 * most SWIOTLB_PICK_SAMPLE walks of a chunk's struct pages.
 */
static unsigned long swiotlb_sample_chunks(struct io_tlb_reclaim *rc,
					   unsigned long *cursor,
					   unsigned long first,
					   unsigned long last, bool need_busy)
{
	unsigned long best = ULONG_MAX, best_busy = ULONG_MAX;
	unsigned long span = last - first, chunk, busy, i;
	unsigned int looked = 0;

	chunk = *cursor;
	if (chunk < first || chunk >= last)
		chunk = first;
	for (i = 0; i < span && looked < SWIOTLB_PICK_SAMPLE; i++) {
		if (swiotlb_chunk_takeable(rc, chunk)) {
			busy = swiotlb_chunk_busy_pages(rc, chunk);
			*cursor = chunk + 1;
			/* A wholly free chunk costs one struct page to look at */
			if (busy || !need_busy)
				looked++;
			if (busy < best_busy && (busy || !need_busy)) {
				best = chunk;
				best_busy = busy;
				if (!busy)
					break;
			}
		}
		if (++chunk == last)
			chunk = first;
	}
	return best;
}

/**
 * swiotlb_pick_chunk() - the lent chunk to take back next
 * @rc:		Lending state; rc->lock is held.
 *
 * In the area with the fewest free slots that has a lent chunk to try, the
 * chunk with the fewest pages to migrate among a few sampled. Chunks that
 * failed recently are left alone for a while. Wholly free chunks are
 * normally gone by now: grow_work takes those off the free lists first.
 *
 * Return: the chunk, or ULONG_MAX if none can be tried now.
 */
VISIBLE_IF_KUNIT unsigned long swiotlb_pick_chunk(struct io_tlb_reclaim *rc)
{
	unsigned long per_area = swiotlb_chunks_per_area(rc);
	unsigned long best_free = ULONG_MAX, free, chunk;
	unsigned int area, best_area = 0;
	u64 start = ktime_get_ns();

	for (area = 0; area < rc->pool->nareas; area++) {
		for (chunk = area * per_area; chunk < (area + 1) * per_area;
		     chunk++)
			if (swiotlb_chunk_takeable(rc, chunk))
				break;
		if (chunk == (area + 1) * per_area)
			continue;
		free = swiotlb_area_free_slots(rc->pool, area);
		if (free < best_free) {
			best_free = free;
			best_area = area;
		}
	}
	chunk = ULONG_MAX;
	if (best_free != ULONG_MAX)
		chunk = swiotlb_sample_chunks(rc, &rc->pick_cursor,
					      best_area * per_area,
					      (best_area + 1) * per_area, false);
	rc->pick_ns_max = max_t(unsigned long, rc->pick_ns_max,
				ktime_get_ns() - start);
	return chunk;
}

/*
 * How many takeable chunks follow @chunk without a gap, up to @want in all
 * (and SWIOTLB_GROW_RUN_MAX): what one migrating take can bring back.
 */
static unsigned long swiotlb_run_length(struct io_tlb_reclaim *rc,
					unsigned long chunk, unsigned long want)
{
	unsigned long nr = 1;

	want = min_t(unsigned long, want, SWIOTLB_GROW_RUN_MAX);
	while (nr < want && chunk + nr < rc->nr_chunks &&
	       swiotlb_chunk_takeable(rc, chunk + nr))
		nr++;
	return nr;
}

static void swiotlb_arm_shrink(struct io_tlb_reclaim *rc)
{
	/* No workqueue once swiotlb_reclaim_exit() has begun */
	if (rc->wq && atomic_long_read(&rc->nr_active) > rc->nr_initial)
		queue_delayed_work(rc->wq, &rc->shrink_work,
				   SWIOTLB_SHRINK_PERIOD);
}

/* The zone's free pages, lent ones included; a test pretends they are few */
VISIBLE_IF_KUNIT unsigned long swiotlb_zone_free_pages(struct io_tlb_reclaim *rc)
{
	KUNIT_STATIC_STUB_REDIRECT(swiotlb_zone_free_pages, rc);
	return zone_page_state(rc->zone, NR_FREE_PAGES);
}

/**
 * swiotlb_grow_target() - free slots a grow round aims at
 * @rc:		Lending state.
 *
 * The high watermark plus rc->grow_boost chunks. The boost takes chunks
 * ahead of demand, and at the memory edge those are memory the burst's own
 * buffers need: in make bench a burst that started with 243 MiB free grew
 * the pool 60 MiB past its in-use peak, and the OOM killer ran. So the
 * boost only takes what the zone has free beyond its high watermark plus a
 * sixteenth of it, the level at which the page allocator stops keeping
 * evacuated chunks whole. Growing to the high watermark does not depend on
 * it.
 *
 * Return: a number of free slots.
 */
static unsigned long swiotlb_grow_target(struct io_tlb_reclaim *rc)
{
	unsigned long keep, zone_free, boost = rc->grow_boost;

	if (rc->zone && boost) {
		keep = high_wmark_pages(rc->zone) +
		       swiotlb_reserve_floor(rc->zone);
		zone_free = swiotlb_zone_free_pages(rc);
		/* A chunk is a pageblock */
		boost = zone_free > keep ?
			min(boost, (zone_free - keep) / pageblock_nr_pages) : 0;
	}
	return rc->high_wmark + boost * rc->chunk_slots;
}

/**
 * swiotlb_note_burst_peak() - remember how deep the current burst is
 * @rc:		Lending state; rc->lock is held.
 *
 * rc->burst_peak is the most chunks above the initial ones the burst has
 * needed: the chunks the pool holds, or, if more, those its slots in use
 * plus the high watermark of free slots would fill. When growth could not
 * keep up (every lent chunk full of pinned pages, migration slow), the pool
 * stays smaller than the burst it served; evacuation must prepare for the
 * burst, not for what growth managed.
 */
VISIBLE_IF_KUNIT void swiotlb_note_burst_peak(struct io_tlb_reclaim *rc)
{
	unsigned long active = atomic_long_read(&rc->nr_active);
	unsigned long need = DIV_ROUND_UP(swiotlb_used_slots(rc) +
					  rc->high_wmark, rc->chunk_slots);

	lockdep_assert_held(&rc->lock);
	need = min(max(need, active), rc->nr_chunks);
	if (need > rc->nr_initial)
		rc->burst_peak = max(rc->burst_peak, need - rc->nr_initial);
}

/**
 * swiotlb_grow() - one grow round
 * @rc:		Lending state; rc->lock is held.
 *
 * Grows until the high watermark is reached, the region is used up, or
 * too many chunks could not be taken. After a search failed (rc->outran),
 * it takes at least one chunk and aims rc->grow_boost chunks above the
 * high watermark, doubling that boost each time demand outruns it again;
 * shrinking halves it. The boost takes only memory the zone can spare
 * (swiotlb_grow_target(), looked at again for every chunk). Wholly free
 * lent chunks come first, off the free lists; then picked chunks are
 * migrated back, with the lent chunks right after them as one run when
 * more than one is wanted. Every iteration either activates a chunk or
 * counts a failure, so this never spins.
 */
VISIBLE_IF_KUNIT void swiotlb_grow(struct io_tlb_reclaim *rc)
{
	unsigned long chunk, target, free, want, nr;
	unsigned long grown = 0, min_grow = 0;
	unsigned int failures = 0;
	bool progress = false, runs = true;
	int err;

	lockdep_assert_held(&rc->lock);

	if (atomic_xchg(&rc->outran, 0)) {
		rc->grow_boost = clamp(rc->grow_boost * 2, 1UL,
				       (unsigned long)SWIOTLB_GROW_BOOST_MAX);
		min_grow = 1;
	}

	while ((free = swiotlb_free_slots(rc)) <
	       (target = swiotlb_grow_target(rc)) || grown < min_grow) {
		/* Injected failures (io_tlb_fail_grow) are for migrating takes */
		if (!rc->fail_grow) {
			err = swiotlb_grow_free_chunk(rc);
			if (!err) {
				progress = true;
				grown++;
				continue;
			}
			if (err != -ENOENT && ++failures >= SWIOTLB_GROW_MAX_FAILURES)
				break;
		}

		chunk = swiotlb_pick_chunk(rc);
		if (chunk == ULONG_MAX)
			break;
		want = free < target ?
		       DIV_ROUND_UP(target - free, rc->chunk_slots) : 1;
		nr = 1;
		if (runs && !rc->fail_grow)
			nr = swiotlb_run_length(rc, chunk, want);
		err = swiotlb_grow_run(rc, chunk, nr);
		/* -EALREADY: the map path claimed it, which is progress too */
		if (!err || err == -EALREADY) {
			progress = true;
			grown += err ? 1 : nr;
			continue;
		}
		/*
		 * A failed run counts as a failure of its first chunk; the rest
		 * of the round goes chunk by chunk, where a failure names the
		 * chunk that cannot be taken.
		 */
		if (nr > 1)
			runs = false;
		atomic_long_inc(&rc->grow_fail_count);
		rc->retry_after[chunk] = jiffies + SWIOTLB_GROW_RETRY_DELAY;
		if (++failures >= SWIOTLB_GROW_MAX_FAILURES)
			break;
	}

	/* Kicks that cannot help now would only requeue us in a loop */
	if (!progress)
		WRITE_ONCE(kick_after, jiffies + SWIOTLB_KICK_BACKOFF);
	/* Answered: the map path need not claim ahead (swiotlb_grow_lags()) */
	WRITE_ONCE(rc->kicked_at, 0);
	/* Claims kick this worker too, so their chunks are counted here */
	swiotlb_note_burst_peak(rc);
	/* Grown, or a search failed: a burst is being served */
	if (grown || min_grow)
		rc->burst_until = jiffies + SWIOTLB_BURST_QUIET;
	swiotlb_keep_evacuated(rc);
	swiotlb_arm_shrink(rc);
}

/**
 * swiotlb_evacuate_goal() - wholly free lent chunks evacuate_work keeps
 * @rc:		Lending state.
 *
 * io_tlb_evacuate, or, if the last burst needed more, that many:
 * the next burst is likely to be like the last, and a chunk that is wholly
 * free when it comes is claimed in microseconds instead of migrated in
 * milliseconds. At most half of the chunks that are not initial, so that
 * one large burst does not have evacuation empty the whole region.
 *
 * Return: the number of chunks, 0 if evacuation is off.
 */
unsigned long swiotlb_evacuate_goal(struct io_tlb_reclaim *rc)
{
	if (!rc->evacuate_target)
		return 0;
	return max(rc->evacuate_target,
		   min(rc->last_burst, (rc->nr_chunks - rc->nr_initial) / 2));
}

/*
 * Back at its initial size: the burst is over, and its peak is what
 * evacuation prepares the next one for. rc->lock is held.
 */
static void swiotlb_end_burst(struct io_tlb_reclaim *rc)
{
	if (rc->burst_peak) {
		rc->last_burst = rc->burst_peak;
		rc->burst_peak = 0;
	}
	swiotlb_keep_evacuated(rc);
	swiotlb_arm_evacuate(rc);
}

/**
 * swiotlb_refill_standby() - bring the standby to its target size
 * @rc:		Lending state; rc->lock is held.
 *
 * Takes lent chunks onto the standby, wholly free ones first, or lends
 * standby chunks again when the target was lowered. Gives up on a chunk
 * that cannot be taken as a grow round does.
 */
void swiotlb_refill_standby(struct io_tlb_reclaim *rc)
{
	unsigned int failures = 0;
	unsigned long chunk;
	int err;

	lockdep_assert_held(&rc->lock);

	while (atomic_long_read(&rc->nr_standby) < rc->standby_target &&
	       failures < SWIOTLB_GROW_MAX_FAILURES) {
		/* A wholly free chunk first, as in swiotlb_grow() */
		err = swiotlb_standby_chunk(rc, ULONG_MAX);
		if (!err)
			continue;
		if (err != -ENOENT) {
			failures++;
			continue;
		}
		chunk = swiotlb_pick_chunk(rc);
		if (chunk == ULONG_MAX)
			break;
		err = swiotlb_standby_chunk(rc, chunk);
		if (!err || err == -EALREADY)
			continue;
		atomic_long_inc(&rc->grow_fail_count);
		rc->retry_after[chunk] = jiffies + SWIOTLB_GROW_RETRY_DELAY;
		failures++;
	}
	while (atomic_long_read(&rc->nr_standby) > rc->standby_target &&
	       !swiotlb_lend_standby_chunk(rc))
		;
}

/**
 * swiotlb_grow_work() - grow_work: take chunks back after a kick
 * @work:	&io_tlb_reclaim.grow_work.
 */
void swiotlb_grow_work(struct work_struct *work)
{
	struct io_tlb_reclaim *rc = container_of(work, struct io_tlb_reclaim,
						 grow_work);

	mutex_lock(&rc->lock);
	swiotlb_grow(rc);
	swiotlb_refill_standby(rc);
	mutex_unlock(&rc->lock);
}

/* The active chunk to lend next: a free one in the area with most free */
static int swiotlb_shrink_one(struct io_tlb_reclaim *rc)
{
	unsigned long per_area = swiotlb_chunks_per_area(rc);
	unsigned int area, best_area = 0;
	unsigned long best_free = 0, chunk;

	for (area = 0; area < rc->pool->nareas; area++) {
		unsigned long free = swiotlb_area_free_slots(rc->pool, area);

		if (free >= rc->chunk_slots && free > best_free) {
			best_free = free;
			best_area = area;
		}
	}
	if (!best_free)
		return -ENOENT;

	for (chunk = (best_area + 1) * per_area; chunk-- > best_area * per_area;) {
		if (test_bit(chunk, rc->pool->active_chunks) &&
		    !swiotlb_retire_chunk(rc, chunk))
			return 0;
	}
	return -EBUSY;
}

/**
 * swiotlb_shrink_work() - shrink_work: lend chunks the pool can spare
 * @work:	&io_tlb_reclaim.shrink_work.work.
 *
 * Queued every SWIOTLB_SHRINK_PERIOD while the pool is above its initial
 * size; lends free chunks once the pool has stayed a chunk above the high
 * watermark for io_tlb_shrink_delay_ms.
 */
void swiotlb_shrink_work(struct work_struct *work)
{
	struct io_tlb_reclaim *rc = container_of(to_delayed_work(work),
						 struct io_tlb_reclaim,
						 shrink_work);
	unsigned long delay;

	mutex_lock(&rc->lock);
	if (atomic_long_read(&rc->nr_active) <= rc->nr_initial) {
		rc->above_high_since = 0;
		swiotlb_end_burst(rc);
		goto out;
	}
	/* Growth stopped SWIOTLB_BURST_QUIET ago: back to the goal */
	swiotlb_keep_evacuated(rc);

	/* Hysteresis: only shrink with a whole chunk to spare above high */
	if (swiotlb_free_slots(rc) < rc->high_wmark + rc->chunk_slots) {
		rc->above_high_since = 0;
		goto rearm;
	}
	if (!rc->above_high_since) {
		/* 0 means "not above": nudge a zero jiffies by one tick only */
		rc->above_high_since = jiffies ?: 1;
		goto rearm;
	}
	delay = msecs_to_jiffies(rc->shrink_delay_ms);
	if (time_before(jiffies, rc->above_high_since + delay))
		goto rearm;

	while (atomic_long_read(&rc->nr_active) > rc->nr_initial &&
	       swiotlb_free_slots(rc) >= rc->high_wmark + rc->chunk_slots &&
	       !swiotlb_shrink_one(rc))
		;
	/* The burst is over: grow by less next time */
	rc->grow_boost /= 2;
	rc->above_high_since = 0;
	if (atomic_long_read(&rc->nr_active) <= rc->nr_initial)
		swiotlb_end_burst(rc);
rearm:
	swiotlb_arm_shrink(rc);
out:
	mutex_unlock(&rc->lock);
}

/**
 * swiotlb_keep_evacuated() - have the page allocator leave free chunks whole
 * @rc:		Lending state.
 *
 * While movable allocations prefer lent pages, the wholly free chunks
 * evacuate_work made would be the next they split, its own migration
 * targets first. The page allocator leaves swiotlb_evacuate_goal() wholly
 * free lent chunks (a pageblock each) whole instead, fewer once ordinary
 * memory runs short. While a burst is being served (the pool grew less
 * than SWIOTLB_BURST_QUIET ago), every wholly free lent chunk is one the
 * map path may claim next: then it leaves them all whole. In one make
 * bench boot, the burst's own buffers split 38 of the 71 whole chunks
 * within half a second of its start while the reserve was the goal (50),
 * and the burst failed 82 requests. Only for that long: a pool that stays
 * grown under steady I/O would otherwise keep movable data out of the lent
 * area for as long as it lasts. shrink_work, which looks every
 * SWIOTLB_SHRINK_PERIOD while the pool is grown, puts the goal back.
 */
void swiotlb_keep_evacuated(struct io_tlb_reclaim *rc)
{
	unsigned long keep = swiotlb_evacuate_goal(rc);

	if (!rc->zone)
		return;
	if (atomic_long_read(&rc->nr_active) > rc->nr_initial &&
	    swiotlb_before_deadline(rc->burst_until, SWIOTLB_BURST_QUIET))
		keep = rc->nr_chunks;
	swiotlb_reserve_free_pageblocks(rc->zone, keep);
}

/**
 * swiotlb_arm_evacuate() - queue evacuate_work for its next look
 * @rc:		Lending state.
 */
void swiotlb_arm_evacuate(struct io_tlb_reclaim *rc)
{
	/* No workqueue once swiotlb_reclaim_exit() has begun */
	if (rc->wq && swiotlb_evacuate_goal(rc))
		queue_delayed_work(rc->wq, &rc->evacuate_work,
				   SWIOTLB_EVACUATE_PERIOD);
}

/*
 * Room for a chunk's pages outside lent memory: the zone's other free
 * pages stay above its high watermark with two chunks to spare.
 */
static bool swiotlb_zone_has_room(struct zone *zone)
{
	return swiotlb_zone_ordinary_free(zone) >
	       (long)(high_wmark_pages(zone) + 2 * pageblock_nr_pages);
}

/**
 * swiotlb_evacuate_one() - empty one lent chunk if the map path needs it
 * @rc:		Lending state; rc->lock is held.
 *
 * Under memory pressure movable data fills the lent chunks, and once the
 * pressure is gone it stays there: a later burst finds no chunk wholly
 * free to claim and waits for migration. While the zone has room outside
 * lent memory and fewer than swiotlb_evacuate_goal() lent chunks are
 * wholly free, this migrates the pages out of the lent chunk that holds the
 * fewest among a few sampled, one chunk per call. The pages land in
 * ordinary memory or in partly used lent chunks: movable allocations prefer
 * lent pages only while those are over half of the zone's free memory,
 * and even then split a wholly free lent chunk only while more than that
 * goal are left (swiotlb_keep_evacuated()).
 *
 * Return: %true if a chunk was emptied.
 */
VISIBLE_IF_KUNIT bool swiotlb_evacuate_one(struct io_tlb_reclaim *rc)
{
	unsigned long best, goal = swiotlb_evacuate_goal(rc);
	int err;

	lockdep_assert_held(&rc->lock);

	/* What a claim could take now */
	if (swiotlb_free_pageblocks(rc->zone, goal) >= goal ||
	    !swiotlb_zone_has_room(rc->zone))
		return false;

	best = swiotlb_sample_chunks(rc, &rc->evacuate_cursor, 0, rc->nr_chunks,
				     true);
	if (best == ULONG_MAX)
		return false;

	err = swiotlb_evacuate_chunk(rc, best);
	if (err && err != -EALREADY)
		rc->retry_after[best] = jiffies + SWIOTLB_GROW_RETRY_DELAY;
	return !err;
}

/**
 * swiotlb_evacuate_work() - evacuate_work: keep lent chunks claimable
 * @work:	&io_tlb_reclaim.evacuate_work.work.
 *
 * Runs every SWIOTLB_EVACUATE_PERIOD, emptying at most io_tlb_evacuate_rate
 * chunks each time (8 by default: 16 MiB a second with 2 MiB chunks), so
 * that a few seconds after memory pressure eases a burst finds chunks to
 * claim, while a busy guest pays at most that much migration a second. It
 * drops rc->lock between chunks: grow_work, which a burst needs, waits for
 * one chunk's migration at most. It runs at the workqueue's normal
 * priority for the same reason: at idle priority on a busy guest it would
 * hold rc->lock for as long as it waits for a CPU.
 */
void swiotlb_evacuate_work(struct work_struct *work)
{
	struct io_tlb_reclaim *rc = container_of(to_delayed_work(work),
						 struct io_tlb_reclaim,
						 evacuate_work);
	unsigned long i, rate = READ_ONCE(rc->evacuate_rate);
	bool emptied;

	for (i = 0; i < rate; i++) {
		mutex_lock(&rc->lock);
		emptied = swiotlb_evacuate_one(rc);
		mutex_unlock(&rc->lock);
		if (!emptied)
			break;
		cond_resched();
	}
	mutex_lock(&rc->lock);
	swiotlb_arm_evacuate(rc);
	mutex_unlock(&rc->lock);
}

/*
 * Changes from debugfs, validated here; rc->lock is held. Each returns 0,
 * or -EINVAL after logging why the value was refused and changing nothing.
 */

/**
 * swiotlb_set_low_wmark() - set io_tlb_low_wmark, which must stay below high
 * @rc:		Lending state.
 * @val:	New value.
 *
 * Return: 0 or -EINVAL.
 */
int swiotlb_set_low_wmark(struct io_tlb_reclaim *rc, unsigned long val)
{
	if (val >= rc->high_wmark) {
		pr_warn("io_tlb_low_wmark: %lu must be below io_tlb_high_wmark (%lu); unchanged\n",
			val, rc->high_wmark);
		return -EINVAL;
	}
	swiotlb_set_watermarks(rc, val, rc->high_wmark);
	return 0;
}

/**
 * swiotlb_set_high_wmark() - set io_tlb_high_wmark: above low, at most nslabs
 * @rc:		Lending state.
 * @val:	New value.
 *
 * Return: 0 or -EINVAL.
 */
int swiotlb_set_high_wmark(struct io_tlb_reclaim *rc, unsigned long val)
{
	if (val <= rc->low_wmark || val > rc->pool->nslabs) {
		pr_warn("io_tlb_high_wmark: %lu must be above io_tlb_low_wmark (%lu) and at most io_tlb_nslabs (%lu); unchanged\n",
			val, rc->low_wmark, rc->pool->nslabs);
		return -EINVAL;
	}
	swiotlb_set_watermarks(rc, rc->low_wmark, val);
	return 0;
}

/**
 * swiotlb_set_shrink_delay() - set io_tlb_shrink_delay_ms, at most an hour
 * @rc:		Lending state.
 * @val:	New value in milliseconds.
 *
 * Return: 0 or -EINVAL.
 */
int swiotlb_set_shrink_delay(struct io_tlb_reclaim *rc, unsigned long val)
{
	if (val > SWIOTLB_SHRINK_DELAY_MS_MAX) {
		pr_warn("io_tlb_shrink_delay_ms: %lu is more than an hour; unchanged\n",
			val);
		return -EINVAL;
	}
	rc->shrink_delay_ms = val;
	return 0;
}

/**
 * swiotlb_set_fail_grow() - fail the next @val chunk takes (fault injection)
 * @rc:		Lending state.
 * @val:	Number of takes to fail, at most the number of chunks.
 *
 * Return: 0 or -EINVAL.
 */
int swiotlb_set_fail_grow(struct io_tlb_reclaim *rc, unsigned long val)
{
	if (val > rc->nr_chunks) {
		pr_warn("io_tlb_fail_grow: %lu is more than the %lu chunks; unchanged\n",
			val, rc->nr_chunks);
		return -EINVAL;
	}
	rc->fail_grow = val;
	return 0;
}

/**
 * swiotlb_set_atomic_claim() - set io_tlb_atomic_claim: 1 lets the map path
 *	claim free lent chunks itself, 0 leaves all growing to the worker
 * @rc:		Lending state.
 * @val:	0 or 1.
 *
 * Return: 0 or -EINVAL.
 */
int swiotlb_set_atomic_claim(struct io_tlb_reclaim *rc, unsigned long val)
{
	if (val > 1) {
		pr_warn("io_tlb_atomic_claim: %lu is neither 0 nor 1; unchanged\n",
			val);
		return -EINVAL;
	}
	if (val && !rc->wq) {
		pr_warn("io_tlb_atomic_claim: no worker to follow claims up; unchanged\n");
		return -EINVAL;
	}
	/* Pairs with smp_load_acquire() in swiotlb_reclaim_claim() */
	smp_store_release(&rc->claim_enabled, val);
	return 0;
}

/**
 * swiotlb_set_standby() - set io_tlb_standby, the chunks kept on standby
 * @rc:		Lending state.
 * @val:	Chunks, at most what is lent, on standby or still to be lent
 *		after boot now.
 *
 * The worker takes chunks onto the standby or lends them again.
 *
 * Return: 0 or -EINVAL.
 */
int swiotlb_set_standby(struct io_tlb_reclaim *rc, unsigned long val)
{
	unsigned long most = swiotlb_lent_chunks(rc) +
			     atomic_long_read(&rc->nr_standby) +
			     READ_ONCE(rc->nr_withheld);

	if (val > most) {
		pr_warn("io_tlb_standby: %lu is more than the %lu chunks lent, on standby or still to lend; unchanged\n",
			val, most);
		return -EINVAL;
	}
	if (!rc->wq) {
		pr_warn("io_tlb_standby: no worker to fill the standby; unchanged\n");
		return -EINVAL;
	}
	rc->standby_target = val;
	queue_work(rc->wq, &rc->grow_work);
	return 0;
}

/**
 * swiotlb_set_evacuate() - set io_tlb_evacuate, the wholly free lent chunks
 *	evacuate_work tries to keep (0: do not evacuate)
 * @rc:		Lending state.
 * @val:	Chunks, at most the number of chunks.
 *
 * Return: 0 or -EINVAL.
 */
int swiotlb_set_evacuate(struct io_tlb_reclaim *rc, unsigned long val)
{
	if (val > rc->nr_chunks) {
		pr_warn("io_tlb_evacuate: %lu is more than the %lu chunks; unchanged\n",
			val, rc->nr_chunks);
		return -EINVAL;
	}
	rc->evacuate_target = val;
	swiotlb_keep_evacuated(rc);
	swiotlb_arm_evacuate(rc);
	return 0;
}

/**
 * swiotlb_set_evacuate_rate() - set io_tlb_evacuate_rate, the most lent
 *	chunks evacuate_work empties a second
 * @rc:		Lending state.
 * @val:	Chunks, 1 to SWIOTLB_EVACUATE_RATE_MAX.
 *
 * Return: 0 or -EINVAL.
 */
int swiotlb_set_evacuate_rate(struct io_tlb_reclaim *rc, unsigned long val)
{
	if (!val || val > SWIOTLB_EVACUATE_RATE_MAX) {
		pr_warn("io_tlb_evacuate_rate: %lu is not 1 to %d chunks a second (io_tlb_evacuate 0 turns evacuation off); unchanged\n",
			val, SWIOTLB_EVACUATE_RATE_MAX);
		return -EINVAL;
	}
	WRITE_ONCE(rc->evacuate_rate, val);
	return 0;
}
