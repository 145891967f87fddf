/* The libcurl half of uis_api.h: one easy handle per client, reused so that the TLS session and
 * the connection to UIS stay open between pages of a report. */
#include "common/uis_api.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct uis_api_client {
    CURL *curl;
    struct curl_slist *headers;
    char *url[2]; /* indexed by enum uis_api_endpoint */
    long timeout_ms;
    unsigned long next_id;
};

struct uis_api_buf {
    char *data;
    size_t len, cap;
};

/* An answer bigger than this is not one UIS sends (10,000 report rows are ~10 MiB). */
#define UIS_API_MAX_ANSWER (64u << 20)

int uis_api_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void uis_api_global_cleanup(void)
{
    curl_global_cleanup();
}

struct uis_api_client *uis_api_client_new(const char *data_url, const char *call_url,
                                          long timeout_ms, char *err, size_t errlen)
{
    struct uis_api_client *c = calloc(1, sizeof(*c));

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->curl = curl_easy_init();
    c->url[UIS_API_DATA] = strdup(data_url);
    c->url[UIS_API_CALL] = strdup(call_url);
    c->headers = curl_slist_append(NULL, "Content-Type: application/json; charset=UTF-8");
    c->timeout_ms = timeout_ms;
    c->next_id = 1;
    if (!c->curl || !c->url[0] || !c->url[1] || !c->headers) {
        snprintf(err, errlen, "cannot set up libcurl");
        uis_api_client_free(c);
        return NULL;
    }
    return c;
}

void uis_api_client_free(struct uis_api_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c->url[0]);
    free(c->url[1]);
    free(c);
}

static size_t uis_api_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct uis_api_buf *b = userdata;
    size_t n = size * nmemb;

    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > UIS_API_MAX_ANSWER)
            return 0; /* curl then fails the transfer with CURLE_WRITE_ERROR */
        p = realloc(b->data, cap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int uis_api_call(struct uis_api_client *c, enum uis_api_endpoint ep, const char *method,
                 const char *access_token, const json_t *params, struct uis_api_answer *ans)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct uis_api_buf buf = {0};
    char *body = uis_api_request_body(method, c->next_id++, access_token, params);
    long status = 0;
    CURLcode rc;

    if (!body) {
        uis_api_answer_parse(0, NULL, 0, "cannot build the request", ans);
        ans->action = UIS_API_BUG;
        return -1;
    }
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, c->url[ep]);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, uis_api_write);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     c->timeout_ms < 10000 ? c->timeout_ms : 10000L);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "");
    rc = curl_easy_perform(c->curl);
    /* The body holds the key: wipe it before it goes back to the allocator. */
    memset(body, 0, strlen(body));
    free(body);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    uis_api_answer_parse(rc == CURLE_OK ? status : 0, buf.data, buf.len,
                         errbuf[0] ? errbuf : curl_easy_strerror(rc), ans);
    free(buf.data);
    return ans->action == UIS_API_OK ? 0 : -1;
}
