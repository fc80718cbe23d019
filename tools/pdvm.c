/* pdvm.c: the pdvm command line — parses the command and its options, builds the domain config, runs it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vmm/status.h"
#include "config.h"
#include "net/netns.h"
#include "net/tool.h"
#include "control.h"
#include "devshm.h"
#include "containerfs.h"
#include "masks.h"
#include "volumes.h"
#include "oci.h"
#include "exec_client.h"
#include "vmm/domain.h"
#include "vmm/exl.h"
#include "replay/rr.h"
#include "record_cli.h"

#ifndef PDVM_VERSION
#define PDVM_VERSION "0.1.0-dev"
#endif

static const char usage_text[] =
	"Usage: pdvm [-h|--help] [--version] COMMAND [ARGS...]\n"
	"\n"
	"Runs a Linux x86-64 program as a process domain: the program runs in\n"
	"user mode of a minimal KVM guest and pdvm plays its kernel. Needs /dev/kvm.\n"
	"\n"
	"Commands:\n"
	"  run       run a program in a new domain and wait for it to end\n"
	"  list      list the running domains\n"
	"  pause     stop a domain's threads until 'pdvm resume'\n"
	"  resume    let a paused domain go on\n"
	"  kill      end a domain (its pdvm exits with 137)\n"
	"  exec      run a command as a new process of a running domain\n"
	"  snapshot  write a running domain to an image directory\n"
	"  restore   bring a domain back from an image and wait for it to end\n"
	"  migrate   move a running domain to a 'pdvm receive' on another host\n"
	"  receive   wait for a migrating domain, then run it like restore\n"
	"  record    run a program like run, writing a trace to replay it\n"
	"  replay    run a recorded program again, deterministically\n"
	"  info      what kind of KVM host this is and which trap backend works\n"
	"\n"
	"Run 'pdvm COMMAND --help' for a command's options, and 'man pdvm' (in the\n"
	"source tree: man -l docs/pdvm.1) for the config file.\n"
	"\n"
	"Exit status: 0 for --help and --version, 2 for a usage error; 'pdvm run'\n"
	"exits as described in 'pdvm run --help'.\n";

static const char run_usage_text[] =
	"Usage: pdvm run [OPTIONS] CONFIG\n"
	"       pdvm run [OPTIONS] -- PROGRAM [ARGS...]\n"
	"\n"
	"Runs a program in a new process domain and waits for it to end. CONFIG is a\n"
	"domain config file (see 'man pdvm'); with --, PROGRAM and its arguments come\n"
	"from the command line. PROGRAM is a path inside the root, or a name looked up\n"
	"in PATH. Options go before CONFIG or --, and override the config file.\n"
	"\n"
	"Options:\n"
	"      --name NAME        domain name (default: CONFIG's file name without\n"
	"                         .cfg, or PROGRAM's base name)\n"
	"      --root DIR         host directory that is the domain's / (default /)\n"
	"      --writable PATH    let the domain write to PATH inside the root\n"
	"                         (repeatable; the rest of the root is read-only)\n"
	"      --cwd DIR          working directory inside the root (default /; with\n"
	"                         -- and the host's / as root: the current directory)\n"
	"      --memory SIZE      guest memory: bytes or K/M/G suffix, e.g. 512M, 2G\n"
	"                         (default 512M; 16M to 64G)\n"
	"      --env KEY=VALUE    add or override an environment variable (repeatable;\n"
	"                         default environment: PATH=/usr/local/sbin:\n"
	"                         /usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin, HOME=/)\n"
	"      --log FILE         domain log (default /var/log/pdvm/NAME.log)\n"
	"      --net MODE         host (default: the host's network) or netns (a\n"
	"                         namespace of its own on bridge pdvm0, 10.231.0.0/24,\n"
	"                         NAT to the outside; the host is 10.231.0.1)\n"
	"      --publish H:D      netns: forward host port H to the domain's port D\n"
	"                         (TCP; H:D/udp for UDP; repeatable), like docker -p\n"
	"      --address A        netns: the domain's address (default: a free one)\n"
	"      --user USER        the domain's host identity: an account name or\n"
	"                         UID[:GID] (default " CONFIG_DEFAULT_USER ", an unprivileged account).\n"
	"                         Every host call made for the program carries it;\n"
	"                         'root' opts in to root's (unsafe: the program\n"
	"                         then reaches whatever root can)\n"
	"      --abstract-unix A  own (default): in the host's network, the domain\n"
	"                         reaches only abstract UNIX names its own sockets\n"
	"                         bound; host: also the host's (X11, D-Bus ...)\n"
	"      --shm-size SIZE    the domain's /dev/shm: a private tmpfs of SIZE\n"
	"                         (default 64M, as docker's) it may write; 0: the\n"
	"                         host's, read-only. Needs root (a mount namespace)\n"
	"      --trap-backend B   auto (default), pvm (KVM_EXIT_SHUTDOWN traps, PVM\n"
	"                         hosts) or ring0 (the guest stub, standard KVM):\n"
	"                         fail at start-up unless the host works that way\n"
	"      --syscall-path P   auto (default: exitless where it works), exitless\n"
	"                         (calls that cannot block are answered without a VM\n"
	"                         exit) or exit (every call is a VM exit)\n"
	"      --hostname NAME    the node name uname gives the program (default:\n"
	"                         the host's)\n"
	"      --ulimit L=S[:H]   a resource limit the program starts with, as\n"
	"                         docker's (e.g. nofile=1024:4096; repeatable)\n"
	"      --volume SRC:DST[:ro]\n"
	"                         bind host file or directory SRC (absolute) on DST\n"
	"                         inside the root, made if missing, writable unless\n"
	"                         :ro, as docker -v (repeatable). Needs root (a\n"
	"                         mount namespace)\n"
	"      --pids-limit N     at most N threads at once (clone and fork then\n"
	"                         fail with EAGAIN), as docker's; -1: no limit but\n"
	"                         pdvm's own (256)\n"
	"      --seccomp-profile FILE\n"
	"                         hold the program to a seccomp profile in the OCI\n"
	"                         form (docker's, podman's JSON): pdvm answers the\n"
	"                         calls it refuses as the kernel would\n"
	"      --container-fs     what a container runtime mounts in the root (made\n"
	"                         if missing): /proc (the domain's processes only),\n"
	"                         /sys read-only, and a /dev of null, zero, full,\n"
	"                         random, urandom, tty, a pts of its own, shm.\n"
	"                         Needs root (a mount namespace)\n"
	"      --pid-namespace    number the domain's processes from 1, as a pid\n"
	"                         namespace does: the program is init (pid 1), which\n"
	"                         only signals it handles reach (and KILL from outside)\n"
	"      --map-root-user    the program sees its identity as root (uid and gid\n"
	"                         0, its files owned by 0, the host's root's by\n"
	"                         nobody), as in unshare -r's user namespace; on the\n"
	"                         host it stays --user, with no privilege added\n"
	"      --tmpfs DST[:OPTS] a tmpfs on DST in the root (made if missing), as\n"
	"                         docker's (OPTS: size=, mode=, ro, noexec ...);\n"
	"                         writable unless ro; images carry its files\n"
	"      --mask PATH        hide PATH in the root if it is there: an empty\n"
	"                         file or directory in its place (repeatable)\n"
	"      --read-only PATH   make PATH in the root read-only if it is there,\n"
	"                         also inside a writable tree (repeatable)\n"
	"  -v, --verbose          also write the domain log to stderr\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: the program's exit status, or 128+N if signal N ended it;\n"
	"  125  pdvm itself failed (bad usage, bad config, cannot start the domain)\n"
	"  126  the program cannot be executed (e.g. not an x86-64 ELF executable)\n"
	"  127  the program (or its ELF interpreter) was not found\n";

enum {
	OPT_NAME = 256, OPT_ROOT, OPT_WRITABLE, OPT_CWD, OPT_MEMORY, OPT_ENV, OPT_LOG, OPT_TRAP,
	OPT_NET, OPT_PUBLISH, OPT_ADDRESS, OPT_USER, OPT_ABSTRACT, OPT_SHM, OPT_SYSPATH, OPT_HOSTNAME, OPT_ULIMIT,
	OPT_VOLUME, OPT_MASK, OPT_RDONLY, OPT_PIDS, OPT_SECCOMP, OPT_CONTAINERFS, OPT_TMPFS, OPT_PIDNS, OPT_MAPROOT,
};

static const struct option run_options[] = {
	{ "name",     required_argument, NULL, OPT_NAME },
	{ "root",     required_argument, NULL, OPT_ROOT },
	{ "writable", required_argument, NULL, OPT_WRITABLE },
	{ "cwd",      required_argument, NULL, OPT_CWD },
	{ "memory",   required_argument, NULL, OPT_MEMORY },
	{ "env",      required_argument, NULL, OPT_ENV },
	{ "log",      required_argument, NULL, OPT_LOG },
	{ "net",      required_argument, NULL, OPT_NET },
	{ "publish",  required_argument, NULL, OPT_PUBLISH },
	{ "address",  required_argument, NULL, OPT_ADDRESS },
	{ "trap-backend", required_argument, NULL, OPT_TRAP },
	{ "syscall-path", required_argument, NULL, OPT_SYSPATH },
	{ "user",     required_argument, NULL, OPT_USER },
	{ "abstract-unix", required_argument, NULL, OPT_ABSTRACT },
	{ "shm-size", required_argument, NULL, OPT_SHM },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "ulimit", required_argument, NULL, OPT_ULIMIT },
	{ "volume", required_argument, NULL, OPT_VOLUME },
	{ "mask", required_argument, NULL, OPT_MASK },
	{ "pids-limit", required_argument, NULL, OPT_PIDS },
	{ "seccomp-profile", required_argument, NULL, OPT_SECCOMP },
	{ "container-fs", no_argument, NULL, OPT_CONTAINERFS },
	{ "pid-namespace", no_argument, NULL, OPT_PIDNS },
	{ "map-root-user", no_argument, NULL, OPT_MAPROOT },
	{ "tmpfs", required_argument, NULL, OPT_TMPFS },
	{ "read-only", required_argument, NULL, OPT_RDONLY },
	{ "verbose",  no_argument,       NULL, 'v' },
	{ "help",     no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A command-line override, kept until the config file (if any) is loaded. */
struct override {
	const char *key;
	const char *value;
};

static int run_usage_error(const char *fmt, const char *arg)
{
	fputs("pdvm run: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nSee 'pdvm run --help'.\n", stderr);
	return EXIT_PDVM_ERROR;
}

static const char *option_key(int opt)
{
	switch (opt) {
	case OPT_NAME: return "name";
	case OPT_ROOT: return "root";
	case OPT_WRITABLE: return "writable";
	case OPT_CWD: return "cwd";
	case OPT_MEMORY: return "memory";
	case OPT_ENV: return "env";
	case OPT_LOG: return "log";
	case OPT_TRAP: return "trap_backend";
	case OPT_SYSPATH: return "syscall_path";
	case OPT_NET: return "net";
	case OPT_PUBLISH: return "publish";
	case OPT_ADDRESS: return "address";
	case OPT_USER: return "user";
	case OPT_ABSTRACT: return "abstract_unix";
	case OPT_SHM: return "shm_size";
	case OPT_HOSTNAME: return "hostname";
	case OPT_ULIMIT: return "ulimit";
	case OPT_VOLUME: return "volume";
	case OPT_MASK: return "mask";
	case OPT_PIDS: return "pids_limit";
	case OPT_SECCOMP: return "seccomp_profile";
	case OPT_CONTAINERFS: return "container_fs";
	case OPT_PIDNS: return "pid_namespace";
	case OPT_MAPROOT: return "map_root_user";
	case OPT_TMPFS: return "tmpfs";
	case OPT_RDONLY: return "read_only";
	default: return NULL;
	}
}

/* The -- form: the program and its argv come from the command line. */
static void set_command(struct domain_config *cfg, char **args, int n)
{
	cfg->dom.argv = calloc((size_t)n + 1, sizeof(*cfg->dom.argv));
	cfg->dom.program = strdup(args[0]);
	if (!cfg->dom.argv || !cfg->dom.program) {
		fputs("pdvm: out of memory\n", stderr);
		exit(EXIT_PDVM_ERROR);
	}
	for (int i = 0; i < n; i++) {
		cfg->dom.argv[i] = strdup(args[i]);
		if (!cfg->dom.argv[i]) {
			fputs("pdvm: out of memory\n", stderr);
			exit(EXIT_PDVM_ERROR);
		}
	}
}

/* The root must be an existing directory; resolve it now so the log and any
 * error name the real path. */
static int resolve_root(struct domain_config *cfg)
{
	char *real = realpath(cfg->dom.root, NULL);
	struct stat st;

	if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "pdvm run: root %s: %s\n", cfg->dom.root,
			real ? "not a directory" : strerror(errno));
		free(real);
		return -1;
	}
	free(cfg->dom.root);
	cfg->dom.root = real;
	return 0;
}

static void print_config(const struct domain_config *cfg)
{
	fprintf(stderr, "pdvm: domain %s: program %s, root %s, cwd %s, memory %llu MiB, log %s\n",
		cfg->dom.name, cfg->dom.program, cfg->dom.root, cfg->dom.cwd,
		(unsigned long long)(cfg->dom.memory >> 20), cfg->dom.log);
	for (char **a = cfg->dom.argv; *a; a++)
		fprintf(stderr, "pdvm:   argv[%td] = \"%s\"\n", a - cfg->dom.argv, *a);
	for (char **e = cfg->dom.envp; *e; e++)
		fprintf(stderr, "pdvm:   env %s\n", *e);
	for (char **w = cfg->dom.writable; *w; w++)
		fprintf(stderr, "pdvm:   writable %s\n", *w);
	for (char **v = cfg->volumes; v && *v; v++)
		fprintf(stderr, "pdvm:   volume %s\n", *v);
}

/* `pdvm run`, and the run of `pdvm record` and `pdvm replay` (rr). */
static int run_main(int argc, char **argv, struct run_rr *rr)
{
	struct domain_config cfg = { 0 };
	struct override *ov;
	const char *last_optarg = NULL;
	char err[1024];
	bool verbose = false, dashdash;
	int nov = 0, opt, rc = EXIT_PDVM_ERROR;

	/* At most one override per argument. */
	ov = calloc((size_t)argc, sizeof(*ov));
	if (!ov) {
		fputs("pdvm: out of memory\n", stderr);
		return EXIT_PDVM_ERROR;
	}
	/* '+': stop at the first non-option, so the program's own options after
	 * -- or CONFIG are never taken for pdvm's; ':': report missing values. */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:vh", run_options, NULL)) != -1) {
		last_optarg = optarg;
		switch (opt) {
		case 'h':
			fputs(run_usage_text, stdout);
			free(ov);
			return 0;
		case 'v':
			verbose = true;
			break;
		case ':':
			rc = run_usage_error("option '%s' needs a value", argv[optind - 1]);
			goto out;
		case '?':
			if (optopt && !strncmp(argv[optind - 1], "--", 2)) {
				rc = run_usage_error("option '%s' takes no value", argv[optind - 1]);
			} else if (optopt) {
				char o[3] = { '-', (char)optopt, 0 };

				rc = run_usage_error("unknown option '%s'", o);
			} else {
				rc = run_usage_error("unknown option '%s'", argv[optind - 1]);
			}
			goto out;
		default:
			ov[nov].key = option_key(opt);
			ov[nov++].value = optarg ? optarg : "true";     /* a flag: --container-fs */
			break;
		}
	}
	/* getopt_long consumed a "--" that was not some option's value. */
	dashdash = optind > 1 && !strcmp(argv[optind - 1], "--") &&
		   last_optarg != argv[optind - 1];

	if (dashdash) {
		if (optind >= argc) {
			rc = run_usage_error("%s", "no PROGRAM after --");
			goto out;
		}
		set_command(&cfg, argv + optind, argc - optind);
	} else if (optind >= argc) {
		rc = run_usage_error("%s", "no CONFIG (or -- PROGRAM [ARGS...]) given");
		goto out;
	} else if (optind + 1 < argc) {
		rc = run_usage_error("unexpected argument '%s' (options go before CONFIG; "
				     "a program's arguments go after --)", argv[optind + 1]);
		goto out;
	} else if (config_load(&cfg, argv[optind], err, sizeof(err)) < 0) {
		/* FILE:LINE: first, as compilers do, so editors can jump to it. */
		fprintf(stderr, "%s\n", err);
		goto out;
	}

	/* Overrides in command-line order; env last, so it adds to the
	 * environment the config file or the defaults give. */
	for (int i = 0; i < nov; i++) {
		if (!strcmp(ov[i].key, "env"))
			continue;
		if (config_set(&cfg, ov[i].key, ov[i].value, err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm run: --%s\n", err);
			goto out;
		}
	}
	if (verbose)
		cfg.dom.verbose = true;
	/* `pdvm run -- ./prog` behaves like running ./prog: with the host's
	 * own / as the root, the domain starts in the caller's directory. */
	if (dashdash && !cfg.dom.cwd && (!cfg.dom.root || !strcmp(cfg.dom.root, "/"))) {
		char here[4096];
		if (getcwd(here, sizeof(here)) && config_set(&cfg, "cwd", here, err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm run: %s\n", err);
			goto out;
		}
	}
	config_defaults(&cfg);
	for (int i = 0; i < nov; i++) {
		if (strcmp(ov[i].key, "env"))
			continue;
		if (config_set(&cfg, ov[i].key, ov[i].value, err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm run: --%s\n", err);
			goto out;
		}
	}
	if (cfg.trace && !rr) {
		fprintf(stderr, "pdvm run: %s asks for a recording (trace = \"%s\"): run it with 'pdvm record'\n",
			argv[optind], cfg.trace);
		goto out;
	}
	if (resolve_root(&cfg) < 0)
		goto out;
	if (config_resolve_user(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "pdvm run: %s\n", err);
		goto out;
	}
	if (cfg.dom.verbose)
		print_config(&cfg);

	/* Before any thread and the namespace: ip and nft run there from
	 * now on, so that pdvm's own threads can go under seccomp too. */
	if (tool_spawner_start(err, sizeof(err)) < 0) {
		fprintf(stderr, "pdvm run: %s\n", err);
		goto out;
	}
	if (containerfs_setup("run", &cfg) < 0 || devshm_setup("run", &cfg) < 0 || volumes_setup("run", &cfg) < 0 ||
	    masks_setup("run", &cfg) < 0)
		goto out;
	cfg.dom.filter_all = true;
	if (cfg.net.mode) {
		char addr[NETNS_ADDR_LEN];
		if (netns_enter(cfg.dom.name, &cfg.net, addr, err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm run: network: %s\n", err);
			goto out;
		}
		/* Snapshots record the address taken. */
		if (!cfg.net.address && !(cfg.net.address = strdup(addr))) {
			fprintf(stderr, "pdvm run: out of memory\n");
			goto out;
		}
		/* A namespace of its own has its own abstract names. */
		cfg.dom.abstract_host = true;
	}
	fflush(stdout);
	struct control_attach ctl = { .net = cfg.net.mode ? &cfg.net : NULL };
	if (rr && rr_pin(rr) < 0) {
		rc = EXIT_PDVM_ERROR;
	} else if (rr) {
		/* A recording or a replay has no control socket (yet). */
		cfg.dom.deterministic = true;
		cfg.dom.rr_tsc = (uint8_t)rr_tsc_mode(rr->s);
		memcpy(cfg.dom.at_random, rr->at_random, sizeof(cfg.dom.at_random));
		cfg.dom.first_pid = rr->first_pid;
		cfg.dom.vcpu_cpu = rr->cpu + 1;
		/* A replay answers on the exit path only: a call the recording
		 * made there may be interrupted, and its signal comes first. */
		if (rr_replaying(rr->s))
			cfg.dom.syscall_path = SYSCALL_PATH_EXIT;
		struct domain_hooks h = rr_hooks(rr->s);
		rc = dom_run(&cfg.dom, &h);
	} else {
		rc = dom_run(&cfg.dom, &CONTROL_HOOKS(&ctl));
	}
out:
	config_free(&cfg);
	free(ov);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	/* Under the name engines exec (runc's command line), or `pdvm oci`. */
	if (!strcmp(self, "pdvm-oci"))
		return oci_main(argc, argv);
	if (cmd && !strcmp(cmd, "oci"))
		return oci_main(argc - 1, argv + 1);

	if (!cmd) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("pdvm %s\n", PDVM_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return run_main(argc - 1, argv + 1, NULL);
	if (!strcmp(cmd, "record"))
		return cmd_record(argc - 1, argv + 1, run_main);
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc - 1, argv + 1, run_main);
	if (!strcmp(cmd, "restore"))
		return cmd_restore(argc - 1, argv + 1);
	if (!strcmp(cmd, "receive"))
		return cmd_receive(argc - 1, argv + 1);
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(argc - 1, argv + 1);
	if (!strcmp(cmd, "list") || !strcmp(cmd, "ls"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "pause"))
		return cmd_pause(argc - 1, argv + 1);
	if (!strcmp(cmd, "resume"))
		return cmd_resume(argc - 1, argv + 1);
	if (!strcmp(cmd, "kill"))
		return cmd_kill(argc - 1, argv + 1);
	if (!strcmp(cmd, "exec"))
		return cmd_exec(argc - 1, argv + 1);
	if (!strcmp(cmd, "snapshot"))
		return cmd_snapshot(argc - 1, argv + 1);
	if (!strcmp(cmd, "info")) {
		if (argc > 2 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
			puts("Usage: pdvm info\n\nProbes /dev/kvm with a tiny guest: the kind of host (PVM, standard KVM,\n"
			     "or none), the trap backend pdvm uses on it, and whether the guest vDSO\n"
			     "can read the TSC. Exit status 0 when domains can run here, 1 when the\n"
			     "host has no /dev/kvm, 125 when the probe fails.");
			return 0;
		}
		if (argc > 2) {
			fprintf(stderr, "pdvm info: takes no arguments\n");
			return EXIT_USAGE;
		}
		return dom_host_info();
	}
	if (cmd[0] == '-')
		fprintf(stderr, "pdvm: unknown option '%s'\n", cmd);
	else
		fprintf(stderr, "pdvm: '%s' is not a pdvm command\n", cmd);
	fputs("See 'pdvm --help'.\n", stderr);
	return EXIT_USAGE;
}
