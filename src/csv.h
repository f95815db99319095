/* csv: the flow-tools CSV line of a v5 record (the original's local copy). Pure. */
#ifndef NFFLOWD_CSV_H
#define NFFLOWD_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "nfv5.h"

#define CSV_LINE_MAX 256

/* Format record r of a datagram with header h, exported from exaddr (4 bytes,
 * network order), as the 18 flow-tools fields of mask 0xFF31EF:
 * unix_secs,unix_nsecs,sysuptime,exaddr,dpkts,doctets,first,last,srcaddr,
 * dstaddr,nexthop,input,output,srcport,dstport,prot,tos,tcp_flags
 * without a newline. Returns the length written (< cap), or 0 if cap is too
 * small. */
size_t csv_format_v5(char *buf, size_t cap, const struct nfv5_header *h, const uint8_t exaddr[4],
		     const struct flow_rec *r);

#endif
