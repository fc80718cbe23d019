/* ratewriter.c: fills MIB MiB like memfill, then dirties its pages at a set rate (MB/s) until STOPFILE exists, and checks that every page holds what it last wrote — the writer of make bench's migration rows. */
#define MEMFILL_NO_MAIN
#include "memfill.c"

#include <sys/mman.h>
#include <sys/stat.h>

/*
 * Usage: ratewriter MIB MBPS STOPFILE
 *
 * Maps MIB MiB, fills it with memfill's zero / random / text thirds and
 * clears the first word of every page (the word this program writes), sums
 * the rest, prints "ready" and from then on writes the first word of one
 * page after another, wrapping around, so that MBPS * 10^6 bytes' worth of
 * pages are dirtied a second (MBPS 0: none; it only waits). The writes come
 * in 1 ms slices paced by CLOCK_MONOTONIC; after a stall of more than 100 ms
 * (the domain paused, say) the pacing starts again from there instead of
 * catching up in one burst, and the time skipped is reported.
 *
 * Once STOPFILE exists (checked every 10 ms) it prints
 *   "wrote N pages in T ms: R MB/s (S ms skipped)"
 * then "consistent" if every page's first word holds the value of its last
 * write (0 if never written) and the rest of the memory still has the sum it
 * had at "ready", else what differs; it exits 0 only when consistent.
 */

#define RW_WORDS (MF_PAGE / 8)

static uint64_t rw_value(uint64_t k)
{
	return (k + 1) * 0x9e3779b97f4a7c15ULL;
}

/* memfill's hash over every word but the first of each page. */
static uint64_t rw_sum(const uint64_t *w, size_t words)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < words; i++) {
		if (i % RW_WORDS == 0)
			continue;
		h ^= w[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void sleep_until(int64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000), (long)(t % 1000000000) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int usage(void)
{
	fprintf(stderr, "usage: ratewriter MIB MBPS STOPFILE  (1 <= MIB <= 1048576, 0 <= MBPS <= 100000)\n");
	return 2;
}

int main(int argc, char **argv)
{
	char *end;

	if (argc != 4)
		return usage();
	errno = 0;
	unsigned long mib = strtoul(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || mib < 1 || mib > (1UL << 20))
		return usage();
	double mbps = strtod(argv[2], &end);
	if (end == argv[2] || *end || !(mbps >= 0 && mbps <= 100000))
		return usage();
	const char *stopfile = argv[3];

	size_t size = mib * MF_MIB, npages = size / MF_PAGE;
	int64_t t0 = now_ns();
	uint64_t *w = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (w == MAP_FAILED) {
		fprintf(stderr, "ratewriter: mmap %lu MiB: %s\n", mib, strerror(errno));
		return 1;
	}
	mf_fill((unsigned char *)w, size);
	for (size_t p = 0; p < npages; p++)
		w[p * RW_WORDS] = 0;
	uint64_t sum0 = rw_sum(w, size / 8);
	fprintf(stderr, "ratewriter: %lu MiB filled in %.0f ms\n", mib, (now_ns() - t0) / 1e6);
	printf("ready\n");
	fflush(stdout);

	/* pages due at time t: (t - base) * per_ns */
	double per_ns = mbps * 1e6 / MF_PAGE / 1e9;
	uint64_t n = 0;
	int64_t start = now_ns(), base = start, skipped = 0, next_check = start;
	for (;;) {
		int64_t t = now_ns();
		if (t >= next_check) {
			if (exists(stopfile))
				break;
			next_check = t + 10000000;
		}
		if (mbps > 0) {
			uint64_t due = (uint64_t)((double)(t - base) * per_ns);
			if (due > n + (uint64_t)(per_ns * 1e8) + 1) {
				/* more than 100 ms behind: a stall, not a slow writer */
				int64_t at = base + (int64_t)((double)n / per_ns);
				skipped += t - at;
				base += t - at;
				due = n;
			}
			for (; n < due; n++)
				w[(n % npages) * RW_WORDS] = rw_value(n);
			sleep_until(t - (t - start) % 1000000 + 1000000);
		} else {
			sleep_until(next_check);
		}
	}
	int64_t ms = (now_ns() - start) / 1000000;
	printf("wrote %llu pages in %lld ms: %.1f MB/s (%lld ms skipped)\n", (unsigned long long)n, (long long)ms,
	       ms > 0 ? (double)n * MF_PAGE / 1e3 / (double)ms : 0.0, (long long)(skipped / 1000000));

	size_t stale = 0;
	for (size_t p = 0; p < npages; p++) {
		uint64_t want = 0;
		if (n > p)
			want = rw_value(p + (n - 1 - p) / npages * npages);
		stale += w[p * RW_WORDS] != want;
	}
	uint64_t sum1 = rw_sum(w, size / 8);
	if (!stale && sum1 == sum0) {
		printf("consistent\n");
		return 0;
	}
	printf("%zu pages stale, rest of memory %s\n", stale, sum1 == sum0 ? "intact" : "changed");
	return 1;
}
