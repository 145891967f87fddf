#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_map.h"
#include "tz.h"

static void assert_prefix(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("%s\ndoes not start with\n%s", s, prefix);
}

/* Employees 11 -> "112", 12 -> "113"; 13 has no extension. */
static const char *ext_of(void *ctx, long long id)
{
    (void)ctx;
    return id == 11 ? "112" : id == 12 ? "113" : "";
}

static int moscow(void *ctx, const char *local, int64_t *us)
{
    (void)ctx;
    return tz_local_to_us("Europe/Moscow", local, us);
}

#define ROW(extra)                                                                                 \
    "{\"id\":998677427,\"communication_id\":998677427,\"start_time\":\"2024-03-01 14:40:24\","     \
    "\"finish_time\":\"2024-03-01 14:40:47\",\"contact_phone_number\":\"79508418541\","            \
    "\"virtual_phone_number\":\"78633109653\",\"wait_duration\":11,\"talk_duration\":12,"          \
    "\"total_duration\":23," extra "}"

struct expect {
    const char *name;
    const char *row;
    struct rm_known known;
    const char *states; /* "HANGUP,ANSWERED,RINGING" in production order */
    const char *exts;   /* user_extension of each, "-" for null */
    int n_urls;         /* links on the terminal event */
    const char *from;   /* from_number, "-" for null */
};

static const char *const two_urls[] = {
    "https://app.uiscom.ru/system/media/talk/998677427/r1/",
    "https://app.uiscom.ru/system/media/talk/998677427/r2/",
};

static const struct expect cases[] = {
    {"answered, all lost",
     ROW("\"direction\":\"in\",\"is_lost\":false,\"call_records\":[\"r1\"],\"employees\":["
         "{\"employee_id\":11,\"is_answered\":true,\"is_talked\":true}]"),
     {0},
     "RINGING,ANSWERED,HANGUP",
     "112,112,112",
     1,
     "+79508418541"},
    {"answered, only RINGING delivered",
     ROW("\"direction\":\"in\",\"is_lost\":false,\"call_records\":[\"r1\"],\"employees\":["
         "{\"employee_id\":11,\"is_answered\":true,\"is_talked\":true}]"),
     {.ringing = 1},
     "ANSWERED,HANGUP",
     "112,112",
     1,
     "+79508418541"},
    {"answered, all delivered",
     ROW("\"direction\":\"in\",\"is_lost\":false,\"call_records\":[\"r1\",\"r2\"],\"employees\":["
         "{\"employee_id\":11,\"is_answered\":true,\"is_talked\":true}]"),
     {.ringing = 1, .answered = 1, .hangup = 1, .durations = 1, .n_urls = 2, .urls = two_urls},
     "",
     "",
     0,
     ""},
    {"all delivered but the durations (no \"call finished\" webhook)",
     ROW("\"direction\":\"in\",\"is_lost\":false,\"call_records\":[\"r1\",\"r2\"],\"employees\":["
         "{\"employee_id\":11,\"is_answered\":true,\"is_talked\":true}]"),
     {.ringing = 1, .answered = 1, .hangup = 1, .n_urls = 2, .urls = two_urls},
     "FINISHED",
     "112",
     0,
     "+79508418541"},
    {"several recordings, one of them lost",
     ROW("\"direction\":\"in\",\"is_lost\":false,\"call_records\":[\"r1\",\"r2\"],\"employees\":["
         "{\"employee_id\":11,\"is_answered\":true,\"is_talked\":true}]"),
     {.ringing = 1, .answered = 1, .hangup = 1, .n_urls = 1, .urls = two_urls},
     "HANGUP",
     "112",
     2,
     "+79508418541"},
    {"lost call, group ringing",
     ROW("\"direction\":\"in\",\"is_lost\":true,\"call_records\":[],\"employees\":["
         "{\"employee_id\":11,\"is_answered\":false,\"is_talked\":false},"
         "{\"employee_id\":13,\"is_answered\":false,\"is_talked\":false}]"),
     {0},
     "RINGING,RINGING,MISSED",
     "112,-,-",
     0,
     "+79508418541"},
    {"lost call known missed, durations missing: a FINISHED without a talk carries them",
     ROW("\"direction\":\"in\",\"is_lost\":true,\"call_records\":[],\"employees\":[]"),
     {.ringing = 1, .missed = 1},
     "FINISHED",
     "-",
     0,
     "+79508418541"},
    {"lost call already known missed",
     ROW("\"direction\":\"in\",\"is_lost\":true,\"call_records\":[],\"employees\":[]"),
     {.ringing = 1, .missed = 1, .durations = 1},
     "",
     "",
     0,
     ""},
    {"transferred: answered by 11, who the recording names too (order-proof answering user)",
     ROW("\"direction\":\"in\",\"is_lost\":false,\"is_transfer\":true,\"call_records\":[\"r1\"],"
         "\"employees\":[{\"employee_id\":11,\"is_answered\":true,\"is_talked\":true},"
         "{\"employee_id\":12,\"is_answered\":true,\"is_talked\":true}]"),
     {0},
     "RINGING,RINGING,ANSWERED,HANGUP",
     "112,113,112,112",
     1,
     "+79508418541"},
    {"hidden number, no employee",
     "{\"id\":5,\"start_time\":\"2024-03-01 14:40:24\",\"finish_time\":\"2024-03-01 14:41:00\","
     "\"direction\":\"in\",\"is_lost\":true,\"contact_phone_number\":null,"
     "\"virtual_phone_number\":\"78633109653\",\"employees\":[],\"call_records\":[]}",
     {0},
     "RINGING,MISSED",
     "-,-",
     0,
     "-"},
    {"outgoing, answered",
     ROW("\"direction\":\"out\",\"is_lost\":false,\"call_records\":[\"r1\"],\"employees\":["
         "{\"employee_id\":12,\"is_answered\":true,\"is_talked\":true}]"),
     {0},
     "RINGING,ANSWERED,HANGUP",
     "113,113,113",
     1,
     "+79508418541"},
    {"outgoing, nobody picked up: MISSED (the router makes no task of an outgoing call)",
     ROW("\"direction\":\"out\",\"is_lost\":true,\"call_records\":[],\"employees\":["
         "{\"employee_id\":12,\"is_answered\":false,\"is_talked\":false}]"),
     {0},
     "RINGING,MISSED",
     "113,-",
     0,
     "+79508418541"},
    {"answered without recording, all lost: FINISHED ends it",
     ROW("\"direction\":\"in\",\"is_lost\":false,\"call_records\":[],\"employees\":["
         "{\"employee_id\":11,\"is_answered\":true,\"is_talked\":true}]"),
     {0},
     "RINGING,ANSWERED,FINISHED",
     "112,112,112",
     0,
     "+79508418541"},
    {"answered without recording",
     ROW("\"direction\":\"in\",\"is_lost\":false,\"call_records\":[],\"employees\":["
         "{\"employee_id\":11,\"is_answered\":true,\"is_talked\":true}]"),
     {.ringing = 1, .answered = 1},
     "FINISHED",
     "112",
     0,
     "+79508418541"},
    {"still going on: left alone",
     "{\"id\":6,\"start_time\":\"2024-03-01 14:40:24\",\"finish_time\":null,\"direction\":\"in\","
     "\"is_lost\":false,\"contact_phone_number\":\"79508418541\",\"employees\":[]}",
     {0},
     "",
     "",
     0,
     ""},
};

static void check_case(const struct expect *x)
{
    struct rm_event ev[16];
    struct rm_call c;
    char err[256], states[128] = "", exts[128] = "";
    json_t *row = json_loads(x->row, 0, NULL);
    int n;

    assert_non_null(row);
    assert_int_equal(rm_call_parse(row, &c, err, sizeof(err)), 0);
    n = rm_map(&c, &x->known, "acme", ext_of, NULL, moscow, NULL, ev, 16, err, sizeof(err));
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        json_t *v = ev[i].value;
        const char *ext = json_string_value(json_object_get(v, "user_extension"));

        snprintf(states + strlen(states), sizeof(states) - strlen(states), "%s%s", i ? "," : "",
                 json_string_value(json_object_get(v, "call_state")));
        snprintf(exts + strlen(exts), sizeof(exts) - strlen(exts), "%s%s", i ? "," : "",
                 ext ? ext : "-");
        assert_string_equal(json_string_value(json_object_get(v, "source")), "uis-calls-report");
        assert_string_equal(json_string_value(json_object_get(v, "tenant")), "acme");
        assert_string_equal(json_string_value(json_object_get(v, "event_id")), ev[i].event_id);
        if (i == n - 1 && x->n_urls)
            assert_int_equal(json_array_size(json_object_get(v, "call_record_urls")), x->n_urls);
        if (i == 0) {
            const char *from = json_string_value(json_object_get(v, "from_number"));

            assert_string_equal(from ? from : "-", x->from);
        }
    }
    if (strcmp(states, x->states) != 0 || strcmp(exts, x->exts) != 0)
        fail_msg("%s: got %s / %s, want %s / %s", x->name, states, exts, x->states, x->exts);
    for (int i = 0; i < n; i++)
        rm_event_clear(&ev[i]);
    json_decref(row);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

/* The example row of UIS-API.md, every field of the events checked once. */
static void test_values_and_determinism(void **state)
{
    struct rm_event a[8], b[8];
    struct rm_known none = {0};
    struct rm_call c;
    char err[256];
    json_t *row = json_loads(ROW("\"direction\":\"in\",\"is_lost\":false,\"call_records\":"
                                 "[\"13f79da9cdad2dfaee5ef282712164a4\"],\"employees\":[{"
                                 "\"employee_id\":11,\"is_answered\":true,\"is_talked\":true}]"),
                             0, NULL);
    int n, m;
    char *s;

    (void)state;
    assert_int_equal(rm_call_parse(row, &c, err, sizeof(err)), 0);
    n = rm_map(&c, &none, "acme", ext_of, NULL, moscow, NULL, a, 8, err, sizeof(err));
    m = rm_map(&c, &none, "acme", ext_of, NULL, moscow, NULL, b, 8, err, sizeof(err));
    assert_int_equal(n, 3);
    assert_int_equal(m, 3);
    s = json_dumps(a[2].value, JSON_COMPACT);
    assert_prefix(
        s, "{\"call_id\":\"998677427\",\"call_state\":\"HANGUP\",\"direction\":\"in\","
           "\"from_number\":\"+79508418541\",\"from_number_raw\":\"79508418541\","
           "\"diversion\":\"+78633109653\",\"diversion_raw\":\"78633109653\","
           "\"user_extension\":\"112\",\"call_record_urls\":[\"https://app.uiscom.ru/system/media/"
           "talk/998677427/13f79da9cdad2dfaee5ef282712164a4/\"],\"tenant\":\"acme\","
           "\"received_at\":\"2024-03-01T11:40:47.000Z\",\"event_id\":\"" /* Moscow is UTC+3 */);
    free(s);
    for (int i = 0; i < n; i++) {
        char *x = json_dumps(a[i].value, JSON_COMPACT), *y = json_dumps(b[i].value, JSON_COMPACT);

        assert_string_equal(x, y); /* byte-identical on a second pass */
        assert_string_equal(a[i].key, "acme:+79508418541");
        free(x);
        free(y);
    }
    assert_string_equal(json_string_value(json_object_get(a[1].value, "received_at")),
                        "2024-03-01T11:40:35.000Z"); /* answered after the 11 s wait */
    assert_string_equal(a[2].ce_type, "ru.uis.call.hangup");
    assert_string_equal(a[0].ce_type, "ru.uis.call.ringing");
    assert_int_equal(json_integer_value(json_object_get(a[2].value, "talk_duration")), 12);
    assert_int_equal(json_integer_value(json_object_get(a[2].value, "total_duration")), 23);
    assert_int_equal(json_integer_value(json_object_get(a[2].value, "wait_duration")), 11);
    assert_null(json_object_get(a[1].value, "talk_duration"));
    assert_string_not_equal(a[0].event_id, a[1].event_id);
    assert_int_equal(strlen(a[0].event_id), 36);
    for (int i = 0; i < n; i++) {
        rm_event_clear(&a[i]);
        rm_event_clear(&b[i]);
    }
    /* Another tenant's events never share ids. */
    n = rm_map(&c, &none, "other", ext_of, NULL, moscow, NULL, a, 8, err, sizeof(err));
    m = rm_map(&c, &none, "acme", ext_of, NULL, moscow, NULL, b, 8, err, sizeof(err));
    assert_string_not_equal(a[0].event_id, b[0].event_id);
    for (int i = 0; i < n; i++)
        rm_event_clear(&a[i]);
    for (int i = 0; i < m; i++)
        rm_event_clear(&b[i]);
    json_decref(row);
}

static void test_bad_rows(void **state)
{
    static const char *const bad[] = {
        "{\"id\":\"x\",\"start_time\":\"2024-03-01 14:40:24\",\"direction\":\"in\"}",
        "{\"id\":1,\"start_time\":\"2024-03-01\",\"direction\":\"in\"}",
        "{\"id\":1,\"start_time\":\"2024-03-01 14:40:24\",\"direction\":\"sideways\"}",
        "{\"id\":1,\"direction\":\"in\"}",
    };
    struct rm_call c;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *row = json_loads(bad[i], 0, NULL);

        assert_int_equal(rm_call_parse(row, &c, err, sizeof(err)), -1);
        json_decref(row);
    }
}

static void test_out_of_room(void **state)
{
    struct rm_event ev[2];
    struct rm_known none = {0};
    struct rm_call c;
    char err[256];
    json_t *row = json_loads(ROW("\"direction\":\"in\",\"is_lost\":false,\"call_records\":[],"
                                 "\"employees\":[{\"employee_id\":11,\"is_answered\":true,"
                                 "\"is_talked\":true},{\"employee_id\":12}]"),
                             0, NULL);

    (void)state;
    assert_int_equal(rm_call_parse(row, &c, err, sizeof(err)), 0);
    assert_int_equal(rm_map(&c, &none, "acme", ext_of, NULL, moscow, NULL, ev, 2, err, sizeof(err)),
                     -1);
    json_decref(row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_values_and_determinism),
        cmocka_unit_test(test_bad_rows),
        cmocka_unit_test(test_out_of_room),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
