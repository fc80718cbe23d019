/* memfill.c: fills MIB MiB with zero / random / text thirds and idles until told to checksum it — for the snapshot, incremental and restore benchmarks. */
#include "guest.h"

#include <sys/mman.h>
#include <sys/stat.h>

/*
 * Usage: memfill MIB [STOPFILE [dirty PCT]]
 *
 * Maps MIB MiB of anonymous memory and fills it in three page-aligned thirds:
 *   1. zeros, written explicitly (memset 0: touched, yet zero);
 *   2. pseudo-random bytes (xorshift64, fixed seed): incompressible;
 *   3. "text": English-like words picked by another fixed-seed xorshift,
 *      which lz4 compresses about 3x.
 * Then it writes "ready\n" to stdout with one write(2) and, every 10 ms,
 * stat()s STOPFILE; once it exists it prints "sum HEX" (a 64-bit hash of
 * the whole buffer) and exits 0. Without STOPFILE it prints the sum at once.
 *
 * With "dirty PCT" it also waits for the file STOPFILE.dirty: then it changes
 * one byte in PCT percent of the pages, spread evenly over the buffer, prints
 * "dirtied\n", and goes on waiting for STOPFILE. Should both files exist, the
 * pages are dirtied first, so the final sum depends only on the arguments.
 * The fill and dirtying times go to stderr.
 *
 * bench/memlz4.c includes this file (with MEMFILL_NO_MAIN) to fill its
 * reference buffer with the very same bytes.
 */

#define MF_PAGE 4096UL
#define MF_MIB (1UL << 20)

static uint64_t mf_xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static const char *const mf_words[] = {
	"the", "of", "and", "to", "in", "is", "was", "that", "for", "it", "with", "as", "his", "on", "be",
	"at", "by", "had", "this", "not", "but", "from", "they", "which", "one", "you", "were", "her",
	"all", "she", "there", "would", "their", "we", "him", "been", "has", "when", "who", "will",
	"more", "no", "if", "out", "so", "said", "what", "up", "its", "about", "into", "than", "them",
	"can", "only", "other", "new", "some", "could", "time", "these", "two", "may", "then", "do",
	"first", "any", "my", "now", "such", "like", "our", "over", "man", "me", "even", "most", "made",
	"after", "also", "did", "many", "before", "must", "through", "back", "years", "where", "much",
	"your", "way", "well", "down", "should", "because", "each", "just", "those", "people", "memory",
	"snapshot", "domain", "kernel", "process", "page", "image", "restore", "program", "machine",
	"system", "between", "under", "never", "always", "little", "world", "house", "water", "number",
	"morning", "evening", "question", "answer", "together", "another", "against", "country",
};
#define MF_NWORDS (sizeof(mf_words) / sizeof(mf_words[0]))

/* Half the tokens are phrases: the longer repeats make the text compress about 3x. */
static const char *const mf_phrases[] = {
	"in the morning", "at the end of the day", "for the first time", "as a matter of fact",
	"on the other hand", "in the middle of the night", "it was said that", "there is no doubt",
	"the rest of the world", "one of the most", "at the same time", "by the way", "as well as",
	"in front of the house", "for a long time", "the image of the domain", "a page of memory",
	"the kernel of the machine", "when the program was restored", "all of a sudden",
};
#define MF_NPHRASES (sizeof(mf_phrases) / sizeof(mf_phrases[0]))
#define MF_NTOKS (MF_NWORDS + MF_NPHRASES)

/* Word and phrase tokens with their separators: plain + " ", + ". ", + ", ", and Capitalized + " ". */
struct mf_tok {
	unsigned char s[48];
	size_t len;
};

/* Fills p[0..size) (size a multiple of 8) with the three thirds. */
static void mf_fill(unsigned char *p, size_t size)
{
	static const char *const seps[4] = { " ", ". ", ", ", " " };
	static struct mf_tok tok[MF_NTOKS][4];
	static unsigned char chunk[65536 + 64];
	size_t third = size / 3 / MF_PAGE * MF_PAGE;
	uint64_t s = 0x2545f4914f6cdd1dULL;

	memset(p, 0, third);
	uint64_t *w = (uint64_t *)(p + third);
	for (size_t i = 0; i < third / 8; i++)
		w[i] = mf_xorshift(&s);

	for (size_t i = 0; i < MF_NTOKS; i++)
		for (int v = 0; v < 4; v++) {
			struct mf_tok *k = &tok[i][v];
			const char *src = i < MF_NWORDS ? mf_words[i] : mf_phrases[i - MF_NWORDS];
			size_t n = strlen(src);

			memset(k->s, 0, sizeof(k->s));
			memcpy(k->s, src, n);
			if (v == 3)
				k->s[0] = (unsigned char)(k->s[0] - 'a' + 'A');
			memcpy(k->s + n, seps[v], strlen(seps[v]));
			k->len = n + strlen(seps[v]);
		}
	/* Generated a chunk at a time, with fixed-size token copies; a line ends after 72 columns. */
	s = 0x9e3779b97f4a7c15ULL;
	unsigned char *t = p + 2 * third, *end = p + size;
	size_t col = 0;
	while (t < end) {
		size_t c = 0;

		while (c < 65536) {
			uint64_t r = mf_xorshift(&s);
			unsigned v = (unsigned)(r >> 40) % 20; /* 1 in 20: ". ", ", ", Capital */
			size_t i = (r >> 32) & 1 ? MF_NWORDS + r % MF_NPHRASES : r % MF_NWORDS;
			const struct mf_tok *k = &tok[i][v < 3 ? v + 1 : 0];

			memcpy(chunk + c, k->s, sizeof(k->s));
			c += k->len;
			col += k->len;
			if (col > 72) {
				chunk[c - 1] = '\n';
				col = 0;
			}
		}
		size_t n = (size_t)(end - t) < c ? (size_t)(end - t) : c;
		memcpy(t, chunk, n);
		t += n;
	}
}

/* A 64-bit hash of p[0..size) (size a multiple of 8), position-sensitive. */
__attribute__((unused))
static uint64_t mf_sum(const unsigned char *p, size_t size)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < size / 8; i++) {
		h ^= w[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

#ifndef MEMFILL_NO_MAIN

static void say(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		s += w;
		n -= (size_t)w;
	}
}

static void usage(void)
{
	say(2, "usage: memfill MIB [STOPFILE [dirty PCT]]  (MIB >= 1, 0 <= PCT <= 100)\n");
	exit(2);
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int main(int argc, char **argv)
{
	char line[160], *end, *dirtyfile = NULL;
	double pct = 0;

	if (argc != 2 && argc != 3 && argc != 5)
		usage();
	errno = 0;
	unsigned long mib = strtoul(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || mib < 1 || mib > (1UL << 20))
		usage();
	const char *stopfile = argc >= 3 ? argv[2] : NULL;
	if (argc == 5) {
		if (strcmp(argv[3], "dirty"))
			usage();
		pct = strtod(argv[4], &end);
		if (end == argv[4] || *end || !(pct >= 0 && pct <= 100))
			usage();
		dirtyfile = malloc(strlen(stopfile) + 7);
		if (!dirtyfile)
			usage();
		strcpy(dirtyfile, stopfile);
		strcat(dirtyfile, ".dirty");
	}

	size_t size = mib * MF_MIB;
	int64_t t0 = now_ns();
	unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(line, sizeof(line), "memfill: mmap %lu MiB: %s\n", mib, strerror(errno));
		say(2, line);
		return 1;
	}
	mf_fill(p, size);
	snprintf(line, sizeof(line), "memfill: %lu MiB filled in %.0f ms\n", mib, (now_ns() - t0) / 1e6);
	say(2, line);
	say(1, "ready\n");

	while (stopfile) {
		if (dirtyfile && exists(dirtyfile)) {
			size_t npages = size / MF_PAGE, n = (size_t)((double)npages * pct / 100.0 + 0.5);

			t0 = now_ns();
			for (size_t k = 0; k < n; k++) {
				size_t page = (size_t)((unsigned __int128)k * npages / n);

				p[page * MF_PAGE + 1234] ^= 0xa5;
			}
			snprintf(line, sizeof(line), "memfill: %zu of %zu pages dirtied in %.1f ms\n", n, npages,
				 (now_ns() - t0) / 1e6);
			say(2, line);
			say(1, "dirtied\n");
			free(dirtyfile);
			dirtyfile = NULL;
		}
		if (exists(stopfile))
			break;
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}

	snprintf(line, sizeof(line), "sum %016llx\n", (unsigned long long)mf_sum(p, size));
	say(1, line);
	return 0;
}

#endif
