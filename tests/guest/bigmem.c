/* bigmem.c: touches a large anonymous mapping (default 1 GiB) and checks mmap/munmap/mprotect/mremap/brk/madvise. Usage: bigmem [MiB] */
#include "guest.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#define PAGE 4096UL
#define MiB (1UL << 20)

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void test_big(size_t mib)
{
	size_t size = mib * MiB, words = size / 8;
	int64_t t0 = now_ns();
	uint64_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (!check(p != MAP_FAILED, "mmap %zu MiB", mib))
		return;
	/* fresh anonymous memory is zero: sample one word per page */
	int zero = 1;
	for (size_t i = 0; i < words; i += PAGE / 8)
		zero &= p[i] == 0;
	check(zero, "fresh anonymous memory reads as zero");

	uint64_t sum_w = 0;
	for (size_t i = 0; i < words; i++) {
		uint64_t v = mix(i);
		p[i] = v;
		sum_w += v;
	}
	uint64_t sum_r = 0;
	size_t bad = 0;
	for (size_t i = 0; i < words; i++) {
		sum_r += p[i];
		if (p[i] != mix(i))
			bad++;
	}
	check(bad == 0 && sum_r == sum_w, "%zu MiB pattern verified (checksum %016llx, %zu bad words)", mib,
	      (unsigned long long)sum_r, bad);
	printf("# %zu MiB touched and verified in %.0f ms\n", mib, (now_ns() - t0) / 1e6);
	check(munmap(p, size) == 0, "munmap big region");

	/* malloc path, too */
	size_t msz = 64 * MiB;
	unsigned char *m = malloc(msz);
	if (check(m != NULL, "malloc 64 MiB")) {
		memset(m, 0xa5, msz);
		size_t cnt = 0;
		for (size_t i = 0; i < msz; i += 997)
			cnt += m[i] == 0xa5;
		check(cnt == (msz + 996) / 997, "malloc'd memory holds its contents");
		free(m);
	}
}

static void test_mmap_semantics(void)
{
	/* three adjacent pages, middle one unmapped, then refilled */
	char *a = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(a != MAP_FAILED, "mmap 3 pages");
	memset(a, 'x', 3 * PAGE);
	check(munmap(a + PAGE, PAGE) == 0, "munmap middle page");
	check(a[0] == 'x' && a[2 * PAGE] == 'x', "neighbours survive a partial munmap");
	char *b = mmap(a + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	check(b == a + PAGE, "MAP_FIXED_NOREPLACE into the hole");
	check(b[0] == 0 && b[PAGE - 1] == 0, "refilled page is zero");
	errno = 0;
	char *c = mmap(a, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	check(c == MAP_FAILED && errno == EEXIST, "MAP_FIXED_NOREPLACE over a mapping is EEXIST");
	c = mmap(a, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	check(c == a && a[0] == 0 && a[2 * PAGE] == 'x', "MAP_FIXED replaces one page only");

	/* mprotect: read-only keeps contents, RW again allows writes */
	a[0] = 'q';
	check(mprotect(a, 3 * PAGE, PROT_READ) == 0, "mprotect PROT_READ");
	check(a[0] == 'q' && a[2 * PAGE] == 'x', "read-only pages readable");
	check(mprotect(a, 3 * PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect back to RW");
	a[1] = 'w';
	check(a[0] == 'q' && a[1] == 'w', "writable again, contents intact");
	CHECK_ERR(mprotect(a + 1, PAGE, PROT_READ), EINVAL, "mprotect unaligned");
	check(munmap(a, 3 * PAGE) == 0, "munmap all three");
	CHECK_ERR(mprotect(a, PAGE, PROT_READ), ENOMEM, "mprotect unmapped range is ENOMEM");
	check(munmap(a, PAGE) == 0, "munmap of an unmapped range succeeds");

	/* argument errors */
	CHECK_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL, "mmap length 0");
	CHECK_ERR(mmap((void *)0x10001, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL,
		  "mmap MAP_FIXED unaligned");
	CHECK_ERR(mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL, "mmap without PRIVATE/SHARED");
	CHECK_ERR(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 9999, 0), EBADF, "mmap bad fd");
	CHECK_ERR(munmap((void *)0x10001, PAGE), EINVAL, "munmap unaligned");
	CHECK_ERR(mmap(NULL, 1UL << 50, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM, "mmap 1 PiB");

	/* reserve PROT_NONE, then open a window */
	char *r = mmap(NULL, 64 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	check(r != MAP_FAILED, "reserve 64 pages PROT_NONE");
	check(mprotect(r + 8 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE) == 0, "open a RW window");
	memset(r + 8 * PAGE, 7, 4 * PAGE);
	check(r[8 * PAGE] == 7 && r[12 * PAGE - 1] == 7, "window usable");
	munmap(r, 64 * PAGE);

	/* mremap: grow with MAYMOVE keeps contents; grow in place blocked by a neighbour is ENOMEM */
	char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t i = 0; i < 4 * PAGE; i++)
		m[i] = (char)(i * 7);
	char *g = mremap(m, 4 * PAGE, 256 * PAGE, MREMAP_MAYMOVE);
	int same = g != MAP_FAILED;
	for (size_t i = 0; same && i < 4 * PAGE; i++)
		same = g[i] == (char)(i * 7);
	check(same, "mremap grow keeps contents");
	if (g != MAP_FAILED) {
		check(g[255 * PAGE] == 0, "grown tail is zero");
		g[255 * PAGE] = 1;
		char *s = mremap(g, 256 * PAGE, 2 * PAGE, 0);
		check(s == g && s[PAGE] == (char)(PAGE * 7), "mremap shrink in place");
		/* put a neighbour right after the 2 pages, then try growing in place */
		char *n = mmap(s + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		check(n == s + 2 * PAGE, "neighbour mapped");
		CHECK_ERR(mremap(s, 2 * PAGE, 8 * PAGE, 0), ENOMEM, "mremap grow in place blocked");
		char *f = mmap(NULL, 16 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *moved = mremap(s, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, f + 4 * PAGE);
		check(moved == f + 4 * PAGE && moved[PAGE] == (char)(PAGE * 7), "mremap MREMAP_FIXED moves contents");
		munmap(f, 16 * PAGE);
		munmap(n, PAGE);
	}
	CHECK_ERR(mremap((void *)0x10001, PAGE, PAGE, 0), EINVAL, "mremap unaligned");

	/* MADV_DONTNEED zeroes private anonymous memory */
	char *z = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(z, 0x5a, 8 * PAGE);
	check(madvise(z + 2 * PAGE, 4 * PAGE, MADV_DONTNEED) == 0, "madvise MADV_DONTNEED");
	check(z[2 * PAGE] == 0 && z[6 * PAGE - 1] == 0, "DONTNEED range reads as zero");
	check(z[2 * PAGE - 1] == 0x5a && z[6 * PAGE] == 0x5a, "outside the range untouched");
	check(madvise(z, 8 * PAGE, MADV_WILLNEED) == 0 && madvise(z, 8 * PAGE, MADV_NORMAL) == 0, "madvise hints accepted");
	CHECK_ERR(madvise(z + 1, PAGE, MADV_DONTNEED), EINVAL, "madvise unaligned");
	munmap(z, 8 * PAGE);

	/* MAP_SHARED anonymous memory works like private memory within one process */
	int *sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	check(sh != MAP_FAILED && sh[0] == 0, "MAP_SHARED|MAP_ANONYMOUS");
	if (sh != MAP_FAILED) {
		sh[10] = 1234;
		check(sh[10] == 1234, "shared anonymous page writable");
		munmap(sh, PAGE);
	}
}

static void test_brk(void)
{
	char *cur = (char *)syscall(SYS_brk, 0);
	check((uintptr_t)cur > 0, "brk(0) returns the break");
	char *want = cur + 4 * MiB;
	char *got = (char *)syscall(SYS_brk, want);
	check(got == want, "brk grows by 4 MiB");
	if (got == want) {
		memset(cur, 0x33, 4 * MiB);
		check(cur[0] == 0x33 && want[-1] == 0x33, "new heap usable");
		got = (char *)syscall(SYS_brk, cur + MiB);
		check(got == cur + MiB, "brk shrinks");
		got = (char *)syscall(SYS_brk, cur + 2 * MiB);
		check(got == cur + 2 * MiB && cur[MiB + 100] == 0, "regrown heap is zeroed");
		syscall(SYS_brk, cur);
	}
	got = (char *)syscall(SYS_brk, (void *)0x1000);
	check(got == cur, "brk below the start is refused (returns old break)");
	/* sbrk via libc agrees */
	check(sbrk(0) == (void *)syscall(SYS_brk, 0), "sbrk(0) matches brk(0)");
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_mmap_semantics();
	test_brk();
	test_big(mib);
	return done_testing();
}
