/* mmstorm.c: threads map, fill, check, protect and unmap memory in a loop while the others do the same: every page reads back what its thread wrote, a page made read-only faults on a write, and an unmapped page faults on a read at once in the calling thread (its TLB flushed before the call returns, however the call was answered). Usage: mmstorm [THREADS] [ROUNDS] */
#include "guest.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define MAX_THREADS 8
#define LEN (64 * 1024)
#define AREA 0x200000000000UL
#define AREA_STEP 0x40000000UL

static __thread sigjmp_buf fault_jmp;
static __thread volatile int probing;
static atomic_long bad, faults_missed;
static int rounds = 2000;

static void on_segv(int sig)
{
	(void)sig;
	if (probing)
		siglongjmp(fault_jmp, 1);
	_exit(3);
}

/* Whether touching p faults (a read, or a write if write). */
static int faults(volatile unsigned char *p, int write)
{
	probing = 1;
	if (sigsetjmp(fault_jmp, 1)) {
		probing = 0;
		return 1;
	}
	if (write)
		*p = 1;
	else
		(void)*p;
	probing = 0;
	return 0;
}

static void *worker(void *arg)
{
	uintptr_t tag = (uintptr_t)arg;
	for (int r = 0; r < rounds; r++) {
		/* Each thread in an area of its own, far below where mmap places
		 * what it chooses: no other thread maps its freed range again. */
		unsigned char *want = (unsigned char *)(AREA + (uintptr_t)tag * AREA_STEP + (uintptr_t)(r % 64) * LEN);
		unsigned char *p = mmap(want, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
					-1, 0);
		if (p != want) {
			atomic_fetch_add(&bad, 1);
			continue;
		}
		for (int i = 0; i < LEN; i += 4096)
			p[i] = (unsigned char)(tag * 40 + r + i / 4096);
		for (int i = 0; i < LEN; i += 4096)
			if (p[i] != (unsigned char)(tag * 40 + r + i / 4096))
				atomic_fetch_add(&bad, 1);
		if (mprotect(p, LEN, PROT_READ) || !faults(p + 4096, 1))
			atomic_fetch_add(&faults_missed, 1);
		if (munmap(p, LEN) || !faults(p, 0) || !faults(p + LEN - 4096, 0))
			atomic_fetch_add(&faults_missed, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 2;
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (nt < 1 || nt > MAX_THREADS)
		nt = 2;
	struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	pthread_t th[MAX_THREADS];
	for (long i = 0; i < nt; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	check(atomic_load(&bad) == 0, "every page read back what its thread wrote (%ld did not)", atomic_load(&bad));
	check(atomic_load(&faults_missed) == 0, "read-only and unmapped pages fault at once (%ld did not)",
	      atomic_load(&faults_missed));
	return done_testing();
}
