/* sig_loop.c: N signals raised to self and handled (tgkill, frame set-up, handler, rt_sigreturn). Usage: sig_loop [N] */
#include "guest.h"

#include <signal.h>

static volatile long handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 10000;
	struct sigaction sa = { .sa_handler = on_usr1 };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	int64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		raise(SIGUSR1);
	int64_t el = now_ns() - t0;
	printf("sig_loop: %ld signals in %.3f ms, %.3f us/signal\n", n, el / 1e6, n ? el / 1e3 / n : 0.0);
	return handled == n ? 0 : 1;
}
