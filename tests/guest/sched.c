/* sched.c: the scheduling calls an unprivileged program sees — nice values (relative to where it starts), policies and their priority ranges, errors — printed so that a native run and a domain's can be compared line by line. */
#include "guest.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif

/* The call's result, or -errno by name. */
/* The raw getpriority: 20 - nice, as the kernel returns it. */
static long raw_prio(int which, int who)
{
	return syscall(SYS_getpriority, which, who);
}

int main(void)
{
	long p0 = raw_prio(PRIO_PROCESS, 0);
	int n0 = 20 - (int)p0;
	show("setpriority +5", setpriority(PRIO_PROCESS, 0, n0 + 5));
	show("nice after +5, relative", 20 - raw_prio(PRIO_PROCESS, 0) - n0);
	show("setpriority back (lower without RLIMIT_NICE)", setpriority(PRIO_PROCESS, 0, n0));
	show("setpriority bad which", setpriority(7, 0, n0 + 5));
	show("getpriority bad which", raw_prio(-1, 0));
	show("getpriority no such pid", raw_prio(PRIO_PROCESS, 0x3ffffff0));
	show("getpriority own group succeeds", raw_prio(PRIO_PGRP, 0) > 0);
	show("getpriority own user succeeds", raw_prio(PRIO_USER, 0) > 0);
	show("setpriority clamps to 19", setpriority(PRIO_PROCESS, 0, 100));
	show("nice after clamp", 20 - raw_prio(PRIO_PROCESS, 0));
	pid_t c = fork();
	if (c == 0)
		_exit((int)(20 - raw_prio(PRIO_PROCESS, 0)));
	int st = 0;
	waitpid(c, &st, 0);
	show("child inherits nice", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	static const int pol[] = { SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, 6, 42, -1 };
	for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
		char w[64];
		snprintf(w, sizeof(w), "priority range of %d: max", pol[i]);
		show(w, sched_get_priority_max(pol[i]));
		snprintf(w, sizeof(w), "priority range of %d: min", pol[i]);
		show(w, sched_get_priority_min(pol[i]));
	}
	struct sched_param sp = { .sched_priority = 0 };
	show("getscheduler", sched_getscheduler(0));
	show("getscheduler -1", sched_getscheduler(-1));
	show("getscheduler no such pid", sched_getscheduler(0x3ffffff0));
	sp.sched_priority = 10;
	show("setscheduler FIFO 10", sched_setscheduler(0, SCHED_FIFO, &sp));
	show("setscheduler FIFO 0", sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ 0 }));
	show("setscheduler OTHER 1", sched_setscheduler(0, SCHED_OTHER, &sp));
	show("setscheduler bad policy", sched_setscheduler(0, 42, &(struct sched_param){ 0 }));
	show("setscheduler NULL param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL));
	show("setscheduler BATCH", sched_setscheduler(0, SCHED_BATCH, &(struct sched_param){ 0 }));
	show("getscheduler", sched_getscheduler(0));
	show("getparam", sched_getparam(0, &sp) ? -1 : sp.sched_priority);
	show("setparam 0", sched_setparam(0, &(struct sched_param){ 0 }));
	show("setparam 5", sched_setparam(0, &(struct sched_param){ 5 }));
	show("getparam -1", sched_getparam(-1, &sp));
	show("setscheduler IDLE", sched_setscheduler(0, SCHED_IDLE, &(struct sched_param){ 0 }));
	show("back to OTHER from IDLE", sched_setscheduler(0, SCHED_OTHER, &(struct sched_param){ 0 }));
	show("getscheduler", sched_getscheduler(0));
	struct timespec ts;
	show("rr_get_interval", sched_rr_get_interval(0, &ts));
	show("rr_get_interval -1", sched_rr_get_interval(-1, &ts));
	return 0;
}
