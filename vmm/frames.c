/* frames.c: allocator of guest physical frames backed by one sparse memfd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frames.h"

#define FRAMES_PER_BLOCK 512

int frames_init(struct frames *f, uint64_t size, uint64_t data_limit)
{
	memset(f, 0, sizeof(*f));
	size = (size + HPAGE_SIZE - 1) & HPAGE_MASK;
	f->size = size;
	f->nframes = size / PAGE_SIZE;
	f->data_limit = data_limit / PAGE_SIZE;
	f->memfd = memfd_create("pdvm-guest-ram", MFD_CLOEXEC);
	if (f->memfd < 0)
		return -errno;
	if (ftruncate(f->memfd, (off_t)size) < 0)
		goto fail;
	/* Reserve 2 MiB-aligned host space so guest huge pages are host-aligned. */
	uint8_t *r = mmap(NULL, size + HPAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		goto fail;
	uint8_t *a = (uint8_t *)(((uintptr_t)r + HPAGE_SIZE - 1) & HPAGE_MASK);
	if (a > r)
		munmap(r, (size_t)(a - r));
	munmap(a + size, (size_t)(r + HPAGE_SIZE - a));
	f->host = mmap(a, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE, f->memfd, 0);
	if (f->host == MAP_FAILED) {
		f->host = NULL;
		goto fail;
	}
	f->used = calloc((f->nframes + 63) / 64, sizeof(uint64_t));
	f->block_used = calloc(f->nframes / FRAMES_PER_BLOCK, sizeof(uint16_t));
	f->vdirty = calloc((f->nframes + 63) / 64, sizeof(uint64_t));
	if (!f->used || !f->block_used || !f->vdirty) {
		errno = ENOMEM;
		goto fail;
	}
	return 0;
fail:;
	int e = errno;
	frames_destroy(f);
	return -e;
}

void frames_destroy(struct frames *f)
{
	if (f->host)
		munmap(f->host, f->size);
	if (f->memfd > 0)
		close(f->memfd);
	free(f->used);
	free(f->block_used);
	free(f->vdirty);
	free(f->refs);
	memset(f, 0, sizeof(*f));
	f->memfd = -1;
}

static bool test_used(struct frames *f, uint64_t i)
{
	return f->used[i / 64] & (1ULL << (i % 64));
}

static void mark(struct frames *f, uint64_t i, uint64_t n, bool used)
{
	for (uint64_t k = i; k < i + n; k++) {
		if (used)
			f->used[k / 64] |= 1ULL << (k % 64);
		else
			f->used[k / 64] &= ~(1ULL << (k % 64));
		f->block_used[k / FRAMES_PER_BLOCK] += used ? 1 : -1;
		f->vdirty[k / 64] |= 1ULL << (k % 64);
	}
}

gpa_t frames_alloc(struct frames *f, bool huge, bool data)
{
	uint64_t need = huge ? FRAMES_PER_BLOCK : 1;
	if (data && f->data_used + need > f->data_limit)
		return FRAME_NONE;
	uint64_t nblocks = f->nframes / FRAMES_PER_BLOCK;
	if (huge) {
		/* Highest free block first: small allocations fill from the bottom,
		 * so the two rarely fragment each other. */
		for (uint64_t b = nblocks; b-- > 0;) {
			if (f->block_used[b] == 0) {
				mark(f, b * FRAMES_PER_BLOCK, FRAMES_PER_BLOCK, true);
				if (data && (f->data_used += need) > f->data_peak)
					f->data_peak = f->data_used;
				return b * HPAGE_SIZE;
			}
		}
		return FRAME_NONE;
	}
	/* 4 KiB: prefer partly used blocks, then any free frame. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t n = 0; n < f->nframes; n += 64) {
			uint64_t w = (f->hint + n) % f->nframes;
			w &= ~63ULL;
			if (f->used[w / 64] == ~0ULL)
				continue;
			if (pass == 0 && f->block_used[w / FRAMES_PER_BLOCK] == 0)
				continue;
			uint64_t i = w + (uint64_t)__builtin_ctzll(~f->used[w / 64]);
			if (i >= f->nframes || test_used(f, i))
				continue;
			mark(f, i, 1, true);
			f->hint = i;
			if (data && ++f->data_used > f->data_peak)
				f->data_peak = f->data_used;
			return i * PAGE_SIZE;
		}
	}
	return FRAME_NONE;
}

int frames_ref(struct frames *f, gpa_t gpa, uint64_t n)
{
	uint64_t i = gpa / PAGE_SIZE;
	if (i + n > f->nframes)
		return -EINVAL;
	if (!f->refs && !(f->refs = calloc(f->nframes, sizeof(*f->refs))))
		return -ENOMEM;
	for (uint64_t k = 0; k < n; k++) {
		if (f->refs[i + k] == UINT32_MAX)
			return -ENOMEM;
	}
	for (uint64_t k = 0; k < n; k++)
		f->refs[i + k]++;
	return 0;
}

int frames_set_refs(struct frames *f, gpa_t gpa, uint32_t refs)
{
	uint64_t i = gpa / PAGE_SIZE;
	if (i >= f->nframes)
		return -EINVAL;
	if (!f->refs && !(f->refs = calloc(f->nframes, sizeof(*f->refs))))
		return -ENOMEM;
	f->refs[i] = refs;
	return 0;
}

bool frames_in_use(const struct frames *f, gpa_t gpa)
{
	uint64_t i = gpa / PAGE_SIZE;
	return i < f->nframes && (f->used[i / 64] & (1ULL << (i % 64)));
}

void frames_free(struct frames *f, gpa_t gpa, uint64_t n, bool data)
{
	uint64_t i = gpa / PAGE_SIZE;
	if (i + n > f->nframes)
		return;
	if (n == 1 && f->pinned && gpa == f->pinned)
		return; /* mapped in several mms: it lives as long as the domain */
	if (f->refs) {
		bool any = false;
		for (uint64_t k = 0; k < n && !any; k++)
			any = f->refs[i + k] != 0;
		if (any) {
			/* Another mm still maps some (MAP_SHARED across fork):
			 * drop those references, free the rest one by one. */
			for (uint64_t k = 0; k < n; k++) {
				if (f->refs[i + k])
					f->refs[i + k]--;
				else
					frames_free(f, gpa + k * PAGE_SIZE, 1, data);
			}
			return;
		}
	}
	/* Dropping the pages returns the memory to the host and guarantees
	 * zeroed contents on reuse. */
	frames_settle(f, gpa, n * PAGE_SIZE);
	if (fallocate(f->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)gpa, (off_t)(n * PAGE_SIZE)) < 0)
		memset(f->host + gpa, 0, n * PAGE_SIZE);
	mark(f, i, n, false);
	if (data)
		f->data_used -= n;
}
