/* rrsignals.c: signals whose moment is outside input — an interval timer interrupting blocking reads and a sleep (its time left), handlers counting while the program makes calls, SIGHUP from the host ending a pause(), SIGTERM taken by sigtimedwait (pdvm forwards those) — so the output differs run to run, and a replay must print the recording's. */
#include "guest.h"

#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_hup(int sig)
{
	(void)sig;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };   /* no SA_RESTART: reads end with EINTR */
	int p[2], eintr = 0, calls = 0;
	char c;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (sigaction(SIGALRM, &sa, NULL) || pipe(p))
		return 10;
	struct itimerval it = { { 0, 3000 }, { 0, 3000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	while (eintr < 4)
		if (read(p[0], &c, 1) < 0 && errno == EINTR)
			eintr++;
	struct timespec nap = { 1, 0 }, rem = { 0, 0 };
	int r = nanosleep(&nap, &rem);
	printf("reads interrupted %d, alarms %d; sleep %d, %ld ms left\n", eintr, (int)alarms, r, rem.tv_nsec / 1000000);
	/* Where the alarms land among calls. */
	int seen = alarms;
	while (alarms < seen + 5) {
		getppid();
		calls++;
	}
	printf("five more alarms in %d calls\n", calls);
	it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	/* An alarm still on its way (a loaded host) must not end the pause
	 * meant for SIGHUP: ignoring SIGALRM discards it. */
	signal(SIGALRM, SIG_IGN);

	/* From the host: SIGHUP ends a pause(); SIGTERM, blocked, is taken by sigtimedwait. */
	struct sigaction su = { .sa_handler = on_hup };
	sigaction(SIGHUP, &su, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("waiting for SIGHUP\n");
	r = pause();
	printf("pause %d %s\n", r, strerror(errno));
	printf("waiting for SIGTERM\n");
	siginfo_t si;
	r = sigwaitinfo(&set, &si);
	printf("sigwaitinfo %d code %d\n", r, si.si_code);
	return 4;
}
