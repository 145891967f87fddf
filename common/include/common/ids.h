/* Random identifiers and timestamps shared by every service. */
#ifndef COMMON_IDS_H
#define COMMON_IDS_H

#include <stddef.h>
#include <stdint.h>

#define IDS_UUID_LEN 37 /* 36 characters and the NUL */
#define IDS_TIME_LEN 32

/* Fill buf with len bytes from the kernel's CSPRNG. Returns 0 or -errno. */
int ids_random(void *buf, size_t len);

/* A random (version 4) UUID in lowercase text. Returns 0 or -errno. */
int ids_uuid4(char out[IDS_UUID_LEN]);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void ids_hex(const unsigned char *in, size_t len, char *out);

/* Wall clock in microseconds since the epoch, and the monotonic clock in microseconds. */
int64_t ids_now_us(void);
/* Wall clock in milliseconds since the epoch (Kafka's timestamps are in milliseconds). */
int64_t ids_now_ms(void);
int64_t ids_mono_us(void);

/* RFC 3339 UTC with milliseconds ("2026-11-25T11:40:10.123Z") for a wall-clock time in us. */
void ids_rfc3339(int64_t us, char out[IDS_TIME_LEN]);

#endif
