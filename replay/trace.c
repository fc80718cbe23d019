/* trace.c: writes and reads a recording's event stream: a header, then blocks of whole events, each lz4-compressed with its crc32, the last holding EV_END. */
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "replay/trace.h"
#include "snapshot/image.h"

static const char magic[8] = "PDVMTRC\n";
#define BLOCK_MAGIC 0x42564450u          /* "PDVB" */
#define BLOCK_FLUSH (1u << 20)           /* compress once a block holds this much */
#define BLOCK_MAX (256u << 20)           /* a reader refuses a larger block */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int buf_room(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64 << 10;
	while (cap < b->len + more)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void put(struct buf *b, const void *v, size_t n)
{
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

struct trace_writer {
	int fd;
	struct buf raw;
	uint8_t *comp;
	size_t comp_cap;
	uint64_t bytes;
};

/* DIR/events, or "" (and why) when it does not fit. */
static bool events_path(const char *dir, char *path, size_t size, char *why, size_t n)
{
	if ((size_t)snprintf(path, size, "%s/%s", dir, TRACE_EVENTS) < size)
		return true;
	snprintf(why, n, "%s: path too long", dir);
	return false;
}

struct trace_writer *trace_create(const char *dir, char *why, size_t n)
{
	char path[4096];
	struct trace_writer *w = calloc(1, sizeof(*w));
	if (!w || !events_path(dir, path, sizeof(path), why, n)) {
		if (!w)
			snprintf(why, n, "out of memory");
		free(w);
		return NULL;
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		snprintf(why, n, "%s: %s", path, strerror(errno));
		free(w);
		return NULL;
	}
	uint8_t h[16];
	uint32_t v = TRACE_VERSION, flags = TRACE_F_NONZERO_MEM;
	memcpy(h, magic, 8);
	memcpy(h + 8, &v, 4);
	memcpy(h + 12, &flags, 4);
	int r = img_write_all(w->fd, h, sizeof(h));
	if (r) {
		snprintf(why, n, "%s: %s", path, strerror(-r));
		close(w->fd);
		free(w);
		return NULL;
	}
	w->bytes = sizeof(h);
	return w;
}

int trace_set_flags(struct trace_writer *w, uint32_t flags)
{
	return pwrite(w->fd, &flags, 4, 12) == 4 ? 0 : -errno;
}

static int flush_block(struct trace_writer *w)
{
	if (!w->raw.len)
		return 0;
	size_t bound = (size_t)LZ4_compressBound((int)w->raw.len);
	if (bound > w->comp_cap) {
		uint8_t *c = realloc(w->comp, bound);
		if (!c)
			return -ENOMEM;
		w->comp = c;
		w->comp_cap = bound;
	}
	int clen = LZ4_compress_default((const char *)w->raw.p, (char *)w->comp, (int)w->raw.len, (int)bound);
	if (clen <= 0)
		return -EIO;
	uint32_t h[4] = { BLOCK_MAGIC, (uint32_t)w->raw.len, (uint32_t)clen,
			  (uint32_t)crc32(0, w->comp, (uInt)clen) };
	int r = img_write_all(w->fd, h, sizeof(h));
	if (!r)
		r = img_write_all(w->fd, w->comp, (size_t)clen);
	w->bytes += sizeof(h) + (size_t)clen;
	w->raw.len = 0;
	return r;
}

/* The body of ev as the stream holds it (trace.h). */
static size_t body_size(uint8_t kind)
{
	switch (kind) {
	case EV_SYSCALL: case EV_PAGES: case EV_SIGNAL: case EV_CREW: case EV_TSC: return 4 + 4 + 48 + 8 + 4 + 4;
	case EV_EXIT: return 4 + 8 + 4 + 8;
	case EV_END: return 8;
	}
	return 0;
}

int trace_put(struct trace_writer *w, const struct trace_event *ev, const struct trace_write *wr)
{
	size_t need = 1 + body_size(ev->kind);
	uint32_t nw = ev->kind == EV_SYSCALL || ev->kind == EV_PAGES || ev->kind == EV_SIGNAL || ev->kind == EV_CREW ||
		      ev->kind == EV_TSC ?
		      ev->nwrites : 0;
	for (uint32_t i = 0; i < nw; i++)
		need += 12 + wr[i].len;
	if (need > BLOCK_MAX - 64)
		return -E2BIG;
	if (buf_room(&w->raw, need))
		return -ENOMEM;
	put(&w->raw, &ev->kind, 1);
	switch (ev->kind) {
	case EV_SYSCALL: case EV_PAGES: case EV_SIGNAL: case EV_CREW: case EV_TSC:
		put(&w->raw, &ev->tid, 4);
		put(&w->raw, &ev->nr, 4);
		put(&w->raw, ev->a, 48);
		put(&w->raw, &ev->ret, 8);
		put(&w->raw, &ev->data_crc, 4);
		put(&w->raw, &nw, 4);
		for (uint32_t i = 0; i < nw; i++) {
			put(&w->raw, &wr[i].gva, 8);
			put(&w->raw, &wr[i].len, 4);
			put(&w->raw, wr[i].data, wr[i].len);
		}
		break;
	case EV_EXIT:
		put(&w->raw, &ev->tid, 4);
		put(&w->raw, &ev->ret, 8);
		put(&w->raw, &ev->data_crc, 4);
		put(&w->raw, &ev->count, 8);
		break;
	case EV_END:
		put(&w->raw, &ev->count, 8);
		break;
	default:
		return -EINVAL;
	}
	return w->raw.len >= BLOCK_FLUSH ? flush_block(w) : 0;
}

static void writer_free(struct trace_writer *w)
{
	close(w->fd);
	free(w->raw.p);
	free(w->comp);
	free(w);
}

int trace_finish(struct trace_writer *w, uint64_t count)
{
	struct trace_event end = { .kind = EV_END, .count = count };
	int r = trace_put(w, &end, NULL);
	if (!r)
		r = flush_block(w);
	if (!r && fsync(w->fd) < 0)
		r = -errno;
	writer_free(w);
	return r;
}

void trace_abort(struct trace_writer *w)
{
	flush_block(w);
	writer_free(w);
}

uint64_t trace_bytes(const struct trace_writer *w)
{
	return w->bytes + w->raw.len;
}

struct trace_reader {
	FILE *f;
	uint8_t *raw, *comp;
	size_t raw_cap, comp_cap, len, pos;
	uint64_t bytes;
	uint32_t flags;
	bool ended;
	char error[256];        /* the first error: every later read says it again */
};

struct trace_reader *trace_open(const char *dir, char *why, size_t n)
{
	char path[4096];
	struct trace_reader *r = calloc(1, sizeof(*r));
	if (!r || !events_path(dir, path, sizeof(path), why, n)) {
		if (!r)
			snprintf(why, n, "out of memory");
		free(r);
		return NULL;
	}
	if (!(r->f = fopen(path, "rbe"))) {
		snprintf(why, n, "%s: %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	uint8_t h[16];
	uint32_t v;
	if (fread(h, 1, sizeof(h), r->f) != sizeof(h) || memcmp(h, magic, 8)) {
		snprintf(why, n, "%s: not a pdvm trace", path);
		trace_close(r);
		return NULL;
	}
	memcpy(&v, h + 8, 4);
	if (v != TRACE_VERSION) {
		snprintf(why, n, "%s: trace format version %u, this pdvm reads version %u", path, v, TRACE_VERSION);
		trace_close(r);
		return NULL;
	}
	memcpy(&r->flags, h + 12, 4);
	if (r->flags & ~TRACE_F_KNOWN) {
		snprintf(why, n, "%s: trace flags %#x, this pdvm knows %#x (written by a newer pdvm)", path, r->flags,
			 TRACE_F_KNOWN);
		trace_close(r);
		return NULL;
	}
	r->bytes = sizeof(h);
	return r;
}

uint32_t trace_flags(const struct trace_reader *r)
{
	return r->flags;
}

static int grow(uint8_t **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	uint8_t *q = realloc(*p, need);
	if (!q)
		return -1;
	*p = q;
	*cap = need;
	return 0;
}

static int next_block(struct trace_reader *r, char *why, size_t n)
{
	uint32_t h[4];
	size_t got = fread(h, 1, sizeof(h), r->f);
	if (got == 0) {
		snprintf(why, n, "the trace ends before its end record (truncated: the recording did not finish)");
		return -1;
	}
	if (got != sizeof(h) || h[0] != BLOCK_MAGIC || !h[1] || h[1] > BLOCK_MAX ||
	    h[2] > (uint32_t)LZ4_compressBound((int)h[1])) {
		snprintf(why, n, "damaged trace: bad block header at byte %llu", (unsigned long long)r->bytes);
		return -1;
	}
	if (grow(&r->comp, &r->comp_cap, h[2]) || grow(&r->raw, &r->raw_cap, h[1])) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	if (fread(r->comp, 1, h[2], r->f) != h[2]) {
		snprintf(why, n, "the trace is truncated inside the block at byte %llu", (unsigned long long)r->bytes);
		return -1;
	}
	if ((uint32_t)crc32(0, r->comp, h[2]) != h[3]) {
		snprintf(why, n, "damaged trace: checksum mismatch in the block at byte %llu", (unsigned long long)r->bytes);
		return -1;
	}
	if (LZ4_decompress_safe((const char *)r->comp, (char *)r->raw, (int)h[2], (int)h[1]) != (int)h[1]) {
		snprintf(why, n, "damaged trace: the block at byte %llu does not decompress", (unsigned long long)r->bytes);
		return -1;
	}
	r->bytes += sizeof(h) + h[2];
	r->len = h[1];
	r->pos = 0;
	return 0;
}

static bool take(struct trace_reader *r, void *v, size_t k)
{
	if (r->len - r->pos < k)
		return false;
	memcpy(v, r->raw + r->pos, k);
	r->pos += k;
	return true;
}

static int read_one(struct trace_reader *r, struct trace_event *ev, struct trace_write *wr, char *why, size_t n);

int trace_read(struct trace_reader *r, struct trace_event *ev, struct trace_write *wr, char *why, size_t n)
{
	if (r->error[0]) {
		snprintf(why, n, "%s", r->error);
		return -1;
	}
	int k = read_one(r, ev, wr, r->error, sizeof(r->error));
	if (k < 0)
		snprintf(why, n, "%s", r->error);
	else
		r->error[0] = 0;
	return k;
}

static int read_one(struct trace_reader *r, struct trace_event *ev, struct trace_write *wr, char *why, size_t n)
{
	if (r->ended)
		return 0;
	if (r->pos == r->len && next_block(r, why, n))
		return -1;
	memset(ev, 0, sizeof(*ev));
	bool ok = take(r, &ev->kind, 1);
	switch (ok ? ev->kind : 0) {
	case EV_SYSCALL: case EV_PAGES: case EV_SIGNAL: case EV_CREW: case EV_TSC:
		ok = take(r, &ev->tid, 4) && take(r, &ev->nr, 4) && take(r, ev->a, 48) && take(r, &ev->ret, 8) &&
		     take(r, &ev->data_crc, 4) && take(r, &ev->nwrites, 4) && ev->nwrites <= TRACE_MAX_WRITES;
		for (uint32_t i = 0; ok && i < ev->nwrites; i++) {
			ok = take(r, &wr[i].gva, 8) && take(r, &wr[i].len, 4) && r->len - r->pos >= wr[i].len;
			if (ok) {
				wr[i].data = r->raw + r->pos;
				r->pos += wr[i].len;
			}
		}
		break;
	case EV_EXIT:
		ok = take(r, &ev->tid, 4) && take(r, &ev->ret, 8) && take(r, &ev->data_crc, 4) && take(r, &ev->count, 8);
		break;
	case EV_END:
		ok = take(r, &ev->count, 8);
		if (ok && (r->pos != r->len || fgetc(r->f) != EOF)) {
			snprintf(why, n, "damaged trace: data after its end record");
			return -1;
		}
		r->ended = ok;
		break;
	default:
		if (ok) {
			snprintf(why, n, "the trace has an event of kind %u, unknown to this pdvm", ev->kind);
			return -1;
		}
	}
	if (!ok) {
		snprintf(why, n, "damaged trace: an event is cut short in the block before byte %llu",
			 (unsigned long long)r->bytes);
		return -1;
	}
	return 1;
}

void trace_close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	free(r->raw);
	free(r->comp);
	free(r);
}

uint64_t trace_reader_bytes(const struct trace_reader *r)
{
	return r->bytes;
}
