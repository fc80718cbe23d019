/* snap_net.c: the network placement in an image (section `net`, netns mode only) — mode, address, published ports — so a restore brings the domain back at the same address, here or on another host. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/domain.h"
#include "net/netns.h"
#include "snap_state.h"

#define MAX_PUBLISH 1024

int snap_put_net(const struct net_spec *c, struct sbuf *b)
{
	uint32_t n = 0;
	while (c->publish && c->publish[n])
		n++;
	sb_str(b, c->mode);
	sb_str(b, c->address);
	sb_u32(b, n);
	for (uint32_t i = 0; i < n; i++)
		sb_str(b, c->publish[i]);
	return b->oom ? -ENOMEM : 0;
}

int snap_get_net(struct sread *r, struct net_spec *c)
{
	char *mode = sr_str(r, 16), *addr = sr_str(r, 32);
	uint32_t n = sr_u32(r);
	if (!r->bad && (!mode || strcmp(mode, "netns") || !addr || !netns_address_ok(addr)))
		sr_fail(r, "net mode or address out of range");
	if (n > MAX_PUBLISH)
		sr_fail(r, "too many published ports");
	char **pub = r->bad ? NULL : calloc((size_t)n + 1, sizeof(*pub));
	for (uint32_t i = 0; pub && i < n && !r->bad; i++) {
		unsigned hp, dp;
		bool udp;
		pub[i] = sr_str(r, 32);
		if (!pub[i] || netns_parse_publish(pub[i], &hp, &dp, &udp))
			sr_fail(r, "published port out of range");
	}
	if (r->bad || !pub) {
		free(mode);
		free(addr);
		for (uint32_t i = 0; pub && i < n; i++)
			free(pub[i]);
		free(pub);
		if (!r->bad)
			sr_fail(r, "out of memory");
		return -1;
	}
	c->mode = mode;
	c->address = addr;
	c->publish = pub;
	return 0;
}
