// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs files of an overprovisioned swiotlb pool, in swiotlb/ next to
 * swiotlb's own: slot counts of the chunk states, counters of the worker,
 * and the writable tuning and fault-injection knobs, which the policy
 * (swiotlb_reclaim_policy.c) validates. See
 * Documentation/core-api/swiotlb-reclaim.rst for what each one means.
 */

#define pr_fmt(fmt) "swiotlb: " fmt

#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/kstrtox.h>
#include <linux/page-swiotlb.h>
#include <linux/seq_file.h>
#include <linux/swiotlb.h>

#include "swiotlb_reclaim_internal.h"

/**
 * struct swiotlb_knob - a writable debugfs value
 * @name:	File name, used in messages.
 * @value:	Current value.
 * @set:	Validates and applies a new value under rc->lock; logs why
 *		it refuses one.
 */
struct swiotlb_knob {
	const char *name;
	unsigned long *value;
	int (*set)(struct io_tlb_reclaim *rc, unsigned long val);
};

static struct swiotlb_knob swiotlb_knobs[] = {
	{ "io_tlb_low_wmark", &swiotlb_default_reclaim.low_wmark,
	  swiotlb_set_low_wmark },
	{ "io_tlb_high_wmark", &swiotlb_default_reclaim.high_wmark,
	  swiotlb_set_high_wmark },
	{ "io_tlb_shrink_delay_ms", &swiotlb_default_reclaim.shrink_delay_ms,
	  swiotlb_set_shrink_delay },
	{ "io_tlb_fail_grow", &swiotlb_default_reclaim.fail_grow,
	  swiotlb_set_fail_grow },
	{ "io_tlb_atomic_claim", &swiotlb_default_reclaim.claim_enabled,
	  swiotlb_set_atomic_claim },
	{ "io_tlb_standby", &swiotlb_default_reclaim.standby_target,
	  swiotlb_set_standby },
	{ "io_tlb_evacuate", &swiotlb_default_reclaim.evacuate_target,
	  swiotlb_set_evacuate },
	{ "io_tlb_evacuate_rate", &swiotlb_default_reclaim.evacuate_rate,
	  swiotlb_set_evacuate_rate },
};

static int swiotlb_knob_show(struct seq_file *m, void *unused)
{
	const struct swiotlb_knob *knob = m->private;

	seq_printf(m, "%lu\n", READ_ONCE(*knob->value));
	return 0;
}

static int swiotlb_knob_open(struct inode *inode, struct file *file)
{
	return single_open(file, swiotlb_knob_show, inode->i_private);
}

static ssize_t swiotlb_knob_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	const struct swiotlb_knob *knob =
		((struct seq_file *)file->private_data)->private;
	struct io_tlb_reclaim *rc = &swiotlb_default_reclaim;
	unsigned long val;
	int err;

	err = kstrtoul_from_user(ubuf, count, 0, &val);
	if (err) {
		pr_warn("%s: not a number from 0 to %lu; unchanged\n",
			knob->name, ULONG_MAX);
		return err;
	}

	mutex_lock(&rc->lock);
	err = knob->set(rc, val);
	mutex_unlock(&rc->lock);
	return err ?: count;
}

static const struct file_operations swiotlb_knob_fops = {
	.owner = THIS_MODULE,
	.open = swiotlb_knob_open,
	.read = seq_read,
	.write = swiotlb_knob_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int swiotlb_active_get(void *data, u64 *val)
{
	struct io_tlb_reclaim *rc = data;

	*val = (u64)atomic_long_read(&rc->nr_active) * rc->chunk_slots;
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(swiotlb_active_fops, swiotlb_active_get, NULL,
			 "%llu\n");

static int swiotlb_lent_get(void *data, u64 *val)
{
	struct io_tlb_reclaim *rc = data;

	*val = (u64)swiotlb_lent_chunks(rc) * rc->chunk_slots;
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(swiotlb_lent_fops, swiotlb_lent_get, NULL, "%llu\n");

static int swiotlb_standby_get(void *data, u64 *val)
{
	struct io_tlb_reclaim *rc = data;

	*val = (u64)atomic_long_read(&rc->nr_standby) * rc->chunk_slots;
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(swiotlb_standby_fops, swiotlb_standby_get, NULL,
			 "%llu\n");

static int swiotlb_claimable_get(void *data, u64 *val)
{
	struct io_tlb_reclaim *rc = data;

	*val = rc->zone ? swiotlb_free_pageblocks(rc->zone, rc->nr_chunks) : 0;
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(swiotlb_claimable_fops, swiotlb_claimable_get, NULL,
			 "%llu\n");

static int swiotlb_free_get(void *data, u64 *val)
{
	*val = swiotlb_free_slots(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(swiotlb_free_fops, swiotlb_free_get, NULL, "%llu\n");

static int swiotlb_lost_get(void *data, u64 *val)
{
	struct io_tlb_reclaim *rc = data;

	*val = (u64)READ_ONCE(rc->nr_lost) * rc->chunk_slots;
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(swiotlb_lost_fops, swiotlb_lost_get, NULL, "%llu\n");

/* Slots of chunks lend_work has not lent yet: 0 once boot lending is done */
static int swiotlb_withheld_get(void *data, u64 *val)
{
	struct io_tlb_reclaim *rc = data;

	*val = (u64)READ_ONCE(rc->nr_withheld) * rc->chunk_slots;
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(swiotlb_withheld_fops, swiotlb_withheld_get, NULL,
			 "%llu\n");

static int swiotlb_counter_get(void *data, u64 *val)
{
	*val = atomic_long_read(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(swiotlb_counter_fops, swiotlb_counter_get, NULL,
			 "%llu\n");

static void __init swiotlb_reclaim_debugfs_init(struct io_tlb_reclaim *rc)
{
	struct dentry *dir = debugfs_lookup("swiotlb", NULL);
	unsigned int i;

	if (IS_ERR_OR_NULL(dir))
		return;

	debugfs_create_file("io_tlb_active_nslabs", 0400, dir, rc,
			    &swiotlb_active_fops);
	debugfs_create_file("io_tlb_lent_nslabs", 0400, dir, rc,
			    &swiotlb_lent_fops);
	debugfs_create_file("io_tlb_active_free", 0400, dir, rc,
			    &swiotlb_free_fops);
	debugfs_create_file("io_tlb_lost_nslabs", 0400, dir, rc,
			    &swiotlb_lost_fops);
	debugfs_create_file("io_tlb_withheld_nslabs", 0400, dir, rc,
			    &swiotlb_withheld_fops);
	debugfs_create_file("io_tlb_grow_count", 0400, dir, &rc->grow_count,
			    &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_shrink_count", 0400, dir,
			    &rc->shrink_count, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_grow_fail_count", 0400, dir,
			    &rc->grow_fail_count, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_grow_pages_migrated", 0400, dir,
			    &rc->grow_pages_migrated, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_claim_count", 0400, dir, &rc->claim_count,
			    &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_claim_miss_count", 0400, dir,
			    &rc->claim_miss_count, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_claim_ns_max", 0400, dir,
			    &rc->claim_ns_max, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_claim_ahead_count", 0400, dir,
			    &rc->claim_ahead_count, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_grow_free_count", 0400, dir,
			    &rc->grow_free_count, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_grow_take_count", 0400, dir,
			    &rc->grow_take_count, &swiotlb_counter_fops);
	debugfs_create_ulong("io_tlb_pick_ns_max", 0400, dir, &rc->pick_ns_max);
	debugfs_create_file("io_tlb_transient_count", 0400, dir,
			    &rc->transient_count, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_transient_ns_max", 0400, dir,
			    &rc->transient_ns_max, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_transient_fail_count", 0400, dir,
			    &rc->transient_fail_count, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_transient_lent_count", 0400, dir,
			    &rc->transient_lent_count, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_standby_nslabs", 0400, dir, rc,
			    &swiotlb_standby_fops);
	debugfs_create_file("io_tlb_standby_used_count", 0400, dir,
			    &rc->standby_used_count, &swiotlb_counter_fops);
	debugfs_create_ulong("io_tlb_grow_boost", 0400, dir, &rc->grow_boost);
	debugfs_create_ulong("io_tlb_last_burst", 0400, dir, &rc->last_burst);
	debugfs_create_file("io_tlb_claimable_chunks", 0400, dir, rc,
			    &swiotlb_claimable_fops);
	debugfs_create_file("io_tlb_evacuate_count", 0400, dir,
			    &rc->evacuate_count, &swiotlb_counter_fops);
	debugfs_create_file("io_tlb_evacuate_pages", 0400, dir,
			    &rc->evacuate_pages, &swiotlb_counter_fops);
	for (i = 0; i < ARRAY_SIZE(swiotlb_knobs); i++)
		debugfs_create_file(swiotlb_knobs[i].name, 0600, dir,
				    &swiotlb_knobs[i], &swiotlb_knob_fops);
	dput(dir);
}

/* After swiotlb's own debugfs directory exists (a late_initcall) */
static int __init swiotlb_reclaim_debugfs_late_init(void)
{
	struct io_tlb_reclaim *rc = &swiotlb_default_reclaim;

	if (rc->pool && rc->pool->reclaim == rc)
		swiotlb_reclaim_debugfs_init(rc);
	return 0;
}
late_initcall_sync(swiotlb_reclaim_debugfs_late_init);
