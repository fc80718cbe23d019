/* precopy.c: memory pre-copy for migration — the source reads guest frames while the domain runs (a page torn by a concurrent write is dirty, so it goes again), one lz4 block per 2 MiB chunk; the target checks and lands each block in its memory file. */
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image.h"
#include "mstream.h"
#include "precopy.h"
#include "snap_mem.h"
#include "vmm/clock.h"
#include "vmm/domain.h"

#define CHUNK_PAGES     CHUNK                   /* snap_mem.h's 2 MiB chunk */
#define WORDS           (CHUNK_PAGES / 64)
#define HEAD            (8 + 8 * WORDS + 4)     /* chunk, page map, flags */
#define BLK_ZERO        1u                      /* the pages are zero: no data */
#define BLK_LATER       2u                      /* post-copy: the pages come later: no data */
#define ENOUGH_LEFT     256                     /* pages: stop pre-copy under this */
#define PREMEM_MAX      (1ULL << 40)

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* An MS_PAGES body's head: chunk, page map, flags. Its length. */
static size_t put_head(uint8_t *msg, uint64_t c, const uint64_t *map, uint32_t flags)
{
	put64(msg, c);
	for (int w = 0; w < WORDS; w++)
		put64(msg + 8 + 8 * w, map[w]);
	memcpy(msg + 8 + 8 * WORDS, &flags, 4);
	return HEAD;
}

/* The frames written since the last call, into m: KVM's log and the VMM's
 * vdirty (taken and cleared under the domain lock, where the VMM writes).
 * On PVM the log shows a running guest's writes in bursts, some rounds
 * late (a vCPU kicked out first changes nothing, measured): the final
 * pause, with every vCPU parked, is what catches them all. */
static int take_dirty(struct domain *d, uint64_t *m, uint64_t *acc, size_t words)
{
	memset(m, 0, words * 8);
	dom_lock(d);
	int r = kvm_get_dirty_log(&d->vm, m);
	for (size_t i = 0; i < words; i++) {
		acc[i] |= m[i];
		m[i] |= d->frames.vdirty[i];
		d->frames.vdirty[i] = 0;
	}
	dom_unlock(d);
	return r;
}

int precopy_send(struct domain *d, struct mstream *s, uint64_t c, const uint64_t *want, uint8_t *raw,
		 uint8_t *msg, uint64_t *npages)
{
	struct frames *f = &d->frames;
	uint64_t data[WORDS] = { 0 }, zero[WORDS] = { 0 };
	size_t np = 0;
	for (int w = 0; w < WORDS; w++) {
		uint64_t bits = want[w] & __atomic_load_n(&f->used[c * WORDS + (uint64_t)w], __ATOMIC_RELAXED);
		while (bits) {
			int b = __builtin_ctzll(bits);
			bits &= bits - 1;
			uint64_t fr = c * CHUNK_PAGES + (uint64_t)(w * 64 + b);
			const uint8_t *p = f->host + fr * 4096;
			if (snap_page_zero(p)) {
				zero[w] |= 1ULL << b;
			} else {
				memcpy(raw + np * 4096, p, 4096);
				data[w] |= 1ULL << b;
				np++;
			}
			(*npages)++;
		}
	}
	int r = 0;
	for (int kind = 0; kind < 2 && !r; kind++) {
		const uint64_t *map = kind ? zero : data;
		bool any = false;
		for (int w = 0; w < WORDS; w++)
			any |= map[w] != 0;
		if (!any)
			continue;
		size_t len = put_head(msg, c, map, kind ? BLK_ZERO : 0);
		if (!kind) {
			int cl = LZ4_compress_default((const char *)raw, (char *)msg + HEAD, (int)(np * 4096),
						      (int)(MS_PAGES_MAX - HEAD));
			if (cl <= 0)
				return -EIO;
			len += (size_t)cl;
		}
		r = ms_send(s, MS_PAGES, msg, len);
	}
	return r;
}

int precopy_send_later(struct mstream *s, uint64_t c, const uint64_t *later, uint8_t *msg)
{
	bool any = false;
	for (int w = 0; w < WORDS; w++)
		any |= later[w] != 0;
	return any ? ms_send(s, MS_PAGES, msg, put_head(msg, c, later, BLK_LATER)) : 0;
}

static uint64_t count(const uint64_t *m, const uint64_t *used, size_t words)
{
	uint64_t n = 0;
	for (size_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(m[i] & __atomic_load_n(&used[i], __ATOMIC_RELAXED));
	return n;
}

/* Waits until the target has applied everything sent so far: a round's
 * time is then the link's and the target's, not the socket buffer's (a
 * last round still queued there would be sent in the downtime), and a
 * target gone silent is found while the domain still runs. */
static void send_failed(int r, char *err, size_t errlen)
{
	snprintf(err, errlen, "sending memory: %s", r == -ECONNRESET ? "the connection was closed" :
		 r == -ETIMEDOUT ? "the target stopped answering (timed out)" : strerror(-r));
}

static int sync_round(struct mstream *s, char *err, size_t errlen)
{
	uint8_t b[MS_SMALL_MAX];
	char why[MS_SMALL_MAX];
	enum ms_type t;
	size_t n, pos = 0;
	int r = ms_send(s, MS_ROUND, NULL, 0);
	if (!r)
		r = ms_recv(s, &t, b, sizeof(b), &n);
	if (r) {
		send_failed(r, err, errlen);
		return r;
	}
	if (t == MS_ROUND_DONE)
		return 0;
	if (t == MS_ERROR && !ms_get_str(b, n, &pos, why, sizeof(why)))
		snprintf(err, errlen, "the target gave up: %s", why);
	else
		snprintf(err, errlen, "protocol error: message %d where ROUND_DONE was due", (int)t);
	return -ECONNABORTED;
}

int precopy_run(struct domain *d, struct mstream *s, const struct precopy_opts *o, uint64_t *acc,
		struct precopy_stats *st, struct precopy_progress *pg, char *err, size_t errlen)
{
	int max_downtime_ms = o->max_downtime_ms;
	struct frames *f = &d->frames;
	size_t words = (f->nframes + 63) / 64;
	uint64_t *m = calloc(words, 8), *fresh = calloc(words, 8);
	size_t nchunks = f->nframes / CHUNK_PAGES;
	uint8_t *heat = calloc(nchunks ? nchunks : 1, 1);
	uint8_t *raw = malloc(CHUNK_PAGES * 4096UL), *msg = malloc(MS_PAGES_MAX);
	int r = m && fresh && heat && raw && msg ? 0 : -ENOMEM;
	memset(st, 0, sizeof(*st));
	/* From here KVM logs the guest's writes; what it logged before is
	 * taken now (the full round sends everything anyway). */
	if (!r && !d->vm.dirty_log)
		r = kvm_set_dirty_log(&d->vm, true);
	if (!r)
		r = take_dirty(d, m, acc, words);
	if (r) {
		snprintf(err, errlen, "dirty logging: %s", strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < words; i++)
		m[i] = ~0ULL; /* the first round: every used frame */
	/* Test hook: fewer rounds, so that the image carries much (e2e/migrate);
	 * 0: none, a plain stop-and-copy (make bench's comparison). */
	const char *e = getenv("PDVM_PRECOPY_ROUNDS");
	int max = e && atoi(e) >= 0 && atoi(e) <= PRECOPY_MAX_ROUNDS && *e ? atoi(e) : PRECOPY_MAX_ROUNDS;
	if (o->no_rounds)
		max = 0;
	/* Test hook: no stop before this many rounds (e2e/migrate's hot chunk). */
	const char *mr = getenv("PDVM_PRECOPY_MIN_ROUNDS");
	int min_rounds = mr && atoi(mr) > 0 ? atoi(mr) : 0;
	uint64_t prev = UINT64_MAX, sent0 = s->sent;
	double bpp = 0, rate = 0;       /* bytes per page, bytes per ms: the last round that sent */
	if (max == 0) {
		st->why = o->no_rounds ? "post-copy from the start (--postcopy always)" :
			  "stop-and-copy (no pre-copy rounds)";
		st->left = count(m, f->used, words);
	}
	for (int round = 0; max > 0; round++) {
		uint64_t n = 0, t0 = host_mono_ns(), b0 = s->sent, deferred = 0, held = 0;
		for (uint64_t c = 0; !r && c < nchunks; c++) {
			if (__builtin_popcount(heat[c]) >= PRECOPY_HOT_ROUNDS) {
				/* Hot: it would only go again next round. */
				deferred += count(m + c * WORDS, f->used + c * WORDS, WORDS);
				held++;
				continue;
			}
			r = precopy_send(d, s, c, m + c * WORDS, raw, msg, &n);
			memset(m + c * WORDS, 0, WORDS * 8);
			if (pg)
				pg->sent = s->sent;
		}
		if (r) {
			send_failed(r, err, errlen);
			break;
		}
		if ((r = sync_round(s, err, errlen)))
			break;
		st->pages[round] = n;
		st->rounds = round + 1;
		/* The chunks held back this round and their pages: one
		 * round's figures (the heat after it may have cooled). */
		st->deferred = deferred;
		st->hot_chunks = held;
		if ((r = take_dirty(d, fresh, acc, words))) {
			snprintf(err, errlen, "dirty log: %s", strerror(-r));
			break;
		}
		uint64_t written = count(fresh, f->used, words);
		for (uint64_t c = 0; c < nchunks; c++) {
			bool any = false;
			for (int w = 0; w < WORDS; w++) {
				any |= fresh[c * WORDS + (uint64_t)w] != 0;
				m[c * WORDS + (uint64_t)w] |= fresh[c * WORDS + (uint64_t)w];
			}
			/* The last three collections, one bit each. */
			heat[c] = (uint8_t)((heat[c] << 1 | any) & 7);
		}
		uint64_t left = count(m, f->used, words);
		/* At this round's rate and bytes per page, what the rest takes. */
		double ms = (double)(host_mono_ns() - t0) / 1e6, bytes = (double)(s->sent - b0);
		st->dirty_mbps = ms > 0.001 ? (double)written * 4096 / 1e6 / (ms / 1e3) : 0;
		/* A round that held everything back sent nothing: the rates keep
		 * the last round that sent (else a "0 ms" estimate would end
		 * pre-copy with a hot chunk's thousands of pages still to go). */
		if (n && bytes > 0) {
			bpp = bytes / (double)n;
			rate = bytes / (ms > 0.001 ? ms : 0.001);
		}
		st->link_mbps = rate / 1e3; /* bytes per ms to MB/s */
		if (pg) {
			pg->round = round + 1;
			pg->left = left;
			pg->dirty_mbps = st->dirty_mbps;
		}
		st->left = left;
		st->est_ms = rate > 0 ? (double)left * bpp / rate : left ? 1e9 : 0;
		if (pg)
			pg->est_ms = st->est_ms;
		st->why = left < ENOUGH_LEFT ? "few pages left" :
			  st->est_ms <= max_downtime_ms / 2.0 ? "the rest fits the downtime budget" :
			  round + 1 == max ? "round limit" :
			  round >= 1 && left * 10 > prev * 9 ? "not converging" : NULL;
		if (st->why && round + 1 < min_rounds && round + 1 < max)
			st->why = NULL;
		if (st->why)
			break;
		prev = left;
	}
	st->decision = max == 0 ? "stop-and-copy" :
		       st->hot_chunks ? "pre-copy with hot chunks held for the final round" : "pre-copy";
	if (o->heat)
		memcpy(o->heat, heat, nchunks);
	st->bytes = s->sent - sent0;
	/* What the last round did not send goes with the image. */
	dom_lock(d);
	for (size_t i = 0; i < words; i++)
		f->vdirty[i] |= m[i];
	dom_unlock(d);
out:
	free(m);
	free(fresh);
	free(heat);
	free(raw);
	free(msg);
	return r;
}

int premem_init(struct premem *m, uint64_t size)
{
	m->fd = -1;
	m->host = NULL;
	m->size = size;
	m->raw = NULL;
	m->later = NULL;
	m->nlater = 0;
	if (!size || size % (CHUNK_PAGES * 4096ULL) || size > PREMEM_MAX)
		return -EINVAL;
	m->fd = memfd_create("pdvm-incoming-ram", MFD_CLOEXEC);
	if (m->fd < 0 || ftruncate(m->fd, (off_t)size) < 0)
		goto fail;
	if (!(m->raw = malloc(CHUNK_PAGES * 4096UL))) {
		errno = ENOMEM;
		goto fail;
	}
	m->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (m->host == MAP_FAILED) {
		m->host = NULL;
		goto fail;
	}
	return 0;
fail:;
	int e = errno;
	premem_free(m);
	return -e;
}

void premem_free(struct premem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	if (m->fd >= 0)
		close(m->fd);
	free(m->raw);
	free(m->later);
	m->host = NULL;
	m->raw = NULL;
	m->later = NULL;
	m->nlater = 0;
	m->fd = -1;
}

/* Zeroes n pages at page index first of m. A page to come (post-copy)
 * must be a hole: its first touch is what asks for it (-errno if it cannot
 * be one). A zero page of the domain's is allocated, as it is at the
 * source (a frame in use there): left a hole, the page the program writes
 * next would be allocated in the final round, in the downtime — ~11 us a
 * page on this project's PVM host, whose own memory is a VM's that has
 * never been touched, against ~1.6 us for a page there already. */
static int zero_run(struct premem *m, uint64_t first, uint64_t n, bool hole)
{
	off_t off = (off_t)(first * 4096), len = (off_t)(n * 4096);
	if (fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) < 0) {
		if (hole)
			return -errno;
		memset(m->host + off, 0, (size_t)len);
		return 0;
	}
	/* Faulted in writable, so zeroed now (fallocate alone leaves the
	 * zeroing, and the host's cost, to the first write). Best effort:
	 * else a hole, only slower later. */
	if (!hole)
		(void)madvise(m->host + off, (size_t)len, MADV_POPULATE_WRITE);
	return 0;
}

int precopy_decode(const uint8_t *body, size_t len, uint64_t nchunks, uint8_t *raw, uint64_t *c, uint64_t *map,
		   enum pages_kind *kind)
{
	if (len < HEAD)
		return -EPROTO;
	uint32_t flags;
	memcpy(&flags, body + 8 + 8 * WORDS, 4);
	size_t np = 0;
	*c = get64(body);
	for (int w = 0; w < WORDS; w++) {
		map[w] = get64(body + 8 + 8 * w);
		np += (size_t)__builtin_popcountll(map[w]);
	}
	if (*c >= nchunks || np == 0 || (flags != 0 && flags != BLK_ZERO && flags != BLK_LATER) ||
	    (flags && len != HEAD))
		return -EPROTO;
	*kind = flags == BLK_ZERO ? PAGES_ZERO : flags == BLK_LATER ? PAGES_LATER : PAGES_DATA;
	if (flags)
		return 0;
	int n = LZ4_decompress_safe((const char *)body + HEAD, (char *)raw, (int)(len - HEAD), (int)(np * 4096));
	return n == (int)(np * 4096) ? 0 : -EPROTO;
}

int precopy_apply(struct premem *m, const uint8_t *body, size_t len)
{
	uint64_t c, map[WORDS], nchunks = m->size / (CHUNK_PAGES * 4096ULL);
	enum pages_kind kind;
	if (precopy_decode(body, len, nchunks, m->raw, &c, map, &kind))
		return -EPROTO;
	uint64_t first = c * CHUNK_PAGES;
	if (kind == PAGES_LATER) {
		if (!m->later && !(m->later = calloc(nchunks * WORDS, 8)))
			return -ENOMEM;
		for (int w = 0; w < WORDS; w++) {
			m->nlater += (uint64_t)__builtin_popcountll(map[w] & ~m->later[c * WORDS + (uint64_t)w]);
			m->later[c * WORDS + (uint64_t)w] |= map[w];
		}
	}
	if (kind != PAGES_DATA) {
		/* Runs of zero pages, or of pages to come (an old copy here
		 * is stale: a hole, filled when they arrive), punched. */
		uint64_t run = 0, start = 0;
		for (uint64_t i = 0; i <= CHUNK_PAGES; i++) {
			bool z = i < CHUNK_PAGES && (map[i / 64] >> (i % 64) & 1);
			if (z && !run)
				start = i;
			if (z) {
				run++;
			} else if (run) {
				int r = zero_run(m, first + start, run, kind == PAGES_LATER);
				if (r)
					return r;
				run = 0;
			}
		}
		return 0;
	}
	size_t k = 0;
	for (int w = 0; w < WORDS; w++)
		for (uint64_t bits = map[w]; bits; bits &= bits - 1)
			memcpy(m->host + (first + (uint64_t)(w * 64 + __builtin_ctzll(bits))) * 4096,
			       m->raw + 4096 * k++, 4096);
	return 0;
}
