/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM swiotlb_reclaim

#if !defined(_TRACE_SWIOTLB_RECLAIM_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SWIOTLB_RECLAIM_H

#include <linux/tracepoint.h>

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

/* The map path put a wholly free lent chunk into use itself. */
TRACE_EVENT(swiotlb_reclaim_claim,
	    TP_PROTO(phys_addr_t addr, size_t size, u64 duration_ns),
	    TP_ARGS(addr, size, duration_ns),
	    TP_STRUCT__entry(__field(u64, addr)
			     __field(size_t, size)
			     __field(u64, duration_ns)),
	    TP_fast_assign(__entry->addr = addr;
			   __entry->size = size;
			   __entry->duration_ns = duration_ns;),
	    TP_printk("chunk=%#llx size=%zu duration_ns=%llu",
		      __entry->addr, __entry->size, __entry->duration_ns));

#endif /* _TRACE_SWIOTLB_RECLAIM_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
