/* rrthreads.c: two truly parallel pthreads with data races whose printed output depends on the interleaving (record/replay must reproduce it), signals landing on either thread, plus race-free benchmark modes. Usage: rrthreads counter|queue|hash|mutex|false|private|signals [N] */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/time.h>

#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static long n_iter;

static uint64_t fnv(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * FNV_PRIME;
	return h;
}

/*
 * Two-thread spin barrier. It lines the threads up so the racy parts really
 * overlap (thread start-up alone can take longer than the work); spinning,
 * not futex, so no syscall sits between the racing accesses.
 */
static atomic_uint bar_count, bar_gen;

static void barrier(void)
{
	unsigned gen = atomic_load(&bar_gen);

	if (atomic_fetch_add(&bar_count, 1) == 1) {
		atomic_store(&bar_count, 0);
		atomic_fetch_add(&bar_gen, 1);
	} else {
		while (atomic_load(&bar_gen) == gen)
			;
	}
}

/* counter: lost updates; the trace shows the order the threads reached each 4096th step. */
#define TRACE_LEN 4096
static volatile long counter;
static volatile unsigned char trace[TRACE_LEN];
static volatile unsigned trace_pos;

static void counter_thread(int id)
{
	barrier();
	for (long i = 0; i < n_iter; i++) {
		counter = counter + 1; /* plain load, add, store: racy on purpose */
		if ((i & 4095) == 0) {
			unsigned p = trace_pos;
			trace[p % TRACE_LEN] = (unsigned char)(id + 1);
			trace_pos = p + 1;
		}
	}
}

/*
 * queue: a correct SPSC ring; what is racy is how often each side finds it
 * empty/full, and ev_hash, a running hash of those events that both threads
 * update with unsynchronised read-modify-writes.
 */
#define RING 16
static unsigned long ring[RING];
static atomic_ulong q_head, q_tail; /* head: consumer's, tail: producer's */
static volatile uint64_t ev_hash = FNV_BASIS;
static unsigned long full_count, empty_count, spin_sum, item_sum;

static void producer(void)
{
	barrier();
	for (unsigned long i = 1; i <= (unsigned long)n_iter; i++) {
		unsigned long t = atomic_load_explicit(&q_tail, memory_order_relaxed);

		if (t - atomic_load_explicit(&q_head, memory_order_acquire) == RING) {
			full_count++;
			ev_hash = fnv(ev_hash, 'F');
			while (t - atomic_load_explicit(&q_head, memory_order_acquire) == RING)
				;
		}
		ring[t % RING] = i;
		atomic_store_explicit(&q_tail, t + 1, memory_order_release);
	}
}

static void consumer(void)
{
	barrier();
	for (long i = 0; i < n_iter; i++) {
		unsigned long h = atomic_load_explicit(&q_head, memory_order_relaxed);

		if (atomic_load_explicit(&q_tail, memory_order_acquire) == h) {
			empty_count++;
			ev_hash = fnv(ev_hash, 'E');
			while (atomic_load_explicit(&q_tail, memory_order_acquire) == h)
				spin_sum++;
		}
		item_sum += ring[h % RING];
		atomic_store_explicit(&q_head, h + 1, memory_order_release);
	}
}

/*
 * hash: open addressing with check-then-store and no locks. Keys of the
 * overlap can land twice or be lost, and each slot records which thread
 * wrote it, so the table differs run to run. N rounds; thread 0 folds and
 * clears the table between rounds while thread 1 waits at the barrier.
 */
#define SLOTS 4096
#define KEYS 3000
static volatile struct { unsigned long key, owner; } table[SLOTS];
static unsigned long occupied;
static uint64_t table_hash = FNV_BASIS;

static void hash_thread(int id)
{
	for (long r = 0; r < n_iter; r++) {
		barrier();
		/* thread 0 inserts 1..3000 upwards, thread 1 4000..1001 downwards */
		for (unsigned long k = 0; k < KEYS; k++) {
			unsigned long key = id ? 4000 - k : k + 1;
			unsigned long s = ((key + (unsigned long)r) * 2654435761UL >> 7) % SLOTS;

			while (table[s].key != 0 && table[s].key != key)
				s = (s + 1) % SLOTS;
			if (table[s].key == 0) {
				table[s].key = key;
				table[s].owner = (unsigned long)id;
			}
		}
		barrier();
		if (id == 0) {
			for (int s = 0; s < SLOTS; s++) {
				occupied += table[s].key != 0;
				table_hash = fnv(table_hash, table[s].key << 1 | table[s].owner);
				table[s].key = table[s].owner = 0;
			}
		}
	}
}

/* mutex: the locked baseline; the total must come out exact. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long locked_counter;

static void mutex_thread(void)
{
	for (long i = 0; i < n_iter; i++) {
		pthread_mutex_lock(&lock);
		locked_counter++;
		pthread_mutex_unlock(&lock);
	}
}

/* false: no race, but both counters share one cache line (and page). */
static struct {
	volatile long c[2];
} __attribute__((aligned(64))) fs;

static void false_thread(int id)
{
	for (long i = 0; i < n_iter; i++)
		fs.c[id] = fs.c[id] + 1;
}

/* private: CPU-bound, nothing shared until the result is stored. */
static uint64_t priv_result[2];

static void private_thread(int id)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL + (uint64_t)id;

	for (long i = 0; i < n_iter; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	priv_result[id] = x;
}

static const char *mode;

/*
 * signals: a 5 ms interval timer (process-directed SIGALRM: whichever thread
 * the kernel picks takes it) while both threads make system calls, and
 * thread 0 sending SIGUSR1 to thread 1 now and then. Who took which alarm
 * after how many calls is the output: it changes from run to run.
 */
static __thread int my_id;
static __thread long my_calls;
static volatile long alarm_hits[2], usr1_hits;
static volatile uint64_t sig_hash = FNV_BASIS;
static volatile pid_t tid1;

static void on_sig(int sig)
{
	if (sig == SIGALRM)
		alarm_hits[my_id]++;
	else
		usr1_hits++;
	sig_hash = fnv(sig_hash, ((uint64_t)sig << 56) | ((uint64_t)my_id << 48) | (uint64_t)my_calls);
}

static void signals_thread(int id)
{
	my_id = id;
	if (id == 1)
		tid1 = (pid_t)syscall(SYS_gettid);
	barrier();
	for (my_calls = 0; my_calls < n_iter; my_calls++) {
		getppid();
		if (id == 0 && my_calls % 100 == 50 && syscall(SYS_tgkill, getpid(), tid1, SIGUSR1))
			perror("tgkill");
	}
	barrier();      /* thread 1 is there for every SIGUSR1 */
}

static void *run(void *arg)
{
	int id = (int)(long)arg;

	if (!strcmp(mode, "counter"))
		counter_thread(id);
	else if (!strcmp(mode, "queue"))
		id ? consumer() : producer();
	else if (!strcmp(mode, "hash"))
		hash_thread(id);
	else if (!strcmp(mode, "mutex"))
		mutex_thread();
	else if (!strcmp(mode, "false"))
		false_thread(id);
	else if (!strcmp(mode, "signals"))
		signals_thread(id);
	else
		private_thread(id);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; long n; } modes[] = {
		{ "counter", 5000000 }, { "queue", 200000 }, { "hash", 64 },
		{ "mutex", 8000000 }, { "false", 160000000 }, { "private", 200000000 }, { "signals", 20000 },
	};
	pthread_t th[2];
	int rc = 0;

	for (size_t i = 0; argc >= 2 && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name)) {
			mode = modes[i].name;
			n_iter = argc >= 3 ? strtol(argv[2], NULL, 0) : modes[i].n;
		}
	if (!mode || n_iter <= 0) {
		fprintf(stderr, "usage: rrthreads counter|queue|hash|mutex|false|private|signals [N]\n");
		return 2;
	}
	if (!strcmp(mode, "signals")) {
		struct sigaction sa = { .sa_handler = on_sig, .sa_flags = SA_RESTART };
		struct itimerval it = { { 0, 5000 }, { 0, 5000 } };
		sigaction(SIGALRM, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	for (long i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, run, (void *)i)) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);

	if (!strcmp(mode, "counter")) {
		uint64_t h = FNV_BASIS;

		for (int i = 0; i < TRACE_LEN; i++)
			h = fnv(h, trace[i]);
		printf("counter %ld of %ld\n", counter, 2 * n_iter);
		printf("trace_pos %u trace_hash %016llx\n", trace_pos, (unsigned long long)h);
	} else if (!strcmp(mode, "queue")) {
		printf("items %ld sum %lu\n", n_iter, item_sum);
		printf("empty %lu spins %lu full %lu\n", empty_count, spin_sum, full_count);
		printf("order_hash %016llx\n", (unsigned long long)ev_hash);
	} else if (!strcmp(mode, "hash")) {
		printf("rounds %ld occupied %lu\n", n_iter, occupied);
		printf("table_hash %016llx\n", (unsigned long long)table_hash);
	} else if (!strcmp(mode, "mutex")) {
		printf("counter %ld\n", locked_counter);
		rc = locked_counter != 2 * n_iter;
	} else if (!strcmp(mode, "false")) {
		printf("counters %ld %ld\n", fs.c[0], fs.c[1]);
	} else if (!strcmp(mode, "signals")) {
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &off, NULL);
		signal(SIGALRM, SIG_IGN);
		printf("alarms %ld %ld usr1 %ld\n", alarm_hits[0], alarm_hits[1], usr1_hits);
		printf("sig_hash %016llx\n", (unsigned long long)sig_hash);
	} else {
		printf("private %016llx %016llx\n", (unsigned long long)priv_result[0],
		       (unsigned long long)priv_result[1]);
	}
	fflush(stdout);
	return rc;
}
