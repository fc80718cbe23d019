/* ticker.c: prints "i checksum" lines at a steady pace; deterministic output over a mutating heap and blocked threads. */
#include "guest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/*
 * Usage: ticker N PERIOD_MS [THREADS [BUF_KB]]
 *
 * Step i (1..N) mutates the buffer, hashes a sixteenth of it into a running
 * checksum and prints "i checksum" with one write(2); then it sleeps
 * PERIOD_MS. Every page enters the checksum every 16 steps, so a domain
 * whose memory was not preserved exactly prints different numbers.
 *
 * THREADS (1 to 4, default 1) adds, in this order:
 *   2: a thread blocked in pthread_cond_wait (a futex), woken every 10 steps;
 *   3: a thread looping in nanosleep, polling for work posted every step;
 *   4: a thread blocked reading a pipe, fed one byte every 5 steps.
 * Each folds what it receives into a value of its own and acknowledges it;
 * step i waits for the acknowledgements before using those values, so the
 * output depends only on the arguments, never on timing.
 */

#define BUF_BYTES	(4u << 20)      /* default; BUF_KB sets another */

static size_t words = BUF_BYTES / 8;
#define SLICES		16

static uint64_t *buf;

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static void die(const char *what)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "ticker: %s: %s\n", what, strerror(errno));

	if (write(2, msg, (size_t)n) < 0)
		_exit(1);
	_exit(1);
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		s += w;
		n -= (size_t)w;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		if (errno != EINTR)
			die("nanosleep");
}

/* ---- thread 2: waits on a condition variable ---- */
static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_wake = PTHREAD_COND_INITIALIZER, cv_ack = PTHREAD_COND_INITIALIZER;
static uint64_t cv_posted, cv_seen, cv_value;
static bool cv_stop;

static void *cv_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cv_lock);
	for (;;) {
		while (cv_seen == cv_posted && !cv_stop)
			pthread_cond_wait(&cv_wake, &cv_lock);
		if (cv_seen == cv_posted)
			break;
		cv_seen++;
		cv_value = mix(cv_value, cv_seen * 10);
		pthread_cond_signal(&cv_ack);
	}
	pthread_mutex_unlock(&cv_lock);
	return NULL;
}

/* ---- thread 3: sleeps in a loop, picks up posted work ---- */
static atomic_uint_fast64_t nap_posted, nap_done;
static atomic_bool nap_stop;
static uint64_t nap_value; /* written by the thread before nap_done, read after */

static void *nap_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&nap_stop)) {
		sleep_ms(2);
		uint64_t done = atomic_load(&nap_done);

		while (done < atomic_load(&nap_posted)) {
			done++;
			nap_value = mix(nap_value, done * 3 + 1);
			atomic_store(&nap_done, done);
		}
	}
	return NULL;
}

/* ---- thread 4: reads a pipe ---- */
static int pipe_in[2], pipe_ack[2];
static uint64_t pipe_value; /* written before the ack byte, read after it */

static void *pipe_thread(void *arg)
{
	unsigned char b;

	(void)arg;
	for (;;) {
		ssize_t n = read(pipe_in[0], &b, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read pipe");
		if (n == 0)
			return NULL; /* the main thread closed it: the end */
		pipe_value = mix(pipe_value, b);
		write_all(pipe_ack[1], "k", 1);
	}
}

static void usage(void)
{
	static const char u[] =
		"usage: ticker N PERIOD_MS [THREADS [BUF_KB]]  (N >= 1, PERIOD_MS >= 0, THREADS 1..4, BUF_KB 64..1048576)\n";

	write_all(2, u, sizeof(u) - 1);
	exit(2);
}

static long arg_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	pthread_t th[3];
	uint64_t sum = 0, seed = 0x243f6a8885a308d3ULL;
	long n, period, threads = 1;
	char line[64];

	if (argc < 3 || argc > 5)
		usage();
	n = arg_num(argv[1], 1, 100000000);
	period = arg_num(argv[2], 0, 3600000);
	if (argc >= 4)
		threads = arg_num(argv[3], 1, 4);
	if (argc == 5)
		words = (size_t)arg_num(argv[4], 64, 1 << 20) * 1024 / 8;

	buf = malloc(words * 8);
	if (!buf)
		die("malloc");
	for (size_t w = 0; w < words; w++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		buf[w] = seed;
	}
	if (threads >= 2 && pthread_create(&th[0], NULL, cv_thread, NULL))
		die("pthread_create");
	if (threads >= 3 && pthread_create(&th[1], NULL, nap_thread, NULL))
		die("pthread_create");
	if (threads >= 4) {
		if (pipe(pipe_in) < 0 || pipe(pipe_ack) < 0)
			die("pipe");
		if (pthread_create(&th[2], NULL, pipe_thread, NULL))
			die("pthread_create");
	}

	for (long i = 1; i <= n; i++) {
		uint64_t x = mix(0, (uint64_t)i);

		/* Scattered writes: pages all over the buffer change. */
		for (int k = 0; k < 256; k++) {
			x = mix(x, (uint64_t)k);
			buf[x % words] ^= x;
		}
		size_t lo = (size_t)(i % SLICES) * (words / SLICES);

		for (size_t w = lo; w < lo + words / SLICES; w += 4)
			sum = mix(sum, buf[w] ^ buf[w + 1] ^ buf[w + 2] ^ buf[w + 3]);
		sum = mix(sum, (uint64_t)i);

		if (threads >= 2 && i % 10 == 0) {
			pthread_mutex_lock(&cv_lock);
			cv_posted++;
			pthread_cond_signal(&cv_wake);
			while (cv_seen != cv_posted)
				pthread_cond_wait(&cv_ack, &cv_lock);
			sum = mix(sum, cv_value);
			pthread_mutex_unlock(&cv_lock);
		}
		if (threads >= 3) {
			atomic_fetch_add(&nap_posted, 1);
			while (atomic_load(&nap_done) != (uint64_t)i)
				sleep_ms(1);
			sum = mix(sum, nap_value);
		}
		if (threads >= 4 && i % 5 == 0) {
			unsigned char b = (unsigned char)i, ack;

			write_all(pipe_in[1], (const char *)&b, 1);
			for (;;) {
				ssize_t r = read(pipe_ack[0], &ack, 1);

				if (r == 1)
					break;
				if (r == 0 || errno != EINTR)
					die("read ack");
			}
			sum = mix(sum, pipe_value);
		}

		int len = snprintf(line, sizeof(line), "%ld %016llx\n", i, (unsigned long long)sum);

		write_all(1, line, (size_t)len);
		if (i < n && period)
			sleep_ms(period);
	}

	if (threads >= 2) {
		pthread_mutex_lock(&cv_lock);
		cv_stop = true;
		pthread_cond_signal(&cv_wake);
		pthread_mutex_unlock(&cv_lock);
		pthread_join(th[0], NULL);
	}
	if (threads >= 3) {
		atomic_store(&nap_stop, true);
		pthread_join(th[1], NULL);
	}
	if (threads >= 4) {
		close(pipe_in[1]);
		pthread_join(th[2], NULL);
	}
	write_all(1, "done\n", 5);
	return 0;
}
