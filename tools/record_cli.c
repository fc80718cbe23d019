/* record_cli.c: `pdvm record` (a run that writes a trace directory: its events and meta.json, how to run it again) and `pdvm replay` (that run again, or --info). */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "record_cli.h"
#include "replay/rr.h"
#include "replay/trace.h"
#include "vmm/status.h"
#include "vmm/syscall.h"

#define META_FORMAT 1

static const char record_usage[] =
	"Usage: pdvm record [--trace DIR] [RUN OPTIONS] CONFIG\n"
	"       pdvm record --trace DIR [RUN OPTIONS] -- PROGRAM [ARGS...]\n"
	"       pdvm record --trace DIR --restore [RESTORE OPTIONS] IMAGE\n"
	"\n"
	"Runs a program as 'pdvm run' does (the same options) and writes a trace to\n"
	"DIR (else to the config's trace key; made if missing, and it must not hold\n"
	"a trace yet): every system call's result and the memory it wrote, so that\n"
	"'pdvm replay DIR' runs the program again with the same results. With\n"
	"--restore (before restore's options), the domain comes from a snapshot\n"
	"IMAGE as 'pdvm restore' brings it back (the threads of one process), and\n"
	"its replay restores the same image, which must still be there.\n"
	"\n"
	"The domain sees time only through system calls; one started by record has\n"
	"no control socket. Signals from timers and the host are taken at the\n"
	"end of a system call or interrupting a blocked one, where a replay gives\n"
	"them again. Threads run in parallel, each on page tables of its own (a\n"
	"page changing hands is logged); child processes (fork, vfork, exec) are\n"
	"recorded while each has its memory to itself. The program's rdtsc and\n"
	"rdtscp are recorded where they trap (the ring-0 backend; a PVM host runs\n"
	"them natively: not recorded there). Not recorded yet: a child\n"
	"of a process with threads, threads in a domain of several processes,\n"
	"writable MAP_SHARED memory two processes could share, descriptors passed\n"
	"over UNIX sockets; a program that makes them stops the recording with a\n"
	"message (exit status 125).\n"
	"\n"
	"Exit status: the program's, as 'pdvm run'; 125 if the trace could not be\n"
	"written; 2 for a usage error.\n";

static const char replay_usage[] =
	"Usage: pdvm replay DIR\n"
	"       pdvm replay --info DIR\n"
	"\n"
	"Runs the program recorded in DIR again: each system call is checked against\n"
	"the trace, then answered from it (reads, time, random numbers, writes to\n"
	"files and sockets: nothing outside is touched) or made again where the\n"
	"replay needs it (memory maps, signal state, read-only opens, writes to its\n"
	"own stdout and stderr, which it shows again). The first call that differs\n"
	"stops the replay with what was recorded and what the replay saw.\n"
	"--info summarises the trace instead: threads, calls by kind, bytes.\n"
	"\n"
	"Exit status: the program's, as recorded; 125 for a damaged trace or a\n"
	"divergence; 2 for a usage error.\n";

int rr_pin(const struct run_rr *rr)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0 || !CPU_ISSET(rr->cpu, &set)) {
		fprintf(stderr, "pdvm: cannot run on CPU %d, where the recording ran\n", rr->cpu);
		return -1;
	}
	return 0;
}

/* The first CPU this process may run on. */
static int first_cpu(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				return i;
	return 0;
}

static int write_meta(const char *dir, char **args, int n, const struct run_rr *rr, bool from_image, char *why,
		      size_t wn)
{
	char path[4200], cwd[4096], hex[33];
	if (!getcwd(cwd, sizeof(cwd))) {
		snprintf(why, wn, "getcwd: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", rr->at_random[i]);
	json_object *m = json_object_new_object(), *a = json_object_new_array();
	json_object_object_add(m, "format", json_object_new_int(META_FORMAT));
	json_object_object_add(m, "trace_version", json_object_new_int(TRACE_VERSION));
	json_object_object_add(m, "cwd", json_object_new_string(cwd));
	json_object_object_add(m, "command", json_object_new_string(from_image ? "restore" : "run"));
	json_object_object_add(m, "at_random", json_object_new_string(hex));
	json_object_object_add(m, "first_pid", json_object_new_int(rr->first_pid));
	json_object_object_add(m, "cpu", json_object_new_int(rr->cpu));
	for (int i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(args[i]));
	json_object_object_add(m, "args", a);
	snprintf(path, sizeof(path), "%s/%s", dir, TRACE_META);
	int r = json_object_to_file_ext(path, m, JSON_C_TO_STRING_PRETTY);
	json_object_put(m);
	if (r < 0) {
		snprintf(why, wn, "%s: %s", path, json_util_get_last_err());
		return -1;
	}
	return 0;
}

/* The recording itself, into dir, of run's (or restore's) argv args[0..n). */
static int record_into(const char *dir, char **args, int n, run_fn run, bool from_image)
{
	char why[4400];
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "pdvm record: %s: %s\n", dir, strerror(errno));
		return EXIT_PDVM_ERROR;
	}
	struct run_rr rr;
	if (getrandom(rr.at_random, sizeof(rr.at_random), 0) != (ssize_t)sizeof(rr.at_random) ||
	    !(rr.s = rr_record_new(dir, why, sizeof(why)))) {
		fprintf(stderr, "pdvm record: %s\n", errno == EEXIST ? "DIR already holds a trace" : why);
		return EXIT_PDVM_ERROR;
	}
	rr.first_pid = getpid();
	rr.cpu = first_cpu();
	if (write_meta(dir, args + 1, n - 1, &rr, from_image, why, sizeof(why)) < 0) {
		fprintf(stderr, "pdvm record: %s\n", why);
		rr_session_end(rr.s, 0);
		return EXIT_PDVM_ERROR;
	}
	return rr_session_end(rr.s, from_image ? cmd_restore_rr(n, args, &rr) : run(n, args, &rr));
}

int cmd_record(int argc, char **argv, run_fn run)
{
	const char *dir = NULL;
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	char why[4400];
	bool dashdash = false, from_image = false;
	int n = 0, rc;
	if (!args)
		return EXIT_PDVM_ERROR;
	args[n++] = argv[0];
	/* --trace is record's; everything else is run's, passed on as it is. */
	for (int i = 1; i < argc; i++) {
		if (!dashdash && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
			fputs(record_usage, stdout);
			free(args);
			return 0;
		}
		if (!dashdash && !strcmp(argv[i], "--trace") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!dashdash && !strncmp(argv[i], "--trace=", 8)) {
			dir = argv[i] + 8;
		} else if (!dashdash && n == 1 && !strcmp(argv[i], "--restore")) {
			from_image = true;
		} else {
			dashdash |= !strcmp(argv[i], "--");
			args[n++] = argv[i];
		}
	}
	/* Else the config file's `trace` (CONFIG is the last argument, with no --). */
	struct domain_config cfg = { 0 };
	if (!dir && !from_image && n > 1 && !dashdash && args[n - 1][0] != '-') {
		if (config_load(&cfg, args[n - 1], why, sizeof(why)) < 0) {
			fprintf(stderr, "%s\n", why);
			rc = EXIT_PDVM_ERROR;
			goto out;
		}
		dir = cfg.trace;
	}
	if (!dir || !*dir) {
		fprintf(stderr, "pdvm record: no --trace DIR given (nor a config's trace key)\nSee 'pdvm record --help'.\n");
		rc = EXIT_USAGE;
		goto out;
	}
	rc = record_into(dir, args, n, run, from_image);
out:
	config_free(&cfg);
	free(args);
	return rc;
}

/* meta.json's args (into a NULL-terminated argv after name), cwd and AT_RANDOM. */
static char **read_meta(const char *dir, const char *name, int *argc, struct run_rr *rr, bool *from_image, char *why,
			size_t wn)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, TRACE_META);
	json_object *m = json_object_from_file(path), *f, *a, *c, *r, *p, *cpu;
	char **v = NULL;
	if (!m) {
		snprintf(why, wn, "%s: %s", path, json_util_get_last_err());
		return NULL;
	}
	const char *hex;
	if (!json_object_object_get_ex(m, "format", &f) || json_object_get_int(f) != META_FORMAT ||
	    !json_object_object_get_ex(m, "args", &a) || !json_object_is_type(a, json_type_array) ||
	    !json_object_object_get_ex(m, "cwd", &c) || !json_object_is_type(c, json_type_string) ||
	    !json_object_object_get_ex(m, "at_random", &r) || !(hex = json_object_get_string(r)) ||
	    strlen(hex) != 32 || !json_object_object_get_ex(m, "first_pid", &p) ||
	    (rr->first_pid = json_object_get_int(p)) <= 0 || rr->first_pid > (1 << 22) || !json_object_object_get_ex(m, "cpu", &cpu) ||
	    (rr->cpu = json_object_get_int(cpu)) < 0 || rr->cpu >= CPU_SETSIZE) {
		snprintf(why, wn, "%s: not a pdvm trace's meta.json (format %d)", path, META_FORMAT);
		goto out;
	}
	json_object *cmd;
	*from_image = json_object_object_get_ex(m, "command", &cmd) && json_object_get_string(cmd) &&
		      !strcmp(json_object_get_string(cmd), "restore");
	for (int i = 0; i < 16; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &rr->at_random[i]) != 1) {
			snprintf(why, wn, "%s: at_random is not hexadecimal", path);
			goto out;
		}
	size_t n = json_object_array_length(a);
	if (!(v = calloc(n + 2, sizeof(*v)))) {
		snprintf(why, wn, "out of memory");
		goto out;
	}
	v[0] = strdup(name);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		v[i + 1] = strdup(json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "");
	}
	*argc = (int)n + 1;
	if (chdir(json_object_get_string(c)) < 0) {
		snprintf(why, wn, "the recording's directory %s: %s", json_object_get_string(c), strerror(errno));
		for (size_t i = 0; i <= n; i++)
			free(v[i]);
		free(v);
		v = NULL;
	}
out:
	json_object_put(m);
	return v;
}

static int print_info(const char *dir)
{
	struct rr_info *in = calloc(1, sizeof(*in));
	char why[4400];
	syscall_init();
	if (!in || rr_trace_info(dir, in, why, sizeof(why)) < 0) {
		fprintf(stderr, "pdvm replay: %s\n", in ? why : "out of memory");
		free(in);
		return EXIT_PDVM_ERROR;
	}
	printf("trace:        %s (format %d, %llu bytes compressed)\n", dir, TRACE_VERSION,
	       (unsigned long long)in->file_bytes);
	printf("threads:      %u\n", in->threads);
	printf("events:       %llu (%llu system calls, %llu signals from outside)\n", (unsigned long long)in->events,
	       (unsigned long long)in->syscalls, (unsigned long long)in->signals);
	printf("memory writes: %llu (%llu bytes)\n", (unsigned long long)in->writes,
	       (unsigned long long)in->write_bytes);
	printf("exit status:  %lld (memory crc32 %08x over %llu %spages)\n", (long long)in->exit_status, in->mem_crc,
	       (unsigned long long)in->pages, in->nonzero_pages ? "nonzero " : "");
	if (in->tsc_trapped)
		printf("rdtsc:        %llu reads (trapped, answered from the trace)\n", (unsigned long long)in->tsc);
	else
		printf("rdtsc:        not trapped (it runs natively on this backend: not recorded)\n");
	if (in->crew_takes) {
		/* Threads on page-table views (replay/README.md, "Threads"). */
		printf("page faults:  %llu (pages taken by a thread's view)\n", (unsigned long long)in->crew_takes);
		printf("pages moved:  %llu (taken from another thread; %llu gives)\n", (unsigned long long)in->crew_moved,
		       (unsigned long long)in->crew_gives);
		printf("stops:        %llu (threads stopped in user code to give, %llu pages logged)\n",
		       (unsigned long long)in->crew_stops, (unsigned long long)in->crew_stop_pages);
		printf("hold changes: %llu (pages that ping-pong stay longer with each taker)\n",
		       (unsigned long long)in->crew_holds);
	}
	printf("calls by kind:\n");
	for (int k = 0; k < 8; k++) {
		int best = -1;
		for (int i = 0; i < 512; i++)
			if (in->by_nr[i] && (best < 0 || in->by_nr[i] > in->by_nr[best]))
				best = i;
		if (best < 0)
			break;
		printf("  %-16s %llu\n", syscall_name(best), (unsigned long long)in->by_nr[best]);
		in->by_nr[best] = 0;
	}
	free(in);
	return 0;
}

int cmd_replay(int argc, char **argv, run_fn run)
{
	bool info = false;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(replay_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--info")) {
			info = true;
		} else if (argv[i][0] == '-' || dir) {
			fprintf(stderr, "pdvm replay: unexpected argument '%s'\nSee 'pdvm replay --help'.\n", argv[i]);
			return EXIT_USAGE;
		} else {
			dir = argv[i];
		}
	}
	if (!dir) {
		fprintf(stderr, "pdvm replay: no trace DIR given\nSee 'pdvm replay --help'.\n");
		return EXIT_USAGE;
	}
	if (info)
		return print_info(dir);
	char why[4400], abs[4096];
	if (!realpath(dir, abs)) {
		fprintf(stderr, "pdvm replay: %s: %s\n", dir, strerror(errno));
		return EXIT_PDVM_ERROR;
	}
	struct run_rr rr;
	int n = 0;
	if (!(rr.s = rr_replay_new(abs, why, sizeof(why)))) {
		fprintf(stderr, "pdvm replay: %s\n", why);
		return EXIT_PDVM_ERROR;
	}
	bool from_image = false;
	char **args = read_meta(abs, argv[0], &n, &rr, &from_image, why, sizeof(why));
	if (!args) {
		fprintf(stderr, "pdvm replay: %s\n", why);
		return rr_session_end(rr.s, EXIT_PDVM_ERROR);
	}
	int rc = rr_session_end(rr.s, from_image ? cmd_restore_rr(n, args, &rr) : run(n, args, &rr));
	for (int i = 0; i < n; i++)
		free(args[i]);
	free(args);
	return rc;
}
