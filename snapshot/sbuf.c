/* sbuf.c: byte buffers for image sections — appending writer and bounds-checked reader. */
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

void sb_put(struct sbuf *b, const void *src, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

void sb_u8(struct sbuf *b, uint8_t v)
{
	sb_put(b, &v, 1);
}

void sb_u32(struct sbuf *b, uint32_t v)
{
	sb_put(b, &v, 4); /* x86-64 only: host order is little-endian */
}

void sb_u64(struct sbuf *b, uint64_t v)
{
	sb_put(b, &v, 8);
}

void sb_str(struct sbuf *b, const char *s)
{
	if (!s) {
		sb_u32(b, 0xffffffffu);
		return;
	}
	size_t n = strlen(s);
	sb_u32(b, (uint32_t)n);
	sb_put(b, s, n);
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void sr_init(struct sread *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->bad = NULL;
}

void sr_fail(struct sread *r, const char *why)
{
	if (!r->bad)
		r->bad = why;
}

bool sr_get(struct sread *r, void *dst, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		sr_fail(r, "section ends too early");
		memset(dst, 0, n);
		return false;
	}
	memcpy(dst, r->p + r->pos, n);
	r->pos += n;
	return true;
}

uint8_t sr_u8(struct sread *r)
{
	uint8_t v;
	sr_get(r, &v, 1);
	return v;
}

uint32_t sr_u32(struct sread *r)
{
	uint32_t v;
	sr_get(r, &v, 4);
	return v;
}

uint64_t sr_u64(struct sread *r)
{
	uint64_t v;
	sr_get(r, &v, 8);
	return v;
}

uint64_t sr_range(struct sread *r, uint64_t lo, uint64_t hi, const char *why)
{
	uint64_t v = sr_u64(r);
	if (r->bad)
		return 0;
	if (v < lo || v > hi) {
		sr_fail(r, why);
		return 0;
	}
	return v;
}

char *sr_str(struct sread *r, size_t max)
{
	uint32_t n = sr_u32(r);
	if (r->bad || n == 0xffffffffu)
		return NULL;
	if (n > max || n > r->len - r->pos) {
		sr_fail(r, "string too long");
		return NULL;
	}
	if (memchr(r->p + r->pos, 0, n)) {
		sr_fail(r, "string holds a NUL byte");
		return NULL;
	}
	char *s = malloc((size_t)n + 1);
	if (!s) {
		sr_fail(r, "out of memory");
		return NULL;
	}
	memcpy(s, r->p + r->pos, n);
	s[n] = 0;
	r->pos += n;
	return s;
}

const uint8_t *sr_bytes(struct sread *r, uint32_t max, uint32_t *len)
{
	*len = sr_u32(r);
	if (!r->bad && (*len > max || *len > r->len - r->pos))
		sr_fail(r, "a byte run goes past its section or its limit");
	if (r->bad) {
		*len = 0;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += *len;
	return p;
}
