/* prctlstate.c: sets the per-thread and per-process prctl and scheduling state (name, parent-death signal, dumpable, no_new_privs, personality, nice, policy), then prints it N times at a steady pace: a checkpoint in between must not change a line. */
#include "guest.h"

#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* Usage: prctlstate N PERIOD_MS */
int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long n = atol(argv[1]), period = atol(argv[2]);
	int nice0 = getpriority(PRIO_PROCESS, 0);
	if (prctl(PR_SET_NAME, "kept-name") || prctl(PR_SET_PDEATHSIG, 10) || prctl(PR_SET_DUMPABLE, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || personality(ADDR_NO_RANDOMIZE) < 0 ||
	    setpriority(PRIO_PROCESS, 0, nice0 + 3) ||
	    sched_setscheduler(0, SCHED_BATCH, &(struct sched_param){ 0 })) {
		perror("prctl");
		return 1;
	}
	for (long i = 1; i <= n; i++) {
		char name[17] = "";
		int sig = -1;
		prctl(PR_GET_NAME, name);
		prctl(PR_GET_PDEATHSIG, &sig);
		printf("%ld name=%s pdeathsig=%d dumpable=%d no_new_privs=%d personality=%#x nice+%d policy=%d\n", i,
		       name, sig, prctl(PR_GET_DUMPABLE), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
		       personality(0xffffffff), getpriority(PRIO_PROCESS, 0) - nice0, sched_getscheduler(0));
		fflush(stdout);
		struct timespec ts = { period / 1000, (period % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}
