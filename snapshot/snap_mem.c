/* snap_mem.c: guest memory sections — zero-skipping, resident-first, parallel lz4 blocks, and their loader. */
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/frames.h"
#include "image.h"
#include "sbuf.h"
#include "snap_mem.h"

/*
 * memory.bin is a concatenation of lz4 blocks; memidx.bin indexes them.
 * One block covers up to one 2 MiB chunk of guest frames (a bitmap says
 * which of its 512 pages it holds), so blocks compress and decompress
 * independently: by several threads now, lazily later.
 */
#define MEMIDX_VERSION  1
#define ENT_ZERO        1u                      /* pages to zero-fill; no data */
#define PM_PRESENT      (1ULL << 63)
#define PM_SWAPPED      (1ULL << 62)


struct wjob {
	struct frames *f;
	const uint64_t *only;
	int fd, pmfd;
	int pass;                       /* 0: resident pages, 1: the rest */
	atomic_uint_fast64_t next;
	pthread_mutex_t lock;           /* file offset and index */
	uint64_t off;
	struct sbuf idx;
	uint64_t nent;
	uint32_t crc;                   /* of memory.bin, in write order */
	int err;
	struct mem_stats st;
};

bool snap_page_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;
	uint64_t acc = 0;
	for (size_t i = 0; i < 512; i += 8)
		acc |= q[i] | q[i + 1] | q[i + 2] | q[i + 3] | q[i + 4] | q[i + 5] | q[i + 6] | q[i + 7];
	return acc == 0;
}

static bool bit(const uint64_t *m, uint64_t i)
{
	return m[i / 64] & (1ULL << (i % 64));
}

static int write_at(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		off += (uint64_t)w;
		n -= (size_t)w;
	}
	return 0;
}

static void add_entry(struct wjob *j, const struct ment *e)
{
	sb_u64(&j->idx, e->chunk);
	for (int i = 0; i < CHUNK / 64; i++)
		sb_u64(&j->idx, e->map[i]);
	sb_u64(&j->idx, e->off);
	sb_u32(&j->idx, e->clen);
	sb_u32(&j->idx, e->crc);
	sb_u32(&j->idx, e->flags);
	j->nent++;
}

/* One chunk of one pass: picks its pages, compresses them, appends. */
static int do_chunk(struct wjob *j, uint64_t c, uint8_t *raw, uint8_t *out, int cap)
{
	struct frames *f = j->f;
	uint64_t first = c * CHUNK;
	uint64_t pm[CHUNK];
	bool any = false;
	for (int i = 0; i < CHUNK / 64; i++)
		if (f->used[first / 64 + (uint64_t)i] & (j->only ? j->only[first / 64 + (uint64_t)i] : ~0ULL))
			any = true;
	if (!any)
		return 0;
	/* A chunk that is all hole in the memfd is all zero. */
	off_t data = lseek(f->memfd, (off_t)(first * 4096), SEEK_DATA);
	bool hole = (data < 0 && errno == ENXIO) || (data >= 0 && (uint64_t)data >= (first + CHUNK) * 4096);
	if (!hole) {
		ssize_t n = pread(j->pmfd, pm, sizeof(pm), (off_t)(((uintptr_t)(f->host) / 4096 + first) * 8));
		if (n != (ssize_t)sizeof(pm))
			memset(pm, 0xff, sizeof(pm)); /* no pagemap: all "resident" */
	}
	struct ment e = { .chunk = c };
	struct ment z = { .chunk = c, .flags = ENT_ZERO };
	size_t np = 0, nz = 0;
	uint64_t lo = 0;
	const uint8_t *src = raw;
	for (uint64_t i = 0; i < CHUNK; i++) {
		uint64_t fr = first + i;
		if (!bit(f->used, fr) || (j->only && !bit(j->only, fr)))
			continue;
		bool resident = hole || (pm[i] & PM_PRESENT) || !(pm[i] & PM_SWAPPED);
		if (resident != (j->pass == 0))
			continue;
		const uint8_t *p = f->host + fr * 4096;
		if (hole || snap_page_zero(p)) {
			if (j->only) {
				z.map[i / 64] |= 1ULL << (i % 64);
				nz++;
			} else {
				j->st.zero++;
			}
			continue;
		}
		/* Copy only once the run of pages stops being contiguous: a
		 * chunk without holes compresses straight from guest memory. */
		if (np == 0) {
			lo = i;
			src = p;
		} else if (src != raw && lo + np != i) {
			memcpy(raw, src, np * 4096);
			src = raw;
		}
		if (src == raw)
			memcpy(raw + np * 4096, p, 4096);
		e.map[i / 64] |= 1ULL << (i % 64);
		np++;
	}
	int clen = 0;
	if (np) {
		clen = LZ4_compress_default((const char *)src, (char *)out, (int)(np * 4096), cap);
		if (clen <= 0)
			return -EIO;
		e.clen = (uint32_t)clen;
		e.crc = img_crc(0, out, (size_t)clen);
	}
	pthread_mutex_lock(&j->lock);
	int r = 0;
	if (np) {
		e.off = j->off;
		r = write_at(j->fd, out, (size_t)clen, j->off);
		if (!r) {
			j->off += (uint64_t)clen;
			add_entry(j, &e);
			j->st.pages += np;
			j->st.bytes += (uint64_t)clen;
			if (j->pass == 0)
				j->st.resident += np;
		}
	}
	if (!r && nz)
		add_entry(j, &z);
	pthread_mutex_unlock(&j->lock);
	return r;
}

static void *writer_thread(void *arg)
{
	struct wjob *j = arg;
	int cap = LZ4_compressBound((int)CHUNK_BYTES);
	uint8_t *raw = malloc(CHUNK_BYTES), *out = malloc((size_t)cap);
	uint64_t nchunks = j->f->nframes / CHUNK;
	int r = raw && out ? 0 : -ENOMEM;
	while (!r) {
		uint64_t c = atomic_fetch_add(&j->next, 1);
		if (c >= nchunks || __atomic_load_n(&j->err, __ATOMIC_RELAXED))
			break;
		r = do_chunk(j, c, raw, out, cap);
	}
	if (r)
		__atomic_store_n(&j->err, r, __ATOMIC_RELAXED);
	free(raw);
	free(out);
	return NULL;
}

int snap_mem_write(struct img_writer *w, struct frames *f, const uint64_t *only, int nthreads,
		   struct mem_stats *st, char *err, size_t errlen)
{
	struct wjob j = { .f = f, .only = only };
	pthread_mutex_init(&j.lock, NULL);
	j.fd = img_create(w, "memory", err, errlen);
	if (j.fd < 0)
		return j.fd;
	j.pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > 8)
		nthreads = 8;
	for (j.pass = 0; j.pass < 2 && !j.err; j.pass++) {
		atomic_store(&j.next, 0);
		pthread_t th[8];
		int started = 0;
		for (int i = 1; i < nthreads; i++)
			if (pthread_create(&th[started], NULL, writer_thread, &j) == 0)
				started++;
		writer_thread(&j);
		for (int i = 0; i < started; i++)
			pthread_join(th[i], NULL);
	}
	if (j.pmfd >= 0)
		close(j.pmfd);
	int r = j.err;
	if (r) {
		close(j.fd);
		snprintf(err, errlen, "writing memory: %s", strerror(-r));
		goto out;
	}
	/* The memory file's checksum covers the index's offsets; each block
	 * carries its own CRC, so the file-level one is left 0 (unchecked). */
	if ((r = img_put_done(w, "memory", 1, true, j.fd, j.off, 0, err, errlen)))
		goto out;
	struct sbuf h = { 0 };
	sb_u32(&h, MEMIDX_VERSION);
	sb_u32(&h, CHUNK);
	sb_u64(&h, f->nframes);
	sb_u64(&h, j.nent);
	sb_put(&h, j.idx.p, j.idx.len);
	if (h.oom || j.idx.oom) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	} else {
		r = img_put(w, "memidx", 1, true, h.p, h.len, err, errlen);
	}
	sb_free(&h);
	if (st)
		*st = j.st;
out:
	sb_free(&j.idx);
	pthread_mutex_destroy(&j.lock);
	return r;
}

/* ---- loading ---- */

int snap_mem_index(struct img_reader *r, struct frames *f, struct mem_index *ix, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len;
	uint64_t nchunks = f->nframes / CHUNK;
	/* At most two data entries and one zero entry per chunk. */
	size_t max = 32 + (size_t)nchunks * 3 * (8 + CHUNK / 8 + 8 + 12);
	memset(ix, 0, sizeof(*ix));
	ix->fd = -1;
	if (img_get(r, "memidx", max, &buf, &len, err, errlen))
		return -1;
	struct sread rd;
	sr_init(&rd, buf, len);
	if (sr_u32(&rd) != MEMIDX_VERSION || sr_u32(&rd) != CHUNK || sr_u64(&rd) != f->nframes)
		sr_fail(&rd, "memory index header does not match the image");
	ix->nent = sr_range(&rd, 0, nchunks * 3, "memory index entry count out of range");
	if (rd.bad)
		goto bad;
	ix->fd = img_open_section(r, "memory", &ix->size, err, errlen);
	if (ix->fd < 0)
		goto fail;
	ix->ents = calloc(ix->nent ? ix->nent : 1, sizeof(*ix->ents));
	if (!ix->ents) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (uint64_t k = 0; k < ix->nent && !rd.bad; k++) {
		struct ment *e = &ix->ents[k];
		e->chunk = sr_range(&rd, 0, nchunks - 1, "memory block outside guest memory");
		for (int i = 0; i < CHUNK / 64; i++)
			e->map[i] = sr_u64(&rd);
		e->off = sr_u64(&rd);
		e->clen = sr_u32(&rd);
		e->crc = sr_u32(&rd);
		e->flags = sr_u32(&rd);
		if (e->flags & ~ENT_ZERO)
			sr_fail(&rd, "memory block has unknown flags");
		else if (!(e->flags & ENT_ZERO) &&
			 (e->clen == 0 || e->clen > (uint32_t)LZ4_compressBound((int)CHUNK_BYTES) ||
			  e->off > ix->size || e->clen > ix->size - e->off))
			sr_fail(&rd, "memory block lies outside the memory section");
		/* Blocks may hold frames the top image no longer uses (a
		 * parent's): restore zeroes every unused frame at the end. */
	}
	if (!rd.bad && rd.pos != rd.len)
		sr_fail(&rd, "memory index has trailing bytes");
	if (!rd.bad) {
		free(buf);
		return 0;
	}
bad:
	snprintf(err, errlen, "%s: not a valid pdvm image: %s", r->dir, rd.bad);
fail:
	free(buf);
	snap_mem_index_free(ix);
	return -1;
}

void snap_mem_index_free(struct mem_index *ix)
{
	if (ix->fd >= 0)
		close(ix->fd);
	free(ix->ents);
	memset(ix, 0, sizeof(*ix));
	ix->fd = -1;
}

int snap_mem_decode(const struct mem_index *ix, const struct ment *e, uint8_t *chunk, uint8_t *in,
		    uint8_t *raw, const char **why)
{
	size_t np = 0;
	for (int i = 0; i < CHUNK / 64; i++)
		np += (size_t)__builtin_popcountll(e->map[i]);
	if (e->flags & ENT_ZERO) {
		for (uint64_t i = 0; i < CHUNK; i++)
			if (bit(e->map, i))
				memset(chunk + i * 4096, 0, 4096);
		return 0;
	}
	if (pread(ix->fd, in, e->clen, (off_t)e->off) != (ssize_t)e->clen) {
		*why = "a memory block cannot be read";
		return -1;
	}
	if (img_crc(0, in, e->clen) != e->crc) {
		*why = "a memory block fails its checksum";
		return -1;
	}
	int n = LZ4_decompress_safe((const char *)in, (char *)raw, (int)e->clen, (int)CHUNK_BYTES);
	if (n < 0 || (size_t)n != np * 4096) {
		*why = "a memory block does not decompress to its size";
		return -1;
	}
	size_t q = 0;
	for (uint64_t i = 0; i < CHUNK; i++)
		if (bit(e->map, i))
			memcpy(chunk + i * 4096, raw + 4096 * q++, 4096);
	return 0;
}

struct rjob {
	struct frames *f;
	struct mem_index *ix;
	atomic_uint_fast64_t next;
	const char *why;
	pthread_mutex_t lock;
	bool failed;
};

static void *reader_thread(void *arg)
{
	struct rjob *j = arg;
	uint8_t *in = malloc((size_t)LZ4_compressBound((int)CHUNK_BYTES)), *raw = malloc(CHUNK_BYTES);
	const char *why = in && raw ? NULL : "out of memory";
	while (!why) {
		uint64_t k = atomic_fetch_add(&j->next, 1);
		if (k >= j->ix->nent || __atomic_load_n(&j->failed, __ATOMIC_RELAXED))
			break;
		const struct ment *e = &j->ix->ents[k];
		snap_mem_decode(j->ix, e, j->f->host + e->chunk * CHUNK_BYTES, in, raw, &why);
	}
	if (why) {
		pthread_mutex_lock(&j->lock);
		if (!j->failed)
			j->why = why;
		j->failed = true;
		pthread_mutex_unlock(&j->lock);
	}
	free(in);
	free(raw);
	return NULL;
}

int snap_mem_read(struct img_reader *r, struct frames *f, int nthreads, char *err, size_t errlen)
{
	struct mem_index ix;
	if (snap_mem_index(r, f, &ix, err, errlen))
		return -1;
	struct rjob j = { .f = f, .ix = &ix };
	pthread_mutex_init(&j.lock, NULL);
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > 8)
		nthreads = 8;
	pthread_t th[8];
	int started = 0;
	for (int i = 1; i < nthreads; i++)
		if (pthread_create(&th[started], NULL, reader_thread, &j) == 0)
			started++;
	reader_thread(&j);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.lock);
	snap_mem_index_free(&ix);
	if (j.failed) {
		snprintf(err, errlen, "%s: not a valid pdvm image: %s", r->dir, j.why);
		return -1;
	}
	return 0;
}
