/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM swiotlb_reclaim

#if !defined(_TRACE_SWIOTLB_RECLAIM_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SWIOTLB_RECLAIM_H

#include <linux/mmzone.h>
#include <linux/tracepoint.h>
#include <linux/vmstat.h>

DECLARE_EVENT_CLASS(swiotlb_reclaim_chunk,
		    TP_PROTO(phys_addr_t addr, size_t size, u64 duration_ns,
			     unsigned long busy_pages, int err),
		    TP_ARGS(addr, size, duration_ns, busy_pages, err),
		    TP_STRUCT__entry(__field(u64, addr)
				     __field(size_t, size)
				     __field(u64, duration_ns)
				     __field(unsigned long, busy_pages)
				     __field(int, err)),
		    TP_fast_assign(__entry->addr = addr;
				   __entry->size = size;
				   __entry->duration_ns = duration_ns;
				   __entry->busy_pages = busy_pages;
				   __entry->err = err;),
		    TP_printk("chunk=%#llx size=%zu duration_us=%llu busy_pages=%lu err=%d",
			      __entry->addr, __entry->size, __entry->duration_ns / 1000,
			      __entry->busy_pages, __entry->err));

/* A lent chunk was taken back (err == 0) or skipped (err < 0). */
DEFINE_EVENT(swiotlb_reclaim_chunk, swiotlb_reclaim_grow,
	     TP_PROTO(phys_addr_t addr, size_t size, u64 duration_ns,
		      unsigned long busy_pages, int err),
	     TP_ARGS(addr, size, duration_ns, busy_pages, err));

/* A free active chunk was lent to the page allocator again. */
DEFINE_EVENT(swiotlb_reclaim_chunk, swiotlb_reclaim_shrink,
	     TP_PROTO(phys_addr_t addr, size_t size, u64 duration_ns,
		      unsigned long busy_pages, int err),
	     TP_ARGS(addr, size, duration_ns, busy_pages, err));

/*
 * The map path put a lent chunk into use itself: a wholly free one, or one
 * from the standby (standby=1).
 */
TRACE_EVENT(swiotlb_reclaim_claim,
	    TP_PROTO(phys_addr_t addr, size_t size, u64 duration_ns,
		     bool standby),
	    TP_ARGS(addr, size, duration_ns, standby),
	    TP_STRUCT__entry(__field(u64, addr)
			     __field(size_t, size)
			     __field(u64, duration_ns)
			     __field(bool, standby)),
	    TP_fast_assign(__entry->addr = addr;
			   __entry->size = size;
			   __entry->duration_ns = duration_ns;
			   __entry->standby = standby;),
	    TP_printk("chunk=%#llx size=%zu duration_ns=%llu standby=%d",
		      __entry->addr, __entry->size, __entry->duration_ns,
		      __entry->standby));

/*
 * With CONFIG_SWIOTLB_DYNAMIC, a mapping the region could not serve got a
 * transient pool (err == 0), made of a lent chunk's free pages if lent=1,
 * or none (err == -ENOMEM). The zone's free pages, and those of them in
 * lent chunks, tell a failure for want of memory from one for want of a
 * contiguous block; the region's free slots, a full region from one whose
 * free slots are all in runs too short for the mapping.
 */
TRACE_EVENT(swiotlb_reclaim_transient,
	    TP_PROTO(size_t size, bool lent, u64 duration_ns, struct zone *zone,
		     unsigned long pool_free_slots, int err),
	    TP_ARGS(size, lent, duration_ns, zone, pool_free_slots, err),
	    TP_STRUCT__entry(__field(size_t, size)
			     __field(bool, lent)
			     __field(u64, duration_ns)
			     __field(unsigned long, free_pages)
			     __field(unsigned long, lent_free_pages)
			     __field(unsigned long, pool_free_slots)
			     __field(int, err)),
	    TP_fast_assign(__entry->size = size;
			   __entry->lent = lent;
			   __entry->duration_ns = duration_ns;
			   __entry->free_pages =
				zone_page_state(zone, NR_FREE_PAGES);
			   __entry->lent_free_pages =
				zone_page_state(zone, NR_FREE_SWIOTLB_PAGES);
			   __entry->pool_free_slots = pool_free_slots;
			   __entry->err = err;),
	    TP_printk("size=%zu lent=%d duration_ns=%llu free_pages=%lu lent_free_pages=%lu pool_free_slots=%lu err=%d",
		      __entry->size, __entry->lent, __entry->duration_ns,
		      __entry->free_pages, __entry->lent_free_pages,
		      __entry->pool_free_slots, __entry->err));

#endif /* _TRACE_SWIOTLB_RECLAIM_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
