/* snapshot.h: `pdvm snapshot` — a running domain written to an image directory (snapshot/README.md). */
#ifndef PDVM_SNAPSHOT_H
#define PDVM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain;
struct net_spec;

/* Writes a snapshot image of the domain to dir: pauses, writes, then
 * resumes, or ends the domain with `stop`. net: the domain's network
 * placement (NULL: the host's). parent: NULL, or the directory of this
 * domain's previous snapshot for an incremental image. 0 or -errno with the
 * reason in err. Called without the domain lock. */
int snapshot_domain(struct domain *d, const struct net_spec *net, const char *dir, bool stop,
		    const char *parent, char *err, size_t errlen);

/* A snapshot whose domain stays paused (its TCP connections frozen) after
 * the image is committed, until snapshot_release: migration sends the
 * image, then ends the domain here or lets it go on. */
#include "snap_state.h"
struct snap_hold {
	struct snap_freeze fz;
	bool held;
	uint64_t *later;        /* SNAP_MEM_LATER: the frames left out (free it) */
};
/* What memory an image holds: all of it; only the frames written since
 * the last pre-copy round (KVM's log and vdirty), to lay over memory the
 * reader already has; or none, those frames listed in h->later instead
 * (post-copy sends them after the domain starts elsewhere). */
enum snap_mem_mode { SNAP_MEM_ALL, SNAP_MEM_DELTA, SNAP_MEM_LATER };
/* snapshot_domain's first half: 0 with the domain paused and the image in
 * dir, or -errno (err says why) with the domain going on. */
int snapshot_hold(struct domain *d, const struct net_spec *net, const char *dir, const char *parent,
		  enum snap_mem_mode mem, struct snap_hold *h, char *err, size_t errlen);
/* The second: `stop` ends the domain (exit status 0), else it goes on. */
void snapshot_release(struct domain *d, struct snap_hold *h, bool stop);

#endif
