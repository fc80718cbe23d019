/* lazy.c: lazy restore — a userfaultfd thread fills guest memory from image blocks on demand and in the background. */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <lz4.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/status.h"
#include "vmm/domain.h"
#include "image.h"
#include "lazy.h"
#include "snap_mem.h"
#include "uffd.h"

#define MAX_IMGS 64

struct lazy {
	struct frames *f;
	int uffd, stopfd;
	struct mem_index ix[MAX_IMGS];  /* base first */
	int nimg;
	uint64_t nchunks, cursor;       /* background fill position */
	uint64_t *chunk_done;           /* bitmap: chunk's data placed */
	uint8_t *buf, *in, *raw;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool finished;
	uint64_t faults, copied;
};

static int cmp_ent(const void *a, const void *b)
{
	const struct ment *x = a, *y = b;
	return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

static bool test(const uint64_t *m, uint64_t i)
{
	return m[i / 64] & (1ULL << (i % 64));
}

/* First entry of chunk c in a sorted index (or nent). */
static uint64_t first_of(const struct mem_index *ix, uint64_t c)
{
	uint64_t lo = 0, hi = ix->nent;
	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		if (ix->ents[mid].chunk < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void fatal(const char *why)
{
	/* vCPU threads wait on this thread inside page faults, possibly
	 * holding the domain lock: there is no orderly way out. */
	fprintf(stderr, "pdvm restore: lazy load: %s\n", why);
	_exit(EXIT_BAD_IMAGE);
}

/* Places chunk c's data pages. Zero and unused pages stay holes: a touch
 * gets a zero page (see serve). */
static void fill_chunk(struct lazy *z, uint64_t c)
{
	if (test(z->chunk_done, c))
		return;
	z->chunk_done[c / 64] |= 1ULL << (c % 64);
	struct frames *f = z->f;
	bool any = false;
	for (int i = 0; i < CHUNK / 64; i++)
		any |= f->used[c * (CHUNK / 64) + (uint64_t)i] != 0;
	if (!any)
		return;
	bool have = false;
	for (int k = 0; k < z->nimg; k++) {
		const struct mem_index *ix = &z->ix[k];
		for (uint64_t e = first_of(ix, c); e < ix->nent && ix->ents[e].chunk == c; e++) {
			const char *why;
			if (!have)
				memset(z->buf, 0, CHUNK_BYTES);
			have = true;
			if (snap_mem_decode(ix, &ix->ents[e], z->buf, z->in, z->raw, &why))
				fatal(why);
		}
	}
	if (!have)
		return;
	uint64_t base = c * CHUNK;
	for (uint64_t i = 0; i < CHUNK;) {
		/* Runs of used, non-zero pages go in with one copy each. */
		uint64_t s = i;
		while (i < CHUNK && test(f->used, base + i)) {
			const uint64_t *q = (const uint64_t *)(z->buf + i * 4096);
			bool zero = true;
			for (int w = 0; w < 512 && zero; w++)
				zero = q[w] == 0;
			if (zero)
				break;
			i++;
		}
		if (i > s) {
			struct uffdio_copy cp = {
				.dst = (uint64_t)(uintptr_t)(f->host + (base + s) * 4096),
				.src = (uint64_t)(uintptr_t)(z->buf + s * 4096),
				.len = (i - s) * 4096,
			};
			if (ioctl(z->uffd, UFFDIO_COPY, &cp) < 0 && errno != EEXIST)
				fatal(strerror(errno));
			z->copied += i - s;
		} else {
			i++;
		}
	}
}

static void serve(struct lazy *z, uint64_t addr)
{
	uint64_t off = (addr - (uint64_t)(uintptr_t)z->f->host) & ~4095ULL;
	if (off >= z->f->size)
		return;
	z->faults++;
	fill_chunk(z, off / CHUNK_BYTES);
	/* Still a hole: a zero or unused page, or one freed since. */
	uffd_zero_or_wake(z->uffd, z->f, off);
}

static void finish(struct lazy *z)
{
	/* Everything is in place: later holes (freed frames) are ordinary
	 * zero pages again. */
	uffd_unregister_frames(z->uffd, z->f);
	z->f->lazy = false;
	pthread_mutex_lock(&z->lock);
	z->finished = true;
	pthread_cond_broadcast(&z->cv);
	pthread_mutex_unlock(&z->lock);
}

static void *lazy_thread(void *arg)
{
	struct lazy *z = arg;
	uffd_thread_signals();
	for (;;) {
		struct pollfd p[2] = { { z->uffd, POLLIN, 0 }, { z->stopfd, POLLIN, 0 } };
		int n = poll(p, 2, z->cursor < z->nchunks ? 0 : -1);
		if (n < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (n > 0 && (p[0].revents & POLLIN)) {
			struct uffd_msg msg[16];
			ssize_t r = read(z->uffd, msg, sizeof(msg));
			for (ssize_t i = 0; r > 0 && i < r / (ssize_t)sizeof(msg[0]); i++)
				if (msg[i].event == UFFD_EVENT_PAGEFAULT)
					serve(z, msg[i].arg.pagefault.address);
			continue;
		}
		if (z->cursor < z->nchunks) {
			fill_chunk(z, z->cursor++);
			if (z->cursor == z->nchunks) {
				finish(z);
				break;
			}
		}
	}
	return NULL;
}

/* The lazy restore in progress: a pdvm process runs one domain, and
 * restores it at most once. */
static struct lazy *running;

int lazy_start(struct domain *d, struct img_reader *imgs, int n, char *err, size_t errlen)
{
	struct lazy *z = calloc(1, sizeof(*z));
	if (!z || n > MAX_IMGS) {
		snprintf(err, errlen, "out of memory");
		free(z);
		return -1;
	}
	z->f = &d->frames;
	z->uffd = z->stopfd = -1;
	z->nchunks = z->f->nframes / CHUNK;
	pthread_mutex_init(&z->lock, NULL);
	pthread_cond_init(&z->cv, NULL);
	running = z;
	for (int k = 0; k < n; k++) {
		struct mem_index *ix = &z->ix[k];
		if (snap_mem_index(&imgs[n - 1 - k], z->f, ix, err, errlen))
			return -1;
		z->nimg++;
		qsort(ix->ents, ix->nent, sizeof(*ix->ents), cmp_ent);
	}
	z->chunk_done = calloc((z->nchunks + 63) / 64, 8);
	z->buf = malloc(CHUNK_BYTES);
	z->raw = malloc(CHUNK_BYTES);
	z->in = malloc((size_t)LZ4_compressBound((int)CHUNK_BYTES));
	if (!z->chunk_done || !z->buf || !z->raw || !z->in) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	z->uffd = uffd_register_frames(z->f);
	if (z->uffd < 0) {
		snprintf(err, errlen, "userfaultfd: %s (try without --lazy)", strerror(-z->uffd));
		return -1;
	}
	z->f->lazy = true;
	z->stopfd = eventfd(0, EFD_CLOEXEC);
	if (z->stopfd < 0 || pthread_create(&z->th, NULL, lazy_thread, z)) {
		snprintf(err, errlen, "starting the lazy-load thread failed");
		z->f->lazy = false;
		if (z->stopfd >= 0)
			close(z->stopfd);
		z->stopfd = -1;
		return -1;
	}
	return 0;
}

void lazy_wait(void)
{
	struct lazy *z = running;
	if (!z || z->stopfd < 0)
		return;
	pthread_mutex_lock(&z->lock);
	while (!z->finished)
		pthread_cond_wait(&z->cv, &z->lock);
	pthread_mutex_unlock(&z->lock);
}

void lazy_stop(struct domain *d)
{
	struct lazy *z = running;
	if (!z)
		return;
	if (z->stopfd >= 0) {
		uint64_t one = 1;
		if (write(z->stopfd, &one, 8) == 8)
			pthread_join(z->th, NULL);
		close(z->stopfd);
	}
	dom_log(d, "lazy load: %llu faults served, %llu pages copied",
		(unsigned long long)z->faults, (unsigned long long)z->copied);
	if (z->uffd >= 0)
		close(z->uffd);
	for (int k = 0; k < z->nimg; k++)
		snap_mem_index_free(&z->ix[k]);
	free(z->chunk_done);
	free(z->buf);
	free(z->raw);
	free(z->in);
	pthread_mutex_destroy(&z->lock);
	pthread_cond_destroy(&z->cv);
	free(z);
	running = NULL;
}
