/* migrate.h: `pdvm migrate` and `pdvm receive` — a running domain moved to another pdvm over one TCP connection (snapshot/migrate.c). */
#ifndef PDVM_MIGRATE_H
#define PDVM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "mstream.h"
#include "net/netns.h"

struct domain;

/* Stream timeouts (--timeout): a peer silent this long is gone. */
#define MIGRATE_TIMEOUT_MS  60000

#include "postcopy.h"
#include "precopy.h"

/* The default downtime budget (--max-downtime). */
#define MIGRATE_MAX_DOWNTIME_MS 20

struct migrate_opts {
	const char *to;         /* HOST:PORT of a `pdvm receive` */
	bool insecure;          /* without a key: allow a target that is not on loopback */
	const char *key;        /* a pre-shared key file: TLS 1.3 (NULL: plain) */
	const char *work_dir;   /* where the image is staged (NULL: $TMPDIR, else /var/tmp) */
	int max_downtime_ms;    /* pre-copy goes on until the rest fits half of it (0: default) */
	int timeout_ms;         /* a target silent this long is gone (0: MIGRATE_TIMEOUT_MS) */
	enum postcopy_mode postcopy;
	bool copy_writable;     /* the writable trees' contents go with the domain */
	struct precopy_progress *progress; /* NULL, or kept up to date */
};


/* What a migration did, for the log and `pdvm migrate --json`. */
struct migrate_stats {
	struct precopy_stats pre;
	double precopy_ms;      /* the domain running, memory going */
	double paused_ms;       /* from the pause to the target's STARTED */
	double image_ms, send_ms, target_ms;    /* its parts */
	uint64_t bytes;         /* sent in all */
	uint64_t image_bytes;   /* of which the image */
	bool postcopy;          /* the domain started at the target before its memory */
	struct pc_serve_stats pc;
};

/* Source side, in the domain's own process (the control thread): pauses
 * the domain, sends its image, and once the target has rebuilt it, stops
 * it here (exit status 0) and lets the target start it. Any failure before
 * that resumes the domain here. 0, or -errno with the reason in err. */
int migrate_domain(struct domain *d, const struct net_spec *net, const struct migrate_opts *o,
		   struct migrate_stats *ms, char *err, size_t errlen);

/* Target side. A listening socket on ADDR:PORT (host or [v6]; 0 or -1
 * with err). */
int migrate_listen(const char *addr, char *err, size_t errlen);
/* The next source: with a key, one that completes TLS with it, from
 * anywhere; without, a connection from loopback, or from anywhere with
 * `insecure`. Others are turned away, and we wait on. 0 with s set up, or
 * -errno. */
int migrate_accept(int lfd, bool insecure, const struct ms_key *key, int timeout_ms, struct mstream *s, char *err,
		   size_t errlen);
/* What the source says first. */
struct migrate_hello {
	char name[256];         /* the domain's, as the source calls it (checked: a file name) */
	uint64_t memsize;       /* guest memory */
	uint8_t has_net;        /* the domain has its own network (--net netns): */
	struct net_spec net;    /* its address and ports, re-created here before the image */
	uint8_t id[MIGRATE_ID_LEN]; /* this migration's: a source that reconnects proves it */
};
/* Receives the hello. 0 or -errno with err (the source has been told);
 * net_spec_free h->net after. */
int migrate_recv_hello(struct mstream *s, struct migrate_hello *h, char *err, size_t errlen);
/* Receives the pre-copied memory into mem (made here; premem_free it)
 * and the image into the new directory dir. 0 or -errno with err; the
 * source has been told why. */
struct premem;
int migrate_recv_image(struct mstream *s, const struct migrate_hello *h, const char *dir, struct premem *mem,
		       char *err, size_t errlen);
/* The domain is rebuilt: tells the source and waits for its go (the
 * source has stopped it for good). 0, or -errno: do not start it. (With
 * pages to come, postcopy_ready does this.) */
int migrate_ready(struct mstream *s, char *err, size_t errlen);

#endif
