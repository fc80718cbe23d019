/* ctl_exec.h: the control socket's exec sessions — a process started in the domain for a caller outside, who holds its stdio, signals it and hears its end. */
#ifndef PDVM_CTL_EXEC_H
#define PDVM_CTL_EXEC_H

#include <pthread.h>
#include <stddef.h>

struct domain;
struct json_object;

/* The sessions of one control socket: each has a thread of its own. */
struct ctl_execs {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n;                  /* live sessions */
};

void ctl_execs_init(struct ctl_execs *s);
/* Returns once every session has ended (the domain's end ends them). */
void ctl_execs_wait(struct ctl_execs *s);
/* 0 if req is a well-formed exec request, else -1 with why in err. */
int ctl_exec_check(struct json_object *req, char *err, size_t errlen);
/* Starts a session for req (taken) on connection fd (taken: the session
 * answers on it and closes it). 0, or -errno (both untouched). */
int ctl_exec_start(struct ctl_execs *s, struct domain *d, struct json_object *req, int fd);

#endif
