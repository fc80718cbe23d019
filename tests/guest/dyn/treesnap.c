/* treesnap.c: a process tree to snapshot mid-run — a zombie child, a child blocked in a pipe read with a blocked pending signal and an armed interval timer — whose output must match native after a restore. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char events[64];

static void note(int sig)
{
	const char *s = sig == SIGUSR1 ? "USR1 " : sig == SIGALRM ? "ALRM " : "? ";
	strncat(events, s, sizeof(events) - strlen(events) - 1);
}

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 20;
	int p[2], ready[2];
	setvbuf(stdout, NULL, _IONBF, 0);
	if (pipe(p) || pipe(ready))
		return 1;
	pid_t a = fork();
	if (a == 0)
		_exit(7); /* a zombie until the parent waits, after the snapshot */
	pid_t b = fork();
	if (b == 0) {
		struct sigaction sa = { .sa_handler = note, .sa_flags = SA_RESTART };
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGALRM, &sa, NULL);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, SIGUSR1);
		sigprocmask(SIG_BLOCK, &m, NULL);
		struct itimerval it = { { 0, 0 }, { 1, 500000 } };
		setitimer(ITIMER_REAL, &it, NULL);
		write(ready[1], "r", 1);
		char buf[8];
		ssize_t n = read(p[0], buf, sizeof(buf)); /* ALRM interrupts it; SA_RESTART resumes */
		sigprocmask(SIG_UNBLOCK, &m, NULL); /* the pending USR1 runs now */
		printf("child: read %zd bytes, signals: %s\n", n, events);
		_exit(3);
	}
	close(p[0]);
	char c;
	if (read(ready[0], &c, 1) != 1)
		return 1;
	kill(b, SIGUSR1); /* pending and blocked in the child */
	for (int i = 0; i < ticks; i++) {
		printf("tick %d\n", i);
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
	}
	write(p[1], "go", 2);
	/* The reader first: its own line comes before it exits, so the
	 * order of the output does not depend on scheduling. */
	int st = 0, ok = waitpid(b, &st, 0) == b;
	printf("reader child: reaped %d, exit %d\n", ok, WEXITSTATUS(st));
	ok = waitpid(a, &st, 0) == a;
	printf("zombie child: reaped %d, exit %d\n", ok, WEXITSTATUS(st));
	return 0;
}
