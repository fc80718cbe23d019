/* domain.c: a domain's lifetime — set-up, the domain lock, logging, exit. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "crew.h"
#include "status.h"
#include "domain.h"
#include "spawn.h"
#include "exec_script.h"
#include "vdso.h"
#include "procfs.h"
#include "process.h"
#include "fault.h"
#include "files.h"
#include "loader.h"
#include "posixlock.h"
#include "syscall.h"
#include "trap.h"
#include "vfilter.h"


void dom_lock(struct domain *d)
{
	pthread_mutex_lock(&d->lock);
}

void dom_unlock(struct domain *d)
{
	pthread_mutex_unlock(&d->lock);
}

void dom_block_begin(struct thread *t)
{
	/* The exitless server must never wait for the guest (exl_fast_call
	 * keeps such calls off its list): a bug, said where it shows. */
	if (exl_serving())
		dom_log(t->dom, "BUG: the exitless server blocked in a call of thread %d", t->tid);
	t->blocked = true;
	dom_unlock(t->dom);
}

bool dom_block_end(struct thread *t)
{
	dom_lock(t->dom);
	t->blocked = false;
	return !t->dom->exiting && !t->proc->exiting && !t->exited && !t->dom->paused && !sig_deliverable(t);
}

void dom_log(struct domain *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->log) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		char when[32];
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(d->log, "%s.%03ldZ %s\n", when, ts.tv_nsec / 1000000, msg);
		fflush(d->log);
	}
	if (d->verbose)
		fprintf(stderr, "pdvm: %s: %s\n", d->spec->name, msg);
}

void dom_exit_group(struct domain *d, int status)
{
	if (d->exiting)
		return;
	d->exiting = true;
	d->exit_status = status;
	for (struct futex_waiter *w = d->futex_waiters; w; w = w->next)
		pthread_cond_broadcast(&w->cv);
	pthread_cond_broadcast(&d->park_cv);
	pthread_cond_broadcast(&d->parked_cv);
	int sig = thread_kick_signal();
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];
		if (o && (o->state == VCPU_RUNNING || o->blocked))
			pthread_kill(o->host, sig);
	}
}

static void open_log(struct domain *d, const struct domain_spec *c)
{
	if (!c->log || !*c->log)
		return;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", c->log);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755); /* /var/log/pdvm on first use */
	}
	int fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd >= 0)
		d->log = fdopen(fd, "a");
	if (!d->log && c->verbose)
		fprintf(stderr, "pdvm: %s: cannot open log %s: %s\n", c->name, c->log, strerror(errno));
}

/* The VM, memory, kernel area, files and first vCPU, and the trap backend
 * probe: everything a domain needs before it has a program. Returns 0 or
 * an exit status for pdvm, having printed why. */
int dom_boot(struct domain *d, struct thread **first)
{
	const struct domain_spec *c = d->spec;
	char err[512] = "";
	int r;
	if ((r = mm_init(d, c->memory))) {
		fprintf(stderr, "pdvm: %s: guest memory (%llu MiB): %s\n", c->name,
			(unsigned long long)(c->memory >> 20), strerror(-r));
		return EXIT_PDVM_ERROR;
	}
	if ((r = kvm_vm_create(&d->vm, d->frames.host, d->frames.size, err, sizeof(err)))) {
		fprintf(stderr, "pdvm: %s: %s\n", c->name, err);
		return EXIT_PDVM_ERROR;
	}
	if (c->deterministic)
		kvm_cpuid_hide_random(&d->vm);  /* recorded: no instruction answers with randomness */
	if ((r = trap_kernel_init(d))) {
		fprintf(stderr, "pdvm: %s: guest kernel area: %s\n", c->name, strerror(-r));
		return EXIT_PDVM_ERROR;
	}
	if ((r = files_init(d, c, err, sizeof(err)))) {
		fprintf(stderr, "pdvm: %s: %s\n", c->name, err);
		return EXIT_PDVM_ERROR;
	}
	struct thread *t = thread_create(d, &r);
	if (!t) {
		fprintf(stderr, "pdvm: %s: KVM_CREATE_VCPU: %s\n", c->name, strerror(-r));
		return EXIT_PDVM_ERROR;
	}
	t->tid = d->pid;
	*first = t;
	if ((r = trap_vcpu_init(d, t)) || !(d->trap = trap_probe(d, t, err, sizeof(err))) ||
	    (r = trap_vcpu_init(d, t))) {
		fprintf(stderr, "pdvm: %s: vCPU set-up: %s\n", c->name, *err ? err : strerror(-r));
		return EXIT_PDVM_ERROR;
	}
	dom_log(d, "trap backend: %s", d->trap->name);
	if (c->deterministic && c->rr_tsc == RR_TSC_MUST && !d->trap->tsd) {
		fprintf(stderr, "pdvm: %s: the recording trapped the program's rdtsc (ring-0 backend); this host's "
			"backend, %s, runs rdtsc natively: replay it where the ring-0 backend runs\n", c->name,
			d->trap->name);
		return EXIT_PDVM_ERROR;
	}
	if (d->cred.as_root)
		dom_log(d, "identity: root, as the operator asked (unsafe: host calls for the guest carry "
			"every capability)");
	else
		dom_log(d, "identity: uid %u gid %u, no capabilities", d->cred.uid, d->cred.gid);
	if (c->trap_backend && strcmp(c->trap_backend, d->trap->name)) {
		fprintf(stderr, "pdvm: %s: trap backend %s cannot work here: this host is %s; "
			"use --trap-backend %s or auto\n", c->name, c->trap_backend,
			d->trap->host, d->trap->name);
		return EXIT_PDVM_ERROR;
	}
	dom_log(d, "syscall path: %s", d->exl.on ? "exitless (answered in the guest where they can be)" : "exit");
	return 0;
}

/* pdvm info: the host kind, by the probe a domain's boot runs. 0 when
 * domains can run here, 1 when this host has no /dev/kvm, else 125. */
int dom_host_info(void)
{
	struct domain_spec c = { .name = "pdvm-info", .memory = 32ULL << 20 };
	struct stat st;
	int sr = stat("/dev/kvm", &st);
	if ((sr && errno == ENOENT) || (!sr && !S_ISCHR(st.st_mode))) {
		printf("host:          no /dev/kvm: domains cannot run here (tests/nested/vm-run runs pdvm in a VM "
		       "that has one)\n");
		printf("trap backend:  none\n");
		return 1;
	}
	struct domain *d = dom_new(&c);
	struct thread *t = NULL;
	if (!d)
		return EXIT_PDVM_ERROR;
	dom_lock(d);
	int r = dom_boot(d, &t);
	if (!r) {
		bool stable = kvm_tsc_stable(&d->vm);
		int api = ioctl(d->vm.kvm, KVM_GET_API_VERSION, 0);
		printf("host:          %s\n", d->trap->host);
		printf("trap backend:  %s\n", d->trap->name);
		printf("syscall path:  %s\n", d->exl.on ? "exitless (calls that cannot block are answered by a "
		       "VMM thread without a VM exit; --syscall-path exit turns it off)" : "exit (every call is a VM exit)");
		/* What the vCPU really has, read back. */
		struct kvm_sregs s;
		uint64_t p = ioctl(t->vcpu.fd, KVM_GET_SREGS, &s) == 0 ? s.cr4 : 0;
		if (d->trap->idt)
			printf("ring 0:        the trap stub only%s%s\n", p & CR4_SMEP ? ", SMEP" : "",
			       p & CR4_SMAP ? ", SMAP" : "");
		printf("KVM API:       %d\n", api);
		printf("guest XCR0:    %#llx (the XSAVE features a program runs with)\n",
		       (unsigned long long)d->guest_xcr0);
		printf("guest TSC:     %s\n", stable ? "stable (the vDSO serves time without a trap)"
			: "not reported stable (the vDSO makes system calls; PDVM_VDSO=force overrides)");
	}
	dom_unlock(d);
	dom_free(d);
	return r ? r : 0;
}

/* Loads the program into a booted domain. */
static int dom_exec(struct domain *d, struct thread *t)
{
	const struct domain_spec *c = d->spec;
	char err[768] = "", *path = NULL;
	int r = exec_load_first(d, t, c->program, c->argv, c->envp, &path, err, sizeof(err));
	if (r) {
		fprintf(stderr, "pdvm: %s: %s\n", c->name, err);
		free(path);
		/* As a shell: 127 not found, 126 cannot run; pdvm's own failures 125. */
		return r == -ENOENT || r == -ENOTDIR ? EXIT_NOT_FOUND :
		       r == -EIO || r == -ENOMEM || r == -E2BIG || r == -EFAULT || r == -EINVAL ? EXIT_PDVM_ERROR
												: EXIT_CANNOT_EXEC;
	}
	dom_log(d, "started %s (pid %d, memory %llu MiB)", path, d->pid,
		(unsigned long long)(c->memory >> 20));
	free(path);
	t->regs_dirty = true;
	mm_commit(d);
	vdso_calibrate(d);
	return 0;
}

struct domain *dom_new(const struct domain_spec *c)
{
	struct domain *d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, "pdvm: out of memory\n");
		return NULL;
	}
	ptyjob_init(d);
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->done_cv, &ca);
	pthread_cond_init(&d->park_cv, &ca);
	pthread_cond_init(&d->parked_cv, &ca);
	pthread_condattr_destroy(&ca);
	d->spec = c;
	d->cred = c->cred;
	d->cred.map_root = c->map_root;
	if (c->hostname)
		snprintf(d->hostname, sizeof(d->hostname), "%s", c->hostname);
	d->pids_max = c->pids_max;
	if (c->gfilter && !(d->gfilter = gfilter_dup(c->gfilter))) {
		fprintf(stderr, "pdvm: out of memory\n");
		free(d);
		return NULL;
	}
	d->abstract_host = c->abstract_host;
	d->verbose = c->verbose;
	/* Guest pids are pdvm's own numbering: the host's pid for the first
	 * process by default (what `pdvm list` shows), or 1 as a pid
	 * namespace's init (a container's), with init's signal rules. */
	d->host_pid = getpid();
	d->pid = c->pid_ns ? 1 : c->first_pid > 0 ? c->first_pid : d->host_pid;
	d->next_tid = d->pid + 1;
	d->start_ns = host_mono_ns();
	d->vm.fd = d->vm.kvm = -1;
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled per call, as the guest's SIGPIPE */
	thread_install_kick();
	sig_block_host(); /* before any thread exists: only the signal thread takes them */
	syscall_init();
	open_log(d, c);
	char why[200];
	if (vfilter_init(d->log ? fileno(d->log) : -1, why, sizeof(why))) {
		fprintf(stderr, "pdvm: %s: %s\n", c->name, why);
		return NULL;
	}
	return d;
}

void dom_free(struct domain *d)
{
	pcache_free(d);
	exl_free(d);
	gfilter_free(d->gfilter);
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *t = d->threads[i];
		if (t) {
			kvm_vcpu_destroy(&t->vcpu);
			free(t);
		}
	}
	for (int i = 0; i < d->npool; i++)
		kvm_vcpu_destroy(&d->vcpu_pool[i]);
	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *p = d->procs[i];
		if (!p)
			continue;
		procfs_cleanup_dir(p->procfs_dir, true);
		files_put(d, p->files);
		p->files = NULL;
	}
	plock_table_free(d);
	kvm_vm_destroy(&d->vm);
	crew_destroy(d);
	mm_destroy(d);
	for (int i = 0; i < MAX_PROCS; i++)
		if (d->procs[i])
			proc_free(d, d->procs[i]);
	if (d->log)
		fclose(d->log);
	pthread_cond_destroy(&d->done_cv);
	pthread_cond_destroy(&d->park_cv);
	pthread_cond_destroy(&d->parked_cv);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int dom_start_wait(struct domain *d, int status, const struct domain_hooks *h)
{
	const struct domain_spec *c = d->spec;
	bool clean = true;
	/* Set-up is over: from here on pdvm's own threads need no exec,
	 * setns or set*id either (test hook: PDVM_FAULT=seccomp-main). */
	char why[200];
	if (status == 0 && c->filter_all && vfilter_process(&d->cred, why, sizeof(why))) {
		fprintf(stderr, "pdvm: %s: %s\n", c->name, why);
		status = EXIT_PDVM_ERROR;
	}
	const char *fault = getenv("PDVM_FAULT");
	if (status == 0 && c->filter_all && fault && !strcmp(fault, "seccomp-main"))
		syscall(SYS_setns, -1, 0);
	dom_lock(d);
	if (status == 0 && h && h->start) {
		dom_unlock(d);
		status = h->start(d, h->arg);
		dom_lock(d);
	}
	if (status == 0) {
		/* Threads not yet started: the first one, or all of a restore. */
		struct thread *todo[MAX_THREADS];
		int n = 0;
		for (int i = 0; i < MAX_THREADS; i++)
			if (d->threads[i])
				todo[n++] = d->threads[i];
		int sr = sig_thread_start(d), er = sr ? 0 : exl_start(d);
		if (er) {
			fprintf(stderr, "pdvm: %s: exitless server thread: %s\n", c->name, strerror(-er));
			dom_exit_group(d, EXIT_PDVM_ERROR);
			n = 0;
		} else if (sr) {
			fprintf(stderr, "pdvm: %s: signal thread: %s\n", c->name, strerror(-sr));
			dom_exit_group(d, EXIT_PDVM_ERROR);
			n = 0;
		}
		for (int i = 0; i < n; i++) {
			int r = thread_start(todo[i]);
			if (r) {
				fprintf(stderr, "pdvm: %s: pthread_create: %s\n", c->name, strerror(-r));
				dom_exit_group(d, EXIT_PDVM_ERROR);
				/* Never-started threads are freed by the caller. */
				for (int j = i; j < n; j++)
					for (int k = 0; k < MAX_THREADS; k++)
						if (d->threads[k] == todo[j]) {
							d->threads[k] = NULL;
							d->nthreads--;
							kvm_vcpu_destroy(&todo[j]->vcpu);
							free(todo[j]);
						}
				break;
			}
		}
		d->started = true;
		pthread_cond_broadcast(&d->parked_cv);
		while (d->nthreads > 0) {
			if (!d->exiting) {
				pthread_cond_wait(&d->done_cv, &d->lock);
				continue;
			}
			/* Threads stuck in a host call that missed the kick
			 * do not hold up the exit for long. */
			struct timespec ts = mono_timespec(host_mono_ns() + 2 * NSEC_PER_SEC);
			if (pthread_cond_timedwait(&d->done_cv, &d->lock, &ts) == ETIMEDOUT) {
				clean = false;
				break;
			}
		}
		status = d->exit_status;
	}
	uint64_t flushes = 0, resyncs = 0;
	for (struct mm *mm = d->mms; mm; mm = mm->next)
		flushes += mm->flushes, resyncs += mm->resyncs;
	dom_log(d, "exited with status %d (traps %llu, flushes %llu, resyncs %llu)", status,
		(unsigned long long)d->ntraps, (unsigned long long)flushes, (unsigned long long)resyncs);
	if (d->exl.on)
		dom_log(d, "exitless: %llu calls answered in the guest, %llu sent to the exit, %llu doorbells, "
			"%llu not taken in time", (unsigned long long)d->exl.served, (unsigned long long)d->exl.slow,
			(unsigned long long)d->exl.wakeups, (unsigned long long)d->exl.missed);
	if (c->verbose)
		fprintf(stderr, "pdvm: stats: traps=%llu flushes=%llu resyncs=%llu\n",
			(unsigned long long)d->ntraps, (unsigned long long)flushes, (unsigned long long)resyncs);
	/* The threads are gone: memory is final. */
	pcache_exit(d);
	dom_unlock(d);
	exl_stop(d);
	sig_thread_stop(d);
	/* Before the control socket goes: its exec callers hear of the end. */
	spawn_domain_ended(d);
	if (h && h->stop)
		h->stop(d, h->arg);
	if (!clean)
		return status; /* threads may still touch d: the process exit ends them */
	if (h && h->release)
		h->release(d, h->arg);
	dom_free(d);
	return status;
}

int dom_run(const struct domain_spec *c, const struct domain_hooks *h)
{
	struct domain *d = dom_new(c);
	if (!d)
		return EXIT_PDVM_ERROR;
	struct thread *t = NULL;
	dom_lock(d);
	int status = dom_boot(d, &t);
	/* Loading the program is the guest's first execve: its identity. */
	if (!status && (status = cred_enter(&d->cred))) {
		fprintf(stderr, "pdvm: %s: becoming uid %u: %s\n", c->name, d->cred.uid, strerror(-status));
		status = EXIT_PDVM_ERROR;
	} else if (!status) {
		rlimits_setup(d);
		status = dom_exec(d, t);
		cred_leave(&d->cred);
	}
	dom_unlock(d);
	return dom_start_wait(d, status, h);
}
