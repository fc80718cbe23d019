/* sbuf.h: a growable byte buffer for writing image sections and a bounds-checked reader for parsing them. */
#ifndef PDVM_SBUF_H
#define PDVM_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writer: every put appends little-endian data; a failed allocation sets
 * `oom` and later puts do nothing, so callers check once at the end. */
struct sbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

void sb_put(struct sbuf *b, const void *src, size_t n);
void sb_u8(struct sbuf *b, uint8_t v);
void sb_u32(struct sbuf *b, uint32_t v);
void sb_u64(struct sbuf *b, uint64_t v);
/* A length-prefixed string; NULL is written as length 0xffffffff. */
void sb_str(struct sbuf *b, const char *s);
void sb_free(struct sbuf *b);

/* Reader: a get past the end, or a value out of its allowed range, sets
 * `bad` (with the first reason) and returns zeros from then on. The image
 * is untrusted input: every count and length goes through these. */
struct sread {
	const uint8_t *p;
	size_t len, pos;
	const char *bad;        /* NULL while the data is well-formed */
};

void sr_init(struct sread *r, const void *p, size_t len);
bool sr_get(struct sread *r, void *dst, size_t n);
uint8_t sr_u8(struct sread *r);
uint32_t sr_u32(struct sread *r);
uint64_t sr_u64(struct sread *r);
/* A u64 that must lie in [lo, hi]; else `why` becomes the error. */
uint64_t sr_range(struct sread *r, uint64_t lo, uint64_t hi, const char *why);
/* A length-prefixed string of at most `max` bytes without NUL bytes;
 * malloc'ed (NULL for a written NULL or on error; check r->bad). */
char *sr_str(struct sread *r, size_t max);
/* A u32-length-prefixed run of at most `max` bytes, not copied: a pointer
 * into the buffer (NULL and r->bad when it runs past the end or over max). */
const uint8_t *sr_bytes(struct sread *r, uint32_t max, uint32_t *len);
void sr_fail(struct sread *r, const char *why);

#endif
