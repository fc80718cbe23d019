/*
 * memlz4.c: host-side reference numbers for the snapshot benchmark. Usage: memlz4 [MIB] (default 1024)
 *
 * Fills MIB MiB with exactly the bytes tests/guest/memfill.c fills a domain with (zero / random / text thirds;
 * the file is included), then measures in this one process:
 *  - memcpy of the whole buffer into a pre-faulted one (best of 3);
 *  - LZ4_compress_default over the whole buffer in 2 MiB blocks, one thread, and the same with one thread per
 *    online CPU (blocks handed out in order), in GB/s of input;
 *  - the lz4 ratio of each third.
 * Prints "memlz4: KEY=VALUE ..." lines (GB = 1e9 bytes).
 */
#define MEMFILL_NO_MAIN
#include "tests/guest/memfill.c"

#include <lz4.h>
#include <pthread.h>
#include <stdatomic.h>

#define BLOCK (2UL << 20)

static unsigned char *g_src;
static size_t g_size;
static atomic_size_t g_next, g_out;

static size_t compress_range(const unsigned char *src, size_t size, char *out, int cap)
{
	size_t total = 0;

	for (size_t off = 0; off < size; off += BLOCK) {
		size_t n = size - off < BLOCK ? size - off : BLOCK;
		int c = LZ4_compress_default((const char *)src + off, out, (int)n, cap);

		if (c <= 0) {
			fprintf(stderr, "memlz4: LZ4_compress_default failed\n");
			exit(1);
		}
		total += (size_t)c;
	}
	return total;
}

static void *worker(void *arg)
{
	int cap = LZ4_compressBound((int)BLOCK);
	char *out = malloc((size_t)cap);
	size_t mine = 0;

	(void)arg;
	if (!out)
		exit(1);
	for (;;) {
		size_t off = atomic_fetch_add(&g_next, BLOCK);

		if (off >= g_size)
			break;
		mine += compress_range(g_src + off, g_size - off < BLOCK ? g_size - off : BLOCK, out, cap);
	}
	atomic_fetch_add(&g_out, mine);
	free(out);
	return NULL;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	size_t size = mib * MF_MIB, third = size / 3 / MF_PAGE * MF_PAGE;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (mib < 3) {
		fprintf(stderr, "usage: memlz4 [MIB >= 3]\n");
		return 2;
	}
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > 64)
		ncpu = 64;
	unsigned char *src = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED) {
		perror("memlz4: mmap");
		return 1;
	}
	int64_t t0 = now_ns();
	mf_fill(src, size);
	double fill_s = (now_ns() - t0) / 1e9;
	memset(dst, 1, size); /* fault the destination in: memcpy measures copying, not page faults */
	printf("memlz4: bytes=%zu fill_ms=%.1f sum=%016llx\n", size, fill_s * 1e3,
	       (unsigned long long)mf_sum(src, size));

	double best = 1e30;
	for (int i = 0; i < 3; i++) {
		t0 = now_ns();
		memcpy(dst, src, size);
		double s = (now_ns() - t0) / 1e9;
		if (s < best)
			best = s;
		__asm__ volatile("" : : "r"(dst) : "memory");
	}
	printf("memlz4: memcpy_gbps=%.3f memcpy_ms=%.1f\n", size / best / 1e9, best * 1e3);

	int cap = LZ4_compressBound((int)BLOCK);
	char *out = malloc((size_t)cap);
	if (!out)
		return 1;
	t0 = now_ns();
	size_t csize = compress_range(src, size, out, cap);
	double s1 = (now_ns() - t0) / 1e9;
	printf("memlz4: lz4_gbps=%.3f lz4_ms=%.1f in=%zu out=%zu ratio=%.2f threads=1\n", size / s1 / 1e9, s1 * 1e3,
	       size, csize, (double)size / (double)csize);

	g_src = src;
	g_size = size;
	pthread_t th[64];
	t0 = now_ns();
	for (long i = 0; i < ncpu; i++)
		if (pthread_create(&th[i], NULL, worker, NULL)) {
			perror("memlz4: pthread_create");
			return 1;
		}
	for (long i = 0; i < ncpu; i++)
		pthread_join(th[i], NULL);
	double sm = (now_ns() - t0) / 1e9;
	printf("memlz4: lz4_mt_gbps=%.3f lz4_mt_ms=%.1f threads=%ld\n", size / sm / 1e9, sm * 1e3, ncpu);

	const char *names[3] = { "zero", "random", "text" };
	for (int k = 0; k < 3; k++) {
		size_t off = (size_t)k * third, n = k < 2 ? third : size - 2 * third;
		size_t c = compress_range(src + off, n, out, cap);
		printf("memlz4: third=%s in=%zu out=%zu ratio=%.2f\n", names[k], n, c, (double)n / (double)c);
	}
	free(out);
	return 0;
}
