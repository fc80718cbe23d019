/* oci_cr.c: pdvm-oci checkpoint and restore — runc's flags over pdvm snapshot and pdvm restore, with what engines built around CRIU expect of them (inventory.img, restore --detach returning once the domain runs). */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "oci_netns.h"
#include "oci_spec.h"
#include "oci_state.h"
#include "vmm/status.h"

#define RESTORE_WAIT_S  300     /* a large image loads for a while */

/* The options of checkpoint and restore (runc's, which podman and
 * containerd pass). */
struct cr_opts {
	const char *image, *parent, *bundle, *pid_file;
	bool leave_running, pre_dump, lazy, detach;
};

static int parse_cr(int argc, char **argv, struct cr_opts *o, const char **id)
{
	static const struct option lo[] = {
		{ "image-path", required_argument, NULL, 'i' }, { "work-path", required_argument, NULL, 'w' },
		{ "parent-path", required_argument, NULL, 'P' }, { "leave-running", no_argument, NULL, 'L' },
		{ "pre-dump", no_argument, NULL, 'D' }, { "lazy-pages", no_argument, NULL, 'z' },
		{ "bundle", required_argument, NULL, 'b' }, { "pid-file", required_argument, NULL, 'p' },
		{ "detach", no_argument, NULL, 'd' }, { "console-socket", required_argument, NULL, 'c' },
		{ "page-server", required_argument, NULL, 'S' },
		/* What pdvm always does: TCP connections, file locks, UNIX
		 * sockets and a shell's job all travel in its images; it makes no
		 * cgroups or namespaces to manage. */
		{ "tcp-established", no_argument, NULL, 'a' }, { "file-locks", no_argument, NULL, 'a' },
		{ "ext-unix-sk", no_argument, NULL, 'a' }, { "shell-job", no_argument, NULL, 'a' },
		{ "tcp-skip-in-flight", no_argument, NULL, 'a' }, { "link-remap", no_argument, NULL, 'a' },
		{ "auto-dedup", no_argument, NULL, 'a' }, { "no-subreaper", no_argument, NULL, 'a' },
		{ "no-pivot", no_argument, NULL, 'a' }, { "manage-cgroups-mode", required_argument, NULL, 'a' },
		{ "empty-ns", required_argument, NULL, 'a' }, { "status-fd", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	memset(o, 0, sizeof(*o));
	o->image = "checkpoint";
	o->bundle = ".";
	optind = 1;
	opterr = 0;
	/* _only: Go callers (containerd's go-runc) write long options with
	 * one dash (-no-subreaper), as runc's flag parser accepts. */
	while ((opt = getopt_long_only(argc, argv, "+b:dp:", lo, NULL)) != -1) {
		switch (opt) {
		case 'i': o->image = optarg; break;
		case 'w': case 'a': break;
		case 'P': o->parent = optarg; break;
		case 'L': o->leave_running = true; break;
		case 'D': o->pre_dump = true; break;
		case 'z': o->lazy = true; break;
		case 'b': o->bundle = optarg; break;
		case 'p': o->pid_file = optarg; break;
		case 'd': o->detach = true; break;
		case 'c': return oci_err("%s: --console-socket: a terminal is not supported yet", argv[0]);
		case 'S': return oci_err("%s: --page-server: not supported (pdvm migrate moves a domain live)", argv[0]);
		default: return oci_err("%s: unknown option '%s'", argv[0], argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return oci_err("%s: want one container id", argv[0]);
	*id = argv[optind];
	return 0;
}

/* An image of the running container (pdvm snapshot): it ends after, unless
 * --leave-running or --pre-dump; --parent-path (relative to the image, as
 * runc takes it) makes the image incremental. */
int oci_checkpoint(int argc, char **argv)
{
	struct cr_opts o;
	const char *id;
	struct cstate c;
	char img[PATH_MAX], parent[PATH_MAX * 2];
	if (parse_cr(argc, argv, &o, &id))
		return EXIT_FAILED;
	if (o.lazy)
		return oci_err("checkpoint: --lazy-pages: not supported (restore --lazy-pages is)");
	if (oci_load(id, &c))
		return EXIT_FAILED;
	const char *st = c.status;
	oci_cstate_free(&c);
	if (strcmp(st, "running") && strcmp(st, "paused"))
		return oci_err("cannot checkpoint container %s: it is %s", id, st);
	if (mkdir(o.image, 0700) && errno != EEXIST)
		return oci_err("--image-path %s: %s", o.image, strerror(errno));
	if (!realpath(o.image, img))
		return oci_err("--image-path %s: %s", o.image, strerror(errno));
	char *av[8];
	int ac = 0;
	av[ac++] = "snapshot";
	if (!o.leave_running && !o.pre_dump)
		av[ac++] = "--stop";
	if (o.parent) {
		snprintf(parent, sizeof(parent), "%s%s%s", o.parent[0] == '/' ? "" : img, o.parent[0] == '/' ? "" : "/",
			 o.parent);
		av[ac++] = "--parent";
		av[ac++] = parent;
	}
	av[ac++] = (char *)id;
	av[ac++] = img;
	av[ac] = NULL;
	int r = cmd_snapshot(ac, av);
	/* Engines built around CRIU take a checkpoint directory without its
	 * inventory.img for an incomplete one (podman refuses to restore it):
	 * a marker that names what the directory really holds. */
	if (!r) {
		char inv[PATH_MAX + 32];
		snprintf(inv, sizeof(inv), "%s/inventory.img", img);
		if (oci_write_atomic(inv, "pdvm image (not CRIU's): see manifest.json\n"))
			return oci_err("%s: %s", inv, strerror(errno));
	}
	/* As runc: when checkpoint returns, a container it stops is stopped. */
	if (!r && !o.leave_running && !o.pre_dump && !oci_wait_gone(c.pid, c.start))
		return oci_err("container %s: still running after its checkpoint", id);
	return r;
}

/* restore --detach returns, as runc's with CRIU, once the container runs
 * from its image: engines remove the image then (podman does, at once).
 * The domain's control socket answers once the restore is done. */
static int wait_restored(const char *id, pid_t pid)
{
	for (int i = 0; i < RESTORE_WAIT_S * 50; i++) {
		int status;
		if (oci_domain_state(id))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			oci_remove_dir(id);
			return oci_err("container %s: pdvm restore failed (%s %d)", id,
				       WIFEXITED(status) ? "exit status" : "signal",
				       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		}
		usleep(20000);
	}
	return oci_err("container %s: not restored after %d s", id, RESTORE_WAIT_S);
}

/* A container from an image (pdvm restore), with the bundle's root and
 * user: running at once, in the foreground unless --detach. */
int oci_restore(int argc, char **argv)
{
	struct cr_opts o;
	const char *id;
	struct oci_spec s;
	char img[PATH_MAX], bundle[PATH_MAX], dir[PATH_MAX], why[512], user[32];
	pid_t pid;
	if (parse_cr(argc, argv, &o, &id))
		return EXIT_FAILED;
	if (spec_check_name(id, why, sizeof(why)))
		return oci_err("container id '%s': %s", id, why);
	if (!realpath(o.image, img))
		return oci_err("--image-path %s: %s", o.image, strerror(errno));
	if (!realpath(o.bundle, bundle))
		return oci_err("bundle %s: %s", o.bundle, strerror(errno));
	if (oci_spec_load(bundle, &s, why, sizeof(why)))
		return oci_err("%s", why);
	if (oci_make_root()) {
		oci_spec_free(&s);
		return oci_err("--root %s: %s", oci_root, strerror(errno));
	}
	oci_cdir(dir, sizeof(dir), id, NULL);
	if (mkdir(dir, 0700)) {
		oci_spec_free(&s);
		return errno == EEXIST ? oci_err("container %s already exists", id) : oci_err("%s: %s", dir, strerror(errno));
	}
	if (s.netns ? oci_netns_join(s.netns, s.sysctl, why, sizeof(why)) :
	    s.new_netns ? oci_netns_new(s.sysctl, why, sizeof(why)) : 0) {
		oci_spec_free(&s);
		oci_remove_dir(id);
		return oci_err("%s", why);
	}
	/* The options below, and two words for each volume and path. */
	size_t nv = 0;
	for (char **l[] = { s.volumes, s.masked, s.rdonly, s.tmpfs }, ***p = l; p < l + 4; p++)
		for (char **e = *p; e && *e; e++)
			nv++;
	char **av = calloc(16 + 2 * nv, sizeof(*av));
	int ac = 0;
	if (!av) {
		oci_spec_free(&s);
		oci_remove_dir(id);
		return oci_err("out of memory");
	}
	av[ac++] = "pdvm";
	av[ac++] = "restore";
	av[ac++] = "--name";
	av[ac++] = (char *)id;
	/* The bundle's root is the container's /, wherever the image's was
	 * (podman's restore --import mounts its layers at a new path). */
	av[ac++] = "--new-root";
	av[ac++] = s.root;
	if (!s.readonly) {
		av[ac++] = "--writable";
		av[ac++] = "/";
	}
	if (s.user_set) {
		snprintf(user, sizeof(user), "%u:%u", s.uid, s.gid);
		av[ac++] = "--user";
		av[ac++] = user;
	}
	for (char **e = s.volumes; e && *e; e++) {
		av[ac++] = "--volume";
		av[ac++] = *e;
	}
	for (char **e = s.tmpfs; e && *e; e++) {
		av[ac++] = "--tmpfs";
		av[ac++] = *e;
	}
	for (char **e = s.masked; e && *e; e++) {
		av[ac++] = "--mask";
		av[ac++] = *e;
	}
	for (char **e = s.rdonly; e && *e; e++) {
		av[ac++] = "--read-only";
		av[ac++] = *e;
	}
	if (s.container_fs)
		av[ac++] = "--container-fs";
	if (o.lazy)
		av[ac++] = "--lazy";
	av[ac++] = img;
	av[ac] = NULL;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		free(av);
		oci_spec_free(&s);
		oci_remove_dir(id);
		return oci_err("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		if (o.detach)
			setsid();
		execv("/proc/self/exe", av);
		fprintf(stderr, "pdvm-oci: %s: running pdvm restore: %s\n", id, strerror(errno));
		_exit(EXIT_PDVM_ERROR);
	}
	free(av);
	int r = oci_publish(id, pid, bundle, s.annotations, o.pid_file);
	oci_spec_free(&s);
	if (r)
		return r;
	if (o.detach)
		return wait_restored(id, pid);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	oci_remove_dir(id);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
