/* snapshot.h: `pdvm snapshot` — a running domain written to an image directory (snapshot/README.md). */
#ifndef PDVM_SNAPSHOT_H
#define PDVM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

struct domain;
struct net_spec;

/* Writes a snapshot image of the domain to dir: pauses, writes, then
 * resumes, or ends the domain with `stop`. net: the domain's network
 * placement (NULL: the host's). parent: NULL, or the directory of this
 * domain's previous snapshot for an incremental image. 0 or -errno with the
 * reason in err. Called without the domain lock. */
int snapshot_domain(struct domain *d, const struct net_spec *net, const char *dir, bool stop,
		    const char *parent, char *err, size_t errlen);

#endif
