/* exlscribble.c: threads scribble on every exitless slot of their process (pdvm maps vCPU i's at 0xffffff8040001000 + i * 0x2000; natively those addresses fault and the writes are skipped) while other threads make system calls; pdvm must neither crash nor hang, and the program ends by itself. Usage: exlscribble [MS] */
#include "guest.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#define EXL_SLOT(i) (0xffffff8040001000UL + (unsigned long)(i) * 0x2000)

static atomic_int stop;
static __thread sigjmp_buf fault_jmp;
static __thread volatile int in_probe;

static void on_segv(int sig)
{
	(void)sig;
	if (in_probe)
		siglongjmp(fault_jmp, 1);
	_exit(3);
}

/* Only calls that do nothing whatever their arguments: a slot's number is
 * what its thread runs when sent to the exit. fd 1000+ is never open. */
static const long safe_nr[] = { SYS_getpid, SYS_gettid, SYS_getppid, SYS_read, SYS_write, SYS_lseek,
				SYS_pread64, SYS_fstat, 1000, -1 };

static void *scribbler(void *arg)
{
	volatile unsigned long x = (unsigned long)arg * 2654435761UL + 1;
	while (!atomic_load(&stop)) {
		for (int i = 0; i < 16; i++) {
			volatile unsigned long *s = (volatile unsigned long *)EXL_SLOT(i);
			in_probe = 1;
			if (sigsetjmp(fault_jmp, 1) == 0) {
				x = x * 6364136223846793005UL + 1442695040888963407UL;
				unsigned long nr = (unsigned long)safe_nr[(x >> 33) % (sizeof(safe_nr) / sizeof(safe_nr[0]))];
				s[1] = nr;                              /* the number */
				s[2] = 1000 + (x >> 40) % 100;          /* fd: none */
				s[3] = x;                               /* buffer: anything */
				s[4] = x >> 7;                          /* length */
				s[10] = x ^ 0x5555;                     /* the result */
				((volatile unsigned int *)s)[1] = (unsigned int)(x >> 50);   /* the spin */
				((volatile unsigned int *)s)[0] = (unsigned int)((x >> 20) % 6); /* the state */
			}
			in_probe = 0;
		}
	}
	return NULL;
}

static void *caller(void *arg)
{
	(void)arg;
	long n = 0;
	while (!atomic_load(&stop)) {
		syscall(SYS_getpid);
		n++;
	}
	return (void *)n;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 1000;
	struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	pthread_t s[2], c[2];
	for (long i = 0; i < 2; i++) {
		pthread_create(&s[i], NULL, scribbler, (void *)i);
		pthread_create(&c[i], NULL, caller, NULL);
	}
	int64_t end = now_ns() + ms * 1000000LL;
	while (now_ns() < end)
		usleep(10000);
	atomic_store(&stop, 1);
	long calls = 0;
	for (int i = 0; i < 2; i++) {
		void *r;
		pthread_join(s[i], NULL);
		pthread_join(c[i], &r);
		calls += (long)r;
	}
	printf("exlscribble: done, %ld calls beside the scribbling\n", calls);
	return 0;
}
