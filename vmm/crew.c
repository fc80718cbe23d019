/* crew.c: concurrent read, exclusive write by page tables — per-thread views of one address space, the transfers between them, and their events for record/replay. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "crew.h"
#include "domain.h"
#include "rr.h"
#include "trap.h"

/*
 * Why: threads of a recording run truly in parallel, and all they can
 * show each other goes through memory. If every page is either mapped
 * read-only in the threads that read it or writable in exactly one, an
 * access that breaks the rule is a page fault — a point of the faulting
 * thread's own execution that its replay meets again. The giver, though,
 * may be anywhere in its user code when asked: if it is in the VMM (in a
 * call, at a fault) its position is exact; else it is stopped, and its
 * registers and the pages it owns are logged (a STOP) — its replay does
 * not run that stretch again but takes the state. No instruction counter
 * is needed (this host's guest has no PMU: replay/README.md).
 *
 * A page no thread holds goes whole to the first that faults on it, so a
 * page one thread uses costs one fault. Pages the address space maps
 * read-only are shared at once. Hot pages (they changed hands often) stay
 * with their holder for a time slice before it is stopped: threads that
 * ping-pong on one page run by turns instead of by accesses.
 */

#define HOLD_MIN_NS 250000ULL           /* a page that turns hot stays this long with its taker... */
#define HOLD_MAX_NS_DEFAULT 16000000ULL /* ...twice as long each time it does again, up to this
					 * (PDVM_CREW_HOLD_MAX_US; 0: pages move at once) */
#define NONE (-1)

struct centry {
	uint64_t vpn;           /* 0: free slot (page 0 is never user memory) */
	int owner;              /* slot writing it, or NONE */
	uint64_t readers;       /* slots reading it (the owner is not one) */
	uint64_t last_give;     /* the latest give of it */
	uint64_t gone;          /* slots that gave it up since it was last taken for
				 * writing: a take waits for each one's gives (the
				 * latest give alone is not enough: readers give in
				 * any order, and a replay must see them all done) */
	int promised;           /* slot + 1 a give of it was for (0: none): until that
				 * slot has taken it, nobody else does — else the giver,
				 * back in the guest first, took it again, and again
				 * (a spin-waiter and a writer, seen under TCG) */
	uint64_t since_ns;      /* when its holder got it */
	uint64_t hold_ns;       /* how long a taker keeps it before a request stops it (0: not hot) */
};

struct cslot {
	struct thread *t;       /* NULL: free */
	struct pgtable view;
	uint64_t gen;           /* root generation of the view's root */
	uint64_t last_give;
	bool waiting;           /* in a crew wait: others give for it */
	/* The page it waits for; promised: it waits only for the slot a
	 * give of it was for to take it first (then its own fresh pages
	 * are no longer kept: that slot may need one of them). */
	struct { bool on, write, promised; uint64_t vpn; } req;
	uint64_t drop_lo, drop_hi;      /* pages it is to drop (vpns; empty: lo >= hi) */
	/* Recording: the pages its last faults took for one instruction (at
	 * fresh_rip, from fresh_since_ns), kept until it has run grace_ns in
	 * the guest after: taken back before it got past the instruction, it
	 * would fault again, and two threads that want one page would take it
	 * from each other for ever (seen on the ring-0 backend under TCG,
	 * where getting back into the guest takes milliseconds). grace_ns
	 * doubles each time the same instruction faults again for a page it
	 * had, and halves when the thread gets on. */
	uint64_t fresh[CREW_FRESH];
	int nfresh;
	uint64_t fresh_rip, fresh_since_ns, grace_ns;
	/* It lost pages (a give) since its view was last loaded: on a PVM
	 * host the load then resyncs, measured necessary — with only the
	 * path copy to fresh frames, about one python3-threads recording in
	 * 30 let a thread write a page it had given (no fault: a stale
	 * translation), and its replay diverged; with the resync, none in 68. */
	bool lost;
};

struct crew {
	struct mm *mm;
	struct centry *tab;
	size_t cap, n;
	struct cslot slot[CREW_MAX_THREADS];
	uint64_t next_give;
	uint64_t *done;         /* bitmap of gives done */
	size_t done_words;
	uint64_t hold_max_ns;
	bool adapt;             /* grace and hold grow for pages that ping-pong */
	pthread_cond_t cv;
};

uint64_t crew_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

bool crew_on(const struct domain *d)
{
	return d->crew != NULL;
}

static int slot_of(const struct thread *t)
{
	return t->crew_slot - 1;
}

#define GRACE_MIN_NS 50000ULL
#define GRACE_MAX_NS 64000000ULL

/* Whether slot g keeps vpn from slot me for now: it took vpn for the
 * instruction it has not got past, and has not run grace_ns in the guest
 * since (serving: it is just out of the guest, giving for itself). One
 * that waits for a page itself keeps it only from higher slots: two
 * instructions that each need both of two pages cannot wait for each
 * other. */
static bool kept_fresh(const struct crew *c, int g, int me, uint64_t vpn, bool serving, uint64_t now)
{
	const struct cslot *s = &c->slot[g];
	const struct thread *h = s->t;
	bool has = false;
	for (int i = 0; i < s->nfresh; i++)
		has |= s->fresh[i] == vpn;
	if (!has || (s->req.on && (g > me || s->req.promised)))
		return false;
	bool ran = h->crew_entered_ns >= s->fresh_since_ns && (serving || h->state == VCPU_RUNNING);
	return !(ran && now >= h->crew_entered_ns + s->grace_ns);
}

/* Slot me took vpn at a fault of the instruction at rip. Without adapt
 * the grace stays GRACE_MIN_NS. */
static void note_fresh(struct cslot *s, uint64_t vpn, uint64_t rip, uint64_t now, bool adapt)
{
	if (!adapt)
		s->grace_ns = GRACE_MIN_NS;
	if (s->nfresh && s->fresh_rip == rip) {
		for (int i = 0; i < s->nfresh; i++)
			if (s->fresh[i] == vpn) {
				/* Lost before the instruction was done: longer. */
				if (adapt)
					s->grace_ns = MIN(MAX(2 * s->grace_ns, GRACE_MIN_NS), GRACE_MAX_NS);
				s->fresh_since_ns = now;
				return;
			}
		if (s->nfresh < CREW_FRESH)
			s->fresh[s->nfresh++] = vpn;
		s->fresh_since_ns = now;
		return;
	}
	if (s->nfresh && adapt)
		s->grace_ns /= 2;       /* the last one got on */
	s->fresh[0] = vpn;
	s->nfresh = 1;
	s->fresh_rip = rip;
	s->fresh_since_ns = now;
}

/* The page's entry; with add, made (NONE, no readers) if missing. */
static struct centry *entry(struct crew *c, uint64_t vpn, bool add)
{
	if (add && (c->n + 1) * 10 > c->cap * 7) {
		size_t ncap = c->cap ? c->cap * 2 : 4096;
		struct centry *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return NULL;
		for (size_t i = 0; i < c->cap; i++) {
			if (!c->tab[i].vpn)
				continue;
			size_t j = (c->tab[i].vpn * 0x9e3779b97f4a7c15ULL) & (ncap - 1);
			while (nt[j].vpn)
				j = (j + 1) & (ncap - 1);
			nt[j] = c->tab[i];
		}
		free(c->tab);
		c->tab = nt;
		c->cap = ncap;
	}
	if (!c->cap)
		return NULL;
	size_t j = (vpn * 0x9e3779b97f4a7c15ULL) & (c->cap - 1);
	while (c->tab[j].vpn) {
		if (c->tab[j].vpn == vpn)
			return &c->tab[j];
		j = (j + 1) & (c->cap - 1);
	}
	if (!add)
		return NULL;
	c->tab[j] = (struct centry){ .vpn = vpn, .owner = NONE };
	c->n++;
	return &c->tab[j];
}

static void mark_done(struct crew *c, uint64_t id)
{
	size_t w = id / 64;
	if (w >= c->done_words) {
		size_t nw = MAX(w + 1, c->done_words * 2);
		uint64_t *nd = realloc(c->done, nw * sizeof(*nd));
		if (!nd)
			return;
		memset(nd + c->done_words, 0, (nw - c->done_words) * sizeof(*nd));
		c->done = nd;
		c->done_words = nw;
	}
	c->done[w] |= 1ULL << (id % 64);
}

bool crew_give_done(const struct domain *d, uint64_t id)
{
	const struct crew *c = d->crew;
	return !id || (c && id / 64 < c->done_words && (c->done[id / 64] >> (id % 64) & 1));
}

/* A view sees the kernel area as the address space does, and no user page. */
static int view_init(struct crew *c, struct cslot *s, struct domain *d)
{
	int r = pt_init(&s->view, c->mm->frames);
	if (r)
		return r;
	pt_share_kernel(&s->view, &c->mm->pt);
	s->gen = ++d->root_gen;
	return 0;
}

static void log_ev(struct thread *t, const struct crew_ev *e)
{
	const struct rr_ops *rr = t->dom->rr;
	if (rr && rr->crew_log)
		rr->crew_log(t, e);
}

static uint64_t drop_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	(void)pte, (void)va, (void)size, (void)arg;
	return 0;
}

static uint64_t ro_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	(void)va, (void)size, (void)arg;
	return pte & ~PTE_W;
}

/* Edits slot s's view; a new root gets a new generation (reloaded before
 * the thread runs again). */
static void view_edit(struct domain *d, struct cslot *s, gva_t va, uint64_t len, pt_edit_fn fn)
{
	if (pt_edit(&s->view, va, len, fn, NULL))
		dom_log(d, "crew: no memory for a page-table copy");
	if (s->view.root_changed)
		s->gen = ++d->root_gen;
}

/* The address space's leaf for a user page, or 0. */
static uint64_t canon_leaf(struct crew *c, gva_t va, gpa_t *frame)
{
	uint64_t sz, e = pt_lookup(&c->mm->pt, va, &sz);
	if (!(e & PTE_P) || !(e & PTE_U))
		return 0;
	*frame = (e & PTE_ADDR & (sz == HPAGE_SIZE ? HPAGE_MASK : PAGE_MASK)) + (va & (sz - 1) & PAGE_MASK);
	return e & ~PTE_ADDR & ~PTE_PS;
}

/* What slot i's view has at va: 0, PTE_P (read) or PTE_P|PTE_W. */
static uint64_t view_has(struct cslot *s, gva_t va)
{
	uint64_t e = pt_lookup(&s->view, va, NULL);
	return e & PTE_P ? e & (PTE_P | PTE_W) : 0;
}

/* A give's number: id (the trace's, on replay), or the next. */
static uint64_t give_number(struct crew *c, uint64_t id)
{
	if (!id)
		return ++c->next_give;
	if (id > c->next_give)
		c->next_give = id;
	return id;
}

/* Slot s's give id is made: its view lost pages, the give is done and
 * logged (ev, at its position), and waiters look again. */
static void gave(struct crew *c, struct cslot *s, uint64_t id, struct crew_ev *ev)
{
	s->lost = true;
	s->last_give = id;
	mark_done(c, id);
	ev->pos = s->t->rr_pos;
	ev->id = id;
	log_ev(s->t, ev);
	pthread_cond_broadcast(&c->cv);
}

/* Thread of slot g gives vpn up (keeping a read-only mapping with
 * keep_read). id: the give's number (0: the next). */
static void give(struct domain *d, int g, uint64_t vpn, bool keep_read, uint64_t id)
{
	struct crew *c = d->crew;
	struct cslot *s = &c->slot[g];
	struct centry *e = entry(c, vpn, false);
	id = give_number(c, id);
	if (e) {
		if (e->owner == g) {
			e->owner = NONE;
			if (keep_read)
				e->readers |= 1ULL << g;
		} else if (!keep_read) {
			e->readers &= ~(1ULL << g);
		}
		e->last_give = id;
		e->gone |= 1ULL << g;
	}
	view_edit(d, s, vpn << 12, PAGE_SIZE, keep_read ? ro_pte : drop_pte);
	struct crew_ev ev = { .kind = CREW_GIVE, .vpn = vpn, .flags = keep_read ? CREW_KEEP_READ : 0 };
	gave(c, s, id, &ev);
}

static bool held_by(const struct centry *e, int g)
{
	return e->owner == g || (e->readers >> g & 1);
}

/* Slot g lets go of every page in [lo, hi) (vpns) it holds, as give id. */
static void release(struct crew *c, int g, uint64_t lo, uint64_t hi, uint64_t id)
{
	for (size_t i = 0; i < c->cap; i++) {
		struct centry *e = &c->tab[i];
		if (!e->vpn || e->vpn < lo || e->vpn >= hi || !held_by(e, g))
			continue;
		if (e->owner == g)
			e->owner = NONE;
		e->readers &= ~(1ULL << g);
		e->last_give = id;
		e->gone |= 1ULL << g;
	}
}

/* Slot g gives everything up (a reset of its view, or its exit). */
static void give_all(struct domain *d, int g, uint64_t id)
{
	struct crew *c = d->crew;
	struct cslot *s = &c->slot[g];
	id = give_number(c, id);
	release(c, g, 0, UINT64_MAX, id);
	pt_view_reset(&s->view, &c->mm->pt);
	s->gen = ++d->root_gen;
	s->drop_lo = s->drop_hi = 0;
	struct crew_ev ev = { .kind = CREW_GIVE, .vpn = CREW_ALL };
	gave(c, s, id, &ev);
}

/* Whether slot g holds a page of [lo, hi) (vpns). */
static bool holds_any(const struct crew *c, int g, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < c->cap; i++) {
		const struct centry *e = &c->tab[i];
		if (e->vpn >= lo && e->vpn < hi && held_by(e, g))
			return true;
	}
	return false;
}

/* Slot g drops the pages [vpn, vpn + n) (the address space changed
 * them); id: the give's number (0: the next). */
static void give_range(struct domain *d, int g, uint64_t vpn, uint64_t n, uint64_t id)
{
	struct crew *c = d->crew;
	struct cslot *s = &c->slot[g];
	id = give_number(c, id);
	release(c, g, vpn, vpn + n, id);
	view_edit(d, s, vpn << 12, n << 12, drop_pte);
	struct crew_ev ev = { .kind = CREW_DROP, .vpn = vpn, .len = n };
	gave(c, s, id, &ev);
}

/* Slot g drops what commits asked of it: a range of user pages, or
 * everything (its view starts again). */
static void serve_drop(struct domain *d, int g)
{
	struct cslot *s = &d->crew->slot[g];
	uint64_t lo = s->drop_lo, hi = s->drop_hi;
	s->drop_lo = s->drop_hi = 0;
	if (hi > USER_MAX >> 12)
		give_all(d, g, 0);
	else
		give_range(d, g, lo, hi - lo, 0);
}

/* Holders of vpn in the way of slot me taking it (for writing). */
static uint64_t conflicts(const struct centry *e, int me, bool write)
{
	uint64_t m = 0;
	if (e->owner != NONE && e->owner != me)
		m |= 1ULL << e->owner;
	if (write)
		m |= e->readers & ~(1ULL << me);
	return m;
}

/* Whether slot g's thread is at a point where another can give for it:
 * in the VMM with the lock let go (a call that waits, a crew wait), or not
 * yet started. Not when it is off to user code or back from it. */
static bool can_act(struct crew *c, int g)
{
	struct thread *h = c->slot[g].t;
	return !h->crew_out || h->exited;
}

/* Waits on the crew condition (the domain lock dropped meanwhile) until
 * woken or deadline (host monotonic ns, 0: 1 ms). */
static void crew_wait(struct domain *d, int me, uint64_t deadline)
{
	struct crew *c = d->crew;
	uint64_t now = crew_now_ns();
	if (!deadline || deadline > now + 1000000)
		deadline = now + 1000000;
	struct timespec ts = { (time_t)(deadline / 1000000000ULL), (long)(deadline % 1000000000ULL) };
	c->slot[me].waiting = true;
	pthread_cond_timedwait(&c->cv, &d->lock, &ts);
	c->slot[me].waiting = false;
}

/* Maps vpn in slot me's view as the take allows. */
static void view_take(struct domain *d, struct cslot *s, uint64_t vpn, bool write)
{
	struct crew *c = d->crew;
	gpa_t frame;
	uint64_t fl = canon_leaf(c, vpn << 12, &frame);
	if (!fl)
		return;
	if (!write)
		fl &= ~PTE_W;
	uint64_t has = view_has(s, vpn << 12);
	if (has) {
		if ((fl & PTE_W) && !(has & PTE_W))
			view_edit(d, s, vpn << 12, PAGE_SIZE, drop_pte); /* then mapped afresh below */
		else
			return;
	}
	if (pt_map(&s->view, vpn << 12, frame, PAGE_SIZE, fl, false))
		dom_log(d, "crew: no memory for a page table");
	if (s->view.root_changed)
		s->gen = ++d->root_gen;
}

/* Adaptive hold: a page taken back soon after it was given (threads
 * ping-pong on it, sharing it truly or falsely) stays longer with each
 * taker, doubling up to hold_max — the threads take turns at it instead
 * of trading it per access; one left alone for long cools down. Each
 * change is logged (the replay needs none: it follows the transfers). */
static void adapt(struct thread *t, struct centry *e, uint64_t vpn, uint64_t now)
{
	struct crew *c = t->dom->crew;
	uint64_t had = now - e->since_ns, old = e->hold_ns;
	if (!c->hold_max_ns)
		return;
	if (had < 2 * MAX(e->hold_ns, HOLD_MIN_NS))
		e->hold_ns = MIN(MAX(2 * e->hold_ns, HOLD_MIN_NS), c->hold_max_ns);
	else if (had > 8 * MAX(e->hold_ns, HOLD_MIN_NS))
		e->hold_ns = e->hold_ns / 2 < HOLD_MIN_NS ? 0 : e->hold_ns / 2;
	if (e->hold_ns == old)
		return;
	struct crew_ev ev = { .kind = CREW_HOLD, .pos = t->rr_pos, .vpn = vpn, .id = e->hold_ns / 1000 };
	log_ev(t, &ev);
}

/* Whether a give of e's page was for another slot that still waits for
 * it (a promise that no longer holds is dropped). */
static bool promised_elsewhere(struct crew *c, struct centry *e, int me)
{
	int p = e->promised - 1;
	if (p < 0 || p == me)
		return false;
	const struct cslot *s = &c->slot[p];
	if (s->t && s->req.on && s->req.vpn == e->vpn)
		return true;
	e->promised = 0;
	return false;
}

/* Recording: slot me gets vpn, asking its holders to give it up (those
 * running are stopped, a hot page's holder after its slice). */
static void claim(struct thread *t, uint64_t vpn, bool write, uint64_t fl)
{
	struct domain *d = t->dom;
	struct crew *c = d->crew;
	int me = slot_of(t);
	bool shared_ro = !(fl & PTE_W);   /* nobody writes it: no holder is in the way */
	uint64_t gave = 0;
	c->slot[me].req.on = false;
	for (;;) {
		struct centry *e = entry(c, vpn, true);
		if (!e)
			return;
		uint64_t m = shared_ro ? 0 : conflicts(e, me, write);
		if (!m && !promised_elsewhere(c, e, me))
			break;
		c->slot[me].req.promised = !m;
		if (!m) {
			c->slot[me].req.on = true;
			c->slot[me].req.vpn = vpn;
			c->slot[me].req.write = write;
			crew_wait(d, me, 0);    /* the slot it was given up for takes it first */
			if (d->exiting || t->proc->exiting)
				break;
			continue;
		}
		bool pending = false;
		uint64_t now = crew_now_ns(), deadline = 0;
		for (int g = 0; g < CREW_MAX_THREADS; g++) {
			if (!(m >> g & 1) || !c->slot[g].t)
				continue;
			bool fresh = kept_fresh(c, g, me, vpn, false, now);
			if (can_act(c, g) && !fresh) {
				give(d, g, vpn, !write, 0);
				gave |= 1ULL << g;
				continue;
			}
			pending = true;
			gave |= 1ULL << g;
			c->slot[me].req.on = true;
			c->slot[me].req.vpn = vpn;
			c->slot[me].req.write = write;
			struct thread *h = c->slot[g].t;
			if (e->hold_ns && now < e->since_ns + e->hold_ns) {
				deadline = e->since_ns + e->hold_ns;
			} else if (fresh && h->state == VCPU_RUNNING && now < h->crew_entered_ns + c->slot[g].grace_ns) {
				deadline = h->crew_entered_ns + c->slot[g].grace_ns;   /* it gets to run first */
			} else if (h->state == VCPU_RUNNING) {
				pthread_kill(h->host, thread_kick_signal());
			}
		}
		if (!pending)
			continue;
		crew_wait(d, me, deadline);
		if (d->exiting || t->proc->exiting)
			break;
	}
	c->slot[me].req.on = c->slot[me].req.promised = false;
	struct centry *e = entry(c, vpn, true);
	if (!e)
		return;
	uint64_t waits[CREW_MAX_THREADS + 1];
	uint32_t nw = 0;
	if (e->last_give)
		waits[nw++] = e->last_give;
	/* Each slot that gave it up, now or before (a slot's latest give
	 * comes after its give of this page). */
	uint64_t from = (gave | e->gone) & ~(1ULL << me);
	for (int g = 0; g < CREW_MAX_THREADS; g++)
		if ((from >> g & 1) && c->slot[g].last_give && c->slot[g].last_give != e->last_give)
			waits[nw++] = c->slot[g].last_give;
	if (e->promised == me + 1) {
		e->promised = 0;
		pthread_cond_broadcast(&c->cv);   /* those that let it come here first */
	}
	bool whole = write || (e->owner == NONE && !e->readers && !shared_ro);
	uint64_t now = crew_now_ns();
	if (gave)
		adapt(t, e, vpn, now);
	e->since_ns = now;
	if (whole && !shared_ro) {
		e->owner = me;
		e->readers = 0;
		e->gone = 0;
	} else {
		e->readers |= 1ULL << me;
	}
	view_take(d, &c->slot[me], vpn, whole);
	struct crew_ev ev = { .kind = CREW_TAKE, .pos = t->rr_pos, .vpn = vpn, .flags = whole ? CREW_W : 0,
			      .waits = waits, .nwaits = nw };
	log_ev(t, &ev);
}

int crew_activate(struct thread *t)
{
	struct domain *d = t->dom;
	if (d->crew)
		return 0;
	struct crew *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->mm = t->proc->mm;
	c->hold_max_ns = HOLD_MAX_NS_DEFAULT;
	const char *e = getenv("PDVM_CREW_HOLD_MAX_US");
	if (e)
		c->hold_max_ns = strtoull(e, NULL, 10) * 1000ULL;
	/* PDVM_CREW_ADAPT=0: plain CREW, the baseline of `make bench` — no
	 * hold, and a page's taker keeps it GRACE_MIN_NS of guest time,
	 * never longer (on the ring-0 backend under TCG that can livelock). */
	e = getenv("PDVM_CREW_ADAPT");
	c->adapt = !e || strcmp(e, "0");
	if (!c->adapt)
		c->hold_max_ns = 0;
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &a);
	pthread_condattr_destroy(&a);
	d->crew = c;
	int r = crew_thread_new(t);
	if (r) {
		crew_destroy(d);
		return r;
	}
	return 0;
}

int crew_thread_new(struct thread *t)
{
	struct crew *c = t->dom->crew;
	if (!c)
		return 0;
	if (t->proc->mm != c->mm)
		return -EINVAL;         /* one address space is recorded */
	for (int g = 0; g < CREW_MAX_THREADS; g++) {
		if (c->slot[g].t)
			continue;
		struct cslot *s = &c->slot[g];
		uint64_t last = s->last_give;
		memset(s, 0, sizeof(*s));
		s->last_give = last;
		int r = view_init(c, s, t->dom);
		if (r)
			return r;
		s->t = t;
		t->crew_slot = g + 1;
		return 0;
	}
	return -EAGAIN;
}

void crew_thread_forget(struct thread *t)
{
	struct crew *c = t->dom->crew;
	if (!c || !t->crew_slot)
		return;
	struct cslot *s = &c->slot[slot_of(t)];
	pt_view_retire(&s->view, &c->mm->pt);
	s->t = NULL;
	t->crew_slot = 0;
}

void crew_thread_exit(struct thread *t)
{
	struct domain *d = t->dom;
	struct crew *c = d->crew;
	if (!c || !t->crew_slot)
		return;
	int g = slot_of(t);
	/* A replay took its give from the trace when its exit call came. */
	if (!d->rr || !d->rr->crew_sync)
		give_all(d, g, 0);
	struct cslot *s = &c->slot[g];
	pt_view_retire(&s->view, &c->mm->pt);
	s->t = NULL;
	t->crew_slot = 0;
	pthread_cond_broadcast(&c->cv);
}

uint64_t crew_root(struct thread *t, uint64_t *gen)
{
	struct crew *c = t->dom->crew;
	if (!c || !t->crew_slot)
		return 0;
	struct cslot *s = &c->slot[slot_of(t)];
	*gen = s->gen;
	return s->view.root;
}

void crew_loaded(struct thread *t)
{
	struct crew *c = t->dom->crew;
	if (!c || !t->crew_slot)
		return;
	struct cslot *s = &c->slot[slot_of(t)];
	bool stale = t->dom->trap && t->dom->trap->needs_pt_quarantine;
	if (pt_publish(&s->view) || (stale && s->lost)) {
		if (kvm_resync(&t->dom->vm) == 0)
			pt_release_quarantine(&s->view);
	}
	s->lost = false;
	if (!stale)
		pt_release_quarantine(&s->view);
}

bool crew_holds(struct thread *t, uint64_t vpn, bool write)
{
	struct crew *c = t->dom->crew;
	if (!c || !t->crew_slot)
		return true;
	uint64_t has = view_has(&c->slot[slot_of(t)], vpn << 12);
	return has && (!write || (has & PTE_W));
}

bool crew_fault(struct thread *t, const struct trap *tr)
{
	struct domain *d = t->dom;
	struct crew *c = d->crew;
	if (!c || !t->crew_slot || tr->vector != 14 || tr->cr2 >= USER_MAX)
		return false;
	bool write = tr->error_code & 2, fetch = tr->error_code & 0x10;
	gpa_t frame;
	uint64_t fl = canon_leaf(c, tr->cr2, &frame);
	if (!fl || (write && !(fl & PTE_W)) || (fetch && (fl & PTE_NX)))
		return false;           /* the address space refuses it: a real fault */
	uint64_t vpn = tr->cr2 >> 12;
	if (crew_holds(t, vpn, write))
		return false;           /* a stale translation: the usual resync */
	t->rr_pos += 2;
	t->regs_dirty = true;           /* the access is made again */
	if (d->rr && d->rr->crew_sync) {
		d->rr->crew_sync(t, vpn, write);       /* a divergence it reports ends the domain */
	} else {
		claim(t, vpn, write, fl);
		note_fresh(&c->slot[slot_of(t)], vpn, t->regs.rip, crew_now_ns(), c->adapt);
	}
	return true;
}

void crew_access(struct domain *d, gva_t va, bool write)
{
	struct crew *c = d->crew;
	struct thread *t = thread_self();
	if (!c || !t || !t->crew_slot || va >= USER_MAX || t->dom != d)
		return;
	/* A replay took the call's takes from the trace when it came. */
	if (d->rr && d->rr->crew_sync)
		return;
	uint64_t vpn = va >> 12;
	gpa_t frame;
	uint64_t fl = canon_leaf(c, va, &frame);
	if (!fl || (write && !(fl & PTE_W)) || crew_holds(t, vpn, write))
		return;
	claim(t, vpn, write, fl);
}

void crew_commit(struct domain *d, gva_t lo, gva_t hi)
{
	struct crew *c = d->crew;
	struct thread *t = thread_self();
	if (!c || !t || !t->crew_slot || t->dom != d)
		return;
	int me = slot_of(t);
	if (d->rr && d->rr->crew_sync)
		return;         /* the drops are the trace's, taken at the call */
	if (lo >= hi)
		return;         /* only new mappings: no view has a page there */
	/* Only what changed: a view keeps the rest (a thread's exit unmaps
	 * its stack, malloc trims with madvise — starting every view again
	 * cost each thread its text and data once more). Beyond the user
	 * half, everything. */
	uint64_t vlo = lo >> 12, vhi = hi > USER_MAX ? UINT64_MAX : (hi + PAGE_SIZE - 1) >> 12;
	for (int g = 0; g < CREW_MAX_THREADS; g++) {
		struct cslot *s = &c->slot[g];
		if (!s->t || (vhi != UINT64_MAX && !holds_any(c, g, vlo, vhi)))
			continue;
		s->drop_lo = s->drop_lo < s->drop_hi ? MIN(s->drop_lo, vlo) : vlo;
		s->drop_hi = MAX(s->drop_hi, vhi);
	}
	for (;;) {
		bool pending = false;
		for (int g = 0; g < CREW_MAX_THREADS; g++) {
			struct cslot *s = &c->slot[g];
			if (!s->t || g == me || s->drop_lo >= s->drop_hi)
				continue;
			if (can_act(c, g)) {
				serve_drop(d, g);
				continue;
			}
			pending = true;
			if (s->t->state == VCPU_RUNNING)
				pthread_kill(s->t->host, thread_kick_signal());
		}
		if (!pending || d->exiting)
			break;
		crew_wait(d, me, 0);
	}
	uint64_t waits[CREW_MAX_THREADS];
	uint32_t nw = 0;
	for (int g = 0; g < CREW_MAX_THREADS; g++)
		if (c->slot[g].t && g != me && c->slot[g].last_give)
			waits[nw++] = c->slot[g].last_give;
	if (c->slot[me].drop_lo < c->slot[me].drop_hi)
		serve_drop(d, me);
	struct crew_ev ev = { .kind = CREW_TAKE, .pos = t->rr_pos, .vpn = CREW_ALL, .waits = waits, .nwaits = nw };
	log_ev(t, &ev);
}

/* Whether slot me, just out of the guest, is to give slot g the page g
 * waits for (it holds it in g's way, and not as a page fresh from a fault). */
static bool owes(struct crew *c, int me, int g, uint64_t now)
{
	const struct cslot *s = &c->slot[g];
	if (g == me || !s->t || !s->req.on)
		return false;
	struct centry *e = entry(c, s->req.vpn, false);
	return e && (conflicts(e, g, s->req.write) >> me & 1) && !kept_fresh(c, me, g, s->req.vpn, true, now);
}

bool crew_owed(struct thread *t)
{
	struct crew *c = t->dom->crew;
	if (!c || !t->crew_slot)
		return false;
	int me = slot_of(t);
	if (c->slot[me].drop_lo < c->slot[me].drop_hi)
		return true;
	uint64_t now = crew_now_ns();
	for (int g = 0; g < CREW_MAX_THREADS; g++)
		if (owes(c, me, g, now))
			return true;
	return false;
}

/* The pages slot g writes: what a STOP must carry. malloc'ed. */
static uint64_t *owned_pages(struct crew *c, int g, uint32_t *n)
{
	uint64_t *p = malloc((c->n + 1) * sizeof(*p));
	*n = 0;
	for (size_t i = 0; p && i < c->cap; i++)
		if (c->tab[i].vpn && c->tab[i].owner == g)
			p[(*n)++] = c->tab[i].vpn << 12;
	return p;
}

void crew_serve(struct thread *t, bool stopped)
{
	struct domain *d = t->dom;
	struct crew *c = d->crew;
	int me = slot_of(t);
	uint64_t now = crew_now_ns();
	if (stopped) {
		static __thread struct kvm_xsave xs;
		t->rr_pos += 2;
		uint32_t np = 0;
		uint64_t *pages = owned_pages(c, me, &np);
		bool have_xs = ioctl(t->vcpu.fd, KVM_GET_XSAVE, &xs) == 0;
		struct crew_ev ev = { .kind = CREW_STOP, .pos = t->rr_pos, .regs = &t->regs,
				      .xsave = have_xs ? &xs : NULL, .xsave_len = have_xs ? sizeof(xs) : 0,
				      .pages = pages, .npages = np };
		log_ev(t, &ev);
		free(pages);
	}
	for (int g = 0; g < CREW_MAX_THREADS; g++) {
		if (!owes(c, me, g, now))
			continue;
		uint64_t vpn = c->slot[g].req.vpn;
		give(d, me, vpn, !c->slot[g].req.write, 0);
		struct centry *e = entry(c, vpn, false);
		if (e)
			e->promised = g + 1;
	}
	if (c->slot[me].drop_lo < c->slot[me].drop_hi)
		serve_drop(d, me);
}

int crew_apply(struct thread *t, const struct crew_ev *e, const uint8_t *pages_data)
{
	struct domain *d = t->dom;
	/* The recording's first clone made the views; its replay meets the
	 * takes of that call before it makes the call again. */
	if (!d->crew && crew_activate(t))
		return -ENOMEM;
	struct crew *c = d->crew;
	if (!t->crew_slot)
		return -EINVAL;
	int me = slot_of(t);
	struct cslot *s = &c->slot[me];
	switch (e->kind) {
	case CREW_TAKE: {
		uint64_t t0 = crew_now_ns();
		for (uint32_t i = 0; i < e->nwaits; i++) {
			while (!crew_give_done(d, e->waits[i]) && !d->exiting) {
				if (crew_now_ns() > t0 + 20000000000ULL)
					return -ETIMEDOUT;
				crew_wait(d, me, 0);
			}
		}
		if (e->vpn == CREW_ALL)
			return 0;
		struct centry *ce = entry(c, e->vpn, true);
		if (!ce)
			return -ENOMEM;
		bool whole = e->flags & CREW_W;
		gpa_t frame;
		uint64_t fl = canon_leaf(c, e->vpn << 12, &frame);
		if (whole && (fl & PTE_W)) {
			ce->owner = me;
			ce->readers = 0;
		} else {
			ce->readers |= 1ULL << me;
		}
		view_take(d, s, e->vpn, whole);
		return 0;
	}
	case CREW_GIVE:
		if (e->vpn == CREW_ALL)
			give_all(d, me, e->id);
		else
			give(d, me, e->vpn, e->flags & CREW_KEEP_READ, e->id);
		return 0;
	case CREW_DROP:
		if (!e->len || e->vpn + e->len > USER_MAX >> 12 || e->vpn + e->len < e->vpn)
			return -EINVAL;
		give_range(d, me, e->vpn, e->len, e->id);
		return 0;
	case CREW_HOLD:
		return 0;       /* the recording's policy; the transfers say what it did */
	case CREW_STOP: {
		if (!e->regs)
			return -EINVAL;
		t->regs = *e->regs;
		t->regs_dirty = true;
		if (e->xsave && e->xsave_len == sizeof(struct kvm_xsave) &&
		    ioctl(t->vcpu.fd, KVM_SET_XSAVE, e->xsave) < 0)
			return -errno;
		for (uint32_t i = 0; i < e->npages; i++)
			if (mm_poke(d, e->pages[i], pages_data + (size_t)i * PAGE_SIZE, PAGE_SIZE))
				return -EFAULT;
		t->rr_pos = e->pos;
		return 0;
	}
	}
	return -EINVAL;
}

void crew_destroy(struct domain *d)
{
	struct crew *c = d->crew;
	if (!c)
		return;
	/* Threads still in a slot are gone already (freed): only their views. */
	for (int g = 0; g < CREW_MAX_THREADS; g++)
		if (c->slot[g].t)
			pt_view_retire(&c->slot[g].view, &c->mm->pt);
	pthread_cond_destroy(&c->cv);
	free(c->tab);
	free(c->done);
	free(c);
	d->crew = NULL;
}

void rr_pos_enter(struct thread *t)
{
	if (t->crew_slot && t->dom->crew)
		t->dom->crew->slot[slot_of(t)].nfresh = 0;   /* a call: past its faulting instruction */
	if (!(t->rr_pos & 1))
		t->rr_pos++;
}

void rr_pos_leave(struct thread *t)
{
	if (t->rr_pos & 1)
		t->rr_pos++;
}
