/* threads.c: pthreads under contention: mutex counter, condvar producer/consumer queue, join, TLS, gettid/getpid. */
#include "guest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#define NTHREADS 8
#define PER_THREAD 12500 /* 8 * 12500 = 100k increments */
#define QCAP 16
#define ITEMS_PER_PRODUCER 5000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static __thread long tls_value = 42;
static __thread char tls_buf[64];

struct worker {
	int index;
	pid_t tid, pid;
	long tls_seen;
	int tls_ok;
	pthread_t self;
};

static void *increment(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	w->pid = getpid();
	w->self = pthread_self();
	w->tls_ok = tls_value == 42; /* every thread starts with the initializer */
	tls_value = 1000 + w->index;
	snprintf(tls_buf, sizeof(tls_buf), "thread-%d", w->index);
	for (int i = 0; i < PER_THREAD; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		if (i % 1000 == 0)
			sched_yield();
	}
	char want[64];
	snprintf(want, sizeof(want), "thread-%d", w->index);
	w->tls_ok = w->tls_ok && tls_value == 1000 + w->index && !strcmp(tls_buf, want);
	w->tls_seen = tls_value;
	return (void *)(long)(w->index * 3);
}

/* Bounded queue: producers wait on not_full, consumers on not_empty. */
static struct {
	pthread_mutex_t m;
	pthread_cond_t not_full, not_empty;
	long items[QCAP];
	int head, count, producers_done;
	long sum, consumed;
} q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, 0, 0, 0, 0, 0 };

static void *producer(void *arg)
{
	long base = (long)arg * 1000000;

	for (long i = 1; i <= ITEMS_PER_PRODUCER; i++) {
		pthread_mutex_lock(&q.m);
		while (q.count == QCAP)
			pthread_cond_wait(&q.not_full, &q.m);
		q.items[(q.head + q.count) % QCAP] = base + i;
		q.count++;
		pthread_cond_signal(&q.not_empty);
		pthread_mutex_unlock(&q.m);
	}
	pthread_mutex_lock(&q.m);
	q.producers_done++;
	pthread_cond_broadcast(&q.not_empty);
	pthread_mutex_unlock(&q.m);
	return NULL;
}

static void *consumer(void *arg)
{
	int nprod = (int)(long)arg;

	pthread_mutex_lock(&q.m);
	for (;;) {
		while (q.count == 0 && q.producers_done < nprod)
			pthread_cond_wait(&q.not_empty, &q.m);
		if (q.count == 0)
			break;
		q.sum += q.items[q.head];
		q.head = (q.head + 1) % QCAP;
		q.count--;
		q.consumed++;
		pthread_cond_signal(&q.not_full);
	}
	pthread_mutex_unlock(&q.m);
	return NULL;
}

static atomic_int spin_started;

static void *spinner(void *arg)
{
	(void)arg;
	atomic_fetch_add(&spin_started, 1);
	return (void *)0x5151;
}

int main(void)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	pid_t main_tid = (pid_t)syscall(SYS_gettid);

	setvbuf(stdout, NULL, _IOLBF, 0);
	check(main_tid == getpid(), "main thread tid == pid");

	/* 1. mutex-protected counter */
	int64_t t0 = now_ns();
	int created = 0;
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .index = i };
		if (pthread_create(&t[i], NULL, increment, &w[i]) == 0)
			created++;
	}
	check(created == NTHREADS, "created %d threads", created);
	int joined_ok = 1;
	for (int i = 0; i < created; i++) {
		void *ret;
		if (pthread_join(t[i], &ret) || ret != (void *)(long)(i * 3))
			joined_ok = 0;
	}
	check(joined_ok, "pthread_join returns each thread's value");
	check(counter == (long)NTHREADS * PER_THREAD, "counter == %d (got %ld)", NTHREADS * PER_THREAD, counter);
	printf("# mutex phase: %.1f ms\n", (now_ns() - t0) / 1e6);

	int tls_ok = 1, pid_ok = 1, tid_unique = 1;
	for (int i = 0; i < NTHREADS; i++) {
		tls_ok &= w[i].tls_ok && w[i].tls_seen == 1000 + i;
		pid_ok &= w[i].pid == getpid();
		tid_unique &= w[i].tid > 0 && w[i].tid != main_tid;
		for (int j = 0; j < i; j++)
			tid_unique &= w[i].tid != w[j].tid && !pthread_equal(w[i].self, w[j].self);
	}
	check(tls_ok, "thread-local storage is per thread");
	check(tls_value == 42 && tls_buf[0] == 0, "main thread's TLS untouched");
	check(pid_ok, "getpid is the same in every thread");
	check(tid_unique, "gettid differs per thread");

	/* 2. condvar producer/consumer: 4 producers, 4 consumers, queue of 16 */
	t0 = now_ns();
	pthread_t p[4], c[4];
	for (long i = 0; i < 4; i++) {
		pthread_create(&c[i], NULL, consumer, (void *)4L);
		pthread_create(&p[i], NULL, producer, (void *)i);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(p[i], NULL);
		pthread_join(c[i], NULL);
	}
	long want_sum = 0;
	for (long i = 0; i < 4; i++)
		want_sum += i * 1000000 * ITEMS_PER_PRODUCER + (long)ITEMS_PER_PRODUCER * (ITEMS_PER_PRODUCER + 1) / 2;
	check(q.consumed == 4L * ITEMS_PER_PRODUCER, "consumed %ld items", q.consumed);
	check(q.sum == want_sum, "queue checksum %ld == %ld", q.sum, want_sum);
	printf("# condvar phase: %.1f ms\n", (now_ns() - t0) / 1e6);

	/* 3. many short-lived threads: join must not hang (CLONE_CHILD_CLEARTID wake) */
	int short_ok = 1;
	for (int round = 0; round < 50; round++) {
		pthread_t s;
		void *ret = NULL;
		if (pthread_create(&s, NULL, spinner, NULL) || pthread_join(s, &ret) || ret != (void *)0x5151)
			short_ok = 0;
	}
	check(short_ok && atomic_load(&spin_started) == 50, "50 create/join cycles");

	/* 4. detached threads and a trylock */
	check(pthread_mutex_trylock(&lock) == 0, "trylock free mutex");
	check(pthread_mutex_trylock(&lock) == EBUSY, "trylock held mutex is EBUSY");
	pthread_mutex_unlock(&lock);

	return done_testing();
}
