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
#include "snapshot/restore.h"
#include "vmm/domain.h"

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
	"  snapshot  write a running domain to an image directory\n"
	"  restore   bring a domain back from an image and wait for it to end\n"
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
	"  -v, --verbose          also write the domain log to stderr\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: the program's exit status, or 128+N if signal N ended it;\n"
	"  125  pdvm itself failed (bad usage, bad config, cannot start the domain)\n"
	"  126  the program cannot be executed (e.g. not an x86-64 ELF executable)\n"
	"  127  the program (or its ELF interpreter) was not found\n";

enum {
	OPT_NAME = 256, OPT_ROOT, OPT_WRITABLE, OPT_CWD, OPT_MEMORY, OPT_ENV, OPT_LOG, OPT_TRAP,
	OPT_NET, OPT_PUBLISH, OPT_ADDRESS, OPT_USER, OPT_ABSTRACT, OPT_SHM,
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
	{ "user",     required_argument, NULL, OPT_USER },
	{ "abstract-unix", required_argument, NULL, OPT_ABSTRACT },
	{ "shm-size", required_argument, NULL, OPT_SHM },
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
	case OPT_NET: return "net";
	case OPT_PUBLISH: return "publish";
	case OPT_ADDRESS: return "address";
	case OPT_USER: return "user";
	case OPT_ABSTRACT: return "abstract_unix";
	case OPT_SHM: return "shm_size";
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

/* The domain's /dev/shm: a private tmpfs (tools/devshm.c) the domain may
 * write, unless the operator asked for none (size 0). Without the privilege
 * for a mount namespace pdvm keeps the host's, read-only as the rest of the
 * root, and says so when asked for a size or verbose. 0 or -1. */
static int setup_devshm(const char *cmd, struct domain_config *cfg)
{
	char err[600];

	if (!cfg->shm_size)
		return 0;
	if (devshm_private(cfg->dom.root ? cfg->dom.root : "/", cfg->shm_size, err, sizeof(err)) < 0) {
		if (cfg->shm_size_set) {
			fprintf(stderr, "pdvm %s: --shm-size: %s\n", cmd, err);
			return -1;
		}
		if (cfg->dom.verbose)
			fprintf(stderr, "pdvm %s: /dev/shm stays the host's, read-only: %s\n", cmd, err);
		return 0;
	}
	cfg->dom.shm_private = true;
	if (config_set(cfg, "writable", "/dev/shm", err, sizeof(err)) < 0) {
		fprintf(stderr, "pdvm %s: %s\n", cmd, err);
		return -1;
	}
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
}

static int cmd_run(int argc, char **argv)
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
			ov[nov++].value = optarg;
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
	if (setup_devshm("run", &cfg) < 0)
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
	rc = dom_run(&cfg.dom, &CONTROL_HOOKS(&ctl));
out:
	config_free(&cfg);
	free(ov);
	return rc;
}

/* A restored domain's hooks: the control socket, and the lazy loader
 * stopped before the domain goes. */
struct restore_run {
	struct control_attach ctl;
	struct restore *rs;
};

static int restore_hook_start(struct domain *d, void *arg)
{
	return control_hook_start(d, &((struct restore_run *)arg)->ctl);
}

static void restore_hook_stop(struct domain *d, void *arg)
{
	control_hook_stop(d, &((struct restore_run *)arg)->ctl);
}

static void restore_hook_release(struct domain *d, void *arg)
{
	restore_release(d, ((struct restore_run *)arg)->rs);
}

#define RESTORE_HOOKS(rr) ((struct domain_hooks){ .start = restore_hook_start, \
	.stop = restore_hook_stop, .release = restore_hook_release, .arg = (rr) })

static const char restore_usage_text[] =
	"Usage: pdvm restore [OPTIONS] DIR\n"
	"\n"
	"Brings back the domain saved in the image directory DIR by 'pdvm snapshot'\n"
	"(with its parents, for an incremental image) and runs it in the foreground,\n"
	"like 'pdvm run': the program goes on where it stopped, with its memory,\n"
	"threads, open files and working directory. Its stdin, stdout and stderr are\n"
	"this pdvm's. CLOCK_MONOTONIC goes on from its value at the snapshot;\n"
	"CLOCK_REALTIME is the real time.\n"
	"\n"
	"Options:\n"
	"      --name NAME   domain name (default: the name in the image)\n"
	"      --root DIR    what the domain may see, as for 'pdvm run' (default /):\n"
	"                    the image's root must lie inside it\n"
	"      --writable PATH  a path under --root the domain may write\n"
	"                    (repeatable; default none): every path the image\n"
	"                    writes must lie inside one of them. The image only\n"
	"                    narrows what the operator allows, never widens it\n"
	"      --user USER   the domain's host identity, as for 'pdvm run' (default\n"
	"                    " CONFIG_DEFAULT_USER "); never taken from the image\n"
	"      --abstract-unix A  own or host, as for 'pdvm run' (default own)\n"
	"      --force       restore even if files the program had open changed\n"
	"                    since the snapshot (size, mtime or inode)\n"
	"      --lazy        start the program before all memory is loaded\n"
	"      --shm-size SIZE  the private /dev/shm's size, as for 'pdvm run'\n"
	"                    (default 64M); its files come from the image\n"
	"      --cpu-cap CAP fpu (default): refuse an image whose program ran with\n"
	"                    other XSAVE features (XCR0) than this host's guests\n"
	"                    get, as it may overrun its save areas or use missing\n"
	"                    instructions; none: restore it anyway\n"
	"      --check       only validate the image (checksums, every field, that\n"
	"                    its open files can be reopened) and exit: 0 if restore\n"
	"                    would accept it; needs no /dev/kvm\n"
	"  -v, --verbose     also write the domain log to stderr\n"
	"  -h, --help        show this help\n"
	"\n"
	"Exit status: the program's, as for 'pdvm run'; 2 when the image is missing,\n"
	"truncated, corrupt, from an incompatible pdvm or CPU, or its open files changed;\n"
	"125 when pdvm itself fails.\n";

static int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "root", required_argument, NULL, 'r' },
		{ "writable", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "abstract-unix", required_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ "lazy", no_argument, NULL, 'l' },
		{ "cpu-cap", required_argument, NULL, 'C' },
		{ "shm-size", required_argument, NULL, 'S' },
		{ "check", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct restore_opts o = { 0 };
	/* --root and --writable are checked and kept as pdvm run's are. */
	struct domain_config pol = { 0 };
	char err[600];
	bool check = false;
	int opt;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(restore_usage_text, stdout);
			return 0;
		case 'n': {
			char why[160];
			if (spec_check_name(optarg, why, sizeof(why))) {
				fprintf(stderr, "pdvm restore: --name: %s\nSee 'pdvm restore --help'.\n", why);
				return EXIT_USAGE;
			}
			o.name = optarg;
			break;
		}
		case 'r':
		case 'w':
		case 'u':
		case 'a':
		case 'S':
			if (config_set(&pol, opt == 'r' ? "root" : opt == 'w' ? "writable" : opt == 'u' ? "user" :
				       opt == 'S' ? "shm_size" : "abstract_unix", optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "pdvm restore: --%s\nSee 'pdvm restore --help'.\n", err);
				config_free(&pol);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			o.force = true;
			break;
		case 'l':
			o.lazy = true;
			break;
		case 'C':
			if (strcmp(optarg, "fpu") && strcmp(optarg, "none")) {
				fprintf(stderr, "pdvm restore: --cpu-cap is fpu or none, not '%s'\n"
					"See 'pdvm restore --help'.\n", optarg);
				return EXIT_USAGE;
			}
			o.any_cpu = !strcmp(optarg, "none");
			break;
		case 'c':
			check = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case ':':
			fprintf(stderr, "pdvm restore: option '%s' needs a value\nSee 'pdvm restore --help'.\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "pdvm restore: unknown option '%s'\nSee 'pdvm restore --help'.\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "pdvm restore: %s\nSee 'pdvm restore --help'.\n",
			optind >= argc ? "no image DIR given" : "too many arguments");
		return EXIT_USAGE;
	}
	if (config_resolve_user(&pol, err, sizeof(err)) < 0) {
		fprintf(stderr, "pdvm restore: %s\n", err);
		config_free(&pol);
		return EXIT_PDVM_ERROR;
	}
	fflush(stdout);
	if (!check) {
		if (tool_spawner_start(err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm restore: %s\n", err);
			config_free(&pol);
			return EXIT_PDVM_ERROR;
		}
		o.filter_all = true;
		if (!pol.shm_size_set)
			pol.shm_size = DEVSHM_DEFAULT_SIZE;
		if (setup_devshm("restore", &pol) < 0) {
			config_free(&pol);
			return EXIT_PDVM_ERROR;
		}
	} else if (!pol.shm_size_set || pol.shm_size) {
		/* --check mounts nothing: it judges the image as a restore
		 * with a private /dev/shm would. */
		pol.dom.shm_private = true;
		if (config_set(&pol, "writable", "/dev/shm", err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm restore: %s\n", err);
			config_free(&pol);
			return EXIT_PDVM_ERROR;
		}
	}
	o.shm_private = pol.dom.shm_private;
	o.cred = pol.dom.cred;
	o.abstract_host = pol.dom.abstract_host;
	o.root = pol.dom.root;
	o.writable = pol.dom.writable;
	o.log_dir = CONFIG_LOG_DIR;
	int st;
	if (check) {
		st = restore_check(argv[optind], &o);
	} else {
		struct restore rs;
		st = restore_prepare(argv[optind], &o, &rs);
		if (rs.d) {
			struct restore_run rr = { .ctl.net = rs.net.mode ? &rs.net : NULL, .rs = &rs };
			st = dom_start_wait(rs.d, st, &RESTORE_HOOKS(&rr));
		}
		restore_done(&rs);
	}
	config_free(&pol);
	return st;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

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
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "restore"))
		return cmd_restore(argc - 1, argv + 1);
	if (!strcmp(cmd, "list") || !strcmp(cmd, "ls"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "pause"))
		return cmd_pause(argc - 1, argv + 1);
	if (!strcmp(cmd, "resume"))
		return cmd_resume(argc - 1, argv + 1);
	if (!strcmp(cmd, "kill"))
		return cmd_kill(argc - 1, argv + 1);
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
