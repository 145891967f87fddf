/* The address a server listens on: an IPv4 address in text and a port, as the HTTP_ADDR and
 * OPS_ADDR variables give them. */
#ifndef COMMON_LISTEN_ADDR_H
#define COMMON_LISTEN_ADDR_H

#include <stddef.h>

#include <netinet/in.h>

/* Fill out with addr:port. Returns 0, or -1 with "'addr' is not an IPv4 address" in err. */
int listen_addr_ipv4(const char *addr, unsigned port, struct sockaddr_in *out, char *err,
                     size_t errlen);

#endif
