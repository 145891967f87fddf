#include "common/listen_addr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int listen_addr_ipv4(const char *addr, unsigned port, struct sockaddr_in *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    if (!addr || inet_pton(AF_INET, addr, &out->sin_addr) != 1) {
        snprintf(err, errlen, "'%s' is not an IPv4 address", addr ? addr : "");
        return -1;
    }
    return 0;
}
