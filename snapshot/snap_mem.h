/* snap_mem.h: guest memory in an image — lz4 blocks written and read by several threads. */
#ifndef PDVM_SNAP_MEM_H
#define PDVM_SNAP_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frames;
struct img_writer;
struct img_reader;

struct mem_stats {
	uint64_t pages;         /* pages stored */
	uint64_t zero;          /* used pages skipped as zero */
	uint64_t bytes;         /* compressed bytes written */
	uint64_t resident;      /* pages stored in the resident pass */
};

/* Writes the "memory" and "memidx" sections: every used frame that is not
 * zero, or with `only` (a frame bitmap: an incremental image) every used
 * frame in it, zero ones included (as zero-fill entries). Resident pages
 * first, then the rest (swapped out), per the host's pagemap. */
int snap_mem_write(struct img_writer *w, struct frames *f, const uint64_t *only, int nthreads,
		   struct mem_stats *st, char *err, size_t errlen);

/* Whether the 4 KiB page at p is all zero. */
bool snap_page_zero(const uint8_t *p);

#define CHUNK           512                     /* frames per block at most */
#define CHUNK_BYTES     (CHUNK * 4096UL)

/* One block: the pages of one 2 MiB chunk that `map` names. */
struct ment {
	uint64_t chunk;
	uint64_t map[CHUNK / 64];
	uint64_t off;
	uint32_t clen, crc, flags;
};

/* An image's memory index, validated, with its memory section open. */
struct mem_index {
	struct ment *ents;
	uint64_t nent;
	int fd;
	uint64_t size;
};

int snap_mem_index(struct img_reader *r, struct frames *f, struct mem_index *ix, char *err, size_t errlen);
void snap_mem_index_free(struct mem_index *ix);
/* Decodes block e into `chunk` (its 2 MiB, page i at i * 4096). in and raw
 * are scratch buffers of LZ4_compressBound(CHUNK_BYTES) and CHUNK_BYTES.
 * 0, or -1 with the reason in *why (checksum, size: a corrupt image). */
int snap_mem_decode(const struct mem_index *ix, const struct ment *e, uint8_t *chunk, uint8_t *in,
		    uint8_t *raw, const char **why);

/* Loads an image's memory into f (sized as the image says). Every block is
 * bounds- and checksum-checked before use. 0 or -1 with err. */
int snap_mem_read(struct img_reader *r, struct frames *f, int nthreads, char *err, size_t errlen);

#endif
