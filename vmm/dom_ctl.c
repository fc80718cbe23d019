/* dom_ctl.c: pausing, resuming, killing and inspecting a running domain. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "status.h"
#include "clock.h"
#include "domain.h"

const char *dom_state_name(enum dom_state s)
{
	switch (s) {
	case DOM_RUNNING: return "running";
	case DOM_PAUSED: return "paused";
	default: return "exiting";
	}
}

void dom_get_info(struct domain *d, struct dom_info *out)
{
	memset(out, 0, sizeof(*out));
	dom_lock(d);
	snprintf(out->name, sizeof(out->name), "%s", d->spec->name);
	out->pid = d->host_pid;
	out->state = d->exiting ? DOM_EXITING : d->paused ? DOM_PAUSED : DOM_RUNNING;
	uint64_t used = 0;
	for (uint64_t i = 0; i < (d->frames.nframes + 63) / 64; i++)
		used += (uint64_t)__builtin_popcountll(d->frames.used[i]);
	out->mem_bytes = used * PAGE_SIZE;
	out->mem_limit = d->spec->memory;
	out->uptime_ns = host_mono_ns() - d->start_ns;
	out->nthreads = d->nthreads;
	dom_unlock(d);
}

/* With the lock held: kicks every thread not yet parked until all are.
 * Threads blocked in host calls may miss one kick (it can land just
 * before the call), so kick again every few milliseconds. */
static int wait_parked(struct domain *d)
{
	int sig = thread_kick_signal();
	while (d->nparked < d->nthreads && !d->exiting) {
		/* Futex waiters sleep on condition variables, not in host calls. */
		for (struct futex_waiter *w = d->futex_waiters; w; w = w->next)
			pthread_cond_broadcast(&w->cv);
		for (int i = 0; i < MAX_THREADS; i++) {
			struct thread *o = d->threads[i];
			if (o && !o->parked)
				pthread_kill(o->host, sig);
		}
		struct timespec ts = mono_timespec(host_mono_ns() + 5 * 1000 * 1000);
		pthread_cond_timedwait(&d->parked_cv, &d->lock, &ts);
	}
	return d->exiting ? -ESRCH : 0;
}

int dom_pause_locked(struct domain *d)
{
	/* The control socket opens just before the threads start: a thread
	 * without its host thread could be neither kicked nor parked. */
	while (!d->started && !d->exiting)
		pthread_cond_wait(&d->parked_cv, &d->lock);
	if (d->exiting)
		return -ESRCH;
	d->paused++;
	int r = wait_parked(d);
	if (r) {
		d->paused--;
		pthread_cond_broadcast(&d->park_cv);
	}
	return r;
}

void dom_resume_locked(struct domain *d)
{
	if (d->paused > 0 && --d->paused == 0)
		pthread_cond_broadcast(&d->park_cv);
}

/* The user's pause is one level of the nesting that snapshots use too. */
int dom_pause(struct domain *d)
{
	dom_lock(d);
	int r = d->user_paused ? -EALREADY : dom_pause_locked(d);
	if (!r) {
		d->user_paused = true;
		dom_log(d, "paused");
	}
	dom_unlock(d);
	return r;
}

int dom_resume(struct domain *d)
{
	dom_lock(d);
	int r = d->exiting ? -ESRCH : d->user_paused ? 0 : -EALREADY;
	if (!r) {
		d->user_paused = false;
		dom_resume_locked(d);
		dom_log(d, "resumed");
	}
	dom_unlock(d);
	return r;
}

void dom_kill(struct domain *d)
{
	dom_lock(d);
	dom_log(d, "killed by the control socket");
	dom_exit_group(d, EXIT_KILLED);
	pthread_cond_broadcast(&d->park_cv);
	dom_unlock(d);
}
