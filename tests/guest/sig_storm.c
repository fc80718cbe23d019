/* sig_storm.c: threads making system calls in a tight loop while signals from a timer and from tgkill hit them; no call or signal lost, no call doubled. Usage: sig_storm [THREADS] [MS] [lseek] (runs MS ms and until it sent 100 directed signals) (one worker per spare CPU: a worker waiting for a CPU takes few kicks; lseek: the calls are lseek(fd, 1, SEEK_CUR) on a regular file, which pdvm answers without an exit, and the file offset counts them) */
#include "guest.h"

#define MIN_SENT 100

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/time.h>

/*
 * Every iteration of a worker is one trapping system call with a side
 * effect that can be counted: an eventfd write of 1. A signal whose kick
 * lands while a call is on its way into the VMM must neither lose the call
 * nor run it twice nor leave it pending to strike later (on a PVM host the
 * call's #PF at LSTAR then went off at the handler: "instruction fetch at
 * 0xffffff80003ff000"). The eventfd total at the end must equal the sum of
 * the workers' own counts, and every handler must run with its own frame.
 */

#define MAX_WORKERS 8

static int efd;
static int seekfd = -1;                 /* lseek mode: a regular file */
static atomic_int stop;
static atomic_long got[MAX_WORKERS];    /* SIGUSR1 handled, per worker */
static __thread int self = -1;
static pid_t tids[MAX_WORKERS];
static long done[MAX_WORKERS];
static long bad_ret[MAX_WORKERS];

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)si, (void)uc;
	if (sig == SIGUSR1 && self >= 0)
		atomic_fetch_add(&got[self], 1);
}

static void *worker(void *arg)
{
	long i = (long)arg;
	uint64_t one = 1;
	self = (int)i;
	tids[i] = (pid_t)syscall(SYS_gettid);
	while (!atomic_load(&stop)) {
		/* raw syscall: glibc's write retries nothing, and an EINTR here
		 * would be a bug too (SA_RESTART, and eventfd never blocks) */
		long r = seekfd >= 0 ? syscall(SYS_lseek, seekfd, 1, SEEK_CUR) : syscall(SYS_write, efd, &one, sizeof(one));
		if (seekfd >= 0 ? r > 0 : r == (long)sizeof(one))
			done[i]++;
		else
			bad_ret[i]++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int nw = argc > 1 ? atoi(argv[1]) : 1;
	long ms = argc > 2 ? atol(argv[2]) : 1500;
	if (nw < 1 || nw > MAX_WORKERS)
		nw = 1;
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	efd = eventfd(0, EFD_CLOEXEC);
	check(efd >= 0, "eventfd");
	if (argc > 3 && !strcmp(argv[3], "lseek")) {
		seekfd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
		check(seekfd >= 0, "open /proc/self/exe");
	}

	pthread_t th[MAX_WORKERS];
	for (long i = 0; i < nw; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	while (1) {
		int ready = 1;
		for (int i = 0; i < nw; i++)
			ready &= tids[i] != 0;
		if (ready)
			break;
		sched_yield();
	}
	/* A process timer every millisecond (Go preempts every 10 ms) ... */
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	check(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer 1 ms");
	/* ... and directed signals, each one waited for before the next to the
	 * same thread (standard signals coalesce: two sent before one is taken
	 * would count once): every one must arrive. */
	long sent = 0, lost = 0;
	/* At least MS, and at least MIN_SENT directed signals however slow
	 * the host (a minute at most). */
	int64_t start = now_ns(), end = start + ms * 1000000LL, cap = start + 60000000000LL;
	while ((now_ns() < end || sent < MIN_SENT) && now_ns() < cap) {
		for (int i = 0; i < nw; i++) {
			long before = atomic_load(&got[i]);
			if (syscall(SYS_tgkill, getpid(), tids[i], SIGUSR1))
				continue;
			sent++;
			/* spin without system calls: the next kick comes sooner;
			 * in lseek mode sleep instead, leaving a CPU to pdvm's
			 * thread that answers the workers' calls */
			int64_t give_up = now_ns() + 2000000000LL;
			while (atomic_load(&got[i]) == before && now_ns() < give_up) {
				if (seekfd >= 0)
					usleep(20);
				for (int k = 0; k < 1000 && atomic_load(&got[i]) == before; k++)
					__builtin_ia32_pause();
			}
			if (atomic_load(&got[i]) == before)
				lost++;
		}
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	atomic_store(&stop, 1);
	long total = 0, bad = 0;
	for (int i = 0; i < nw; i++) {
		pthread_join(th[i], NULL);
		total += done[i];
		bad += bad_ret[i];
	}
	uint64_t count = 0;
	if (seekfd >= 0)
		count = (uint64_t)lseek(seekfd, 0, SEEK_CUR);
	else
		check(read(efd, &count, sizeof(count)) == sizeof(count), "eventfd read");
	long handled = 0;
	for (int i = 0; i < nw; i++)
		handled += atomic_load(&got[i]);
	printf("sig_storm: %d threads, %ld calls, %ld signals sent, %ld handled\n", nw, total, sent, handled);
	check(bad == 0, "no write failed (%ld did)", bad);
	check(count == (uint64_t)total, "%s total %llu == calls made %ld (none lost or doubled)", seekfd >= 0 ? "offset" : "eventfd",
	      (unsigned long long)count, total);
	check(sent >= MIN_SENT && lost == 0 && handled == sent, "every directed signal handled (%ld of %ld, %ld lost)",
	      handled, sent, lost);
	check(total > 1000, "the workers made calls under the storm (%ld)", total);
	return g_failures ? 1 : 0;
}
