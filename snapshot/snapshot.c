/* snapshot.c: `pdvm snapshot` inside the domain's process — pause, write every section, commit, resume or stop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/netns.h"
#include "sections.h"
#include "snapshot.h"
#include "vmm/clock.h"
#include "vmm/domain.h"
#include "vmm/spawn.h"
#include "image.h"
#include "lazy.h"
#include "postcopy.h"
#include "snap_mem.h"
#include "snap_state.h"

/* The frames to store: everything, or for an incremental image those the
 * guest (KVM's log) or the VMM (vdirty) wrote since the parent. */
static int dirty_frames(struct domain *d, bool incremental, uint64_t **out)
{
	struct frames *f = &d->frames;
	size_t words = (f->nframes + 63) / 64;
	uint64_t *m = calloc(words, 8);
	if (!m)
		return -ENOMEM;
	if (d->vm.dirty_log) {
		int r = kvm_get_dirty_log(&d->vm, m);
		if (r) {
			free(m);
			return r;
		}
	}
	for (size_t i = 0; i < words; i++)
		m[i] |= f->vdirty[i];
	*out = m;
	(void)incremental;
	return 0;
}

static int check_parent(struct domain *d, const char *parent, struct img_meta *meta, char *err,
			size_t errlen)
{
	struct img_reader pr;
	if (img_open(&pr, parent, err, errlen))
		return -EINVAL;
	img_close(&pr);
	if (strcmp(pr.meta.id, d->last_snap)) {
		snprintf(err, errlen, "%s is not this domain's latest snapshot: an incremental image "
			 "holds the changes since the latest one; take a full snapshot", parent);
		return -EINVAL;
	}
	snprintf(meta->parent_id, sizeof(meta->parent_id), "%s", pr.meta.id);
	snprintf(meta->parent_dir, sizeof(meta->parent_dir), "%s", parent);
	return 0;
}

int snapshot_hold(struct domain *d, const struct net_spec *net, const char *dir, const char *parent,
		  enum snap_mem_mode mem, struct snap_hold *h, char *err, size_t errlen)
{
	struct img_meta meta = { 0 };
	struct img_writer w;
	uint64_t *dirty = NULL;
	*err = 0;
	memset(h, 0, sizeof(*h));
	bool delta = mem != SNAP_MEM_ALL;
	lazy_wait(); /* an image needs all of memory in place */
	postcopy_wait();
	dom_lock(d);
	int r = parent ? check_parent(d, parent, &meta, err, errlen) : 0;
	int nprocs = 0;
	for (int i = 0; i < MAX_PROCS; i++) {
		nprocs += d->procs[i] != NULL;
		if (!r && d->procs[i] && d->procs[i]->vfork_parent_waits) {
			/* The parent sleeps on memory the child is using: wait for
			 * the exec, which follows within moments. */
			snprintf(err, errlen, "process %d is a vfork child that has not called exec yet; "
				 "try again", d->procs[i]->pid);
			r = -EAGAIN;
		}
	}
	struct process *sp = r ? NULL : spawn_any(d);
	if (sp) {
		/* Its stdio and its exit status belong to a caller outside
		 * (pdvm exec): an image could give them to nobody. */
		snprintf(err, errlen, "process %d was started by exec from outside and is still running: its "
			 "stdio and exit status belong to that caller; let it end (or kill it) first", sp->pid);
		r = -EBUSY;
	}
	int traced = r ? 0 : ptrace_any(d);
	if (traced) {
		/* A tracer's hold on its tracees (their stops, its waits) is
		 * not part of an image. */
		snprintf(err, errlen, "thread %d is traced (ptrace): a domain cannot be checkpointed while "
			 "one of its processes traces another; detach first", traced);
		r = -EBUSY;
	}
	if (r) {
		dom_unlock(d);
		return r;
	}
	uint64_t t0 = host_mono_ns();
	if ((r = dom_pause_locked(d))) {
		snprintf(err, errlen, "domain is exiting");
		dom_unlock(d);
		return r;
	}
	uint64_t t_paused = host_mono_ns();
	snprintf(meta.name, sizeof(meta.name), "%s", d->spec->name);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	meta.created_ns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	meta.xcr0 = d->guest_xcr0;

	struct mem_stats ms = { 0 };
	/* Shared file mappings' changes go to their files before any
	 * section records a file's size and time (see snap_shmap.c). */
	if (pcache_sync_all(d, false)) {
		snprintf(err, errlen, "MAP_SHARED write-back failed before the snapshot");
		r = -EIO;
		goto resume;
	}
	if ((r = img_begin(&w, dir, err, errlen)))
		goto resume;
	/* A migration's image is sent at once and thrown away. */
	w.nosync = delta;
	if ((r = dirty_frames(d, parent != NULL, &dirty))) {
		snprintf(err, errlen, "KVM_GET_DIRTY_LOG: %s", strerror(-r));
		img_abort(&w);
		goto resume;
	}
	if ((r = snap_sock_freeze(d, &h->fz, w.id, err, errlen))) {
		img_abort(&w);
		goto resume;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct snap_ctx ctx = { .d = d, .net = net, .nprocs = nprocs, .freeze = &h->fz, .err = err, .errlen = errlen };
	for (size_t i = 0; i < nsections && !r; i++)
		if (sections[i].put && (!sections[i].wanted || sections[i].wanted(&ctx)))
			r = section_write(&w, &sections[i], &ctx);
	size_t words = (d->frames.nframes + 63) / 64;
	if (!r && mem == SNAP_MEM_LATER) {
		/* The frames go later, but for the page tables and the kernel
		 * area: the target's rebuild reads those first, and each
		 * would wait for its page behind the pushed ones (they are
		 * few). */
		h->later = calloc(words, 8);
		r = h->later ? 0 : -ENOMEM;
		if (!r && snap_vmm_frames(d, h->later))
			memset(h->later, 0, words * 8);
		for (size_t i = 0; !r && i < words; i++) {
			uint64_t now = dirty[i] & h->later[i];
			h->later[i] = dirty[i] & d->frames.used[i] & ~h->later[i];
			dirty[i] = now;
		}
	}
	if (r ||
	    (r = snap_mem_write(&w, &d->frames, parent || delta ? dirty : NULL, (int)(ncpu > 0 ? ncpu : 1), &ms,
				err, errlen)) ||
	    (r = img_commit(&w, &meta, err, errlen))) {
		img_abort(&w);
		/* Keep what changed since the latest good image for the next. */
		for (size_t i = 0; i < words; i++)
			d->frames.vdirty[i] |= dirty[i] | (h->later ? h->later[i] : 0);
		free(h->later);
		h->later = NULL;
		snap_sock_thaw(&h->fz, false);
		goto resume;
	}
	memcpy(d->last_snap, w.id, sizeof(d->last_snap));
	memset(d->frames.vdirty, 0, (d->frames.nframes + 63) / 64 * 8);
	uint64_t t1 = host_mono_ns();
	dom_log(d, "snapshot %s to %s%s%s: %llu pages (%llu resident first, %llu zero skipped), "
		"%llu KiB, paused in %.3f ms, written in %.3f ms", w.id, dir, parent ? " (incremental of " : "",
		parent ? "parent)" : "", (unsigned long long)ms.pages, (unsigned long long)ms.resident,
		(unsigned long long)ms.zero, (unsigned long long)(ms.bytes >> 10),
		(double)(t_paused - t0) / 1e6, (double)(t1 - t_paused) / 1e6);
	free(dirty);
	h->held = true;
	dom_unlock(d);
	return 0;
resume:
	free(dirty);
	dom_resume_locked(d);
	dom_unlock(d);
	return r;
}

void snapshot_release(struct domain *d, struct snap_hold *h, bool stop)
{
	if (!h->held)
		return;
	h->held = false;
	dom_lock(d);
	/* Ending: its connections live on in the image (or elsewhere). */
	snap_sock_thaw(&h->fz, stop);
	if (stop) {
		dom_exit_group(d, 0);
	} else if (!d->vm.dirty_log) {
		/* Going on: from the first snapshot on, KVM logs the guest's
		 * writes (turned on while it is still paused, so none is
		 * missed), so the next one can be incremental. Not for one
		 * that ends: on a PVM host that costs the snapshot ~12 ms. */
		int e = kvm_set_dirty_log(&d->vm, true);
		if (e)
			dom_log(d, "dirty logging unavailable (%s): incremental snapshots will fail",
				strerror(-e));
	}
	dom_resume_locked(d);
	dom_unlock(d);
}

int snapshot_domain(struct domain *d, const struct net_spec *net, const char *dir, bool stop,
		    const char *parent, char *err, size_t errlen)
{
	struct snap_hold h;
	/* A vfork child about to exec holds the snapshot a moment (its parent
	 * sleeps on memory it uses): wait for it, as a migration does, for up
	 * to 5 s, and only then say "try again". */
	int r;
	for (int i = 0; (r = snapshot_hold(d, net, dir, parent, SNAP_MEM_ALL, &h, err, errlen)) == -EAGAIN && i < 250; i++)
		usleep(20000);
	if (r)
		return r;
	if (stop) {
		dom_log(d, "stopped after the snapshot");
		fprintf(stderr, "pdvm: %s: checkpointed to %s and stopped\n", d->spec->name, dir);
	}
	snapshot_release(d, &h, stop);
	return 0;
}
