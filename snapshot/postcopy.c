/* postcopy.c: post-copy on the target — a userfaultfd thread places the pages the source pushes, asks for a page the domain touches before it came, and waits for a source that lost the connection to come back. */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mstream.h"
#include "postcopy.h"
#include "precopy.h"
#include "sbuf.h"
#include "snap_mem.h"
#include "uffd.h"
#include "vmm/clock.h"
#include "vmm/domain.h"

#define MAX_WAITS       64      /* touches timed at once (one per waiting thread) */

struct postcopy {
	struct mstream *s;
	bool connected;
	int lfd;                        /* where a source that lost us comes back */
	pc_accept_fn accept;
	void *aarg;
	uint8_t id[MIGRATE_ID_LEN];
	uint64_t *later;                /* pages still to come */
	uint64_t *asked;                /* of those, asked for */
	uint64_t left;
	uint64_t told, told_pages;      /* s->received and pages_in last told the source (MS_PC_TAKEN) */
	uint64_t pages_in;              /* pages of the blocks received on this stream */
	struct domain *d;
	struct frames *f;
	uint64_t nchunks;
	int uffd, evfd;
	pthread_t th;
	bool th_on;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int go;                         /* 0 waiting, 1 the go came, -1 it never will */
	bool want_ready, stop, finished, failed;
	char why[512];
	struct postcopy_counts n;
	struct pc_wait { uint64_t page, t; } waits[MAX_WAITS];
	int nwait;
	uint8_t *buf, *raw;
};

/* The post-copy in progress: a pdvm process receives one domain. */
static struct postcopy *running;

static bool test(const uint64_t *m, uint64_t i)
{
	return m[i / 64] >> (i % 64) & 1;
}

struct postcopy *postcopy_new(struct mstream *s, uint64_t *later, uint64_t n, const uint8_t *id, int lfd,
			      pc_accept_fn accept, void *aarg)
{
	struct postcopy *pc = calloc(1, sizeof(*pc));
	if (!pc)
		return NULL;
	pc->s = s;
	pc->connected = true;
	pc->lfd = lfd;
	pc->accept = accept;
	pc->aarg = aarg;
	memcpy(pc->id, id, MIGRATE_ID_LEN);
	pc->later = later;
	pc->left = n;
	pc->uffd = pc->evfd = -1;
	pthread_mutex_init(&pc->lock, NULL);
	pthread_cond_init(&pc->cv, NULL);
	return pc;
}

/* Sets the go's outcome and wakes postcopy_ready. */
static void set_go(struct postcopy *pc, int go, const char *why)
{
	pthread_mutex_lock(&pc->lock);
	if (pc->go == 0) {
		pc->go = go;
		if (why)
			snprintf(pc->why, sizeof(pc->why), "%s", why);
	}
	pthread_cond_broadcast(&pc->cv);
	pthread_mutex_unlock(&pc->lock);
}

/* UFFDIO_COPY (src) or UFFDIO_ZEROPAGE (src NULL) of len bytes at off:
 * a fork in the VMM makes it try again (EAGAIN, with what it did); a page
 * already there stays as it is. 0 or -errno. */
static int place(struct postcopy *pc, uint64_t off, const uint8_t *src, uint64_t len)
{
	uint64_t base = (uint64_t)(uintptr_t)pc->f->host;
	while (len) {
		int64_t done;
		int r;
		if (src) {
			struct uffdio_copy cp = { .dst = base + off, .src = (uint64_t)(uintptr_t)src, .len = len };
			r = ioctl(pc->uffd, UFFDIO_COPY, &cp);
			done = cp.copy;
		} else {
			struct uffdio_zeropage zp = { .range = { base + off, len } };
			r = ioctl(pc->uffd, UFFDIO_ZEROPAGE, &zp);
			done = zp.zeropage;
		}
		if (r == 0)
			return 0;
		if (errno == EAGAIN && done > 0) {
			off += (uint64_t)done;
			src = src ? src + done : NULL;
			len -= (uint64_t)done;
		} else if (errno == EEXIST && len > 4096) {
			/* Some page of the run is there: one at a time. */
			for (uint64_t o = 0; o < len; o += 4096)
				place(pc, off + o, src ? src + o : NULL, 4096);
			return 0;
		} else if (errno != EAGAIN) {
			return errno == EEXIST ? 0 : -errno;
		}
	}
	return 0;
}

/* Page p came (or will never): no longer to come; a touch waiting for it
 * is timed. */
static void arrived(struct postcopy *pc, uint64_t p)
{
	pc->later[p / 64] &= ~(1ULL << (p % 64));
	pc->left--;
	if (!test(pc->asked, p))
		return;
	pc->asked[p / 64] &= ~(1ULL << (p % 64));
	for (int i = 0; i < pc->nwait; i++) {
		if (pc->waits[i].page != p)
			continue;
		uint64_t us = (host_mono_ns() - pc->waits[i].t) / 1000;
		pc->n.wait_us += us;
		if (us > pc->n.wait_max_us)
			pc->n.wait_max_us = us;
		pc->waits[i] = pc->waits[--pc->nwait];
		break;
	}
}

/* Every page still to come, zero: the go will never come, and the
 * rebuild that is waiting on a page must finish (and be thrown away). */
static void give_up(struct postcopy *pc, const char *why)
{
	pc->failed = true;
	for (uint64_t p = 0; p < pc->f->nframes; p++)
		if (test(pc->later, p)) {
			place(pc, p * 4096, NULL, 4096);
			arrived(pc, p);
		}
	set_go(pc, -1, why);
}

/* A block the source sent: its pages that are still to come go in, a run
 * of them at a time (data pages lie in raw in page order). */
static int take_pages(struct postcopy *pc, size_t len)
{
	uint64_t c, map[CHUNK / 64];
	enum pages_kind kind;
	if (precopy_decode(pc->buf, len, pc->nchunks, pc->raw, &c, map, &kind) || kind == PAGES_LATER)
		return -EPROTO;
	for (int w = 0; w < CHUNK / 64; w++)
		pc->pages_in += (uint64_t)__builtin_popcountll(map[w]);
	uint64_t k = 0, first = c * CHUNK;
	for (uint64_t i = 0; i < CHUNK;) {
		if (!(map[i / 64] >> (i % 64) & 1)) {
			i++;
			continue;
		}
		/* A run: in the block, and all still to come (one the domain
		 * has had already stays as it is now). */
		uint64_t s = i, ks = k;
		bool want = test(pc->later, first + i);
		while (i < CHUNK && (map[i / 64] >> (i % 64) & 1) && test(pc->later, first + i) == want) {
			i++;
			k++;
		}
		if (!want)
			continue;
		int r = place(pc, (first + s) * 4096, kind == PAGES_DATA ? pc->raw + 4096 * ks : NULL, (i - s) * 4096);
		if (r)
			return r;
		for (uint64_t p = first + s; p < first + i; p++)
			arrived(pc, p);
	}
	return 0;
}

static int send_counts(struct postcopy *pc, bool ended)
{
	struct sbuf b = { 0 };
	pc->n.ended = ended;
	sb_u64(&b, pc->n.faults);
	sb_u64(&b, pc->n.wait_us);
	sb_u64(&b, pc->n.wait_max_us);
	sb_u8(&b, pc->n.ended);
	int r = b.oom ? -ENOMEM : ms_send(pc->s, MS_PC_ACK, b.p, b.len);
	sb_free(&b);
	return r;
}

static int ask(struct postcopy *pc, uint64_t p)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(p >> (8 * i));
	return ms_send(pc->s, MS_PC_REQ, b, sizeof(b));
}

static void lost(struct postcopy *pc, int r, const char *what)
{
	char why[256];
	snprintf(why, sizeof(why), "%s: %s", what, r == -EPROTO ? "malformed stream" :
		 r == -ECONNRESET ? "the connection was closed" : strerror(-r));
	ms_close(pc->s);
	pc->connected = false;
	if (pc->go != 1) {
		give_up(pc, why);
		return;
	}
	/* The domain runs here now and the source has the pages: it keeps
	 * them, and comes back on the listening socket. */
	dom_log(pc->d, "post-copy: %s, with %llu pages still to come: waiting for the source to connect again",
		why, (unsigned long long)pc->left);
	fprintf(stderr, "pdvm receive: %s: post-copy: %s; %llu pages still to come: waiting for the source to "
		"connect again\n", pc->d->spec->name, why, (unsigned long long)pc->left);
}

/* A source back after a broken connection: it proves the migration id,
 * hears what is still to come, and the touches waiting are asked again. */
static void resume(struct postcopy *pc)
{
	struct mstream ns;
	enum ms_type t;
	size_t n;
	if (pc->accept(pc->aarg, &ns))
		return;
	int r = ms_recv(&ns, &t, pc->buf, MS_PAGES_MAX, &n);
	if (r || t != MS_PC_RESUME || n != MIGRATE_ID_LEN || memcmp(pc->buf, pc->id, MIGRATE_ID_LEN)) {
		ms_send_error(&ns, "not the migration this target is receiving");
		ms_close(&ns);
		return;
	}
	if (pc->connected)
		ms_close(pc->s); /* the old connection is dead, it just has not noticed */
	*pc->s = ns;
	pc->connected = true;
	pc->told = pc->told_pages = pc->pages_in = 0;
	uint8_t *msg = malloc(MS_PAGES_MAX);
	r = msg ? 0 : -ENOMEM;
	for (uint64_t c = 0; !r && c < pc->nchunks; c++)
		r = precopy_send_later(pc->s, c, pc->later + c * (CHUNK / 64), msg);
	free(msg);
	if (!r)
		r = ms_send(pc->s, MS_PC_RESUME, pc->id, MIGRATE_ID_LEN);
	for (uint64_t p = 0; !r && p < pc->f->nframes; p++)
		if (test(pc->asked, p))
			r = ask(pc, p);
	if (r) {
		lost(pc, r, "telling the source what is still to come");
		return;
	}
	dom_log(pc->d, "post-copy: the source is back, %llu pages still to come", (unsigned long long)pc->left);
	fprintf(stderr, "pdvm receive: %s: post-copy: the source is back\n", pc->d->spec->name);
}

/* Every page is in: later holes (freed frames) are plain zero pages. false
 * if the memory could not be unregistered: its touches still come here,
 * and the thread must go on serving them. */
static bool finish(struct postcopy *pc)
{
	bool off = uffd_unregister_frames(pc->uffd, pc->f);
	if (!off)
		dom_log(pc->d, "post-copy: unregistering memory from userfaultfd: %s (its touches go on "
			"through the post-copy thread)", strerror(errno));
	pc->f->lazy = false;
	pthread_mutex_lock(&pc->lock);
	pc->finished = true;
	pthread_cond_broadcast(&pc->cv);
	pthread_mutex_unlock(&pc->lock);
	return off;
}

/* A touch of the page at addr. */
static void fault(struct postcopy *pc, uint64_t addr)
{
	uint64_t off = (addr - (uint64_t)(uintptr_t)pc->f->host) & ~4095ULL, p = off / 4096;
	if (off >= pc->f->size)
		return;
	if (!test(pc->later, p)) {
		/* A zero page, or one placed since the touch. */
		uffd_zero_or_wake(pc->uffd, pc->f, off);
		return;
	}
	if (test(pc->asked, p))
		return;
	pc->asked[p / 64] |= 1ULL << (p % 64);
	pc->n.faults++;
	if (pc->nwait < MAX_WAITS)
		pc->waits[pc->nwait++] = (struct pc_wait){ p, host_mono_ns() };
	int r = pc->connected ? ask(pc, p) : 0;
	if (r)
		lost(pc, r, "asking the source for a page");
}

/* Tells the source how much of the stream, and how many pages, have been
 * taken in: its window. */
static int taken(struct postcopy *pc)
{
	if (pc->s->received - pc->told < PC_TAKEN_EVERY && pc->pages_in - pc->told_pages < PC_TAKEN_EVERY / 1024)
		return 0;
	pc->told = pc->s->received;
	pc->told_pages = pc->pages_in;
	struct sbuf b = { 0 };
	sb_u64(&b, pc->told);
	sb_u64(&b, pc->told_pages);
	int r = b.oom ? -ENOMEM : ms_send(pc->s, MS_PC_TAKEN, b.p, b.len);
	sb_free(&b);
	return r;
}

/* One message from the source. false: the thread is done. */
static bool message(struct postcopy *pc)
{
	enum ms_type t;
	size_t n;
	int r = ms_recv(pc->s, &t, pc->buf, MS_PAGES_MAX, &n);
	if (r) {
		lost(pc, r, "receiving from the source");
		return true;
	}
	if (t == MS_PAGES) {
		if ((r = take_pages(pc, n)) || (r = taken(pc)))
			lost(pc, r, "placing pages");
	} else if (t == MS_GO && pc->go == 0) {
		if ((r = ms_send(pc->s, MS_STARTED, NULL, 0))) {
			lost(pc, r, "confirming the go");
			return true;
		}
		set_go(pc, 1, NULL);
	} else if (t == MS_PC_END && pc->go == 1) {
		if (pc->left) {
			/* Only a broken source says it pushed everything while
			 * pages are missing: they stay zero. */
			dom_log(pc->d, "post-copy: the source ended with %llu pages never sent: they are zero",
				(unsigned long long)pc->left);
			give_up(pc, "pages missing");
		}
		send_counts(pc, false);
		ms_close(pc->s);
		pc->connected = false;
		return !finish(pc);
	} else if (t == MS_ERROR) {
		char why[MS_SMALL_MAX];
		size_t pos = 0;
		if (ms_get_str(pc->buf, n, &pos, why, sizeof(why)))
			snprintf(why, sizeof(why), "?");
		ms_close(pc->s);
		pc->connected = false;
		if (pc->go != 1) {
			char w[MS_SMALL_MAX + 32];
			snprintf(w, sizeof(w), "the source gave up: %s", why);
			give_up(pc, w);
		} else {
			dom_log(pc->d, "post-copy: the source gave up: %s", why);
		}
	} else {
		lost(pc, -EPROTO, "receiving from the source");
	}
	return true;
}

static void *pc_thread(void *arg)
{
	struct postcopy *pc = arg;
	uffd_thread_signals();
	bool ready_sent = false;
	for (;;) {
		bool waiting = pc->connected && ms_waiting(pc->s, 0);
		struct pollfd p[4] = {
			{ pc->uffd, POLLIN, 0 }, { pc->evfd, POLLIN, 0 },
			{ pc->connected ? pc->s->fd : -1, POLLIN, 0 },
			{ pc->go == 1 && !pc->finished ? pc->lfd : -1, POLLIN, 0 },
		};
		if (poll(p, 4, waiting ? 0 : -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			uint64_t v;
			if (read(pc->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
			pthread_mutex_lock(&pc->lock);
			bool stop = pc->stop, ready = pc->want_ready && !ready_sent;
			pthread_mutex_unlock(&pc->lock);
			if (stop)
				break;
			if (ready && pc->go == 0) {
				ready_sent = true;
				int r = pc->connected ? ms_send(pc->s, MS_READY, NULL, 0) : -ECONNRESET;
				if (r)
					lost(pc, r, "telling the source");
			}
		}
		if (p[0].revents & POLLIN) {
			struct uffd_msg msg[16];
			ssize_t r = read(pc->uffd, msg, sizeof(msg));
			for (ssize_t i = 0; r > 0 && i < r / (ssize_t)sizeof(msg[0]); i++)
				if (msg[i].event == UFFD_EVENT_PAGEFAULT)
					fault(pc, msg[i].arg.pagefault.address);
		}
		if (pc->connected && (waiting || p[2].revents) && !message(pc))
			break;
		if (p[3].revents & POLLIN)
			resume(pc);
	}
	return NULL;
}

int postcopy_start(struct postcopy *pc, struct domain *d, char *err, size_t errlen)
{
	pc->d = d;
	pc->f = &d->frames;
	pc->nchunks = pc->f->nframes / CHUNK;
	pc->asked = calloc((pc->f->nframes + 63) / 64, 8);
	pc->buf = malloc(MS_PAGES_MAX);
	pc->raw = malloc(CHUNK_BYTES);
	if (!pc->asked || !pc->buf || !pc->raw) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pc->uffd = uffd_register_frames(pc->f);
	if (pc->uffd < 0) {
		snprintf(err, errlen, "userfaultfd: %s (try --postcopy never at the source)", strerror(-pc->uffd));
		return -1;
	}
	pc->f->lazy = true;
	pc_queue_small(pc->s);
	pc->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pc->evfd < 0 || pthread_create(&pc->th, NULL, pc_thread, pc)) {
		snprintf(err, errlen, "starting the post-copy thread failed");
		pc->f->lazy = false;
		return -1;
	}
	pc->th_on = true;
	running = pc;
	return 0;
}

static void kick(struct postcopy *pc)
{
	uint64_t one = 1;
	if (write(pc->evfd, &one, sizeof(one)) < 0)
		perror("pdvm: post-copy: eventfd");
}

int postcopy_ready(struct postcopy *pc, char *err, size_t errlen)
{
	pthread_mutex_lock(&pc->lock);
	pc->want_ready = true;
	pthread_mutex_unlock(&pc->lock);
	kick(pc);
	pthread_mutex_lock(&pc->lock);
	while (pc->go == 0)
		pthread_cond_wait(&pc->cv, &pc->lock);
	int go = pc->go;
	if (go != 1)
		snprintf(err, errlen, "%s", pc->why);
	pthread_mutex_unlock(&pc->lock);
	return go == 1 ? 0 : -ECONNABORTED;
}

void postcopy_wait(void)
{
	struct postcopy *pc = running;
	if (!pc)
		return;
	pthread_mutex_lock(&pc->lock);
	while (!pc->finished && !pc->failed)
		pthread_cond_wait(&pc->cv, &pc->lock);
	pthread_mutex_unlock(&pc->lock);
}

void postcopy_stop(struct domain *d)
{
	struct postcopy *pc = running;
	if (!pc)
		return;
	running = NULL;
	if (pc->th_on) {
		pthread_mutex_lock(&pc->lock);
		pc->stop = true;
		pthread_mutex_unlock(&pc->lock);
		kick(pc);
		pthread_join(pc->th, NULL);
		pc->th_on = false;
	}
	/* The domain ended before every page came: the source may go. */
	if (!pc->finished && pc->connected && pc->go == 1)
		send_counts(pc, true);
	dom_log(d, "post-copy: %llu touches waited for a page (%.1f ms in all, longest %.1f ms); %llu pages had "
		"not come when it ended", (unsigned long long)pc->n.faults, (double)pc->n.wait_us / 1e3,
		(double)pc->n.wait_max_us / 1e3, (unsigned long long)pc->left);
}

void postcopy_free(struct postcopy *pc)
{
	if (!pc)
		return;
	if (running == pc)
		running = NULL;
	if (pc->uffd >= 0)
		close(pc->uffd);
	if (pc->evfd >= 0)
		close(pc->evfd);
	if (pc->connected)
		ms_close(pc->s);
	free(pc->asked);
	free(pc->buf);
	free(pc->raw);
	pthread_mutex_destroy(&pc->lock);
	pthread_cond_destroy(&pc->cv);
	free(pc);
}
