/* rr_crew.h: record/replay's side of threads' page-table views (replay/rr_crew.c). */
#ifndef PDVM_RR_CREW_H
#define PDVM_RR_CREW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rr_session;
struct thread;
struct crew_ev;

/* PDVM_CREW_TRACE=1: each view event and signal to stderr on both sides,
 * as PDVM_STRACE does calls (looked up once). */
bool rr_crew_tracing(void);
/* Recording: vmm/rr.h's crew_log. */
void rr_rec_crew_log(struct thread *t, const struct crew_ev *e);
/* Replay: applies t's view events due at its position (+ahead); with
 * run, also a stop that stands for the user code it is about to run; with
 * until (a page number), up to the take of that page. false after a
 * divergence (said). */
bool rr_crew_due(struct rr_session *s, struct thread *t, uint64_t ahead, bool run, uint64_t until);
/* What q (a thread's next recorded event, or NULL) is, for a divergence. */
struct rr_qev;
void rr_next_what(const struct rr_qev *q, char *b, size_t n);
/* vmm/rr.h's crew_sync. */
bool rr_rep_crew_sync(struct thread *t, uint64_t vpn, bool write);

#endif
