/* thread.c: guest threads — one vCPU and one host thread each — and their run loop. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include "status.h"
#include "crew.h"
#include "domain.h"
#include "files.h"
#include "fault.h"
#include "jobctl.h"
#include "rr.h"
#include "syscall.h"
#include "trap.h"
#include "uaccess.h"
#include "vdso.h"
#include "vfilter.h"

static __thread struct kvm_run *tls_run;
static __thread struct thread *tls_thread;   /* the guest thread this host thread runs */

struct thread *thread_self(void)
{
	return tls_thread;
}

void thread_act_as(struct thread *t)
{
	tls_thread = t;
	proc_current = t ? t->proc : NULL;
}

/* The kick signal: leaves KVM_RUN at once, even if it arrives just before
 * the ioctl (immediate_exit), and interrupts blocking host calls. */
static void kick_handler(int sig)
{
	(void)sig;
	if (tls_run)
		tls_run->immediate_exit = 1;
}

int thread_kick_signal(void)
{
	return SIGRTMIN + 1;
}

void thread_install_kick(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking host calls return EINTR */
	sigaction(thread_kick_signal(), &sa, NULL);
}

struct thread *thread_create(struct domain *d, int *err)
{
	/* A pids cgroup's answer when its limit is reached: EAGAIN. */
	if (d->nthreads >= MAX_THREADS || (d->pids_max && (uint32_t)d->nthreads >= d->pids_max)) {
		*err = -EAGAIN;
		return NULL;
	}
	struct thread *t = calloc(1, sizeof(*t));
	if (!t) {
		*err = -ENOMEM;
		return NULL;
	}
	t->dom = d;
	t->proc = proc_cur(d);
	if (d->npool > 0) {
		/* Its last thread may have gone in the middle of a trap (killed
		 * by an exec or exit_group after a `syscall` had queued its #PF
		 * at LSTAR): that would be this thread's first event, a SIGSEGV
		 * at its first instruction. */
		t->vcpu = d->vcpu_pool[--d->npool];
		int r = kvm_vcpu_clear_events(&t->vcpu);
		if (r) {
			d->vcpu_pool[d->npool++] = t->vcpu;
			free(t);
			*err = r;
			return NULL;
		}
	} else {
		int r = kvm_vcpu_create(&d->vm, &t->vcpu, d->next_vcpu_id);
		if (r) {
			free(t);
			*err = r == -EINVAL || r == -EEXIST ? -EAGAIN : r;
			return NULL;
		}
		d->next_vcpu_id++;
	}
	int slot = -1;
	for (int i = 0; i < MAX_THREADS; i++) {
		if (!d->threads[i]) {
			slot = i;
			break;
		}
	}
	d->threads[slot] = t;
	d->nthreads++;
	if (t->proc)
		t->proc->nthreads++;
	t->state = VCPU_IN_VMM;
	return t;
}

/* pid 0 or any live thread of the domain (its pid is its main thread's tid);
 * whatever else names another process, which a domain cannot see. */
struct thread *thread_target(struct thread *t, int pid)
{
	if (pid == 0 || pid == t->tid)
		return t;
	return thread_find(t->dom, pid);
}

struct thread *thread_find(struct domain *d, int tid)
{
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *t = d->threads[i];
		if (t && t->tid == tid && !t->exited)
			return t;
	}
	return NULL;
}

/* What a new thread or process takes from the thread that made it, as
 * Linux's copy_process: the name; not the parent-death signal; and, for a
 * new process, the process-wide prctl and personality state. */
static void clone_inherit(const struct thread *t, struct thread *c)
{
	memcpy(c->comm, t->comm, TASK_COMM_LEN);
	c->pdeathsig = 0;
	/* SCHED_RESET_ON_FORK: the child starts over at SCHED_OTHER, nice 0
	 * or above. */
	bool reset = t->sched_policy & SCHED_RESET_ON_FORK;
	c->nice = reset && t->nice < 0 ? 0 : t->nice;
	c->sched_policy = reset ? SCHED_OTHER : t->sched_policy;
	/* A thread made while its group stop waits for its maker joins the
	 * stop too (task_join_group_stop). */
	c->jobctl_stop = c->proc == t->proc && t->jobctl_stop;
	if (c->proc != t->proc) {
		c->proc->dumpable = t->proc->dumpable;
		c->proc->no_new_privs = t->proc->no_new_privs;
		c->proc->personality = t->proc->personality;
	}
}

int clone_cpu_state(struct thread *t, struct thread *c, uint64_t flags, gva_t newsp, gva_t tls)
{
	struct domain *d = t->dom;
	clone_inherit(t, c);
	c->fs_base = (flags & CLONE_SETTLS) ? tls : t->fs_base;
	c->gs_base = t->gs_base;
	c->sigmask = t->sigmask;
	int err = trap_vcpu_init(d, c);
	if (err)
		return err;
	struct kvm_fpu fpu;
	if (ioctl(t->vcpu.fd, KVM_GET_FPU, &fpu) < 0 || ioctl(c->vcpu.fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	c->regs = t->regs;
	c->regs.rax = 0;
	if (newsp)
		c->regs.rsp = newsp;
	c->regs_dirty = true;
	return 0;
}

void clone_abort(struct thread *c)
{
	struct domain *d = c->dom;
	c->exited = true;
	crew_thread_forget(c);
	/* trap_vcpu_init attached its exitless slot: the mm must not find it
	 * there once c is freed (a failed fork or spawn puts its mm after). */
	exl_detach(c);
	for (int i = 0; i < MAX_THREADS; i++)
		if (d->threads[i] == c)
			d->threads[i] = NULL;
	if (d->npool < MAX_THREADS)
		d->vcpu_pool[d->npool++] = c->vcpu;
	d->nthreads--;
	c->proc->nthreads--;
	fs_put(c->fs);
	free(c);
}

/* Sets comm to name, cut to 15 bytes and NUL-padded (strscpy_pad). */
static void comm_set(char comm[TASK_COMM_LEN], const char *name)
{
	memset(comm, 0, TASK_COMM_LEN);
	memcpy(comm, name, strnlen(name, TASK_COMM_LEN - 1));
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

void thread_set_comm(struct thread *t, const char *path)
{
	comm_set(t->comm, basename_of(path));
}

void thread_fpu_reset(struct thread *t)
{
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	ioctl(t->vcpu.fd, KVM_SET_FPU, &fpu);
}

void thread_get_comm(const struct thread *t, char comm[TASK_COMM_LEN])
{
	/* Never named (the first thread, a restored one): the program's
	 * basename, as its exec would have set it. */
	const struct domain *d = t->dom;
	comm_set(comm, t->comm[0] ? t->comm :
		 basename_of(d->spec && d->spec->program ? d->spec->program : ""));
}

/* Takes t out of the domain; its vCPU goes back to the pool. */
static void thread_release(struct thread *t)
{
	struct domain *d = t->dom;
	ptrace_thread_gone(t);
	jobctl_thread_gone(t);
	exl_detach(t);
	for (int i = 0; i < MAX_THREADS; i++)
		if (d->threads[i] == t)
			d->threads[i] = NULL;
	if (t->vcpu.fd >= 0 && d->npool < MAX_THREADS) {
		/* Test hook (as CRIU_FAULT): the vCPU goes back to the pool
		 * with an exception queued, as a thread killed half way
		 * through a trap leaves it. */
		const char *fault = getenv("PDVM_FAULT");
		struct kvm_vcpu_events ev;
		if (fault && !strcmp(fault, "pool-event") && ioctl(t->vcpu.fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
			ev.exception.injected = 1;
			ev.exception.nr = 6;    /* #UD */
			ioctl(t->vcpu.fd, KVM_SET_VCPU_EVENTS, &ev);
		}
		d->vcpu_pool[d->npool++] = t->vcpu;
	}
	t->state = VCPU_DEAD;
	d->nthreads--;
	fs_put(t->fs);
	t->fs = NULL;
	struct process *p = t->proc;
	if (p && --p->nthreads == 0)
		proc_last_thread_gone(p);
	/* Also execve, waiting for the other threads of its process. */
	pthread_cond_broadcast(&d->done_cv);
}

void thread_exit(struct thread *t)
{
	struct domain *d = t->dom;
	if (t->clear_child_tid) {
		uint32_t zero = 0;
		/* CLONE_CHILD_CLEARTID: zero the tid word and wake a joiner. */
		if (copy_to_user(d, t->clear_child_tid, &zero, 4) == 0)
			futex_wake(d, t->clear_child_tid, 1, ~0u);
	}
	crew_thread_exit(t);
	t->exited = true;
}

/* Brings the vCPU's CR3 and FS/GS bases up to date before it runs. */
static int sync_sregs(struct thread *t)
{
	struct mm *mm = t->proc->mm;
	uint64_t gen = mm->root_gen;
	uint64_t root = crew_root(t, &gen);   /* its own view, under record/replay with threads */
	if (t->loaded_gen == gen && !t->sregs_dirty)
		return 0;
	struct kvm_sregs s;
	if (ioctl(t->vcpu.fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cr3 = root ? root : mm->pt.root;
	s.fs.base = t->fs_base;
	s.gs.base = t->gs_base;
	if (ioctl(t->vcpu.fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	t->loaded_gen = gen;
	t->sregs_dirty = false;
	if (root)
		crew_loaded(t);
	return 0;
}

void dom_tlb_shootdown(struct domain *d)
{
	int sig = thread_kick_signal();
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];
		/* A thread on its own view learns of changes from vmm/crew.c. */
		if (o && !o->crew_slot && o->state == VCPU_RUNNING && o->proc->mm && o->loaded_gen != o->proc->mm->root_gen)
			pthread_kill(o->host, sig);
	}
	/* Wait until none of them can still be in the guest with an old root:
	 * each reloads CR3 under the domain lock before it re-enters. */
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];
		while (o && !o->crew_slot && o->state == VCPU_RUNNING && o->proc->mm &&
		       o->loaded_gen != o->proc->mm->root_gen) {
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
			if (o->state == VCPU_RUNNING)
				pthread_kill(o->host, sig);
		}
	}
}

/* A recorded or replayed thread's rdtsc/rdtscp, trapped by CR4.TSD as a
 * #GP (d->tsc_trap): answered by record/replay and stepped over; an
 * event of the thread (its position moves on as at a page fault). */
static bool tsc_trapped(struct thread *t, const struct trap *tr)
{
	struct domain *d = t->dom;
	uint8_t op[3];
	if (!d->tsc_trap || !d->rr || !d->rr->tsc || tr->vector != 13 || tr->error_code ||
	    peek_user(d, op, t->regs.rip, sizeof(op)) || op[0] != 0x0f)
		return false;
	bool p = op[1] == 0x01 && op[2] == 0xf9;
	if (op[1] != 0x31 && !p)
		return false;
	uint64_t tsc = 0;
	uint32_t aux = 0;
	t->rr_pos += 2;
	t->regs_dirty = true;
	if (!d->rr->tsc(t, p, &tsc, &aux))
		return true;    /* a divergence: the domain ends */
	t->regs.rax = (uint32_t)tsc;
	t->regs.rdx = tsc >> 32;
	if (p)
		t->regs.rcx = aux;
	t->regs.rip += p ? 3 : 2;
	return true;
}

static void handle_trap(struct thread *t, struct trap *tr, int *spurious)
{
	struct domain *d = t->dom;
	d->ntraps++;
	t->at_call = tr->kind == TRAP_SYSCALL;
	if (tr->kind == TRAP_SYSCALL) {
		*spurious = 0;
		vdso_trap_check(d, t);
		exl_doorbell(t, t->regs.rax);
		/* A tracee's syscall-enter and -exit stops (vmm/ptrace.c). */
		long ret = ptrace_syscall_enter(t) ? syscall_dispatch(t) : (long)t->regs.rax;
		ptrace_syscall_exit(t, ret);
		t->regs_dirty = true;
		return;
	}
	if (tr->kind == TRAP_EXCEPTION) {
		if (tsc_trapped(t, tr))
			return;
		if (crew_fault(t, tr)) {
			/* A page its view did not have yet: it has it now. */
			*spurious = 0;
			return;
		}
		if (fault_is_stale(d, tr) && (*spurious)++ < 3) {
			/* The VMM's tables allow the access: KVM used a stale
			 * translation. Drop every shadow and retry. */
			kvm_resync(&d->vm);
			t->proc->mm->resyncs++;
			t->regs_dirty = true;
			return;
		}
		/* A tracee's fault is its tracer's first (int3, a step). */
		if (!ptrace_fault(t, tr) && !sig_fault(t, tr))
			fault_kill(t, tr);
		return;
	}
	struct kvm_regs k = { 0 };
	struct kvm_sregs s = { 0 };
	ioctl(t->vcpu.fd, KVM_GET_REGS, &k);
	ioctl(t->vcpu.fd, KVM_GET_SREGS, &s);
	fprintf(stderr, "pdvm: %s: thread %d: unexpected KVM exit reason %u: RIP %#llx RSP %#llx CS %#x "
		"CR2 %#llx CR3 %#llx (last trap RIP %#llx)\n", d->spec->name, t->tid, tr->exit_reason,
		(unsigned long long)k.rip, (unsigned long long)k.rsp, s.cs.selector,
		(unsigned long long)s.cr2, (unsigned long long)s.cr3, (unsigned long long)t->regs.rip);
	dom_log(d, "thread %d: unexpected KVM exit %u at RIP %#llx", t->tid, tr->exit_reason,
		(unsigned long long)k.rip);
	dom_exit_group(d, EXIT_PDVM_ERROR);
}

/* Waits, with the user state in t->regs, until the domain is resumed. */
void thread_park(struct thread *t)
{
	struct domain *d = t->dom;
	t->parked = true;
	d->nparked++;
	pthread_cond_broadcast(&d->parked_cv);
	while (d->paused && !d->exiting)
		pthread_cond_wait(&d->park_cv, &d->lock);
	d->nparked--;
	t->parked = false;
}

void thread_stop(struct thread *t)
{
	struct domain *d = t->dom;
	jobctl_stop_join(t);
	/* A tracee's group stop is a ptrace-stop (resumed by its tracer). */
	if (ptrace_group_stop(t))
		return;
	t->parked = true;
	d->nparked++;
	pthread_cond_broadcast(&d->parked_cv);
	/* A pause that begins meanwhile finds it parked; one that is still on
	 * when SIGCONT comes keeps it here, as parked as thread_park would. */
	while ((t->stopped || d->paused) && !d->exiting && !t->proc->exiting && !t->pt.stopped)
		pthread_cond_wait(&d->park_cv, &d->lock);
	d->nparked--;
	t->parked = false;
	/* Attached while stopped: the stop became a ptrace-stop. */
	if (t->pt.stopped)
		ptrace_stopped_wait(t);
}

/* After a kick: makes t->regs the user state (regs_dirty) and handles a
 * trap the kick caught under way. 0, 1 if it handled such a trap (the
 * caller looks again at what it was about to do), -EAGAIN if the vCPU must
 * run on a little (inside the ring-0 stub), or another error. */
static int thread_capture(struct thread *t, int *spurious)
{
	struct trap tr = { .kind = TRAP_KICK };
	t->at_call = false;     /* unless the capture finds a call's end (exl_capture) */
	int r = t->dom->trap->capture(t, &tr);
	if (r)
		return r;
	t->regs_dirty = true;
	if (tr.kind == TRAP_KICK) {
		t->pt.orig_rax = (uint64_t)-1; /* stopped in user code, no call */
		return 0;
	}
	handle_trap(t, &tr, spurious);
	return 1;
}

/* Record/replay pins vCPU i to the i-th CPU after `first` among those
 * pdvm may use (wrapping): the same CPU for the same thread in both, and
 * threads still in parallel. */
static int vcpu_host_cpu(int first, int i)
{
	cpu_set_t set;
	if (sched_getaffinity(getpid(), sizeof(set), &set) < 0 || !CPU_ISSET(first, &set))
		return first;
	int n = CPU_COUNT(&set), at = 0;
	for (int c = 0; c < first; c++)
		at += CPU_ISSET(c, &set) != 0;
	int want = (at + (i > 0 ? i : 0)) % n;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set) && want-- == 0)
			return c;
	return first;
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	struct domain *d = t->dom;
	tls_run = t->vcpu.run;
	tls_thread = t;
	proc_current = t->proc;
	int spurious = 0;
	/* Every host call this thread makes from here on is the guest's,
	 * and only of the kinds a guest's calls need. */
	if (d->spec->vcpu_cpu > 0) {
		/* Only the vCPU: the exitless server must run beside it. */
		int cpu = vcpu_host_cpu(d->spec->vcpu_cpu - 1, t->vcpu.id);
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			dom_log(d, "thread %d: cannot run on CPU %d: %s", t->tid, cpu, strerror(errno));
	}
	int cr = cred_enter(&d->cred), fr = cr ? 0 : vfilter_enter(t->filter_inherited);
	/* Test hook (as CRIU_FAULT): what a hijacked vCPU thread would try
	 * first, getting root back through the saved uid. */
	const char *fault = getenv("PDVM_FAULT");
	if (!cr && !fr && fault && !strcmp(fault, "seccomp"))
		syscall(SYS_setresuid, 0, 0, 0);
	dom_lock(d);
	t->cpu_clock_ok = pthread_getcpuclockid(pthread_self(), &t->cpu_clock) == 0;
	if (cr || fr) {
		fprintf(stderr, "pdvm: %s: thread %d: %s: %s\n", d->spec->name, t->tid,
			cr ? "taking the domain's identity" : "seccomp filter", strerror(cr ? -cr : -fr));
		dom_exit_group(d, EXIT_PDVM_ERROR);
	}
	for (;;) {
		if (d->exiting || t->exited || t->proc->exiting)
			break;
		int r;
		if (d->paused || t->jobctl_stop || t->stopped) {
			/* t->regs is the user state after a trap (regs_dirty);
			 * after a kick the vCPU holds it. A stopped thread
			 * keeps it there, as a parked one does. */
			r = t->regs_dirty ? 0 : thread_capture(t, &spurious);
			if (r == 1)
				continue;
			if (!r) {
				if (d->paused)
					thread_park(t);
				else
					thread_stop(t);
				continue;
			}
			if (r != -EAGAIN) {
				fprintf(stderr, "pdvm: %s: thread %d: reading vCPU state: %s\n",
					d->spec->name, t->tid, strerror(-r));
				dom_exit_group(d, EXIT_PDVM_ERROR);
				break;
			}
		}
		if (t->crew_slot && crew_owed(t)) {
			/* Another thread waits for a page it holds: give it
			 * here, stopped out of its user code if it was there. */
			bool stopped = !t->regs_dirty;
			r = stopped ? thread_capture(t, &spurious) : 0;
			if (r == 1)
				continue;
			if (!r)
				crew_serve(t, stopped);
		}
		if (t->exl_unstick) {
			/* Its slot said "taken" with nobody serving it (another
			 * thread wrote it): caught, its call runs again. */
			t->exl_unstick = false;
			if (!t->regs_dirty && thread_capture(t, &spurious) == 1)
				continue;
		}
		if (sig_deliverable(t) || t->restore_sigmask) {
			/* After a kick the vCPU holds the user state: fetch it,
			 * unless it is inside the stub (then at its next trap). */
			if (!t->regs_dirty && thread_capture(t, &spurious) == 1)
				continue;
			if (t->regs_dirty)
				sig_deliver(t);
			if (d->exiting || t->proc->exiting)
				break;
			if (t->jobctl_stop)
				continue; /* it took a stop signal: stop first */
		}
		if (t->crew_slot && d->rr && d->rr->crew_sync) {
			/* Replay: what its view went through before it runs on
			 * (signals delivered: a stop may stand for the handler). */
			d->rr->crew_sync(t, 0, false);
			if (d->exiting)
				break;
		}
		r = sync_sregs(t);
		if (r) {
			fprintf(stderr, "pdvm: %s: KVM_SET_SREGS: %s\n", d->spec->name, strerror(-r));
			dom_exit_group(d, EXIT_PDVM_ERROR);
			break;
		}
		t->state = VCPU_RUNNING;
		t->crew_out = true;
		if (t->crew_slot)
			t->crew_entered_ns = crew_now_ns();
		dom_unlock(d);
		if (t->regs_dirty) {
			r = d->trap->resume(t);
			t->regs_dirty = false;
		}
		if (!r)
			r = ioctl(t->vcpu.fd, KVM_RUN, 0) < 0 ? -errno : 0;
		t->vcpu.run->immediate_exit = 0;
		/* Out of the guest before taking the lock: a shootdown holding
		 * the lock waits for exactly this. */
		t->state = VCPU_IN_VMM;
		struct trap tr = { .kind = TRAP_KICK };
		if (!r)
			r = d->trap->decode(t, &tr);
		dom_lock(d);
		t->crew_out = false;
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r) {
			fprintf(stderr, "pdvm: %s: KVM_RUN: %s\n", d->spec->name, strerror(-r));
			dom_exit_group(d, EXIT_PDVM_ERROR);
			break;
		}
		if (tr.kind == TRAP_KICK)
			continue;
		handle_trap(t, &tr, &spurious);
	}
	/* The process's CPU clock keeps what this thread used. */
	struct timespec cpu;
	if (t->proc && !clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu))
		t->proc->cpu_gone_ns += (uint64_t)cpu.tv_sec * 1000000000ULL + (uint64_t)cpu.tv_nsec;
	t->cpu_clock_ok = false;
	crew_thread_forget(t);  /* its view, if the domain ended it without exit(2) */
	thread_release(t);
	dom_unlock(d);
	free(t);
	return NULL;
}

int thread_start(struct thread *t)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	t->filter_inherited = vfilter_active();
	int r = pthread_create(&t->host, &a, thread_main, t);
	pthread_attr_destroy(&a);
	return -r;
}
