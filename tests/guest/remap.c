/* remap.c: unmap/remap churn at fixed addresses; any stale content means the VMM missed a TLB/shadow flush. Usage: remap [ITERATIONS] */
#include "guest.h"

#include <sys/mman.h>

#define PAGE 4096UL

/* Fills a page with words unique to (iteration, slot). */
static void fill(uint64_t *p, size_t words, uint64_t iter, uint64_t slot)
{
	for (size_t i = 0; i < words; i++)
		p[i] = (iter << 32) ^ (slot << 20) ^ i ^ 0x5555000000000000ULL;
}

/* Returns the number of words that do not hold (iter, slot)'s content. */
static size_t verify(const uint64_t *p, size_t words, uint64_t iter, uint64_t slot)
{
	size_t bad = 0;
	for (size_t i = 0; i < words; i++)
		bad += p[i] != ((iter << 32) ^ (slot << 20) ^ i ^ 0x5555000000000000ULL);
	return bad;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 0) : 20000;
	const size_t words = PAGE / 8;
	size_t stale = 0, not_zero = 0, map_fail = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Pick a fixed address: reserve 4 pages, keep the address, release them. */
	char *base = mmap(NULL, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!check(base != MAP_FAILED, "reserve a fixed address"))
		return done_testing();
	munmap(base, 4 * PAGE);

	int64_t t0 = now_ns();
	/* 1. single page: map, check zero, fill, verify, unmap */
	for (long it = 0; it < iters; it++) {
		uint64_t *p = mmap(base, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != (uint64_t *)base) {
			map_fail++;
			continue;
		}
		/* a fresh mapping must read as zero: the previous iteration's data is stale */
		if (p[0] != 0 || p[words / 2] != 0 || p[words - 1] != 0)
			not_zero++;
		fill(p, words, (uint64_t)it, 0);
		stale += verify(p, words, (uint64_t)it, 0) != 0;
		munmap(p, PAGE);
	}
	check(map_fail == 0, "phase 1: %ld MAP_FIXED maps (%zu failed)", iters, map_fail);
	check(not_zero == 0, "phase 1: fresh pages read as zero (%zu stale)", not_zero);
	check(stale == 0, "phase 1: written content reads back (%zu mismatches)", stale);
	printf("# phase 1: %ld map/fill/verify/unmap cycles in %.0f ms\n", iters, (now_ns() - t0) / 1e6);

	/* 2. MAP_FIXED over a live mapping (no munmap in between): must replace it */
	t0 = now_ns();
	stale = not_zero = map_fail = 0;
	uint64_t *p = mmap(base, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	for (long it = 0; p == (uint64_t *)base && it < iters / 4; it++) {
		fill(p, 2 * words, (uint64_t)it, 1);
		uint64_t *q = mmap(base + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				   -1, 0);
		if (q != (uint64_t *)(base + PAGE)) {
			map_fail++;
			break;
		}
		if (q[0] != 0 || q[words - 1] != 0)
			not_zero++;
		stale += verify(p, words, (uint64_t)it, 1) != 0; /* the first page is untouched */
	}
	check(p == (uint64_t *)base && map_fail == 0, "phase 2: MAP_FIXED over a live page");
	check(not_zero == 0, "phase 2: replaced page reads as zero (%zu stale)", not_zero);
	check(stale == 0, "phase 2: neighbour page intact (%zu mismatches)", stale);
	munmap(base, 2 * PAGE);
	printf("# phase 2: %ld replace cycles in %.0f ms\n", iters / 4, (now_ns() - t0) / 1e6);

	/* 3. mprotect downgrade/upgrade at a fixed address: content survives, writes after upgrade land */
	t0 = now_ns();
	stale = 0;
	size_t prot_fail = 0;
	p = mmap(base, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	for (long it = 0; p == (uint64_t *)base && it < iters / 4; it++) {
		fill(p, words, (uint64_t)it, 2);
		if (mprotect(p, PAGE, PROT_READ))
			prot_fail++;
		stale += verify(p, words, (uint64_t)it, 2) != 0;
		if (mprotect(p, PAGE, PROT_NONE) || mprotect(p, PAGE, PROT_READ | PROT_WRITE))
			prot_fail++;
		stale += verify(p, words, (uint64_t)it, 2) != 0;
	}
	check(p == (uint64_t *)base && prot_fail == 0, "phase 3: mprotect cycles succeed");
	check(stale == 0, "phase 3: content survives mprotect (%zu mismatches)", stale);
	munmap(base, PAGE);
	printf("# phase 3: %ld mprotect cycles in %.0f ms\n", iters / 4, (now_ns() - t0) / 1e6);

	/* 4. two pages swapped by mremap: each address must show the page moved onto it */
	t0 = now_ns();
	stale = map_fail = 0;
	char *tmp = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t *a = mmap(base, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	uint64_t *b = mmap(base + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	fill(a, words, 0, 3);
	fill(b, words, 0, 4);
	uint64_t at_a = 3, at_b = 4;
	for (long it = 0; tmp != MAP_FAILED && it < iters / 8; it++) {
		/* a -> tmp, b -> a, tmp -> b */
		if (mremap(a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, tmp) != tmp ||
		    mremap(b, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a) != (void *)a ||
		    mremap(tmp, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, b) != (void *)b) {
			map_fail++;
			break;
		}
		uint64_t t = at_a;
		at_a = at_b;
		at_b = t;
		stale += verify(a, words, 0, at_a) != 0;
		stale += verify(b, words, 0, at_b) != 0;
	}
	check(tmp != MAP_FAILED && map_fail == 0, "phase 4: mremap swaps succeed");
	check(stale == 0, "phase 4: swapped pages show the right content (%zu mismatches)", stale);
	munmap(base, 4 * PAGE);
	printf("# phase 4: %ld mremap swaps in %.0f ms\n", iters / 8, (now_ns() - t0) / 1e6);

	printf("remap: %ld iterations done\n", iters);
	return done_testing();
}
