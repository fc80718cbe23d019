/* postcopy.h: post-copy migration — the domain runs on the target before all of its memory is there: the target asks for a page when the domain touches it (userfaultfd, snapshot/postcopy.c), the source pushes every page left meanwhile and answers the asks first (snapshot/pc_serve.c). */
#ifndef PDVM_POSTCOPY_H
#define PDVM_POSTCOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain;
struct mstream;
struct precopy_progress;

/* --postcopy: never; when pre-copy cannot get the rest under the downtime
 * budget (memory written faster than the link carries); or at once,
 * without pre-copy rounds. */
enum postcopy_mode { POSTCOPY_AUTO, POSTCOPY_NEVER, POSTCOPY_ALWAYS };

#define MIGRATE_ID_LEN  16      /* a migration's random id: a reconnecting source gives it */

/* What the target reports when every page arrived (MS_PC_ACK). */
struct postcopy_counts {
	uint64_t faults;        /* touches that waited for a page from the source */
	uint64_t wait_us;       /* their total wait */
	uint64_t wait_max_us;   /* the longest */
	uint8_t ended;          /* 1: the domain ended before all arrived */
};

/* ---- source (pc_serve.c) ---- */

/* Socket buffers during post-copy, both sides: an asked page waits behind
 * at most this much of pushed pages in each. */
#define PC_QUEUE_BYTES  (256 * 1024)
/* Stream bytes the source has ahead of what the target took in: the most
 * an asked page waits behind (16 ms at 1 Gbit/s), and what a path's
 * bandwidth-delay product may use (2 MiB over 20 ms: 800 Mbit/s). Pages
 * too: a zero page costs the stream almost nothing but the target a
 * page to place (1.6 us, ~11 us on memory a VM host has never touched:
 * measured), so 2048 pages at most. The target tells every PC_TAKEN_EVERY
 * bytes or PC_TAKEN_EVERY / 1024 pages. */
#define PC_WINDOW       (2u << 20)
#define PC_WINDOW_PAGES 2048u
#define PC_TAKEN_EVERY  (256u << 10)
void pc_queue_small(struct mstream *s);

/* Where the serving got: the target's STARTED makes the domain its. */
enum pc_phase { PCS_BEFORE_GO, PCS_GO_SENT, PCS_STARTED };

struct pc_serve_stats {
	uint64_t pages;         /* left for post-copy at the pause */
	uint64_t pushed, asked; /* pages sent in order, and first because asked */
	uint64_t reconnects;
	double started_ms;      /* from the end of the image to STARTED */
	double ms;              /* from STARTED to the target's ack */
	struct postcopy_counts target;
};

/* A new connection to the target after the old one broke (post-copy
 * recovery): 0 with s connected and MS_PC_RESUME sent, or -errno;
 * -ECONNREFUSED means the target is gone (no one listens there). */
typedef int (*pc_reconnect_fn)(void *arg, struct mstream *s);

/* Source, the domain paused and its image (without the frames in later)
 * sent: answers READY with GO, then serves the target until it has every
 * page of later: asked ones first, the rest in order, hot chunks (heat,
 * NULL or per chunk) first. After STARTED a broken connection is made
 * again with reconnect until the target answers (or is gone). 0 once the
 * target acknowledged; else -errno with err and *phase saying how far it
 * got. */
int pc_serve(struct domain *d, struct mstream *s, const uint64_t *later, const uint8_t *heat,
	     pc_reconnect_fn reconnect, void *rarg, struct precopy_progress *pg, enum pc_phase *phase,
	     struct pc_serve_stats *st, char *err, size_t errlen);

/* ---- target (postcopy.c) ---- */

struct postcopy;

/* A source that reconnects (post-copy recovery): accepts the next one on
 * the listening socket as migrate_accept does. 0 with s, or -errno. */
typedef int (*pc_accept_fn)(void *arg, struct mstream *s);

/* Target, after the image arrived with pages to come (premem's later, n
 * of them; it stays the caller's): the post-copy state, owning s from
 * postcopy_start on. id: the migration's; lfd: the listening socket, on
 * which accept takes a source that lost the connection. NULL when out of
 * memory. */
struct postcopy *postcopy_new(struct mstream *s, uint64_t *later, uint64_t n, const uint8_t *id, int lfd,
			      pc_accept_fn accept, void *aarg);
/* Registers the domain's memory with userfaultfd (its pages to come are
 * holes) and starts the thread that fills them: on a touch, by asking the
 * source, and as the source pushes them. 0 or -1 with err. */
int postcopy_start(struct postcopy *pc, struct domain *d, char *err, size_t errlen);
/* The domain is rebuilt: READY to the source, and its GO awaited (the
 * thread answers STARTED). 0: start it; -errno with err: do not. */
int postcopy_ready(struct postcopy *pc, char *err, size_t errlen);
/* Blocks until every page is in (a snapshot needs all of memory). */
void postcopy_wait(void);
/* Stops the thread (the domain ends) and reports; then postcopy_free. */
void postcopy_stop(struct domain *d);
void postcopy_free(struct postcopy *pc);

#endif
