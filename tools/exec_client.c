/* exec_client.c: starting a process in a running domain from outside and waiting for it — the client of the control socket's exec sessions, and `pdvm exec`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "control.h"
#include "ctl_proto.h"
#include "exec_client.h"
#include "vmm/status.h"

#define EXEC_START_MS 30000     /* the answers to the start (a busy domain) */

static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH };

static struct json_object *strv_json(char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

/* The next answer line as an object, or NULL with why in err. */
static struct json_object *next_answer(struct exec_call *x, int64_t deadline, char *err, size_t errlen)
{
	char *line;
	size_t len;
	int r = ctl_read_line(x->fd, -1, x->lb, deadline, &line, &len);
	if (r <= 0) {
		snprintf(err, errlen, "the domain did not answer: %s",
			 r == 0 ? "it closed the connection" : strerror(-r));
		return NULL;
	}
	return ctl_parse_line(line, len, err, errlen);
}

/* The next answer if it says ok; else NULL with its error in err and *e
 * its errno (EIO when there was none). */
static struct json_object *ok_answer(struct exec_call *x, int64_t deadline, char *err, size_t errlen, int *e)
{
	struct json_object *o = next_answer(x, deadline, err, errlen), *v;
	*e = EIO;
	if (!o || json_object_get_boolean(json_object_object_get(o, "ok")))
		return o;
	snprintf(err, errlen, "%s", json_object_object_get_ex(o, "error", &v) ? json_object_get_string(v)
										 : "failed (no reason given)");
	if (json_object_object_get_ex(o, "errno", &v))
		*e = json_object_get_int(v);
	json_object_put(o);
	return NULL;
}

int exec_call_start(const char *name, char *const argv[], char *const env[], char *const env_add[],
		    const char *cwd, const int fds[3], struct exec_call *x, int *start_failed, char *err,
		    size_t errlen)
{
	const char *dir = control_dir();
	struct json_object *req = json_object_new_object(), *o = NULL;
	int64_t deadline = ctl_deadline_after(EXEC_START_MS);
	int r = -EIO, e = 0;
	*x = (struct exec_call){ .fd = -1, .pid = -1 };
	*start_failed = 0;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd >= 0) {
		x->fd = ctl_connect(dirfd, dir, name, EXEC_START_MS);
		close(dirfd);
	} else {
		x->fd = -errno;
	}
	if (x->fd < 0) {
		r = x->fd == -ENOENT || x->fd == -ECONNREFUSED || x->fd == -ENOTDIR ? -ENOENT : x->fd;
		snprintf(err, errlen, "%s", r == -ENOENT ? "no such domain" : strerror(-r));
		x->fd = -1;
		goto out;
	}
	if (!req || !(x->lb = calloc(1, sizeof(*x->lb)))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	json_object_object_add(req, "cmd", json_object_new_string("exec"));
	json_object_object_add(req, "argv", strv_json(argv));
	if (env)
		json_object_object_add(req, "env", strv_json(env));
	else if (env_add)
		json_object_object_add(req, "env_add", strv_json(env_add));
	if (cwd)
		json_object_object_add(req, "cwd", json_object_new_string(cwd));
	if ((r = ctl_send_json(x->fd, req))) {
		snprintf(err, errlen, "sending the request: %s", strerror(-r));
		goto out;
	}
	if (!(o = ok_answer(x, deadline, err, errlen, &e))) {
		r = -e;
		goto out;
	}
	json_object_put(o);
	o = NULL;
	if ((r = ctl_send_fds(x->fd, fds, 3, "", 1))) {
		snprintf(err, errlen, "sending stdio: %s", strerror(-r));
		goto out;
	}
	if (!(o = ok_answer(x, deadline, err, errlen, &e))) {
		/* A domain's refusal (the program, its state), not the line. */
		*start_failed = e != EIO;
		r = -e;
		goto out;
	}
	x->pid = json_object_get_int(json_object_object_get(o, "pid"));
	r = 0;
out:
	json_object_put(o);
	json_object_put(req);
	if (r)
		exec_call_close(x);
	return r;
}

int exec_call_wait(struct exec_call *x)
{
	sigset_t set, old;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	int st = -EIO;
	for (;;) {
		char *line;
		size_t len;
		/* The signalfd wakes the read: a signal to pass on. */
		int r = ctl_read_line(x->fd, sfd, x->lb, -1, &line, &len);
		if (r == -ECANCELED) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				char msg[32];
				snprintf(msg, sizeof(msg), "{\"signal\":%u}\n", si.ssi_signo);
				ctl_send_all(x->fd, msg, strlen(msg));
			}
			continue;
		}
		if (r <= 0) {
			st = r == 0 ? -ECONNRESET : r;
			break;
		}
		struct json_object *o = ctl_parse_line(line, len, NULL, 0), *v;
		bool done = o && json_object_object_get_ex(o, "exit", &v);
		if (done)
			st = json_object_get_int(v) & 0xffff;
		json_object_put(o);
		if (done)
			break;
	}
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return st;
}

void exec_call_close(struct exec_call *x)
{
	if (x->fd >= 0)
		close(x->fd);
	free(x->lb);
	x->fd = -1;
	x->lb = NULL;
}

int exec_start_status(int r, int start_failed)
{
	if (!start_failed)
		return EXIT_PDVM_ERROR;
	switch (-r) {
	case ENOENT: case ENOTDIR:
		return EXIT_NOT_FOUND;
	case EACCES: case EPERM: case ENOEXEC: case ELOOP: case EISDIR: case ETXTBSY: case E2BIG: case ENAMETOOLONG:
		return EXIT_CANNOT_EXEC;
	default:
		return EXIT_PDVM_ERROR; /* the domain's state (paused, full), not the program */
	}
}

_Noreturn void exec_exit_like(int wstatus)
{
	if (WIFEXITED(wstatus))
		exit(WEXITSTATUS(wstatus));
	int sig = WTERMSIG(wstatus);
	struct rlimit no = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no);
	fflush(NULL);
	signal(sig, SIG_DFL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
	exit(128 + sig);
}

static const char usage[] =
	"Usage: pdvm exec [OPTIONS] NAME COMMAND [ARG...]\n"
	"\n"
	"Runs COMMAND as a new process of the running domain NAME: inside its root,\n"
	"as its user, with its limits and network, seen by its other processes in\n"
	"/proc. Its stdout and stderr are this command's; its stdin too with -i (else\n"
	"/dev/null). Signals this command gets (INT, TERM, HUP, QUIT, USR1, USR2, WINCH)\n"
	"go to it; if this command is killed, so is it. It has no parent in the domain\n"
	"(getppid() is 0) and ends when the domain does. A domain with such a process\n"
	"running cannot be snapshotted (its stdio belongs to this command).\n"
	"\n"
	"Options:\n"
	"  -i, --interactive      pass this command's stdin\n"
	"  -e, --env KEY=VALUE    add to the environment (the first process's)\n"
	"  -w, --workdir DIR      the working directory (default: the first process's)\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: COMMAND's, or 128 + the signal that ended it; 125 if pdvm failed\n"
	"(no such domain), 126 if COMMAND cannot run, 127 if it was not found, 2 for a\n"
	"usage error.\n";

int cmd_exec(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "interactive", no_argument, NULL, 'i' }, { "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char **env = calloc((size_t)argc + 1, sizeof(char *));
	int nenv = 0, opt;
	bool interactive = false;
	const char *cwd = NULL;
	optind = 1;
	opterr = 0;
	if (!env)
		return EXIT_PDVM_ERROR;
	/* '+': the options end at NAME; COMMAND's own options are its own. */
	while ((opt = getopt_long(argc, argv, "+:ie:w:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'i': interactive = true; break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fprintf(stderr, "pdvm exec: --env '%s': want KEY=VALUE\n", optarg);
				free(env);
				return EXIT_USAGE;
			}
			env[nenv++] = optarg;
			break;
		case 'w':
			if (optarg[0] != '/') {
				fprintf(stderr, "pdvm exec: --workdir '%s': want an absolute path\n", optarg);
				free(env);
				return EXIT_USAGE;
			}
			cwd = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			free(env);
			return 0;
		default:
			fprintf(stderr, "pdvm exec: %s '%s'\nSee 'pdvm exec --help'.\n",
				opt == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
			free(env);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "pdvm exec: %s\nSee 'pdvm exec --help'.\n",
			argc == optind ? "no NAME and COMMAND given" : "no COMMAND given");
		free(env);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	if (!ctl_name_valid(name)) {
		fprintf(stderr, "pdvm exec: bad domain name \"%s\": %s\n", name, ctl_bad_name_why);
		free(env);
		return EXIT_USAGE;
	}
	int null = interactive ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
	int fds[3] = { interactive ? 0 : null, 1, 2 };
	struct exec_call x;
	char err[512];
	int failed;
	int r = exec_call_start(name, argv + optind + 1, NULL, env, cwd, fds, &x, &failed, err, sizeof(err));
	if (null >= 0)
		close(null);
	free(env);
	if (r) {
		fprintf(stderr, "pdvm exec: %s: %s\n", name, err);
		return exec_start_status(r, failed);
	}
	int st = exec_call_wait(&x);
	exec_call_close(&x);
	if (st < 0) {
		fprintf(stderr, "pdvm exec: %s: the domain went away without telling process %d's end: %s\n",
			name, x.pid, strerror(-st));
		return EXIT_PDVM_ERROR;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
