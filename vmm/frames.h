/* frames.h: guest physical memory — one memfd — and its frame allocator. */
#ifndef PDVM_FRAMES_H
#define PDVM_FRAMES_H

#include "types.h"

#define FRAME_NONE ((gpa_t)-1)

struct frames {
	int memfd;
	uint8_t *host;          /* the memfd mapped MAP_SHARED in the VMM */
	uint64_t size;          /* bytes of guest physical memory */
	uint64_t nframes;
	uint64_t *used;         /* bitmap: frame allocated */
	uint16_t *block_used;   /* per 2 MiB block: frames allocated in it */
	uint64_t data_limit;    /* frames the guest's own memory may use */
	uint64_t data_used;
	uint64_t data_peak;      /* the most data_used ever was (ru_maxrss) */
	uint64_t hint;          /* next 4 KiB search position */
	uint32_t *refs;         /* per frame: mappings beyond the first (shared
				 * memory across fork, cached file pages);
				 * NULL until one is shared */
	gpa_t pinned;           /* a data frame never freed: the vDSO's vvar
				 * page, shared by every mm (0 = none) */
	volatile bool lazy;     /* a lazy restore is still filling memory */
	uint64_t *vdirty;       /* bitmap: frames the VMM wrote, allocated or
				 * freed since the last snapshot (KVM's dirty
				 * log only sees the guest's own writes) */
};

/* Before frames are punched while a lazy restore is filling memory: make
 * the filler place them first, or it would later fill the (then reused,
 * expected zero) frames with image data. */
static inline void frames_settle(struct frames *f, gpa_t gpa, uint64_t len)
{
	if (!f->lazy)
		return;
	for (uint64_t o = 0; o < len; o += 4096)
		(void)*(volatile uint8_t *)(f->host + gpa + o);
}

/* Records a VMM write to guest memory, for incremental snapshots. */
static inline void frames_touch(struct frames *f, gpa_t gpa, uint64_t len)
{
	if (!len)
		return;
	for (uint64_t i = gpa / 4096, e = (gpa + len - 1) / 4096; i <= e && i < f->nframes; i++)
		f->vdirty[i / 64] |= 1ULL << (i % 64);
}

/* Creates `size` bytes (rounded up to 2 MiB) of sparse guest memory of which
 * `data_limit` bytes may back guest-visible pages. */
int frames_init(struct frames *f, uint64_t size, uint64_t data_limit);
void frames_destroy(struct frames *f);

/* One zeroed frame, or a 2 MiB-aligned zeroed run of 512 with `huge`.
 * `data` frames count against data_limit. FRAME_NONE when out of memory. */
gpa_t frames_alloc(struct frames *f, bool huge, bool data);
/* One more mapping of the n frames at gpa (MAP_SHARED memory in a fork
 * child): the next frames_free of them only drops that. 0 or -errno. */
int frames_ref(struct frames *f, gpa_t gpa, uint64_t n);
/* Sets the frame at gpa's count of uses beyond the first to `refs`
 * (restore). 0 or -errno. */
int frames_set_refs(struct frames *f, gpa_t gpa, uint32_t refs);
/* Whether the frame at gpa is allocated. */
bool frames_in_use(const struct frames *f, gpa_t gpa);
/* Frees `n` frames starting at gpa; their contents are discarded (hole
 * punched), so they are zero when allocated again. */
void frames_free(struct frames *f, gpa_t gpa, uint64_t n, bool data);

static inline void *frames_host(struct frames *f, gpa_t gpa)
{
	return f->host + gpa;
}

#endif
