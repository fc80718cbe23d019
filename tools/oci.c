/* oci.c: pdvm as an OCI runtime — runc's command line over pdvm domains, with each container's state in a directory under --root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctl_proto.h"
#include "oci.h"
#include "oci_console.h"
#include "oci_hooks.h"
#include "oci_netns.h"
#include "oci_spec.h"
#include "oci_state.h"
#include "vmm/spec.h"
#include "vmm/status.h"

#define OCI_VERSION     "1.1.0"
#define START_WAIT_S    10

static int oci_state(int argc, char **argv)
{
	struct cstate c;
	if (argc != 2)
		return oci_err("state: want one container id");
	if (oci_load(argv[1], &c))
		return EXIT_FAILED;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string(OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(c.id));
	json_object_object_add(o, "pid", json_object_new_int(strcmp(c.status, "stopped") ? c.pid : 0));
	json_object_object_add(o, "status", json_object_new_string(c.status));
	json_object_object_add(o, "bundle", json_object_new_string(c.bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(""));
	json_object_object_add(o, "created", json_object_new_string(c.created));
	json_object_object_add(o, "annotations", c.annotations ? json_object_get(c.annotations) : json_object_new_object());
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(o);
	oci_cstate_free(&c);
	return 0;
}

/* The container's process until `start`: waits on the FIFO, then becomes
 * `pdvm run` of the domain (same pid: what --pid-file and the engine
 * hold). Never returns. */
static void init_process(const char *id, bool daemon, int tty)
{
	char fifo[PATH_MAX], cfg[PATH_MAX];
	oci_cdir(fifo, sizeof(fifo), id, "exec.fifo");
	oci_cdir(cfg, sizeof(cfg), id, "domain.cfg");
	if (tty >= 0 ? oci_console_attach(tty) : daemon ? setsid() < 0 : 0) {
		fprintf(stderr, "pdvm-oci: %s: its terminal: %s\n", id, strerror(errno));
		_exit(EXIT_PDVM_ERROR);
	}
	int fd = open(fifo, O_WRONLY | O_CLOEXEC);      /* until a `start` opens it */
	if (fd < 0)
		_exit(EXIT_PDVM_ERROR);
	close(fd);
	execl("/proc/self/exe", "pdvm", "run", cfg, (char *)NULL);
	fprintf(stderr, "pdvm-oci: %s: running pdvm: %s\n", id, strerror(errno));
	_exit(EXIT_PDVM_ERROR);
}

/* A hook that failed where the spec says to go on: said, not fatal. */
static void hook_warning(const char *why)
{
	fprintf(stderr, "pdvm-oci: warning: %s\n", why);
	oci_log_line("warning", why);
}

/* The hooks create saved for the container's later stages, or NULL. */
static char *saved_hooks(const char *id)
{
	char path[PATH_MAX];
	oci_cdir(path, sizeof(path), id, "hooks.json");
	struct json_object *o = json_object_from_file(path);
	char *h = o ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : NULL;
	json_object_put(o);
	return h;
}

/* The hooks (the text create saved) of one stage for container c (its
 * state as `state` says, status `status`), in the network namespace of
 * process netns_pid (0: ours). 0, or -1 with the failing hook said (an
 * error, or with warn a warning). */
static int run_hooks(const struct cstate *c, const char *hooks, const char *stage, const char *status,
		     pid_t netns_pid, bool warn)
{
	char why[512], ns[64];
	if (!hooks)
		return 0;
	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)netns_pid);
	int nfd = netns_pid > 0 ? open(ns, O_RDONLY | O_CLOEXEC) : -1;
	const char *ann = c->annotations ? json_object_to_json_string_ext(c->annotations, JSON_C_TO_STRING_PLAIN) : NULL;
	int r = oci_hooks_run(hooks, stage, c->id, status, c->pid, c->bundle, ann, nfd, why, sizeof(why));
	if (nfd >= 0)
		close(nfd);
	if (r && warn)
		hook_warning(why);
	else if (r)
		oci_err("%s", why);
	return r;
}

static int stage_hooks(const struct cstate *c, const char *stage, const char *status, pid_t netns_pid, bool warn)
{
	char *hooks = saved_hooks(c->id);
	int r = run_hooks(c, hooks, stage, status, netns_pid, warn);
	free(hooks);
	return r;
}

/* A container whose process has ended goes: its directory, then the
 * poststop hooks (after it is gone, before delete returns; a failure is
 * only a warning), read before the directory goes. */
static void remove_container(const struct cstate *c)
{
	char *hooks = saved_hooks(c->id);
	oci_remove_dir(c->id);
	run_hooks(c, hooks, "poststop", "stopped", 0, true);
	free(hooks);
}

/* create's work, shared with run: the state directory, the domain.cfg, the
 * FIFO and the process that waits on it. 0 and *pid, or an error said. */
static int do_create(const char *id, const char *bundle_arg, const char *pid_file, const char *console, bool daemon,
		     pid_t *pid)
{
	char dir[PATH_MAX], path[PATH_MAX], bundle[PATH_MAX], why[512];
	struct oci_spec s;
	if (spec_check_name(id, why, sizeof(why)))
		return oci_err("container id '%s': %s", id, why);
	if (!realpath(bundle_arg, bundle))
		return oci_err("bundle %s: %s", bundle_arg, strerror(errno));
	if (oci_make_root())
		return oci_err("--root %s: %s", oci_root, strerror(errno));
	oci_cdir(dir, sizeof(dir), id, NULL);
	if (mkdir(dir, 0700))
		return errno == EEXIST ? oci_err("container %s already exists", id)
				       : oci_err("%s: %s", dir, strerror(errno));
	if (oci_spec_load(bundle, &s, why, sizeof(why))) {
		oci_remove_dir(id);
		return oci_err("%s", why);
	}
	/* As runc: a terminal comes through --console-socket, and only
	 * when config.json asks for one. */
	if (s.terminal != (console != NULL)) {
		oci_spec_free(&s);
		oci_remove_dir(id);
		return oci_err(console ? "--console-socket given, but config.json's process.terminal is false"
				       : "config.json: process.terminal: a terminal needs --console-socket");
	}
	if (s.notice)
		oci_log_line("warning", s.notice);
	/* createRuntime and prestart hooks run in the runtime's namespace,
	 * which create may leave for the container's below. */
	int hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	oci_cdir(path, sizeof(path), id, "domain.cfg");
	int r = oci_spec_write_cfg(&s, id, path, why, sizeof(why));
	/* Before the fork: the container's process is born in it. */
	if (!r && s.netns)
		r = oci_netns_join(s.netns, s.sysctl, why, sizeof(why));
	else if (!r && s.new_netns)
		r = oci_netns_new(s.sysctl, why, sizeof(why));
	char *annotations = strdup(s.annotations);
	char *hooks = s.hooks ? strdup(s.hooks) : NULL;
	if (!r && s.hooks && !hooks)
		r = -1, snprintf(why, sizeof(why), "out of memory");
	unsigned rows = s.rows, cols = s.cols;
	oci_spec_free(&s);
	if (r || !annotations) {
		free(annotations);
		free(hooks);
		if (hostns >= 0)
			close(hostns);
		oci_remove_dir(id);
		return oci_err("%s", r ? why : "out of memory");
	}
	int tty = console ? oci_console_open(console, rows, cols, why, sizeof(why)) : -1;
	if (console && tty < 0) {
		free(annotations);
		free(hooks);
		if (hostns >= 0)
			close(hostns);
		oci_remove_dir(id);
		return oci_err("%s", why);
	}
	oci_cdir(path, sizeof(path), id, "exec.fifo");
	if (mkfifo(path, 0600)) {
		free(annotations);
		free(hooks);
		if (hostns >= 0)
			close(hostns);
		oci_remove_dir(id);
		return oci_err("%s: %s", path, strerror(errno));
	}
	fflush(NULL);
	*pid = fork();
	if (*pid < 0) {
		if (tty >= 0)
			close(tty);
		free(annotations);
		free(hooks);
		if (hostns >= 0)
			close(hostns);
		oci_remove_dir(id);
		return oci_err("fork: %s", strerror(errno));
	}
	if (*pid == 0)
		init_process(id, daemon, tty);
	if (tty >= 0)
		close(tty);
	r = oci_publish(id, *pid, bundle, annotations, pid_file);
	if (!r && hooks) {
		/* Saved for start and delete; then the create-time hooks. */
		oci_cdir(path, sizeof(path), id, "hooks.json");
		if (oci_write_atomic(path, hooks)) {
			r = oci_err("%s: %s", path, strerror(errno));
		} else {
			static const char *const early[] = { "prestart", "createRuntime", "createContainer" };
			for (int i = 0; i < 3 && !r; i++)
				if (oci_hooks_run(hooks, early[i], id, "creating", *pid, bundle, annotations,
						  i < 2 ? hostns : -1, why, sizeof(why)))
					r = oci_err("%s", why);
		}
		if (r) {
			/* As the spec says: the container is stopped and gone. */
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
			oci_remove_dir(id);
		}
	}
	free(hooks);
	free(annotations);
	if (hostns >= 0)
		close(hostns);
	return r;
}

/* Lets the process of a created container go on: it runs the program. */
static int do_start(const char *id)
{
	struct cstate c;
	char fifo[PATH_MAX];
	int r = 0;
	if (oci_load(id, &c))
		return EXIT_FAILED;
	if (strcmp(c.status, "created")) {
		r = oci_err("cannot start container %s: it is %s, not created", id, c.status);
		goto out;
	}
	/* startContainer hooks: in the container's namespace, before its
	 * program; one that fails stops the container (the spec's order). */
	if (stage_hooks(&c, "startContainer", "created", c.pid, false)) {
		kill(c.pid, SIGKILL);
		r = EXIT_FAILED;
		goto out;
	}
	oci_cdir(fifo, sizeof(fifo), id, "exec.fifo");
	/* The init process waits in its open for writing; if it died just
	 * now, nobody ever will: give up after a while. */
	alarm(START_WAIT_S);
	int fd = open(fifo, O_RDONLY | O_CLOEXEC);
	alarm(0);
	if (fd < 0) {
		r = oci_err("cannot start container %s: %s", id, strerror(errno));
		goto out;
	}
	close(fd);
	unlink(fifo);
	/* poststart: the program runs; a failure is only a warning. */
	stage_hooks(&c, "poststart", "running", c.pid, true);
out:
	oci_cstate_free(&c);
	return r;
}

struct opt_set {
	const char *bundle, *pid_file, *console;
	bool detach, force;
};

/* The options create, run and delete take (runc's), then the id. */
static int parse_opts(int argc, char **argv, struct opt_set *o, const char **id)
{
	static const struct option lo[] = {
		{ "bundle", required_argument, NULL, 'b' }, { "pid-file", required_argument, NULL, 'p' },
		{ "console-socket", required_argument, NULL, 'c' }, { "detach", no_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' }, { "no-pivot", no_argument, NULL, 'P' },
		{ "no-new-keyring", no_argument, NULL, 'K' }, { "preserve-fds", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	memset(o, 0, sizeof(*o));
	o->bundle = ".";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long_only(argc, argv, "+b:dfp:", lo, NULL)) != -1) {
		switch (opt) {
		case 'b': o->bundle = optarg; break;
		case 'p': o->pid_file = optarg; break;
		case 'c': o->console = optarg; break;
		case 'd': o->detach = true; break;
		case 'f': o->force = true; break;
		case 'P': case 'K': break;      /* pdvm has no pivot_root or keyrings to skip */
		case 'F':
			if (strcmp(optarg, "0"))
				return oci_err("%s: --preserve-fds: passing extra fds is not supported yet", argv[0]);
			break;
		default:
			return oci_err("%s: unknown option '%s'", argv[0], argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return oci_err("%s: want one container id", argv[0]);
	*id = argv[optind];
	return 0;
}

static int oci_create(int argc, char **argv)
{
	struct opt_set o;
	const char *id;
	pid_t pid;
	if (parse_opts(argc, argv, &o, &id) || do_create(id, o.bundle, o.pid_file, o.console, true, &pid))
		return EXIT_FAILED;
	return 0;
}

static int oci_start(int argc, char **argv)
{
	if (argc != 2)
		return oci_err("start: want one container id");
	return do_start(argv[1]) ? EXIT_FAILED : 0;
}

static int oci_delete(int argc, char **argv)
{
	struct opt_set o;
	const char *id;
	struct cstate c;
	char path[PATH_MAX], why[256];
	if (parse_opts(argc, argv, &o, &id))
		return EXIT_FAILED;
	/* As runc: --force of a container that does not exist (a create that
	 * failed half way) removes what is left and succeeds. */
	oci_cdir(path, sizeof(path), id, "state.json");
	if (o.force && !spec_check_name(id, why, sizeof(why)) && access(path, F_OK)) {
		oci_remove_dir(id);
		return 0;
	}
	if (oci_load(id, &c))
		return EXIT_FAILED;
	const char *st = c.status;
	/* As runc: a created container may go (its program never ran); a
	 * running or paused one only with --force. */
	if (strcmp(st, "stopped") && strcmp(st, "created") && !o.force) {
		oci_cstate_free(&c);
		return oci_err("cannot delete container %s that is not stopped: %s", id, st);
	}
	if (strcmp(st, "stopped")) {
		kill(c.pid, SIGKILL);
		if (!oci_wait_gone(c.pid, c.start)) {
			oci_cstate_free(&c);
			return oci_err("container %s: process %d did not end after SIGKILL", id, (int)c.pid);
		}
	}
	remove_container(&c);
	oci_cstate_free(&c);
	return 0;
}

static int parse_signal(const char *s)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT }, { "HUP", SIGHUP }, { "QUIT", SIGQUIT },
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "STOP", SIGSTOP }, { "CONT", SIGCONT }, { "WINCH", SIGWINCH },
	};
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	char *end;
	long v = strtol(s, &end, 10);
	return *s && !*end && v > 0 && v < NSIG ? (int)v : -1;
}

static int oci_kill(int argc, char **argv)
{
	int i = 1;
	if (i < argc && (!strcmp(argv[i], "--all") || !strcmp(argv[i], "-a")))
		i++;    /* a domain's processes all end with it */
	if (argc - i < 1 || argc - i > 2)
		return oci_err("kill: want a container id and maybe a signal");
	const char *id = argv[i];
	int sig = argc - i == 2 ? parse_signal(argv[i + 1]) : SIGTERM;
	struct cstate c;
	if (sig < 0)
		return oci_err("kill: unknown signal '%s'", argv[i + 1]);
	if (oci_load(id, &c))
		return EXIT_FAILED;
	const char *st = c.status;
	oci_cstate_free(&c);
	if (!strcmp(st, "stopped"))
		return oci_err("cannot kill container %s: it is stopped", id);
	/* Before start any signal ends the waiting process; after it, pdvm
	 * passes these on to the program (vmm/ktimer.c) and SIGKILL ends the
	 * domain at once. */
	if (!strcmp(st, "running") || !strcmp(st, "paused")) {
		if (sig != SIGKILL && sig != SIGTERM && sig != SIGINT && sig != SIGHUP && sig != SIGQUIT)
			return oci_err("kill: signal %d cannot reach a domain's program yet (KILL, TERM, INT, HUP and "
				       "QUIT can)", sig);
	}
	if (kill(c.pid, sig))
		return oci_err("kill %s: %s", id, strerror(errno));
	return 0;
}

static int pause_resume(int argc, char **argv, bool pause)
{
	struct cstate c;
	if (argc != 2)
		return oci_err("%s: want one container id", argv[0]);
	if (oci_load(argv[1], &c))
		return EXIT_FAILED;
	const char *st = c.status;
	oci_cstate_free(&c);
	if (strcmp(st, pause ? "running" : "paused"))
		return oci_err("cannot %s container %s: it is %s", argv[0], argv[1], st);
	char *av[] = { pause ? "pause" : "resume", argv[1], NULL };
	return pause ? cmd_pause(2, av) : cmd_resume(2, av);
}

static int oci_run(int argc, char **argv)
{
	struct opt_set o;
	const char *id;
	pid_t pid;
	if (parse_opts(argc, argv, &o, &id) || do_create(id, o.bundle, o.pid_file, o.console, o.detach, &pid))
		return EXIT_FAILED;
	if (do_start(id)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		oci_remove_dir(id);
		return EXIT_FAILED;
	}
	if (o.detach)
		return 0;
	/* In the foreground: the program's status is run's, as runc's; the
	 * container goes with it. Signals for run go to the program. */
	int status;
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	struct cstate c;
	if (!oci_load(id, &c)) {
		remove_container(&c);
		oci_cstate_free(&c);
	} else {
		oci_remove_dir(id);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* runc's stats event: the domain's memory and threads (its own answer) and
 * the CPU time of its host process (pdvm: the program and its VMM). */
static struct json_object *stats_event(const char *id, pid_t pid)
{
	struct json_object *info = oci_domain_info(id), *v, *ev = NULL;
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	const char *rp = f && fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	if (f)
		fclose(f);
	/* Fields 14 and 15, counted after the command's closing parenthesis. */
	if (!info || !rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		goto out;
	unsigned long long hz = (unsigned long long)sysconf(_SC_CLK_TCK), ns = 1000000000ULL / hz;
	int64_t mem = json_object_object_get_ex(info, "memory", &v) ? json_object_get_int64(v) : 0;
	int64_t lim = json_object_object_get_ex(info, "memory_limit", &v) ? json_object_get_int64(v) : 0;
	int threads = json_object_object_get_ex(info, "threads", &v) ? json_object_get_int(v) : 0;
	ev = json_object_new_object();
	struct json_object *data = json_object_new_object(), *cpu = json_object_new_object(),
			   *use = json_object_new_object(), *m = json_object_new_object(),
			   *mu = json_object_new_object(), *pids = json_object_new_object();
	json_object_object_add(use, "total", json_object_new_int64((int64_t)((ut + st) * ns)));
	json_object_object_add(use, "user", json_object_new_int64((int64_t)(ut * ns)));
	json_object_object_add(use, "kernel", json_object_new_int64((int64_t)(st * ns)));
	json_object_object_add(cpu, "usage", use);
	json_object_object_add(mu, "usage", json_object_new_int64(mem));
	json_object_object_add(mu, "limit", json_object_new_int64(lim));
	json_object_object_add(m, "usage", mu);
	json_object_object_add(pids, "current", json_object_new_int(threads));
	json_object_object_add(data, "cpu", cpu);
	json_object_object_add(data, "memory", m);
	json_object_object_add(data, "pids", pids);
	json_object_object_add(ev, "type", json_object_new_string("stats"));
	json_object_object_add(ev, "id", json_object_new_string(id));
	json_object_object_add(ev, "data", data);
out:
	json_object_put(info);
	return ev;
}

/* events [--stats] [--interval SECS] ID: one stats event, or one every
 * interval (default 5 s) while the container runs, as runc prints them. */
static int oci_events(int argc, char **argv)
{
	bool once = false;
	long interval = 5;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (!strcmp(a, "stats"))
			once = true;
		else if (!strncmp(a, "interval", 8) && (a[8] == '=' || (!a[8] && i + 1 < argc))) {
			const char *val = a[8] == '=' ? a + 9 : argv[++i];
			char *end;
			interval = strtol(val, &end, 10);
			/* runc takes a duration ("5s"); a bare number is seconds. */
			if (end == val || (*end && strcmp(end, "s")) || interval < 1 || interval > 86400)
				return oci_err("events: --interval: want 1s to 86400s, got '%s'", val);
		} else {
			return oci_err("events: unknown option '%s'", argv[i]);
		}
	}
	if (i != argc - 1)
		return oci_err("events: want one container id");
	const char *id = argv[i];
	struct cstate c;
	if (oci_load(id, &c))
		return EXIT_FAILED;
	oci_cstate_free(&c);
	for (;;) {
		if (strcmp(c.status, "running") && strcmp(c.status, "paused"))
			return once ? oci_err("container %s is not running", c.id) : 0;
		struct json_object *ev = stats_event(c.id, c.pid);
		if (!ev)
			return oci_err("container %s: no stats (its domain did not answer)", c.id);
		printf("%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
		json_object_put(ev);
		if (once)
			return 0;
		sleep((unsigned)interval);
		if (oci_load(id, &c))
			return 0;       /* deleted meanwhile */
		oci_cstate_free(&c);
	}
}

static int oci_list(int argc, char **argv)
{
	bool quiet = argc > 1 && (!strcmp(argv[1], "-q") || !strcmp(argv[1], "--quiet"));
	DIR *d = opendir(oci_root);
	struct dirent *e;
	if (!quiet)
		printf("%-24s %-8s %-8s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	while (d && (e = readdir(d))) {
		struct cstate c;
		char p[PATH_MAX];
		if (e->d_name[0] == '.')
			continue;
		oci_cdir(p, sizeof(p), e->d_name, "state.json");
		if (access(p, F_OK) || oci_load(e->d_name, &c))
			continue;
		if (quiet)
			printf("%s\n", c.id);
		else
			printf("%-24s %-8d %-8s %-40s %s\n", c.id, strcmp(c.status, "stopped") ? (int)c.pid : 0, c.status,
			       c.bundle, c.created);
		oci_cstate_free(&c);
	}
	if (d)
		closedir(d);
	return 0;
}

/* The container's host processes: a domain is one, pdvm (its program's
 * processes are the domain's own, not the host's). --format json as
 * containerd asks for it, else ps's table. */
static int oci_ps(int argc, char **argv)
{
	bool json = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--format=json") || (!strcmp(argv[i], "--format") && i + 1 < argc &&
							  !strcmp(argv[i + 1], "json") && ++i))
			json = true;
		else if (!strcmp(argv[i], "--format=table") || (!strcmp(argv[i], "--format") && i + 1 < argc &&
								 !strcmp(argv[i + 1], "table") && ++i))
			json = false;
		else
			return oci_err("ps: unknown option '%s'", argv[i]);
	}
	if (argc - i != 1)
		return oci_err("ps: want one container id (ps options are not supported)");
	struct cstate c;
	if (oci_load(argv[i], &c))
		return EXIT_FAILED;
	const char *st = c.status;
	oci_cstate_free(&c);
	if (!strcmp(st, "stopped"))
		return oci_err("cannot ps container %s: it is stopped", argv[i]);
	if (json) {
		printf("[%d]\n", (int)c.pid);
		return 0;
	}
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		execlp("ps", "ps", "-f", "-p", pid, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (p < 0 || waitpid(p, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return oci_err("ps: running ps failed");
	return 0;
}

static int oci_features(void)
{
	/* The runtime-spec's features document: what this runtime honours. */
	printf("{\n  \"ociVersionMin\": \"1.0.0\",\n  \"ociVersionMax\": \"%s\",\n  \"hooks\": [\"prestart\", \"createRuntime\", \"createContainer\",\n"
	       "    \"startContainer\", \"poststart\", \"poststop\"],\n"
	       "  \"mountOptions\": [],\n  \"linux\": {\n    \"namespaces\": [\"pid\", \"ipc\", \"uts\", \"mount\", "
	       "\"network\", \"cgroup\"],\n    \"capabilities\": [],\n    \"cgroup\": { \"v1\": false, \"v2\": false },\n"
	       "    \"seccomp\": { \"enabled\": false },\n    \"apparmor\": { \"enabled\": false },\n"
	       "    \"selinux\": { \"enabled\": false }\n  },\n  \"annotations\": {\n"
	       "    \"org.opencontainers.runc.checkpoint.enabled\": \"true\"\n  }\n}\n", OCI_VERSION);
	return 0;
}

static const char usage[] =
	"Usage: pdvm-oci [GLOBAL OPTIONS] COMMAND [ARGS...]   (also: pdvm oci ...)\n"
	"\n"
	"pdvm as an OCI runtime: runc's command line, each container a pdvm domain.\n"
	"\n"
	"Commands:\n"
	"  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID\n"
	"                                               make the container; its program waits\n"
	"                                               (a terminal: its pty's master goes to SOCK)\n"
	"  start ID                                     run its program\n"
	"  run [--bundle DIR] [--pid-file FILE] [-d] ID create and start (in the foreground\n"
	"                                               without -d: run's status is the program's)\n"
	"  state ID                                     its OCI state, as JSON\n"
	"  kill [--all] ID [SIGNAL]                     signal it (default TERM; running: KILL, TERM,\n"
	"                                               INT, HUP, QUIT)\n"
	"  pause ID, resume ID                          freeze and thaw it\n"
	"  delete [--force] ID                          remove a stopped (or created) container\n"
	"  list [-q]                                    the containers under --root\n"
	"  exec [--process FILE | COMMAND...] [-d] [--pid-file FILE] [-t --console-socket SOCK]\n"
	"       [--cwd DIR] [-e KEY=VALUE] ID          a new process in its domain (pdvm exec); the\n"
	"                                               pid in FILE is a host proxy that ends as it does\n"
	"  ps [--format table|json] ID                  its host process (a domain is one)\n"
	"  events [--stats] [--interval SECS] ID        stats (memory, threads, CPU) once, or every SECS\n"
	"  checkpoint [--image-path DIR] [--leave-running] [--pre-dump] [--parent-path DIR] ID\n"
	"                                               an image of it (pdvm snapshot); it ends\n"
	"                                               unless --leave-running or --pre-dump\n"
	"  restore [--image-path DIR] [--bundle DIR] [--pid-file FILE] [-d] [--lazy-pages] ID\n"
	"                                               a container from an image (pdvm restore)\n"
	"  features                                     what this runtime honours, as JSON\n"
	"\n"
	"Global options:\n"
	"  --root DIR          container state (default " OCI_DEFAULT_ROOT ")\n"
	"  --log FILE          append errors there too (engines read it)\n"
	"  --log-format F      text (default) or json\n"
	"  --systemd-cgroup    accepted (pdvm makes no cgroups)\n"
	"  --debug             accepted\n"
	"  -v, --version       the runtime and spec versions\n"
	"\n"
	"config.json fields pdvm cannot honour are errors naming the field (see pdvm(1),\n"
	"OCI RUNTIME). Exit status: 0, 1 when a command fails, the program's for run.\n";

int oci_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "root", required_argument, NULL, 'r' }, { "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'F' }, { "systemd-cgroup", no_argument, NULL, 's' },
		{ "debug", no_argument, NULL, 'D' }, { "rootless", required_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long_only(argc, argv, "+vh", lo, NULL)) != -1) {
		switch (opt) {
		case 'r': oci_root = optarg; break;
		case 'l': oci_log_path = optarg; break;
		case 'F':
			if (strcmp(optarg, "text") && strcmp(optarg, "json"))
				return oci_err("--log-format: want text or json, got '%s'", optarg);
			oci_log_json = !strcmp(optarg, "json");
			break;
		case 's': case 'D': case 'R': break;
		case 'v':
			printf("pdvm-oci version %s\nspec: %s\n", "0.1.0-dev", OCI_VERSION);
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return oci_err("unknown global option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	char **av = argv + optind;
	int ac = argc - optind;
	const char *cmd = av[0];
	/* COMMAND --help, as runc answers it (podman asks `checkpoint --help`
	 * to learn whether a runtime can checkpoint). */
	for (int i = 1; i < ac && strcmp(av[i], "--"); i++)
		if (!strcmp(av[i], "--help") || !strcmp(av[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		}
	if (!strcmp(cmd, "create"))
		return oci_create(ac, av);
	if (!strcmp(cmd, "start"))
		return oci_start(ac, av);
	if (!strcmp(cmd, "run"))
		return oci_run(ac, av);
	if (!strcmp(cmd, "state"))
		return oci_state(ac, av);
	if (!strcmp(cmd, "kill"))
		return oci_kill(ac, av);
	if (!strcmp(cmd, "delete"))
		return oci_delete(ac, av);
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume"))
		return pause_resume(ac, av, !strcmp(cmd, "pause"));
	if (!strcmp(cmd, "list"))
		return oci_list(ac, av);
	if (!strcmp(cmd, "features"))
		return oci_features();
	if (!strcmp(cmd, "checkpoint"))
		return oci_checkpoint(ac, av);
	if (!strcmp(cmd, "ps"))
		return oci_ps(ac, av);
	if (!strcmp(cmd, "restore"))
		return oci_restore(ac, av);
	if (!strcmp(cmd, "events"))
		return oci_events(ac, av);
	if (!strcmp(cmd, "exec"))
		return oci_exec(ac, av);
	return oci_err("unknown command '%s'", cmd);
}
