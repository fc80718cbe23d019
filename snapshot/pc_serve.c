/* pc_serve.c: post-copy at the source — the paused domain's pages that the target still lacks go to it, a page it asks for at once and the rest in order, hot chunks first; a connection that breaks once the domain runs there is made again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mstream.h"
#include "postcopy.h"
#include "precopy.h"
#include "sbuf.h"
#include "snap_mem.h"
#include "vmm/clock.h"
#include "vmm/domain.h"

#define WORDS   (CHUNK / 64)
#define NONE    UINT64_MAX

struct serve {
	struct domain *d;
	struct mstream *s;
	uint64_t *todo;                 /* pages the target still lacks, not sent since */
	uint64_t nchunks, left;
	const uint8_t *heat;
	uint64_t cursor;                /* push order: hot chunks' words, then the others' */
	uint64_t near;                  /* the chunk of the last page asked for: its rest next */
	uint64_t taken, taken_pages;    /* stream bytes and pages the target has taken in (MS_PC_TAKEN) */
	uint64_t pages_out;             /* pages sent on this stream */
	uint8_t *raw, *msg, *buf;
	struct pc_serve_stats *st;
};

/* An asked page waits behind every pushed block already queued: keep the
 * queue short. */
void pc_queue_small(struct mstream *s)
{
	int n = PC_QUEUE_BYTES;
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
}

static uint64_t count(const uint64_t *m, uint64_t words)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(m[i]);
	return n;
}

/* Sends the pages of word w of chunk c that `bits` names, and forgets them. */
static int send_word(struct serve *v, uint64_t c, int w, uint64_t bits, uint64_t *counter)
{
	uint64_t want[WORDS] = { 0 }, n = 0;
	want[w] = bits;
	v->todo[c * WORDS + (uint64_t)w] &= ~bits;
	int r = precopy_send(v->d, v->s, c, want, v->raw, v->msg, &n);
	*counter += n;
	v->pages_out += n;
	v->left -= (uint64_t)__builtin_popcountll(bits);
	return r;
}

/* The next 64 pages in push order (256 KiB at most: an ask waits behind
 * no more). *done when nothing is left. */
static int push_one(struct serve *v, bool *done)
{
	*done = false;
	if (v->near != NONE) {
		for (int w = 0; w < WORDS; w++)
			if (v->todo[v->near * WORDS + (uint64_t)w])
				return send_word(v, v->near, w, v->todo[v->near * WORDS + (uint64_t)w], &v->st->pushed);
		v->near = NONE;
	}
	uint64_t per = v->nchunks * WORDS;
	for (; v->cursor < 2 * per; v->cursor++) {
		uint64_t i = v->cursor % per, c = i / WORDS;
		bool hot = v->heat && v->heat[c];
		if ((v->cursor < per) == hot && v->todo[i])
			return send_word(v, c, (int)(i % WORDS), v->todo[i], &v->st->pushed);
	}
	*done = true;
	return 0;
}

static int answer(struct serve *v, size_t n)
{
	if (n != 8)
		return -EPROTO;
	uint64_t p = 0;
	for (int i = 7; i >= 0; i--)
		p = p << 8 | v->buf[i];
	if (p >= v->d->frames.nframes)
		return -EPROTO;
	uint64_t c = p / CHUNK, bit = 1ULL << (p % 64);
	int w = (int)(p % CHUNK / 64);
	v->near = c;
	/* Sent already (it is on its way): nothing to do. */
	return v->todo[c * WORDS + (uint64_t)w] & bit ? send_word(v, c, w, bit, &v->st->asked) : 0;
}

static void describe(int r, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, r == -EPROTO ? "malformed stream" :
		 r == -ECONNRESET ? "the connection was closed" :
		 r == -ETIMEDOUT ? "the target stopped answering (timed out)" : strerror(-r));
}

/* After a new connection: the target lists the pages it still lacks
 * (MS_PAGES of PAGES_LATER), then MS_PC_RESUME. */
static int relearn(struct serve *v)
{
	enum ms_type t;
	size_t n;
	memset(v->todo, 0, v->nchunks * WORDS * 8);
	v->left = 0;
	v->cursor = 0;
	v->near = NONE;
	v->taken = v->taken_pages = v->pages_out = 0; /* a new stream: its counts start again */
	for (;;) {
		int r = ms_recv(v->s, &t, v->buf, MS_PAGES_MAX, &n);
		if (r)
			return r;
		if (t == MS_PC_RESUME)
			return 0;
		uint64_t c, map[WORDS];
		enum pages_kind kind;
		if (t != MS_PAGES || precopy_decode(v->buf, n, v->nchunks, v->raw, &c, map, &kind) ||
		    kind != PAGES_LATER)
			return -EPROTO;
		for (int w = 0; w < WORDS; w++) {
			/* Only pages that were to come at all. */
			uint64_t add = map[w] & ~v->todo[c * WORDS + (uint64_t)w];
			v->todo[c * WORDS + (uint64_t)w] |= add;
			v->left += (uint64_t)__builtin_popcountll(add);
		}
	}
}

static int reconnect_loop(struct serve *v, pc_reconnect_fn reconnect, void *rarg, char *err, size_t errlen)
{
	dom_log(v->d, "post-copy: %s; %llu pages still to send: connecting to the target again", err,
		(unsigned long long)v->left);
	fprintf(stderr, "pdvm: %s: post-copy: %s; the domain runs at the target and needs pages from here: "
		"connecting again\n", v->d->spec->name, err);
	ms_close(v->s);
	for (;;) {
		int r = reconnect(rarg, v->s);
		if (r == -ECONNREFUSED) {
			snprintf(err, errlen, "post-copy: the target is gone (nothing listens there any more): the "
				 "domain ended with it");
			return r;
		}
		if (!r && !(r = relearn(v))) {
			v->st->reconnects++;
			dom_log(v->d, "post-copy: connected again, %llu pages to send", (unsigned long long)v->left);
			return 0;
		}
		ms_close(v->s);
		sleep(1);
	}
}

static int take_counts(struct serve *v, size_t n)
{
	struct sread rd;
	sr_init(&rd, v->buf, n);
	struct postcopy_counts *c = &v->st->target;
	c->faults = sr_u64(&rd);
	c->wait_us = sr_u64(&rd);
	c->wait_max_us = sr_u64(&rd);
	c->ended = sr_u8(&rd);
	return rd.bad || rd.pos != rd.len || c->ended > 1 ? -EPROTO : 0;
}

int pc_serve(struct domain *d, struct mstream *s, const uint64_t *later, const uint8_t *heat,
	     pc_reconnect_fn reconnect, void *rarg, struct precopy_progress *pg, enum pc_phase *phase,
	     struct pc_serve_stats *st, char *err, size_t errlen)
{
	uint64_t words = d->frames.nframes / 64, t0 = host_mono_ns(), t_started = 0;
	struct serve v = { .d = d, .s = s, .nchunks = d->frames.nframes / CHUNK, .heat = heat, .near = NONE, .st = st };
	v.todo = malloc(words * 8);
	v.raw = malloc(CHUNK_BYTES);
	v.msg = malloc(MS_PAGES_MAX);
	v.buf = malloc(MS_PAGES_MAX);
	*phase = PCS_BEFORE_GO;
	int r = v.todo && v.raw && v.msg && v.buf ? 0 : -ENOMEM;
	if (r) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(v.todo, later, words * 8);
	pc_queue_small(s);
	st->pages = v.left = count(later, words);
	bool end_sent = false;
	for (;;) {
		/* Nothing is pushed before the target runs the domain: READY
		 * and GO would wait behind it, and its rebuild asks for the few
		 * pages it reads. Then at most PC_WINDOW bytes, and
		 * PC_WINDOW_PAGES pages, the target has not taken yet: an asked
		 * page waits behind no more, whatever the link's queues would
		 * hold (bytes) and however cheap the pages are to send but not
		 * to place (zero pages: no bytes at all). */
		bool done = v.left == 0 || *phase != PCS_STARTED || s->sent - v.taken >= PC_WINDOW ||
			    v.pages_out - v.taken_pages >= PC_WINDOW_PAGES;
		if (!done && !ms_waiting(s, 0)) {
			if ((r = push_one(&v, &done)))
				goto broken;
			if (pg) {
				pg->sent = s->sent;
				pg->left = v.left;
			}
			continue;
		}
		if (v.left == 0 && *phase == PCS_STARTED && !end_sent) {
			if ((r = ms_send(s, MS_PC_END, NULL, 0)))
				goto broken;
			end_sent = true;
		}
		enum ms_type t;
		size_t n;
		if ((r = ms_recv(s, &t, v.buf, MS_PAGES_MAX, &n)))
			goto broken;
		if (t == MS_PC_REQ) {
			r = answer(&v, n);
		} else if (t == MS_PC_TAKEN) {
			struct sread rd;
			sr_init(&rd, v.buf, n);
			v.taken = sr_u64(&rd);
			v.taken_pages = sr_u64(&rd);
			r = rd.bad || rd.pos != rd.len ? -EPROTO : 0;
		} else if (t == MS_READY && *phase == PCS_BEFORE_GO) {
			/* From here on the domain never runs here again unless the
			 * target says it did not get the go (migrate.c). */
			r = ms_send(s, MS_GO, NULL, 0);
			*phase = PCS_GO_SENT;
		} else if (t == MS_STARTED && *phase == PCS_GO_SENT) {
			*phase = PCS_STARTED;
			t_started = host_mono_ns();
			st->started_ms = (double)(t_started - t0) / 1e6;
			if (pg)
				pg->phase = MP_POSTCOPY;
			ms_stall("postcopy");
		} else if (t == MS_PC_ACK && *phase == PCS_STARTED) {
			if ((r = take_counts(&v, n)))
				goto broken;
			st->ms = (double)(host_mono_ns() - t_started) / 1e6;
			goto out;
		} else if (t == MS_ERROR) {
			char why[MS_SMALL_MAX];
			size_t pos = 0;
			if (ms_get_str(v.buf, n, &pos, why, sizeof(why)))
				snprintf(why, sizeof(why), "?");
			snprintf(err, errlen, "the target gave up: %s", why);
			r = -ECONNABORTED;
			if (*phase != PCS_STARTED)
				goto out;
			/* It runs the domain, which needs our pages: try again. */
			if ((r = reconnect_loop(&v, reconnect, rarg, err, errlen)))
				goto out;
			end_sent = false;
			continue;
		} else {
			r = -EPROTO;
		}
		if (!r)
			continue;
broken:
		describe(r, "post-copy", err, errlen);
		if (*phase != PCS_STARTED)
			goto out;
		if ((r = reconnect_loop(&v, reconnect, rarg, err, errlen)))
			goto out;
		end_sent = false;
	}
out:
	free(v.todo);
	free(v.raw);
	free(v.msg);
	free(v.buf);
	return r;
}
