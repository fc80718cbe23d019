/*
 * snapwrite.c: the snapshot memory writer (snapshot/snap_mem.c) on this host, without KVM.
 * Usage: snapwrite MIB THREADS DIR
 *
 * Guest memory is a frames allocator over one memfd, as in a domain; it is filled with
 * exactly the bytes tests/guest/memfill.c writes (zero / random / text thirds), then
 * snap_mem_write stores it into an image begun in DIR (removed afterwards). This is the
 * writer's own speed where the nested VM's TCG would hide it. Prints one
 * "snapwrite: KEY=VALUE ..." line (GB = 1e9 bytes).
 */
#define MEMFILL_NO_MAIN
#include "tests/guest/memfill.c"

#include <time.h>

#include "vmm/frames.h"
#include "snapshot/image.h"
#include "snapshot/snap_mem.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: snapwrite MIB THREADS DIR\n");
		return 2;
	}
	uint64_t size = strtoull(argv[1], NULL, 10) << 20;
	int threads = atoi(argv[2]);
	struct frames f;
	if (frames_init(&f, size + (64ULL << 20), size)) {
		fprintf(stderr, "snapwrite: frames_init failed\n");
		return 1;
	}
	/* One run of frames, so the fill sees the same contiguous buffer
	 * memlz4 compresses. */
	gpa_t first = FRAME_NONE;
	for (uint64_t i = 0; i < size / 4096; i++) {
		gpa_t g = frames_alloc(&f, false, true);
		if (first == FRAME_NONE)
			first = g;
		if (g != first + i * 4096) {
			fprintf(stderr, "snapwrite: frames not contiguous\n");
			return 1;
		}
	}
	mf_fill(frames_host(&f, first), size);
	char dir[4096], err[512];
	snprintf(dir, sizeof(dir), "%s/snapwrite-img", argv[3]);
	struct img_writer w;
	struct mem_stats st;
	if (img_begin(&w, dir, err, sizeof(err))) {
		fprintf(stderr, "snapwrite: %s\n", err);
		return 1;
	}
	double t0 = now();
	int r = snap_mem_write(&w, &f, NULL, threads, &st, err, sizeof(err));
	double t1 = now();
	img_abort(&w);
	if (r) {
		fprintf(stderr, "snapwrite: %s\n", err);
		return 1;
	}
	printf("snapwrite: gbps=%.3f ms=%.1f in=%llu out=%llu pages=%llu zero=%llu threads=%d\n",
	       (double)size / 1e9 / (t1 - t0), (t1 - t0) * 1e3, (unsigned long long)size,
	       (unsigned long long)st.bytes, (unsigned long long)st.pages, (unsigned long long)st.zero, threads);
	frames_destroy(&f);
	return 0;
}
