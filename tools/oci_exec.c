/* oci_exec.c: pdvm-oci exec — a new process in a running container's domain, with runc's flags; the host process an engine waits on is a proxy that mirrors the guest process's stdio and end. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_client.h"
#include "oci_console.h"
#include "oci_spec.h"
#include "oci_state.h"
#include "vmm/spec.h"
#include "vmm/status.h"

/*
 * Why a proxy: an engine (conmon, containerd's shim) waits for the pid in
 * --pid-file as its child or subreaper's orphan, and reads the process's
 * stdio from the fds it gave the runtime. A domain's process is no host
 * process, so the proxy stands in for it: it hands its stdio to the domain
 * (SCM_RIGHTS), passes on the signals it gets, exits as the process did,
 * and if it is killed the process goes too.
 */

#define EXEC_WAIT_MS 10000     /* for a just-started domain's control socket */

struct exec_opts {
	const char *process, *pid_file, *console, *cwd, *user;
	bool detach, tty;
	char **env;
	int nenv;
};

/* The same strings, in any order. */
static bool same_set(char *const *a, char *const *b)
{
	int na = 0, nb = 0;
	for (; a && a[na]; na++) {
		bool found = false;
		for (int j = 0; b && b[j] && !found; j++)
			found = !strcmp(a[na], b[j]);
		if (!found)
			return false;
	}
	while (b && b[nb])
		nb++;
	return na == nb;
}

/* What a runtime's message says for a program that cannot start: the words
 * engines look for ("no such file or directory", "permission denied"). */
static const char *start_words(int e)
{
	switch (e) {
	case ENOENT: return "no such file or directory";
	case EACCES: return "permission denied";
	case ENOTDIR: return "not a directory";
	case ENOEXEC: return "exec format error";
	default: return strerror(e);
	}
}

/* The process --process describes, checked against the container's own: a
 * domain has one identity and one set of limits. */
static int load_process(const struct exec_opts *o, const struct cstate *c, struct oci_spec *p)
{
	char why[512];
	struct oci_spec cs;
	if (oci_spec_load_process(o->process, p, why, sizeof(why)))
		return oci_err("exec --process %s: %s", o->process, why);
	if (oci_spec_load(c->bundle, &cs, why, sizeof(why))) {
		oci_spec_free(p);
		return oci_err("exec: the container's %s", why);
	}
	int r = 0;
	if (p->user_set != cs.user_set || (p->user_set && (p->uid != cs.uid || p->gid != cs.gid)))
		r = oci_err("exec --process %s: process.user: uid %u gid %u is not the container's (uid %u gid %u): "
			    "a domain has one identity", o->process, p->uid, p->gid, cs.uid, cs.gid);
	else if (!same_set(p->ulimits, cs.ulimits))
		r = oci_err("exec --process %s: process.rlimits: not the container's: a new process of a domain "
			    "starts with the domain's limits", o->process);
	else if (p->terminal != (o->console != NULL))
		r = oci_err(o->console ? "exec: --console-socket given, but process.terminal is false"
				       : "exec: process.terminal: a terminal needs --console-socket");
	else if (p->notice)
		oci_log_line("warning", p->notice);
	oci_spec_free(&cs);
	if (r)
		oci_spec_free(p);
	return r;
}

/* The proxy's work once its stdio is what the process gets: start it,
 * report (to `report`, in the -d parent, or -1), wait, mirror its end. */
static _Noreturn void proxy(const char *id, char *const argv[], char *const env[], char *const env_add[],
			    const char *cwd, int fds[3], int report)
{
	struct exec_call x;
	char err[512];
	int failed;
	int r;
	/* Just after `start` the domain may not serve its socket yet: a
	 * running container takes an exec all the same (engines exec at once). */
	for (int i = 0;; i++) {
		r = exec_call_start(id, argv, env, env_add, cwd, fds, &x, &failed, err, sizeof(err));
		if (r != -ENOENT || failed || i >= EXEC_WAIT_MS / 20)
			break;
		usleep(20 * 1000);
	}
	if (r) {
		if (failed)
			oci_err("exec failed: unable to start container process: exec: \"%s\": %s", argv[0],
				start_words(-r));
		else
			oci_err("exec: container %s: %s", id, err);
		/* 127 and 126 as a shell's; any other failure is runc's 1. */
		int st = exec_start_status(r, failed);
		exit(st == EXIT_PDVM_ERROR ? EXIT_FAILED : st);
	}
	/* The domain holds the stdio now; the proxy keeps none of it, so the
	 * engine sees EOF when the process closes them. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && null >= 0; i++)
		dup3(null, i, 0);
	for (int i = 0; i < 3; i++)
		if (fds[i] > 2)
			close(fds[i]);
	if (report >= 0) {
		char ok = 1;
		if (write(report, &ok, 1) != 1)
			_exit(EXIT_FAILED);
		close(report);
	}
	int st = exec_call_wait(&x);
	exec_call_close(&x);
	if (st < 0) {
		oci_err("exec: container %s: the domain went away without telling its process's end", id);
		exec_exit_like(W_EXITCODE(0, SIGKILL));
	}
	exec_exit_like(st);
}

static int parse(int argc, char **argv, struct exec_opts *o)
{
	static const struct option lo[] = {
		{ "process", required_argument, NULL, 'p' }, { "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, 'P' }, { "console-socket", required_argument, NULL, 'c' },
		{ "tty", no_argument, NULL, 't' }, { "cwd", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' }, { "user", required_argument, NULL, 'u' },
		{ "no-new-privs", no_argument, NULL, 'N' }, { "preserve-fds", required_argument, NULL, 'F' },
		{ "cap", required_argument, NULL, 'C' }, { "additional-gids", required_argument, NULL, 'g' },
		{ "process-label", required_argument, NULL, 'L' }, { "apparmor", required_argument, NULL, 'A' },
		{ "ignore-paused", no_argument, NULL, 'I' }, { "cgroup", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long_only(argc, argv, "+p:dte:u:c:g:", lo, NULL)) != -1) {
		switch (opt) {
		case 'p': o->process = optarg; break;
		case 'd': o->detach = true; break;
		case 'P': o->pid_file = optarg; break;
		case 'c': o->console = optarg; break;
		case 't': o->tty = true; break;
		case 'w': o->cwd = optarg; break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return oci_err("exec: --env '%s': want KEY=VALUE", optarg);
			o->env[o->nenv++] = optarg;
			break;
		case 'u': o->user = optarg; break;
		case 'N': break;        /* a domain never gains privileges */
		case 'F':
			if (strcmp(optarg, "0"))
				return oci_err("exec: --preserve-fds: passing extra fds is not supported yet");
			break;
		case 'C': return oci_err("exec: --cap %s: a domain holds no capabilities", optarg);
		case 'g': return oci_err("exec: --additional-gids: supplementary groups are not supported yet");
		case 'L': case 'A':
			if (*optarg)
				return oci_err("exec: --%s: not supported", opt == 'L' ? "process-label" : "apparmor");
			break;
		case 'I': return oci_err("exec: --ignore-paused: a paused domain takes no new process");
		case 'G': return oci_err("exec: --cgroup: pdvm makes no cgroups");
		default:
			return oci_err("exec: unknown option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

static int exec_cmd(int argc, char **argv, struct exec_opts *op)
{
	struct exec_opts o = *op;
	struct cstate c;
	struct oci_spec p = { 0 };
	char why[512];
	if (parse(argc, argv, &o))
		return EXIT_FAILED;
	if (optind >= argc)
		return oci_err("exec: want a container id");
	const char *id = argv[optind];
	char **args = argv + optind + 1;
	if (!o.process && !*args)
		return oci_err("exec: want a command (or --process FILE)");
	if (o.process && *args)
		return oci_err("exec: a command and --process: want one of them");
	if (o.tty != (o.console != NULL) && !o.process)
		return oci_err(o.tty ? "exec: --tty needs --console-socket" : "exec: --console-socket needs --tty");
	if (oci_load(id, &c))
		return EXIT_FAILED;
	const char *st = c.status;
	oci_cstate_free(&c);
	if (strcmp(st, "running"))
		return oci_err(!strcmp(st, "paused") ? "cannot exec in a paused container"
						     : "cannot exec in a %s container", st);
	if (o.user) {
		/* Only the container's own identity (a domain has one). */
		struct oci_spec cs;
		unsigned uid, gid;
		char extra;
		int n = sscanf(o.user, "%u:%u%c", &uid, &gid, &extra);
		if (n < 1 || n > 2)
			return oci_err("exec: --user '%s': want UID[:GID]", o.user);
		if (oci_spec_load(c.bundle, &cs, why, sizeof(why)))
			return oci_err("exec: the container's %s", why);
		bool same = cs.user_set ? uid == cs.uid && (n == 1 || gid == cs.gid) : uid == 0 && (n == 1 || gid == 0);
		oci_spec_free(&cs);
		if (!same)
			return oci_err("exec: --user %s: not the container's user: a domain has one identity", o.user);
	}
	if (o.process && load_process(&o, &c, &p))
		return EXIT_FAILED;
	char *const *pargs = o.process ? p.args : args;
	char *const *env = o.process ? p.env : NULL;
	const char *cwd = o.process ? p.cwd : o.cwd;
	if (cwd && cwd[0] != '/') {
		oci_spec_free(&p);
		return oci_err("exec: --cwd '%s': want an absolute path", cwd);
	}
	int fds[3] = { 0, 1, 2 };
	if (o.console) {
		int slave = oci_console_open(o.console, p.rows, p.cols, why, sizeof(why));
		if (slave < 0) {
			oci_spec_free(&p);
			return oci_err("exec: %s", why);
		}
		fds[0] = fds[1] = fds[2] = slave;
	}
	char pid[32];
	if (!o.detach) {
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (o.pid_file && oci_write_atomic(o.pid_file, pid))
			return oci_err("exec: writing %s: %s", o.pid_file, strerror(errno));
		proxy(id, pargs, env, o.env, cwd, fds, -1);
	}
	/* -d: the proxy is a child that outlives us; the engine (a subreaper)
	 * inherits it and waits for it by the pid in --pid-file. */
	int rp[2];
	if (pipe2(rp, O_CLOEXEC))
		return oci_err("exec: pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t child = fork();
	if (child < 0)
		return oci_err("exec: fork: %s", strerror(errno));
	if (child == 0) {
		close(rp[0]);
		proxy(id, pargs, env, o.env, cwd, fds, rp[1]);
	}
	close(rp[1]);
	if (fds[0] > 2)
		close(fds[0]);
	oci_spec_free(&p);
	char ok = 0;
	ssize_t n;
	while ((n = read(rp[0], &ok, 1)) < 0 && errno == EINTR)
		;
	close(rp[0]);
	if (n != 1) {
		/* The proxy said why on stderr and in --log; its status is ours. */
		int ws = 0;
		waitpid(child, &ws, 0);
		return WIFEXITED(ws) && WEXITSTATUS(ws) ? WEXITSTATUS(ws) : EXIT_FAILED;
	}
	snprintf(pid, sizeof(pid), "%d", (int)child);
	if (o.pid_file && oci_write_atomic(o.pid_file, pid)) {
		kill(child, SIGKILL);
		return oci_err("exec: writing %s: %s", o.pid_file, strerror(errno));
	}
	return 0;
}

int oci_exec(int argc, char **argv)
{
	struct exec_opts o = { .env = calloc((size_t)argc + 1, sizeof(char *)) };
	if (!o.env)
		return oci_err("out of memory");
	int r = exec_cmd(argc, argv, &o);
	free(o.env);
	return r;
}
