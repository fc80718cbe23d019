/* restore_cli.c: `pdvm restore` and `pdvm receive` — a domain brought back from an image directory, or from a migration stream, under this operator's policy, and run in the foreground. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

#include "vmm/status.h"
#include "config.h"
#include "control.h"
#include "devshm.h"
#include "containerfs.h"
#include "masks.h"
#include "volumes.h"
#include "record_cli.h"
#include "replay/rr.h"
#include "net/tool.h"
#include "snapshot/image.h"
#include "snapshot/mfiles.h"
#include "snapshot/migrate.h"
#include "snapshot/postcopy.h"
#include "snapshot/precopy.h"
#include "snapshot/restore.h"
#include "vmm/domain.h"

/* A restored domain's hooks: the control socket, the lazy loader stopped
 * before the domain goes, and for a received one the source's go. */
struct restore_run {
	struct control_attach ctl;
	struct restore *rs;
	struct mstream *ms;     /* receive: the source, waiting for READY */
	struct postcopy *pc;    /* receive: pages to come (then it speaks to the source) */
	struct control **incoming; /* receive: the name held while it arrived */
	struct domain_hooks rr;    /* record/replay's, from an image (.start NULL: none) */
};

static int restore_hook_start(struct domain *d, void *arg)
{
	struct restore_run *rr = arg;
	if (rr->incoming) {
		control_stop(*rr->incoming);
		*rr->incoming = NULL;
	}
	int r = control_hook_start(d, &rr->ctl);
	if (!r && rr->rr.start && (r = rr->rr.start(d, rr->rr.arg)))
		control_hook_stop(d, &rr->ctl);
	if (r || !rr->ms)
		return r;
	/* Everything is in place: the source stops the domain for good and
	 * says go; without the go it goes on there, so it must not start. */
	char err[600];
	if (rr->pc ? postcopy_ready(rr->pc, err, sizeof(err)) : migrate_ready(rr->ms, err, sizeof(err))) {
		fprintf(stderr, "pdvm receive: %s: %s; the domain goes on at the source\n", d->spec->name, err);
		control_hook_stop(d, &rr->ctl);
		return EXIT_FAILED;
	}
	if (!rr->pc)
		ms_close(rr->ms);
	/* Its connections were held in repair mode until now: had we died
	 * before the go, their peers would have seen nothing, not a reset. */
	restore_go(rr->rs);
	return 0;
}

static void restore_hook_stop(struct domain *d, void *arg)
{
	struct restore_run *rr = arg;
	if (rr->rr.stop)
		rr->rr.stop(d, rr->rr.arg);
	control_hook_stop(d, &rr->ctl);
}

static void restore_hook_release(struct domain *d, void *arg)
{
	restore_release(d, ((struct restore_run *)arg)->rs);
}

#define RESTORE_HOOKS(rr) ((struct domain_hooks){ .start = restore_hook_start, \
	.stop = restore_hook_stop, .release = restore_hook_release, .arg = (rr) })

#define POLICY_HELP \
	"      --name NAME   domain name (default: the name in the image)\n" \
	"      --root DIR    what the domain may see, as for 'pdvm run' (default /):\n" \
	"                    the image's root must lie inside it\n" \
	"      --new-root DIR  the domain's / is DIR now, wherever its root was at\n" \
	"                    the snapshot (a container's root in another store);\n" \
	"                    sets --root DIR\n" \
	"      --writable PATH  a path under --root the domain may write\n" \
	"                    (repeatable; default none): every path the image\n" \
	"                    writes must lie inside one of them. The image only\n" \
	"                    narrows what the operator allows, never widens it\n" \
	"      --user USER   the domain's host identity, as for 'pdvm run' (default\n" \
	"                    " CONFIG_DEFAULT_USER "); never taken from the image\n" \
	"      --abstract-unix A  own or host, as for 'pdvm run' (default own)\n" \
	"      --volume SRC:DST[:ro]  bind a host path into the root, as for\n" \
	"                    'pdvm run' (repeatable): give the volumes the domain\n" \
	"                    had, as its open files there are found by path\n" \
	"      --mask PATH, --read-only PATH  as for 'pdvm run' (repeatable)\n" \
	"      --container-fs as for 'pdvm run'\n" \
	"      --tmpfs DST[:OPTS]  as for 'pdvm run' (repeatable): the image's\n" \
	"                    tmpfs files are made again there\n" \
	"      --force       restore even if files the program had open changed\n" \
	"                    since the snapshot (size, mtime or inode)\n"

#define CPU_HELP \
	"      --shm-size SIZE  the private /dev/shm's size, as for 'pdvm run'\n" \
	"                    (default 64M); its files come from the image\n" \
	"      --cpu-cap CAP fpu (default): refuse an image whose program ran with\n" \
	"                    other XSAVE features (XCR0) than this host's guests\n" \
	"                    get, as it may overrun its save areas or use missing\n" \
	"                    instructions; none: restore it anyway\n"

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
	POLICY_HELP
	"      --lazy        start the program before all memory is loaded\n"
	CPU_HELP
	"      --check       only validate the image (checksums, every field, that\n"
	"                    its open files can be reopened) and exit: 0 if restore\n"
	"                    would accept it; needs no /dev/kvm\n"
	"  -v, --verbose     also write the domain log to stderr\n"
	"  -h, --help        show this help\n"
	"\n"
	"Exit status: the program's, as for 'pdvm run'; 2 when the image is missing,\n"
	"truncated, corrupt, from an incompatible pdvm or CPU, or its open files changed;\n"
	"125 when pdvm itself fails.\n";

static const char receive_usage_text[] =
	"Usage: pdvm receive [--listen ADDR:PORT] [--key FILE | --insecure] [OPTIONS]\n"
	"\n"
	"Waits for one domain sent by 'pdvm migrate', rebuilds it under this\n"
	"command's policy (the stream carries state, never policy: the same checks\n"
	"as 'pdvm restore'), and once the source has stopped it for good, runs it in\n"
	"the foreground like 'pdvm restore'. It prints one line on stderr when it\n"
	"listens. With --key the stream is TLS 1.3 with that pre-shared key, and a\n"
	"source without it is turned away; without a key, a source that is not on\n"
	"loopback is turned away unless --insecure. The files the domain has open\n"
	"must be here, the same (checked before the source pauses, which is told\n"
	"which are not); from 'pdvm migrate --copy-writable' its writable paths come\n"
	"along, written as the domain where --writable lets it write.\n"
	"\n"
	"Options:\n"
	"      --listen ADDR:PORT  where to wait (default 0.0.0.0:7890; [::]:PORT for v6)\n"
	"      --key FILE    the pre-shared key both sides have (16 to 1024 bytes, e.g.\n"
	"                    head -c 32 /dev/urandom; mode 600): TLS 1.3, ECDHE-PSK\n"
	"      --insecure    without a key, take a source from any address\n"
	"      --work-dir DIR  where the received image is staged until the domain is\n"
	"                    rebuilt (default $TMPDIR, else /var/tmp)\n"
	"      --timeout SEC  a source silent this long is gone (default 60)\n"
	POLICY_HELP
	CPU_HELP
	"  -v, --verbose     also write the domain log to stderr\n"
	"  -h, --help        show this help\n"
	"\n"
	"Exit status: the program's, as for 'pdvm run'; 1 when the migration failed\n"
	"(the domain goes on at the source); 2 when the image is refused; 125 when\n"
	"pdvm itself fails.\n";

/* Both commands' options; receive's own are refused by restore and the
 * other way round. */
struct restore_cli {
	struct restore_opts o;
	struct domain_config pol;       /* --root, --writable, ... as pdvm run keeps them */
	bool check;
	const char *listen, *work_dir, *key;
	bool insecure;
	int timeout_ms;         /* --timeout (0: the default) */
	struct control *incoming; /* receive: "incoming" in pdvm list until it runs */
};

static int parse(const char *cmd, bool receive, int argc, char **argv, struct restore_cli *c)
{
	enum { O_LISTEN = 256, O_INSECURE, O_WORK, O_KEY, O_TIMEOUT };
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
		{ "volume", required_argument, NULL, 'V' },
		{ "mask", required_argument, NULL, 'M' },
		{ "read-only", required_argument, NULL, 'R' },
		{ "container-fs", no_argument, NULL, 'P' },
		{ "new-root", required_argument, NULL, 'N' },
		{ "tmpfs", required_argument, NULL, 'T' },
		{ "check", no_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "insecure", no_argument, NULL, O_INSECURE },
		{ "work-dir", required_argument, NULL, O_WORK },
		{ "key", required_argument, NULL, O_KEY },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[600];
	int opt;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		bool mine = receive ? opt != 'l' && opt != 'c' :
				      opt != O_LISTEN && opt != O_INSECURE && opt != O_WORK && opt != O_KEY &&
				      opt != O_TIMEOUT;
		if (!mine)
			opt = '?';
		switch (opt) {
		case 'h':
			fputs(receive ? receive_usage_text : restore_usage_text, stdout);
			return 0;
		case 'n': {
			char why[160];
			if (spec_check_name(optarg, why, sizeof(why))) {
				fprintf(stderr, "pdvm %s: --name: %s\nSee 'pdvm %s --help'.\n", cmd, why, cmd);
				return EXIT_USAGE;
			}
			c->o.name = optarg;
			break;
		}
		case 'r':
		case 'w':
		case 'u':
		case 'a':
		case 'S':
		case 'V':
		case 'M':
		case 'R':
		case 'T':
			if (config_set(&c->pol, opt == 'r' ? "root" : opt == 'w' ? "writable" : opt == 'u' ? "user" :
				       opt == 'S' ? "shm_size" : opt == 'V' ? "volume" : opt == 'M' ? "mask" :
				       opt == 'R' ? "read_only" : opt == 'T' ? "tmpfs" : "abstract_unix", optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "pdvm %s: --%s\nSee 'pdvm %s --help'.\n", cmd, err, cmd);
				return EXIT_USAGE;
			}
			break;
		case 'P':
			c->pol.container_fs = true;
			break;
		case 'N':
			c->o.new_root = true;
			if (config_set(&c->pol, "root", optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "pdvm %s: --new-root: %s\nSee 'pdvm %s --help'.\n", cmd, err, cmd);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			c->o.force = true;
			break;
		case 'l':
			c->o.lazy = true;
			break;
		case 'C':
			if (strcmp(optarg, "fpu") && strcmp(optarg, "none")) {
				fprintf(stderr, "pdvm %s: --cpu-cap is fpu or none, not '%s'\n"
					"See 'pdvm %s --help'.\n", cmd, optarg, cmd);
				return EXIT_USAGE;
			}
			c->o.any_cpu = !strcmp(optarg, "none");
			break;
		case 'c':
			c->check = true;
			break;
		case O_LISTEN:
			c->listen = optarg;
			break;
		case O_INSECURE:
			c->insecure = true;
			break;
		case O_KEY:
			c->key = optarg;
			break;
		case O_TIMEOUT: {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 3600) {
				fprintf(stderr, "pdvm %s: --timeout takes seconds, 1 to 3600, not '%s'\n"
					"See 'pdvm %s --help'.\n", cmd, optarg, cmd);
				return EXIT_USAGE;
			}
			c->timeout_ms = (int)v * 1000;
			break;
		}
		case O_WORK:
			if (optarg[0] != '/') {
				fprintf(stderr, "pdvm %s: --work-dir must be an absolute path\n", cmd);
				return EXIT_USAGE;
			}
			c->work_dir = optarg;
			break;
		case 'v':
			c->o.verbose = true;
			break;
		case ':':
			fprintf(stderr, "pdvm %s: option '%s' needs a value\nSee 'pdvm %s --help'.\n", cmd,
				argv[optind - 1], cmd);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "pdvm %s: unknown option '%s'\nSee 'pdvm %s --help'.\n", cmd,
				argv[optind - 1], cmd);
			return EXIT_USAGE;
		}
	}
	int want = receive ? 0 : 1;
	if (argc - optind != want) {
		fprintf(stderr, "pdvm %s: %s\nSee 'pdvm %s --help'.\n", cmd,
			argc - optind < want ? "no image DIR given" :
			receive ? "takes no arguments (the image comes from 'pdvm migrate')" : "too many arguments", cmd);
		return EXIT_USAGE;
	}
	if (config_resolve_user(&c->pol, err, sizeof(err)) < 0) {
		fprintf(stderr, "pdvm %s: %s\n", cmd, err);
		return EXIT_PDVM_ERROR;
	}
	return -1;
}

/* The operator's policy into c->o: the spawner, the private /dev/shm (or
 * for --check, what a restore with one would allow). 0 or an exit status. */
static int policy(const char *cmd, struct restore_cli *c)
{
	char err[600];
	if (!c->check) {
		if (tool_spawner_start(err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm %s: %s\n", cmd, err);
			return EXIT_PDVM_ERROR;
		}
		c->o.filter_all = true;
		if (!c->pol.shm_size_set)
			c->pol.shm_size = DEVSHM_DEFAULT_SIZE;
		if (containerfs_setup(cmd, &c->pol) < 0 || devshm_setup(cmd, &c->pol) < 0 || volumes_setup(cmd, &c->pol) < 0 ||
		    masks_setup(cmd, &c->pol) < 0)
			return EXIT_PDVM_ERROR;
	} else if (!c->pol.shm_size_set || c->pol.shm_size) {
		/* --check mounts nothing: it judges the image as a restore
		 * with a private /dev/shm would. */
		c->pol.dom.shm_private = true;
		if (config_set(&c->pol, "writable", "/dev/shm", err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm %s: %s\n", cmd, err);
			return EXIT_PDVM_ERROR;
		}
	}
	if (c->check && volumes_writable(cmd, &c->pol) < 0)
		return EXIT_PDVM_ERROR;
	c->o.shm_private = c->pol.dom.shm_private;
	c->o.tmpfs = c->pol.dom.tmpfs;
	c->o.cred = c->pol.dom.cred;
	c->o.abstract_host = c->pol.dom.abstract_host;
	c->o.root = c->pol.dom.root;
	c->o.writable = c->pol.dom.writable;
	c->o.log_dir = CONFIG_LOG_DIR;
	return 0;
}

/* Rebuilds the image in dir and runs it; ms: the source of a received one. */
/* Restores dir and runs it; for a migration's target (ms), stage is the
 * staging directory dir lies in. */
static int restore_and_run(const char *dir, const char *stage, struct restore_cli *c, struct mstream *ms,
			   struct run_rr *rrun)
{
	struct restore rs;
	int st = restore_prepare(dir, &c->o, &rs);
	if (ms) {
		/* Loaded: the staged copy is no longer needed (nor its
		 * directory: a target killed from here on leaves nothing). */
		img_remove(dir);
		rmdir(stage);
		if (st && !rs.d)
			ms_send_error(ms, "the target refused the image (its stderr says why)");
	}
	if (rs.d) {
		struct restore_run rr = { .ctl.net = rs.net.mode ? &rs.net : NULL, .rs = &rs, .ms = ms,
					  .pc = c->o.postcopy, .incoming = ms ? &c->incoming : NULL };
		if (rrun)
			rr.rr = rr_hooks(rrun->s);
		if (st && ms) {
			/* Post-copy's thread speaks to the source: it goes first. */
			postcopy_stop(rs.d);
			ms_send_error(ms, "the target could not rebuild the domain (its stderr says why)");
		}
		st = dom_start_wait(rs.d, st, &RESTORE_HOOKS(&rr));
	}
	restore_done(&rs);
	return st;
}

int cmd_restore_rr(int argc, char **argv, struct run_rr *rr)
{
	struct restore_cli c = { 0 };
	int st = parse("restore", false, argc, argv, &c);
	if (st < 0 && rr && (c.check || c.o.lazy)) {
		fprintf(stderr, "pdvm: a recording from an image takes neither --check nor --lazy\n");
		st = EXIT_USAGE;
	}
	if (st < 0) {
		fflush(stdout);
		st = policy("restore", &c);
		c.o.deterministic = rr != NULL;
		c.o.rr_tsc = rr ? (uint8_t)rr_tsc_mode(rr->s) : 0;
		c.o.exit_path = rr && rr_replaying(rr->s);
		c.o.vcpu_cpu = rr ? rr->cpu + 1 : 0;
		if (!st && rr && rr_pin(rr) < 0)
			st = EXIT_PDVM_ERROR;
		if (!st)
			st = c.check ? restore_check(argv[optind], &c.o) : restore_and_run(argv[optind], NULL, &c, NULL, rr);
	}
	config_free(&c.pol);
	return st;
}

int cmd_restore(int argc, char **argv)
{
	return cmd_restore_rr(argc, argv, NULL);
}

/* Staging directories of receivers that are gone (killed mid-transfer):
 * a live one holds a lock on its directory. */
static void sweep_staging(const char *base)
{
	DIR *dp = opendir(base);
	struct dirent *e;
	while (dp && (e = readdir(dp))) {
		if (strncmp(e->d_name, "pdvm-receive-", 13))
			continue;
		int fd = openat(dirfd(dp), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!flock(fd, LOCK_EX | LOCK_NB)) {
			char p[PATH_MAX];
			snprintf(p, sizeof(p), "%s/%s/image", base, e->d_name);
			img_remove(p);
			unlinkat(dirfd(dp), e->d_name, AT_REMOVEDIR);
		}
		close(fd);
	}
	if (dp)
		closedir(dp);
}

/* A source back after a broken post-copy connection: as the first. */
struct accept_again {
	int lfd;
	struct restore_cli *c;
	const struct ms_key *key;
};

static int accept_again(void *arg, struct mstream *s)
{
	struct accept_again *a = arg;
	char err[512];
	int r = migrate_accept(a->lfd, a->c->insecure, a->key, a->c->timeout_ms, s, err, sizeof(err));
	if (r)
		fprintf(stderr, "pdvm receive: %s\n", err);
	return r;
}

int cmd_receive(int argc, char **argv)
{
	struct restore_cli c = { 0 };
	struct mstream ms = { .fd = -1 };
	struct premem mem = { .fd = -1 };
	struct migrate_hello hello = { 0 };
	struct postcopy *pc = NULL;
	char err[1024], work[PATH_MAX], dir[PATH_MAX + 8];
	int st = parse("receive", true, argc, argv, &c), lfd = -1, wfd = -1;
	if (st >= 0)
		goto out;
	struct ms_key key;
	if (c.key && ms_key_load(c.key, &key, err, sizeof(err))) {
		fprintf(stderr, "pdvm receive: %s\n", err);
		st = EXIT_USAGE;
		goto out;
	}
	/* The policy first (the spawner, the private /dev/shm): its cost is
	 * not the domain's downtime then. */
	fflush(stdout);
	if ((st = policy("receive", &c)))
		goto out;
	const char *tmp = getenv("TMPDIR"), *base = c.work_dir ? c.work_dir : tmp && tmp[0] == '/' ? tmp : "/var/tmp";
	snprintf(work, sizeof(work), "%s/pdvm-receive-XXXXXX", base);
	sweep_staging(base);
	const char *listen = c.listen ? c.listen : "0.0.0.0:7890";
	if ((lfd = migrate_listen(listen, err, sizeof(err))) < 0) {
		fprintf(stderr, "pdvm receive: %s\n", err);
		st = EXIT_FAILED;
		goto out;
	}
	fprintf(stderr, "pdvm receive: waiting on %s\n", listen);
	if (migrate_accept(lfd, c.insecure, c.key ? &key : NULL, c.timeout_ms, &ms, err, sizeof(err))) {
		fprintf(stderr, "pdvm receive: %s\n", err);
		st = EXIT_FAILED;
		goto out;
	}
	if (migrate_recv_hello(&ms, &hello, err, sizeof(err))) {
		fprintf(stderr, "pdvm receive: %s\n", err);
		st = EXIT_FAILED;
		goto out;
	}
	const char *dname = c.o.name ? c.o.name : hello.name;
	if (hello.has_net) {
		/* The domain's namespace and address, made while it still runs
		 * at the source (a few ms of ip and nft, not downtime); a taken
		 * address turns the source away before it stops anything. */
		char addr[NETNS_ADDR_LEN];
		if (netns_enter(dname, &hello.net, addr, err, sizeof(err)) < 0) {
			char why[sizeof(err) + 32];
			snprintf(why, sizeof(why), "the domain's network: %s", err);
			fprintf(stderr, "pdvm receive: %s\n", why);
			ms_send_error(&ms, why);
			st = EXIT_PDVM_ERROR;
			goto out;
		}
		c.o.net_entered = &hello.net;
	}
	/* The name is ours while the domain arrives (pdvm list: incoming), and
	 * one in use here turns the source away before it pauses. */
	if (control_start_incoming(dname, hello.memsize, &c.incoming, err, sizeof(err))) {
		fprintf(stderr, "pdvm receive: %s\n", err);
		ms_send_error(&ms, err);
		st = EXIT_FAILED;
		goto out;
	}
	/* The files it has open are here and the same, or the source keeps
	 * it, told which are not: before it pauses anything. */
	if (mfiles_verify(&ms, &c.o, err, sizeof(err))) {
		fprintf(stderr, "pdvm receive: %s\n", err);
		st = EXIT_FAILED;
		goto out;
	}
	if (!mkdtemp(work) || (wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(wfd, LOCK_EX) < 0) {
		fprintf(stderr, "pdvm receive: staging directory %s: %s\n", work, strerror(errno));
		ms_send_error(&ms, "the target cannot stage the image");
		st = EXIT_PDVM_ERROR;
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/image", work);
	if (migrate_recv_image(&ms, &hello, dir, &mem, err, sizeof(err))) {
		fprintf(stderr, "pdvm receive: %s\n", err);
		rmdir(work);
		st = EXIT_FAILED;
		goto out;
	}
	/* The pre-copied memory becomes the domain's. Our own mapping of it
	 * stays until the end: unmapping 1 GiB of it here took 10-17 ms, all
	 * of it downtime (the source is paused, waiting for READY). */
	c.o.premem = true;
	c.o.premem_fd = mem.fd;
	c.o.hold_tcp = true;
	/* Post-copy: the listening socket stays, for a source whose
	 * connection breaks while the domain runs here without all of it. */
	struct accept_again aa = { lfd, &c, c.key ? &key : NULL };
	if (mem.later && !(pc = postcopy_new(&ms, mem.later, mem.nlater, hello.id, lfd, accept_again, &aa))) {
		fprintf(stderr, "pdvm receive: out of memory\n");
		ms_send_error(&ms, "the target is out of memory");
		st = EXIT_PDVM_ERROR;
		goto out;
	}
	if (!pc) {
		close(lfd);
		lfd = -1;
	}
	c.o.postcopy = pc;
	st = restore_and_run(dir, work, &c, &ms, NULL);
	postcopy_free(pc);
out:
	if (lfd >= 0)
		close(lfd);
	if (wfd >= 0)
		close(wfd);
	ms_close(&ms);
	premem_free(&mem);
	control_stop(c.incoming);
	net_spec_free(&hello.net);
	config_free(&c.pol);
	return st;
}
