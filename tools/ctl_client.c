/* ctl_client.c: the pdvm commands that talk to running domains — list, pause, resume, kill, snapshot, migrate. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <json-c/json.h>
#include "vmm/status.h"
#include "control.h"
#include "vmm/domain.h"
#include "ctl_proto.h"

/* Prints "pdvm CMD: MSG" and the pointer to --help; returns EXIT_USAGE. */
static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "pdvm %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nSee 'pdvm %s --help'.\n", cmd);
	return EXIT_USAGE;
}

/* getopt_long for the client commands, with pdvm run's error messages.
 * Returns the option, -1 at the end, or -2 after printing a usage error. */
static int next_opt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int opt = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (opt == ':') {
		usage_error(argv[0], "option '%s' needs a value", argv[optind - 1]);
		return -2;
	}
	if (opt == '?') {
		if (optopt && !strncmp(argv[optind - 1], "--", 2)) {
			usage_error(argv[0], "option '%s' takes no value", argv[optind - 1]);
		} else if (optopt) {
			char o[3] = { '-', (char)optopt, 0 };

			usage_error(argv[0], "unknown option '%s'", o);
		} else {
			usage_error(argv[0], "unknown option '%s'", argv[optind - 1]);
		}
		return -2;
	}
	return opt;
}

/* Opens the control directory for a client; -errno, with ENOENT meaning
 * there are no domains (nothing ever ran here). */
static int open_dir_client(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static struct json_object *simple_request(const char *cmd)
{
	struct json_object *req = json_object_new_object();

	if (req)
		json_object_object_add(req, "cmd", json_object_new_string(cmd));
	return req;
}

/* Sends req to NAME and reports failure as "pdvm CMD: NAME: why". */
/* One request; on success *out (if asked for) is the response. */
static int client_call(const char *cmd, const char *name, struct json_object *req, int timeout_ms,
		       struct json_object **out)
{
	const char *dir = control_dir();
	struct json_object *resp = NULL, *e;
	char err[512];
	int dirfd, r, rc = EXIT_FAILED;

	if (!req) {
		fprintf(stderr, "pdvm %s: out of memory\n", cmd);
		return EXIT_FAILED;
	}
	dirfd = open_dir_client(dir);
	if (dirfd == -ENOENT) {
		fprintf(stderr, "pdvm %s: %s: no such domain\n", cmd, name);
		return EXIT_FAILED;
	}
	if (dirfd < 0) {
		fprintf(stderr, "pdvm %s: %s: %s\n", cmd, dir, strerror(-dirfd));
		return EXIT_FAILED;
	}
	r = ctl_call(dirfd, dir, name, req, timeout_ms, &resp, err, sizeof(err));
	close(dirfd);
	if (r) {
		fprintf(stderr, "pdvm %s: %s: %s\n", cmd, name, err);
	} else if (!json_object_get_boolean(json_object_object_get(resp, "ok"))) {
		fprintf(stderr, "pdvm %s: %s: %s\n", cmd, name,
			json_object_object_get_ex(resp, "error", &e) ? json_object_get_string(e)
								    : "failed (no reason given)");
	} else {
		rc = 0;
		if (out) {
			*out = resp;
			resp = NULL;
		}
	}
	json_object_put(resp);
	return rc;
}

static int client_request(const char *cmd, const char *name, struct json_object *req, int timeout_ms)
{
	return client_call(cmd, name, req, timeout_ms, NULL);
}

/* pause, resume and kill: one NAME, one request cmd, silence on success. */
static int simple_command(int argc, char **argv, const char *cmd, const char *usage)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = next_opt(argc, argv, ":h", opts)) != -1) {
		if (opt == -2)
			return EXIT_USAGE;
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		}
	}
	if (optind >= argc)
		return usage_error(argv[0], "%s", "no NAME given");
	if (optind + 1 < argc)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind + 1]);
	if (!ctl_name_valid(argv[optind])) {
		fprintf(stderr, "pdvm %s: bad domain name \"%s\": %s\n", argv[0], argv[optind],
			ctl_bad_name_why);
		return EXIT_USAGE;
	}
	struct json_object *req = simple_request(cmd);
	int rc = client_request(argv[0], argv[optind], req, CTL_COMMAND_MS);

	json_object_put(req);
	return rc;
}

int cmd_pause(int argc, char **argv)
{
	return simple_command(argc, argv, "pause",
		"Usage: pdvm pause NAME\n"
		"\n"
		"Pauses the running domain NAME: every thread of its program stops where it\n"
		"is (a blocked system call is restarted on resume); its memory stays as it is.\n"
		"'pdvm resume NAME' lets it go on.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 when paused, 1 if it failed (no such domain, already paused,\n"
		"exiting), 2 for a usage error.\n");
}

int cmd_resume(int argc, char **argv)
{
	return simple_command(argc, argv, "resume",
		"Usage: pdvm resume NAME\n"
		"\n"
		"Lets the domain NAME, paused with 'pdvm pause', go on.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 when resumed, 1 if it failed (no such domain, not paused,\n"
		"exiting), 2 for a usage error.\n");
}

int cmd_kill(int argc, char **argv)
{
	return simple_command(argc, argv, "kill",
		"Usage: pdvm kill NAME\n"
		"\n"
		"Ends the domain NAME at once, as SIGKILL would end a process (paused or not):\n"
		"its 'pdvm run' exits with status 137.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 when the domain was told to end, 1 if it failed (no such\n"
		"domain), 2 for a usage error.\n");
}

/* An absolute version of path, relative to the current directory (which is
 * the client's, not the domain's); malloc'ed, NULL with errno set. */
static char *absolute_path(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&out, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path) < 0)
		return NULL;
	return out;
}

/* After the options: exactly NAME, a valid domain name, and one more
 * argument (`what`). 0, or EXIT_USAGE having said what is wrong. */
static int name_and(int argc, char **argv, const char *what)
{
	char msg[64];
	if (argc - optind < 2) {
		snprintf(msg, sizeof(msg), argc == optind ? "no NAME and %s given" : "no %s given", what);
		return usage_error(argv[0], "%s", msg);
	}
	if (argc - optind > 2)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind + 2]);
	if (!ctl_name_valid(argv[optind])) {
		fprintf(stderr, "pdvm %s: bad domain name \"%s\": %s\n", argv[0], argv[optind],
			ctl_bad_name_why);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_snapshot(int argc, char **argv)
{
	static const char usage[] =
		"Usage: pdvm snapshot [--stop] [--parent PARENT_DIR] NAME DIR\n"
		"\n"
		"Writes a snapshot image of the running domain NAME to the directory DIR: the\n"
		"domain pauses while it is written, then goes on (or ends, with --stop).\n"
		"Relative paths are taken from the current directory. pdvm waits for the image\n"
		"however long it takes. Options may also come after NAME and DIR.\n"
		"\n"
		"Options:\n"
		"      --stop               end the domain once the image is written\n"
		"      --parent PARENT_DIR  write an incremental image: only what changed since\n"
		"                           PARENT_DIR, an earlier snapshot of this domain\n"
		"  -h, --help               show this help\n"
		"\n"
		"Exit status: 0 when the image is written, 1 if it failed (no such domain,\n"
		"the image could not be written), 2 for a usage error.\n";
	enum { OPT_STOP = 256, OPT_PARENT };
	static const struct option opts[] = {
		{ "stop", no_argument, NULL, OPT_STOP },
		{ "parent", required_argument, NULL, OPT_PARENT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *parent = NULL;
	char *dir = NULL, *par = NULL;
	struct json_object *req;
	bool stop = false;
	int opt, rc;

	opterr = 0;
	optind = 1;
	while ((opt = next_opt(argc, argv, ":h", opts)) != -1) {
		switch (opt) {
		case -2:
			return EXIT_USAGE;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case OPT_STOP:
			stop = true;
			break;
		case OPT_PARENT:
			parent = optarg;
			break;
		}
	}
	if (name_and(argc, argv, "DIR"))
		return EXIT_USAGE;
	if (!argv[optind + 1][0] || (parent && !parent[0]))
		return usage_error(argv[0], "%s", "empty directory name");
	dir = absolute_path(argv[optind + 1]);
	par = parent ? absolute_path(parent) : NULL;
	if (!dir || (parent && !par)) {
		fprintf(stderr, "pdvm %s: %s\n", argv[0], strerror(errno));
		free(dir);
		free(par);
		return EXIT_FAILED;
	}
	req = simple_request("snapshot");
	if (req) {
		json_object_object_add(req, "dir", json_object_new_string(dir));
		json_object_object_add(req, "stop", json_object_new_boolean(stop));
		if (par)
			json_object_object_add(req, "parent", json_object_new_string(par));
	}
	/* No timeout: writing the image of a big domain takes as long as it takes. */
	rc = client_request(argv[0], argv[optind], req, -1);
	json_object_put(req);
	free(dir);
	free(par);
	return rc;
}

/* The progress line of a migration on a terminal: asks the domain's info
 * four times a second (the migration itself holds the other connection). */
struct progress_ctx {
	const char *name;
	int wakefd;             /* readable: stop */
	bool printed;
};

static void *progress_thread(void *arg)
{
	struct progress_ctx *p = arg;
	const char *dir = control_dir();
	struct json_object *req = simple_request("info");
	for (;;) {
		struct pollfd w = { p->wakefd, POLLIN, 0 };
		if (poll(&w, 1, 250) != 0)
			break;
		int dirfd = open_dir_client(dir);
		struct json_object *resp = NULL, *m, *v;
		char err[256], line[160];
		if (dirfd < 0)
			continue;
		int r = ctl_call(dirfd, dir, p->name, req, 1000, &resp, err, sizeof(err));
		close(dirfd);
		if (!r && json_object_object_get_ex(resp, "migration", &m)) {
			double mib = 0, rate = 0, est = 0;
			int round = 0;
			const char *phase = "?";
			if (json_object_object_get_ex(m, "phase", &v))
				phase = json_object_get_string(v);
			if (json_object_object_get_ex(m, "round", &v))
				round = json_object_get_int(v);
			if (json_object_object_get_ex(m, "sent_bytes", &v))
				mib = (double)json_object_get_int64(v) / (1 << 20);
			if (json_object_object_get_ex(m, "dirty_mbps", &v))
				rate = json_object_get_double(v);
			if (json_object_object_get_ex(m, "estimated_ms", &v))
				est = json_object_get_double(v);
			snprintf(line, sizeof(line), "%s: %s, round %d, %.1f MiB sent, dirtying %.0f MB/s, "
				 "downtime est. %.1f ms", p->name, phase, round, mib, rate, est);
			fprintf(stderr, "\r%-100.100s", line);
			p->printed = true;
		}
		json_object_put(resp);
	}
	json_object_put(req);
	return NULL;
}

int cmd_migrate(int argc, char **argv)
{
	static const char usage[] =
		"Usage: pdvm migrate [--key FILE | --insecure] [--max-downtime MS]\n"
		"                    [--postcopy never|auto|always] [--timeout SEC]\n"
		"                    [--copy-writable] [--json] NAME HOST:PORT\n"
		"\n"
		"Moves the running domain NAME to the 'pdvm receive' waiting on HOST:PORT:\n"
		"its memory and then its image go over one TCP connection, the target\n"
		"rebuilds it under its own policy, and once the target says it is ready the\n"
		"domain ends here (its pdvm exits 0) and runs there. Until then any failure\n"
		"(a cut link, a target that refuses the image or dies) lets it go on here,\n"
		"and this command says why. Memory is sent first while the domain runs\n"
		"(pre-copy); the domain is paused only for the pages written since and the\n"
		"rest of its state. The source's domain log says how long. The files it has\n"
		"open must be on the target, the same (size and contents): checked before it\n"
		"pauses, a missing or different one named and the domain left running here.\n"
		"\n"
		"Options:\n"
		"      --max-downtime MS  pre-copy goes on until the rest would take at most\n"
		"                    half of MS milliseconds to send (default 20); rounds\n"
		"                    that stop shrinking end it too. A budget, not a promise\n"
		"      --postcopy WHEN  auto (default): when pre-copy cannot get the rest under\n"
		"                    the budget (memory written faster than the link carries),\n"
		"                    the domain starts on the target first and its missing\n"
		"                    pages follow: the target asks for a page it touches, the\n"
		"                    rest is pushed. always: so from the start, without\n"
		"                    pre-copy. never: a stop-and-copy of the rest instead.\n"
		"                    Once the target runs the domain, this command waits until\n"
		"                    it has every page; a connection that breaks meanwhile is\n"
		"                    made again (the domain waits there for the pages it lacks)\n"
		"      --json        print what it did as JSON on success: rounds, pages per\n"
		"                    round, bytes, how long the domain was paused and where\n"
		"                    the time went\n"
		"      --key FILE    the pre-shared key the target has too (16 to 1024 bytes,\n"
		"                    e.g. head -c 32 /dev/urandom; mode 600): the stream is TLS\n"
		"                    1.3 with it (ECDHE-PSK), to any address\n"
		"      --insecure    without a key, send to a target that is not on loopback:\n"
		"                    the stream is then neither authenticated nor encrypted\n"
		"      --timeout SEC  a target silent this long is gone (default 60): before\n"
		"                    the go the domain then goes on here\n"
		"      --copy-writable  also copy the contents of the domain's writable paths\n"
		"                    (directories, files, symlinks) to the same paths on the\n"
		"                    target, which must let it write there: all of it while\n"
		"                    it runs, then what changed since while it is paused\n"
		"                    (downtime). Its open files there are then not checked\n"
		"  -h, --help        show this help\n"
		"\n"
		"Exit status: 0 when the domain runs on the target, 1 if the migration failed\n"
		"(the domain goes on here, or stays paused here when the target may run it:\n"
		"the message says which), 2 for a usage error.\n";
	enum { OPT_INSECURE = 256, OPT_DOWNTIME, OPT_JSON, OPT_KEY, OPT_TIMEOUT, OPT_POSTCOPY, OPT_COPYW };
	static const struct option opts[] = {
		{ "insecure", no_argument, NULL, OPT_INSECURE },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "max-downtime", required_argument, NULL, OPT_DOWNTIME },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "postcopy", required_argument, NULL, OPT_POSTCOPY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "copy-writable", no_argument, NULL, OPT_COPYW },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *req, *resp = NULL, *st;
	bool insecure = false, json = false, copyw = false;
	long downtime = 0, timeout = 0;
	char *end, *key = NULL, keybuf[PATH_MAX];
	const char *postcopy = NULL;
	int opt, rc;

	opterr = 0;
	optind = 1;
	while ((opt = next_opt(argc, argv, ":h", opts)) != -1) {
		switch (opt) {
		case -2:
			return EXIT_USAGE;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case OPT_INSECURE:
			insecure = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_COPYW:
			copyw = true;
			break;
		case OPT_KEY: {
			char *a = optarg[0] ? absolute_path(optarg) : NULL;
			if (!a || strlen(a) >= sizeof(keybuf)) {
				fprintf(stderr, "pdvm %s: --key: %s\n", argv[0], optarg[0] ? "bad path" : "empty");
				free(a);
				return EXIT_USAGE;
			}
			key = strcpy(keybuf, a);
			free(a);
			break;
		}
		case OPT_DOWNTIME:
			errno = 0;
			downtime = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || downtime < 1 || downtime > 3600000)
				return usage_error(argv[0], "--max-downtime takes milliseconds, 1 to 3600000, not '%s'",
						   optarg);
			break;
		case OPT_TIMEOUT:
			errno = 0;
			timeout = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || timeout < 1 || timeout > 3600)
				return usage_error(argv[0], "--timeout takes seconds, 1 to 3600, not '%s'", optarg);
			break;
		case OPT_POSTCOPY:
			if (strcmp(optarg, "never") && strcmp(optarg, "auto") && strcmp(optarg, "always"))
				return usage_error(argv[0], "--postcopy takes never, auto or always, not '%s'", optarg);
			postcopy = optarg;
			break;
		}
	}
	if (name_and(argc, argv, "HOST:PORT"))
		return EXIT_USAGE;
	const char *to = argv[optind + 1], *colon = strrchr(to, ':');
	if (!colon || colon == to || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(to) > 255)
		return usage_error(argv[0], "'%s' is not HOST:PORT", to);
	req = simple_request("migrate");
	if (req) {
		json_object_object_add(req, "to", json_object_new_string(to));
		json_object_object_add(req, "insecure", json_object_new_boolean(insecure));
		if (copyw)
			json_object_object_add(req, "copy_writable", json_object_new_boolean(true));
		if (downtime)
			json_object_object_add(req, "max_downtime_ms", json_object_new_int64(downtime));
		if (timeout)
			json_object_object_add(req, "timeout_ms", json_object_new_int64(timeout * 1000));
		if (postcopy)
			json_object_object_add(req, "postcopy", json_object_new_string(postcopy));
		if (key)
			json_object_object_add(req, "key", json_object_new_string(key));
	}
	/* A progress line on a terminal, nothing otherwise. */
	struct progress_ctx pc = { .name = argv[optind], .wakefd = -1 };
	pthread_t pt;
	bool pt_on = false;
	if (isatty(STDERR_FILENO) && (pc.wakefd = eventfd(0, EFD_CLOEXEC)) >= 0)
		pt_on = !pthread_create(&pt, NULL, progress_thread, &pc);
	/* No timeout: a big domain's image takes as long as it takes. */
	rc = client_call(argv[0], argv[optind], req, -1, &resp);
	if (pt_on) {
		uint64_t one = 1;
		if (write(pc.wakefd, &one, sizeof(one)) == sizeof(one))
			pthread_join(pt, NULL);
		if (pc.printed)
			fprintf(stderr, "\r%100s\r", "");
	}
	if (pc.wakefd >= 0)
		close(pc.wakefd);
	json_object_put(req);
	if (!rc && json && json_object_object_get_ex(resp, "stats", &st))
		printf("%s\n", json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN));
	json_object_put(resp);
	return rc;
}

/* 12.3M: what ls -h and docker print. */
static void human_size(char *buf, size_t n, uint64_t bytes)
{
	static const char units[] = "KMGTP";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, n, "%lluB", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < (int)sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, v < 99.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* 5s, 3m12s, 2h05m, 4d03h: as docker ps shows ages, but exact. */
static void human_uptime(char *buf, size_t n, double secs)
{
	unsigned long long s = secs > 0 ? (unsigned long long)secs : 0;

	if (s < 60)
		snprintf(buf, n, "%llus", s);
	else if (s < 3600)
		snprintf(buf, n, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, n, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, n, "%llud%02lluh", s / 86400, s % 86400 / 3600);
}

static int sock_entry(const struct dirent *e)
{
	size_t n = strlen(e->d_name), sl = strlen(CTL_SUFFIX);

	return n > sl && !strcmp(e->d_name + n - sl, CTL_SUFFIX);
}

/* With ECONNREFUSED the socket's domain is gone; remove the file, under the
 * lock a starting domain holds while it claims the name, and only if the
 * socket is still refused then. */
static void remove_stale(int dirfd, const char *dir, const char *name, const char *file)
{
	struct stat st;

	/* connect(2) refuses a file that is no socket too: leave those alone. */
	if (fstatat(dirfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode))
		return;
	if (flock(dirfd, LOCK_EX) < 0)
		return;
	int fd = ctl_connect(dirfd, dir, name, CTL_LIST_MS);

	if (fd == -ECONNREFUSED)
		unlinkat(dirfd, file, 0); /* may fail (not our directory): harmless */
	else if (fd >= 0)
		close(fd);
	flock(dirfd, LOCK_UN);
}

int cmd_list(int argc, char **argv)
{
	static const char usage[] =
		"Usage: pdvm list [--json]\n"
		"\n"
		"Lists the running domains: those with a control socket in $PDVM_RUN_DIR\n"
		"(default /run/pdvm). Columns: NAME; PID, of the 'pdvm run' process; STATE,\n"
		"running, paused, exiting, snapshotting, migrating, or incoming (a 'pdvm\n"
		"receive' a domain of that name is migrating to; unknown: it did not\n"
		"answer, the reason goes to stderr); MEMORY, guest memory in use; UPTIME.\n"
		"Sockets left behind by domains that ended abruptly are removed.\n"
		"\n"
		"Options:\n"
		"      --json   print a JSON array of the domains' info objects instead\n"
		"               (name, pid, state, memory, memory_limit, uptime, threads)\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0, or 1 if the directory cannot be read, 2 for a usage error.\n";
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = control_dir();
	struct dirent **ents = NULL;
	struct json_object *arr, *req;
	bool json = false;
	int opt, n = 0, dirfd, width = 4;

	opterr = 0;
	optind = 1;
	while ((opt = next_opt(argc, argv, ":h", opts)) != -1) {
		if (opt == -2)
			return EXIT_USAGE;
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (opt == 'j')
			json = true;
	}
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind]);

	arr = json_object_new_array();
	req = simple_request("info");
	if (!arr || !req) {
		fprintf(stderr, "pdvm list: out of memory\n");
		json_object_put(arr);
		json_object_put(req);
		return EXIT_FAILED;
	}
	dirfd = open_dir_client(dir);
	if (dirfd >= 0) {
		/* scandir by path, not through dirfd: the lock and the sockets use
		 * dirfd, the listing needs its own stream. */
		n = scandir(dir, &ents, sock_entry, alphasort);
		if (n < 0) {
			int e = errno;

			close(dirfd);
			dirfd = -e;
			n = 0;
		}
	}
	if (dirfd < 0 && dirfd != -ENOENT) { /* no directory: nothing ever ran, an empty list */
		fprintf(stderr, "pdvm list: %s: %s\n", dir, strerror(-dirfd));
		json_object_put(arr);
		json_object_put(req);
		return EXIT_FAILED;
	}
	for (int i = 0; i < n; i++) {
		char name[CTL_NAME_MAX + 1], err[512];
		size_t len = strlen(ents[i]->d_name) - strlen(CTL_SUFFIX);
		struct json_object *resp = NULL, *row;
		int r;

		if (len > CTL_NAME_MAX)
			continue; /* not a domain's: its name would be too long */
		memcpy(name, ents[i]->d_name, len);
		name[len] = '\0';
		if (!ctl_name_valid(name))
			continue;
		r = ctl_call(dirfd, dir, name, req, CTL_LIST_MS, &resp, err, sizeof(err));
		if (r == -ENOENT) {
			remove_stale(dirfd, dir, name, ents[i]->d_name);
			continue;
		}
		if (!r && !json_object_get_boolean(json_object_object_get(resp, "ok"))) {
			struct json_object *e = json_object_object_get(resp, "error");

			snprintf(err, sizeof(err), "%s", e ? json_object_get_string(e) : "failed");
			r = -EPROTO;
		}
		if (r) {
			fprintf(stderr, "pdvm list: %s: %s\n", name, err);
			json_object_put(resp);
			resp = json_object_new_object();
			if (!resp)
				continue;
			json_object_object_add(resp, "name", json_object_new_string(name));
			json_object_object_add(resp, "state", json_object_new_string("unknown"));
			json_object_object_add(resp, "error", json_object_new_string(err));
		}
		json_object_object_del(resp, "ok");
		/* The table prints these: make sure a row has them. */
		if (!json_object_is_type(json_object_object_get(resp, "name"), json_type_string))
			json_object_object_add(resp, "name", json_object_new_string(name));
		if (!json_object_is_type(json_object_object_get(resp, "state"), json_type_string))
			json_object_object_add(resp, "state", json_object_new_string("unknown"));
		row = resp;
		if (json_object_array_add(arr, row) < 0)
			json_object_put(row);
		else if ((int)len > width)
			width = (int)len;
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (dirfd >= 0)
		close(dirfd);
	json_object_put(req);

	if (json && json_object_array_length(arr) == 0) {
		puts("[]"); /* json-c would print "[\n]" */
	} else if (json) {
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("%-*s %8s %-9s %8s %s\n", width, "NAME", "PID", "STATE", "MEMORY", "UPTIME");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *o = json_object_array_get_idx(arr, i), *v;
			char mem[16] = "-", up[32] = "-", pid[16] = "-";

			if (json_object_object_get_ex(o, "pid", &v))
				snprintf(pid, sizeof(pid), "%d", json_object_get_int(v));
			if (json_object_object_get_ex(o, "memory", &v))
				human_size(mem, sizeof(mem), (uint64_t)json_object_get_int64(v));
			if (json_object_object_get_ex(o, "uptime", &v))
				human_uptime(up, sizeof(up), json_object_get_double(v));
			printf("%-*s %8s %-9s %8s %s\n", width,
			       json_object_get_string(json_object_object_get(o, "name")), pid,
			       json_object_get_string(json_object_object_get(o, "state")), mem, up);
		}
	}
	json_object_put(arr);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "pdvm list: writing the list: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	return 0;
}
