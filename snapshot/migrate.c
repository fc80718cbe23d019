/* migrate.c: live migration — the source pre-copies memory while the domain runs, pauses it, streams its image, and stops it only once the target has rebuilt it; the target accepts, receives, and starts it on the source's go. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "net/netns.h"
#include "mfiles.h"
#include "migrate.h"
#include "mtree.h"
#include "precopy.h"
#include "sbuf.h"
#include "snap_state.h"
#include "snap_mem.h"
#include "snapshot.h"
#include "vmm/clock.h"
#include "vmm/domain.h"
#include "vmm/spec.h"

#define MAX_FILES       (IMG_MAX_SECTIONS + 1)  /* sections and the manifest */

/* "HOST:PORT" or "[V6]:PORT" into its parts. 0 or -EINVAL. */
static int split_addr(const char *a, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *colon = strrchr(a, ':');
	if (!colon || !colon[1] || strlen(colon + 1) >= pcap)
		return -EINVAL;
	const char *h = a;
	size_t hl = (size_t)(colon - a);
	if (hl >= 2 && a[0] == '[' && colon[-1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hcap)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, pcap, "%s", colon + 1);
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	return 0;
}

static struct addrinfo *resolve(const char *a, bool passive, char *err, size_t errlen)
{
	char host[256], port[8];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) };
	struct addrinfo *ai = NULL;
	if (split_addr(a, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "%s: not HOST:PORT", a);
		return NULL;
	}
	int r = getaddrinfo(host, port, &hints, &ai);
	if (r) {
		snprintf(err, errlen, "%s: %s", a, gai_strerror(r));
		return NULL;
	}
	return ai;
}

static bool loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

static const char *peer_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char h[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, h, sizeof(h));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, h, sizeof(h));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	snprintf(buf, len, "%s:%d", h, port);
	return buf;
}

/* The reason a peer gave in MS_ERROR, or a description of what came. */
static void peer_said(const char *peer, enum ms_type t, const uint8_t *b, size_t n, const char *expected, char *err,
		      size_t errlen)
{
	char why[MS_SMALL_MAX];
	size_t pos = 0;
	if (t == MS_ERROR && !ms_get_str(b, n, &pos, why, sizeof(why)))
		snprintf(err, errlen, "the %s gave up: %s", peer, why);
	else
		snprintf(err, errlen, "protocol error: message %d where %s was due", (int)t, expected);
}

static int stream_error(int r, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what,
		 r == -EPROTO ? "malformed stream (not a pdvm migration peer, or a corrupted one)" :
		 r == -ECONNRESET ? "the connection was closed" : strerror(-r));
	return r;
}

/* ---- source ---- */

/* A send failed because the target closed: it usually said why first (an
 * ERROR waits in the socket). That reason replaces err when it is there. */
static void target_said(struct mstream *s, int r, char *err, size_t errlen)
{
	uint8_t b[MS_SMALL_MAX];
	enum ms_type t;
	size_t n;
	if (r != -ECONNRESET && r != -EPIPE)
		return;
	struct timeval tv = { 1, 0 };
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!ms_recv(s, &t, b, sizeof(b), &n) && t == MS_ERROR)
		peer_said("target", t, b, n, "", err, errlen);
}

static int connect_to(const char *to, bool anywhere, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo *ai = resolve(to, false, err, errlen);
	if (!ai)
		return -EINVAL;
	int fd = -1, e = 0;
	for (struct addrinfo *p = ai; p && fd < 0; p = p->ai_next) {
		struct sockaddr_storage ss = { 0 };
		memcpy(&ss, p->ai_addr, p->ai_addrlen);
		if (!anywhere && !loopback(&ss)) {
			e = EPERM;
			continue;
		}
		fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
		if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
				connect(fd, p->ai_addr, p->ai_addrlen) < 0)) {
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		if (e == EPERM)
			snprintf(err, errlen, "%s is not a loopback address: without a key (--key) a migration "
				 "stream is neither authenticated nor encrypted (--insecure sends it anyway)", to);
		else
			snprintf(err, errlen, "connecting to %s: %s", to, strerror(e ? e : EHOSTUNREACH));
		return -(e ? e : EHOSTUNREACH);
	}
	return fd;
}

/* Sends every file of the image in dir, the manifest last (a target that
 * lost the rest has no image). */
static int send_image(struct mstream *s, const char *dir, char *err, size_t errlen)
{
	DIR *dp = opendir(dir);
	if (!dp) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	int r = 0;
	struct dirent *e;
	for (int pass = 0; pass < 2 && !r; pass++) {
		rewinddir(dp);
		while (!r && (e = readdir(dp))) {
			if (e->d_name[0] == '.' || (pass == 0) == !strcmp(e->d_name, IMG_MANIFEST))
				continue;
			int fd = openat(dirfd(dp), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			struct stat st;
			if (fd < 0 || fstat(fd, &st) < 0) {
				r = -errno;
				snprintf(err, errlen, "%s/%s: %s", dir, e->d_name, strerror(errno));
			} else if ((r = ms_send_file(s, e->d_name, fd, (uint64_t)st.st_size))) {
				stream_error(r, "sending the image", err, errlen);
			}
			if (fd >= 0)
				close(fd);
		}
	}
	closedir(dp);
	return r;
}

/* Post-copy recovery: the target, again, told which migration this is. */
struct reconn {
	const struct migrate_opts *o;
	const struct ms_key *key;
	int timeout;
	const uint8_t *id;
};

static int reconnect(void *arg, struct mstream *s)
{
	struct reconn *rc = arg;
	char err[512];
	int fd = connect_to(rc->o->to, rc->o->insecure || rc->key, rc->timeout, err, sizeof(err));
	if (fd < 0)
		return fd;
	int r = ms_init(s, fd, rc->timeout);
	if (r) {
		close(fd);
		s->fd = -1;
		return r;
	}
	if (rc->key && (r = ms_tls(s, false, rc->key, err, sizeof(err))))
		return r;
	return ms_send(s, MS_PC_RESUME, rc->id, MIGRATE_ID_LEN);
}

/* Whether what pre-copy left is post-copy's, and why, into st->decision. */
static bool choose_postcopy(const struct migrate_opts *o, int budget, struct precopy_stats *st)
{
	if (o->postcopy == POSTCOPY_ALWAYS) {
		st->decision = "post-copy from the start (--postcopy always)";
		return true;
	}
	/* Stop-and-copy of the rest would blow the budget: the domain starts
	 * at the target instead, and the rest follows. */
	bool over = st->left >= 256 && st->est_ms > budget;
	if (!over)
		return false;
	if (o->postcopy == POSTCOPY_NEVER) {
		st->decision = "stop-and-copy of the rest over the downtime budget (--postcopy never)";
		return false;
	}
	st->decision = st->link_mbps > 0 && st->dirty_mbps > st->link_mbps ?
		       "post-copy: memory is written faster than the link carries" :
		       "post-copy: the rest would not fit the downtime budget";
	return true;
}

/* Before the image: the pages that come after the domain starts there. */
static int send_later(struct mstream *s, const uint64_t *later, uint64_t nframes)
{
	uint8_t *msg = malloc(MS_PAGES_MAX);
	int r = msg ? 0 : -ENOMEM;
	for (uint64_t c = 0; !r && c < nframes / CHUNK; c++)
		r = precopy_send_later(s, c, later + c * (CHUNK / 64), msg);
	free(msg);
	return r;
}

/* The image is sent, the rest of memory is post-copy's: serves it. 0
 * once the target has it all; -EAGAIN: the domain goes on here (the target
 * never started it); -ETIMEDOUT: the target went silent after the go (it
 * may run the domain); else the domain ran there and is gone. */
static int postcopy(struct domain *d, struct mstream *s, const struct migrate_opts *o, const struct ms_key *key,
		    const uint8_t *id, const uint64_t *later, const uint8_t *heat, struct migrate_stats *ms, char *err,
		    size_t errlen)
{
	struct reconn rc = { o, key, o->timeout_ms > 0 ? o->timeout_ms : MIGRATE_TIMEOUT_MS, id };
	enum pc_phase ph;
	int r = pc_serve(d, s, later, heat, reconnect, &rc, o->progress, &ph, &ms->pc, err, errlen);
	if (!r)
		return 0;
	if (ph == PCS_BEFORE_GO || (ph == PCS_GO_SENT && (r == -ECONNRESET || r == -ECONNABORTED)))
		return -EAGAIN;
	return ph == PCS_GO_SENT ? -ETIMEDOUT : r;
}

int migrate_domain(struct domain *d, const struct net_spec *net, const struct migrate_opts *o,
		   struct migrate_stats *ms, char *err, size_t errlen)
{
	struct mstream s;
	uint8_t b[MS_SMALL_MAX];
	enum ms_type t;
	size_t n;
	char work[PATH_MAX], img[PATH_MAX + 8];
	uint64_t *acc = NULL;
	uint8_t *heat = NULL;
	int r;

	*err = 0;
	struct ms_key key;
	if (o->key && (r = ms_key_load(o->key, &key, err, errlen)))
		return r;
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : MIGRATE_TIMEOUT_MS;
	int fd = connect_to(o->to, o->insecure || o->key, timeout, err, errlen);
	if (fd < 0)
		return fd;
	if ((r = ms_init(&s, fd, timeout))) {
		close(fd);
		return stream_error(r, "socket", err, errlen);
	}
	if (o->key && (r = ms_tls(&s, false, &key, err, errlen))) {
		close(fd);
		return r;
	}
	uint8_t id[MIGRATE_ID_LEN];
	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		r = -errno;
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		ms_close(&s);
		return r;
	}
	struct sbuf hello = { 0 };
	sb_u32(&hello, MS_PROTO);
	sb_put(&hello, id, sizeof(id));
	sb_str(&hello, d->spec->name);
	sb_u64(&hello, d->frames.size);
	/* The network goes first: the target makes the namespace while the
	 * domain still runs here, not in its downtime. */
	sb_u8(&hello, net != NULL);
	if (net)
		snap_put_net(net, &hello);
	r = hello.oom ? -ENOMEM : ms_send(&s, MS_HELLO, hello.p, hello.len);
	sb_free(&hello);
	if (r) {
		ms_close(&s);
		return stream_error(r, "sending to the target", err, errlen);
	}
	/* The files it has open must be at the target, the same: checked
	 * while it runs here, not found out in its downtime. */
	struct mtree *tree = NULL;
	if ((r = mfiles_check(d, &s, o->copy_writable, &tree, err, errlen))) {
		dom_log(d, "migration to %s refused before the pause, the domain goes on here: %s", o->to, err);
		ms_close(&s);
		return r;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(work, sizeof(work), "%s/pdvm-migrate-%s-XXXXXX",
		 o->work_dir ? o->work_dir : tmp && tmp[0] == '/' ? tmp : "/var/tmp", d->spec->name);
	if (!mkdtemp(work)) {
		r = -errno;
		snprintf(err, errlen, "staging directory %s: %s", work, strerror(errno));
		ms_send_error(&s, "the source failed to stage the image");
		ms_close(&s);
		mtree_free(tree);
		return r;
	}
	snprintf(img, sizeof(img), "%s/image", work);

	/* Memory first, while the domain runs; then only what it wrote since
	 * goes with the image. */
	uint64_t tp = host_mono_ns();
	struct precopy_stats pst;
	memset(ms, 0, sizeof(*ms));
	struct snap_hold h = { .held = false };
	acc = calloc((d->frames.nframes + 63) / 64, 8);
	if (!acc) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		ms_send_error(&s, err);
		goto out;
	}
	int budget = o->max_downtime_ms > 0 ? o->max_downtime_ms : MIGRATE_MAX_DOWNTIME_MS;
	heat = calloc(d->frames.nframes / CHUNK + 1, 1);
	if (!heat) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		ms_send_error(&s, err);
		goto out;
	}
	ms_stall("precopy");
	if (o->progress)
		o->progress->phase = MP_PRECOPY;
	struct precopy_opts po = { .max_downtime_ms = budget, .no_rounds = o->postcopy == POSTCOPY_ALWAYS,
				   .heat = heat };
	if ((r = precopy_run(d, &s, &po, acc, &pst, o->progress, err, errlen))) {
		target_said(&s, r, err, errlen);
		dom_log(d, "migration to %s failed in pre-copy, the domain goes on here: %s", o->to, err);
		ms_send_error(&s, err);
		goto out;
	}
	uint64_t t0 = host_mono_ns();
	/* A vfork child about to exec makes a snapshot wait a moment (the
	 * parent sleeps on memory it uses): try again for a while. */
	ms->postcopy = choose_postcopy(o, budget, &pst);
	for (int i = 0; (r = snapshot_hold(d, net, img, NULL, ms->postcopy ? SNAP_MEM_LATER : SNAP_MEM_DELTA, &h, err,
					  errlen)) == -EAGAIN && i < 250; i++)
		usleep(20000);
	if (r) {
		ms_send_error(&s, err);
		goto out;
	}
	if (o->progress)
		o->progress->phase = MP_PAUSED;
	ms_stall("paused");
	/* --copy-writable: what changed there since the first pass. */
	if (tree && (r = mtree_resend(d, &s, tree, err, errlen))) {
		target_said(&s, r, err, errlen);
		goto resume;
	}
	uint64_t t_img = host_mono_ns(), sent_img = s.sent;
	if ((ms->postcopy && (r = send_later(&s, h.later, d->frames.nframes))) ||
	    (r = send_image(&s, img, err, errlen)) || (r = ms_send(&s, MS_DONE, NULL, 0))) {
		if (!*err)
			stream_error(r, "sending the image", err, errlen);
		target_said(&s, r, err, errlen);
		goto resume;
	}
	uint64_t t_sent = host_mono_ns();
	if (o->progress) {
		o->progress->phase = MP_TARGET;
		o->progress->sent = s.sent;
	}
	ms->image_bytes = s.sent - sent_img;
	if (ms->postcopy) {
		r = postcopy(d, &s, o, o->key ? &key : NULL, id, h.later, heat, ms, err, errlen);
		if (r == -EAGAIN)
			goto resume;
		if (r == -ETIMEDOUT)
			goto keep_paused;
		if (r) {
			/* It ran there and ended with the target: nothing of it
			 * can go on here (its peers have seen it move on). */
			dom_log(d, "migration to %s: %s", o->to, err);
			snapshot_release(d, &h, true);
			goto out;
		}
		goto done;
	}
	if ((r = ms_recv(&s, &t, b, sizeof(b), &n))) {
		stream_error(r, "waiting for the target to rebuild the domain", err, errlen);
		goto resume;
	}
	if (t != MS_READY) {
		peer_said("target", t, b, n, "READY", err, errlen);
		r = -ECONNABORTED;
		goto resume;
	}
	/* Past this point the domain never runs here again unless the target
	 * says it did not get the go: two copies must never both run. */
	if ((r = ms_send(&s, MS_GO, NULL, 0))) {
		stream_error(r, "sending the go", err, errlen);
		goto resume;
	}
	r = ms_recv(&s, &t, b, sizeof(b), &n);
	if (r == -ECONNRESET || (!r && t == MS_ERROR)) {
		/* The target closed or refused: a target that closes has
		 * ended, and the domain it rebuilt ran (if at all) inside that
		 * process and ended with it. Only here can it go on. */
		if (r)
			stream_error(r, "waiting for the target to confirm", err, errlen);
		else
			peer_said("target", t, b, n, "STARTED", err, errlen);
		r = -ECONNABORTED;
		goto resume;
	}
	if (r || t != MS_STARTED) {
		/* Silence (a cut link, a target host gone) or garbage: the
		 * target may be running the domain. */
		if (!r)
			peer_said("target", t, b, n, "STARTED", err, errlen);
		else
			stream_error(r, "waiting for the target to confirm", err, errlen);
keep_paused:;
		/* It may run there or not: keep it paused here, as a user's
		 * pause, for the operator to resume or kill. */
		size_t l = strlen(err);
		snprintf(err + l, errlen - l, "; the target had the go and may be running the domain: it stays "
			 "paused here (pdvm resume %s if the target does not run it, else pdvm kill %s)",
			 d->spec->name, d->spec->name);
		dom_lock(d);
		d->user_paused = true;
		dom_unlock(d);
		snap_sock_thaw(&h.fz, false);
		h.held = false;
		r = -ETIMEDOUT;
		goto out;
	}
done:;
	uint64_t t_done = ms->postcopy ? t_sent + (uint64_t)(ms->pc.started_ms * 1e6) : host_mono_ns();
	ms->pre = pst;
	ms->precopy_ms = (double)(t0 - tp) / 1e6;
	ms->paused_ms = (double)(t_done - t0) / 1e6;
	ms->image_ms = (double)(t_img - t0) / 1e6;
	ms->send_ms = (double)(t_sent - t_img) / 1e6;
	ms->target_ms = (double)(t_done - t_sent) / 1e6;
	ms->bytes = s.sent;
	char rounds[160] = "";
	for (int i = 0, l = 0; i < pst.rounds && l < (int)sizeof(rounds) - 24; i++)
		l += snprintf(rounds + l, sizeof(rounds) - (size_t)l, "%s%llu", i ? "+" : "",
			      (unsigned long long)pst.pages[i]);
	dom_log(d, "migrated to %s: pre-copy %d rounds (%s pages, %llu KiB) in %.1f ms, stopped with %llu pages "
		"left, estimated %.1f ms to send (%s); paused %.1f ms (budget %d ms): image %.1f ms, sent in %.1f ms, "
		"rebuilt and started there in %.1f ms; last round: %.0f MB/s written, %.0f MB/s sent, %llu hot chunks "
		"(%llu pages held back): %s", o->to, pst.rounds, rounds, (unsigned long long)(pst.bytes >> 10),
		ms->precopy_ms, (unsigned long long)pst.left, pst.est_ms, pst.why ? pst.why : "?", ms->paused_ms, budget,
		ms->image_ms, ms->send_ms, ms->target_ms, pst.dirty_mbps, pst.link_mbps,
		(unsigned long long)pst.hot_chunks, (unsigned long long)pst.deferred, pst.decision ? pst.decision : "?");
	if (ms->postcopy)
		dom_log(d, "post-copy: %llu pages came after the start there (%llu pushed, %llu asked for first) in "
			"%.1f ms; the domain waited for one %llu times (%.1f ms in all, longest %.1f ms)%s; %llu "
			"reconnections", (unsigned long long)ms->pc.pages, (unsigned long long)ms->pc.pushed,
			(unsigned long long)ms->pc.asked, ms->pc.ms, (unsigned long long)ms->pc.target.faults,
			(double)ms->pc.target.wait_us / 1e3, (double)ms->pc.target.wait_max_us / 1e3,
			ms->pc.target.ended ? "; it ended there first" : "", (unsigned long long)ms->pc.reconnects);
	fprintf(stderr, "pdvm: %s: migrated to %s\n", d->spec->name, o->to);
	snapshot_release(d, &h, true);
	r = 0;
	goto out;
resume:
	dom_log(d, "migration to %s failed, the domain goes on here: %s", o->to, err);
	ms_send_error(&s, err);
	snapshot_release(d, &h, false);
out:
	if (r && acc) {
		/* What pre-copy took from KVM's log is still news to the next
		 * incremental snapshot. */
		dom_lock(d);
		for (uint64_t i = 0; i < (d->frames.nframes + 63) / 64; i++)
			d->frames.vdirty[i] |= acc[i];
		dom_unlock(d);
	}
	free(acc);
	mtree_free(tree);
	free(heat);
	free(h.later);
	img_remove(img);
	rmdir(work);
	ms_close(&s);
	return r;
}

/* ---- target ---- */

int migrate_listen(const char *addr, char *err, size_t errlen)
{
	struct addrinfo *ai = resolve(addr, true, err, errlen);
	if (!ai)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4) < 0) {
		snprintf(err, errlen, "listening on %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int migrate_accept(int lfd, bool insecure, const struct ms_key *key, int timeout_ms, struct mstream *s, char *err,
		   size_t errlen)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char who[80];
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			snprintf(err, errlen, "accept: %s", strerror(errno));
			return -errno;
		}
		int r = ms_init(s, fd, timeout_ms > 0 ? timeout_ms : MIGRATE_TIMEOUT_MS);
		if (r) {
			close(fd);
			s->fd = -1;
			snprintf(err, errlen, "socket: %s", strerror(-r));
			return r;
		}
		if (key) {
			char why[300];
			if (!ms_tls(s, true, key, why, sizeof(why)))
				return 0;
			fprintf(stderr, "pdvm receive: turned away %s: %s\n", peer_name(&ss, who, sizeof(who)), why);
			close(fd);
			s->fd = -1;
			continue;
		}
		if (insecure || loopback(&ss))
			return 0;
		fprintf(stderr, "pdvm receive: turned away %s: not a loopback address, and without a key the "
			"stream is not authenticated (--insecure takes it)\n", peer_name(&ss, who, sizeof(who)));
		ms_send_error(s, "this target takes unauthenticated streams from loopback only");
		close(fd);
		s->fd = -1;
	}
}

/* A file name the image may have: letters, digits, '.', '_' and '-', not
 * starting with '.'. */
static bool name_ok(const char *n)
{
	if (!n[0] || n[0] == '.')
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

int migrate_recv_hello(struct mstream *s, struct migrate_hello *h, char *err, size_t errlen)
{
	uint8_t b[MS_SMALL_MAX];
	enum ms_type t;
	size_t n;
	memset(h, 0, sizeof(*h));
	int r = ms_recv(s, &t, b, sizeof(b), &n);
	if (r)
		return stream_error(r, "receiving the hello", err, errlen);
	struct sread rd;
	sr_init(&rd, b, t == MS_HELLO ? n : 0);
	uint32_t proto = sr_u32(&rd);
	if (t == MS_HELLO && !rd.bad && proto != MS_PROTO) {
		snprintf(err, errlen, "the source speaks migration protocol %u, this pdvm %u", proto, MS_PROTO);
		ms_send_error(s, err);
		return -EPROTO;
	}
	sr_get(&rd, h->id, sizeof(h->id));
	char *nm = sr_str(&rd, sizeof(h->name) - 1);
	h->memsize = sr_u64(&rd);
	h->has_net = sr_u8(&rd);
	if (h->has_net == 1 && !rd.bad && snap_get_net(&rd, &h->net))
		h->has_net = 0;
	char why[128];
	if (t != MS_HELLO || rd.bad || !nm || h->has_net > 1 || rd.pos != rd.len || spec_check_name(nm, why, sizeof(why))) {
		free(nm);
		net_spec_free(&h->net);
		snprintf(err, errlen, "protocol error: no hello from the source");
		ms_send_error(s, err);
		return -EPROTO;
	}
	snprintf(h->name, sizeof(h->name), "%s", nm);
	free(nm);
	return 0;
}

static int recv_image(struct mstream *s, uint8_t *b, const char *dir, struct premem *mem, char *err,
		      size_t errlen);

int migrate_recv_image(struct mstream *s, const struct migrate_hello *h, const char *dir, struct premem *mem,
		       char *err, size_t errlen)
{
	int r;
	mem->fd = -1;
	mem->host = NULL;
	mem->raw = NULL;
	if ((r = premem_init(mem, h->memsize))) {
		snprintf(err, errlen, "guest memory of %llu bytes: %s", (unsigned long long)h->memsize,
			 r == -EINVAL ? "not a size pdvm makes" : strerror(-r));
		ms_send_error(s, err);
		return r;
	}
	uint8_t *b = malloc(MS_PAGES_MAX);
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = recv_image(s, b, dir, mem, err, errlen);
	free(b);
	if (r)
		premem_free(mem);
	return r;
}

static int recv_image(struct mstream *s, uint8_t *b, const char *dir, struct premem *mem, char *err,
		      size_t errlen)
{
	char files[MAX_FILES][MS_NAME_MAX + 1];
	int nfiles = 0, r;
	enum ms_type t;
	size_t n;
	if (mkdir(dir, 0700) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		ms_send_error(s, "the target cannot stage the image");
		return -errno;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (;;) {
		if (dfd < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			break;
		}
		if ((r = ms_recv(s, &t, b, MS_PAGES_MAX, &n))) {
			stream_error(r, "receiving the image", err, errlen);
			break;
		}
		if (t == MS_DONE)
			break;
		if (t == MS_ROUND && nfiles == 0) {
			if ((r = ms_send(s, MS_ROUND_DONE, NULL, 0))) {
				stream_error(r, "answering the source", err, errlen);
				break;
			}
			continue;
		}
		if (t == MS_PAGES && nfiles == 0) {
			if ((r = precopy_apply(mem, b, n))) {
				snprintf(err, errlen, "the source sent a malformed memory block");
				break;
			}
			continue;
		}
		if (mtree_msg(t) && nfiles == 0) {
			/* --copy-writable: what changed there while paused. */
			if ((r = mtree_recv(t, b, n, err, errlen)) < 0)
				break;
			continue;
		}
		if (t != MS_FILE) {
			peer_said("source", t, b, n, "an image file", err, errlen);
			r = -EPROTO;
			break;
		}
		const char *f = (const char *)b;
		bool dup = false;
		for (int i = 0; i < nfiles; i++)
			dup |= !strcmp(files[i], f);
		if (!name_ok(f) || dup || nfiles == MAX_FILES) {
			snprintf(err, errlen, "the source sent a file the image cannot have (%.64s)", f);
			r = -EPROTO;
			break;
		}
		memcpy(files[nfiles++], f, strlen(f) + 1); /* ms_recv: at most MS_NAME_MAX */
		int fd = openat(dfd, f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			r = -errno;
			snprintf(err, errlen, "%s/%s: %s", dir, f, strerror(errno));
			break;
		}
		r = ms_recv_file(s, fd, UINT64_MAX);
		close(fd);
		if (r) {
			stream_error(r, "receiving the image", err, errlen);
			break;
		}
	}
	if (dfd >= 0)
		close(dfd);
	if (r) {
		ms_send_error(s, err);
		img_remove(dir);
	}
	return r;
}

int migrate_ready(struct mstream *s, char *err, size_t errlen)
{
	uint8_t b[MS_SMALL_MAX];
	enum ms_type t;
	size_t n;
	int r = ms_send(s, MS_READY, NULL, 0);
	if (r)
		return stream_error(r, "telling the source", err, errlen);
	if ((r = ms_recv(s, &t, b, sizeof(b), &n)))
		return stream_error(r, "waiting for the source's go", err, errlen);
	if (t != MS_GO) {
		peer_said("source", t, b, n, "GO", err, errlen);
		return -ECONNABORTED;
	}
	ms_stall("go");
	if ((r = ms_send(s, MS_STARTED, NULL, 0)))
		return stream_error(r, "confirming to the source", err, errlen);
	return 0;
}
