/* precopy.h: guest memory sent while the domain runs — rounds of the pages dirtied since the last, KVM's dirty log and the VMM's own (snapshot/precopy.c) — and their landing in the target's memory file. */
#ifndef PDVM_PRECOPY_H
#define PDVM_PRECOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain;
struct mstream;

#define PRECOPY_MAX_ROUNDS 10

struct precopy_stats {
	int rounds;
	uint64_t pages[PRECOPY_MAX_ROUNDS];     /* sent per round (zero ones included) */
	uint64_t left;                          /* dirty when it stopped: the final round's */
	uint64_t bytes;                         /* MS_PAGES bytes on the wire */
	double est_ms;                          /* what sending `left` was estimated to take */
	const char *why;                        /* why it stopped */
	/* Access pattern: a 2 MiB chunk written in PRECOPY_HOT_ROUNDS of the
	 * last three rounds is hot; its pages wait for the final round instead
	 * of going again every round. */
	uint64_t hot_chunks;                    /* held back in the last round (with deferred) */
	uint64_t deferred;                      /* pages held back in the last round */
	double dirty_mbps, link_mbps;           /* the last round's: MB/s written, sent */
	const char *decision;                   /* what that suggests, for the stats */
};

#define PRECOPY_HOT_ROUNDS 2

/* Where a migration is, for a progress display (written by the migrating
 * thread, read by the control thread's info). */
enum migrate_phase { MP_CONNECTING, MP_PRECOPY, MP_PAUSED, MP_TARGET, MP_POSTCOPY };
struct precopy_progress {
	_Atomic int phase;
	_Atomic int round;
	_Atomic uint64_t sent;                  /* bytes on the wire so far */
	_Atomic uint64_t left;                  /* dirty pages after the last round */
	_Atomic double dirty_mbps, est_ms;
};

struct precopy_opts {
	int max_downtime_ms;    /* stop when the rest takes at most half of it */
	bool no_rounds;         /* none at all: everything is left (post-copy always) */
	uint8_t *heat;          /* NULL, or per 2 MiB chunk: the last three rounds'
				 * writes, one bit each (out) */
};

/* Source: sends every used frame, then rounds of those written since the
 * previous round, until what is left would take at most half of
 * max_downtime_ms to send at the last round's rate (or fewer than 256
 * pages are left), the rounds stop shrinking, or PRECOPY_MAX_ROUNDS. The
 * pages written since the last round it sent are left marked in
 * frames.vdirty for the final image (snapshot_hold's delta). Every dirty
 * bit it took from KVM's log is also ORed into acc (a frame bitmap): a
 * migration that fails ORs acc back into vdirty, so the next incremental
 * snapshot still sees those writes. 0 or -errno with err. */
int precopy_run(struct domain *d, struct mstream *s, const struct precopy_opts *o, uint64_t *acc,
		struct precopy_stats *st, struct precopy_progress *pg, char *err, size_t errlen);

/* Source: sends the pages of chunk c that want (the chunk's 8 words, 512
 * pages) marks and the domain uses, as one block of data and one of zero
 * pages; counts them into *npages. raw: a chunk's bytes of scratch; msg:
 * MS_PAGES_MAX. 0 or -errno. */
int precopy_send(struct domain *d, struct mstream *s, uint64_t c, const uint64_t *want, uint8_t *raw,
		 uint8_t *msg, uint64_t *npages);
/* Source, post-copy: tells the target that the pages of chunk c that
 * later (8 words) marks come after the domain starts there. */
int precopy_send_later(struct mstream *s, uint64_t c, const uint64_t *later, uint8_t *msg);

/* An MS_PAGES body, checked against a memory of nchunks 2 MiB chunks: its
 * chunk, the pages map names (8 words), and for PAGES_DATA their contents,
 * in page order, into raw (a chunk's bytes). 0 or -EPROTO. */
enum pages_kind { PAGES_DATA, PAGES_ZERO, PAGES_LATER };
int precopy_decode(const uint8_t *body, size_t len, uint64_t nchunks, uint8_t *raw, uint64_t *c, uint64_t *map,
		   enum pages_kind *kind);

/* Target: a memory file of `size` bytes (2 MiB multiple, at most 1 TiB)
 * and its mapping, for precopy_apply. 0 or -errno. */
struct premem {
	int fd;
	uint8_t *host;
	uint64_t size;
	uint8_t *raw;           /* one chunk, decompressed */
	uint64_t *later;        /* post-copy: pages to come once the domain runs
				 * (their holes punched here); NULL: none */
	uint64_t nlater;
};
int premem_init(struct premem *m, uint64_t size);
void premem_free(struct premem *m);
/* One MS_PAGES body into m: every field checked (a hostile source). 0,
 * -EPROTO, or -ENOMEM. */
int precopy_apply(struct premem *m, const uint8_t *body, size_t len);

#endif
