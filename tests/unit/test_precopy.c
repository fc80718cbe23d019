/* test_precopy.c: the target's side of memory pre-copy — a block lands on exactly its pages, zero blocks punch, and every malformed block (chunk out of range, empty or oversized map, unknown flags, a zero block with data, lz4 garbage or a wrong length) is refused without touching memory. */
#include <errno.h>
#include <lz4.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/mstream.h"
#include "snapshot/precopy.h"
#include "check.h"

#define HEAD (8 + 64 + 4)

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A block for chunk c with pages `pages` (a list of indexes), each filled
 * with its index + salt; returns its length. */
static size_t block(uint8_t *b, uint64_t c, const int *pages, int n, uint32_t flags, int salt)
{
	static uint8_t raw[512 * 4096];
	memset(b, 0, HEAD);
	put64(b, c);
	for (int i = 0; i < n; i++) {
		b[8 + pages[i] / 8] |= (uint8_t)(1u << (pages[i] % 8));
		memset(raw + (size_t)i * 4096, pages[i] + salt, 4096);
	}
	memcpy(b + 8 + 64, &flags, 4);
	if (flags)
		return HEAD;
	int cl = LZ4_compress_default((char *)raw, (char *)b + HEAD, n * 4096, MS_PAGES_MAX - HEAD);
	return HEAD + (size_t)cl;
}

static bool page_is(const struct premem *m, uint64_t page, int v)
{
	for (int i = 0; i < 4096; i++)
		if (m->host[page * 4096 + (uint64_t)i] != (uint8_t)v)
			return false;
	return true;
}

int main(void)
{
	struct premem m;
	uint8_t *b = malloc(MS_PAGES_MAX);
	CHECK(premem_init(&m, 3 << 20) == -EINVAL, "not a 2 MiB multiple");
	CHECK(premem_init(&m, 0) == -EINVAL, "empty");
	CHECK(premem_init(&m, 4 << 20) == 0);

	int pg[] = { 0, 1, 63, 64, 511 };
	size_t n = block(b, 1, pg, 5, 0, 7);
	CHECK(precopy_apply(&m, b, n) == 0);
	CHECK(page_is(&m, 512 + 0, 7) && page_is(&m, 512 + 1, 8) && page_is(&m, 512 + 63, 70) &&
	      page_is(&m, 512 + 64, 71) && page_is(&m, 512 + 511, (511 + 7) & 0xff), "pages landed");
	CHECK(page_is(&m, 512 + 2, 0) && page_is(&m, 0, 0) && page_is(&m, 511, 0), "others untouched");

	int z[] = { 1, 63 };
	n = block(b, 1, z, 2, 1, 0);
	CHECK(precopy_apply(&m, b, n) == 0);
	CHECK(page_is(&m, 512 + 1, 0) && page_is(&m, 512 + 63, 0) && page_is(&m, 512 + 0, 7), "zero block");

	/* Malformed: nothing changes. */
	n = block(b, 2, pg, 5, 0, 9);
	CHECK(precopy_apply(&m, b, n) == -EPROTO, "chunk past the end");
	n = block(b, 0, pg, 0, 0, 9);
	CHECK(precopy_apply(&m, b, HEAD) == -EPROTO, "no pages");
	n = block(b, 0, pg, 5, 0, 9);
	b[8 + 64] = 4;
	CHECK(precopy_apply(&m, b, n) == -EPROTO, "unknown flag");
	n = block(b, 0, z, 2, 1, 0);
	CHECK(precopy_apply(&m, b, n + 10) == -EPROTO, "a zero block with data");
	n = block(b, 0, pg, 5, 0, 9);
	b[8] |= 4; /* one more page in the map than the data holds */
	CHECK(precopy_apply(&m, b, n) == -EPROTO, "map and data disagree");
	n = block(b, 0, pg, 5, 0, 9);
	CHECK(precopy_apply(&m, b, n - 1) == -EPROTO, "truncated data");
	n = block(b, 0, pg, 5, 0, 9);
	memset(b + HEAD, 0xff, n - HEAD);
	CHECK(precopy_apply(&m, b, n) == -EPROTO, "lz4 garbage");
	CHECK(precopy_apply(&m, b, HEAD - 1) == -EPROTO, "short header");
	CHECK(page_is(&m, 0, 0) && page_is(&m, 1, 0) && page_is(&m, 511, 0), "chunk 0 untouched by them");

	premem_free(&m);
	premem_free(&m); /* twice is harmless */
	free(b);
	printf("test_precopy: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
