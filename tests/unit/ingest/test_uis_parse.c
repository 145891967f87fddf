/* uis_parse: the fixtures, a large table of bodies in every form UIS templates produce, and proof
 * that the equivalent forms of one call give byte-identical output.
 *
 * In the tables ' stands for " (bodies and expected JSON alike) so that they stay readable;
 * rows marked raw keep their apostrophes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uis_parse.h"

/* Expected event, keys sorted (json_dumps with JSON_SORT_KEYS | JSON_COMPACT). */
#define EV(id, urls, st, div, divraw, dir, from, fromraw, ext)                                     \
    "{'call_id':'" id "','call_record_urls':" urls ",'call_state':'" st "','direction':'" dir      \
    "','diversion':" div ",'diversion_raw':'" divraw "','from_number':" from                       \
    ",'from_number_raw':'" fromraw "','user_extension':" ext "}"

#define CALL(st, ext, urls)                                                                        \
    EV("2981734650", urls, st, "'+74993482958'", "74993482958", "in", "'+79031112233'",            \
       "79031112233", ext)
#define CANON     CALL("RINGING", "null", "[]")
#define CANON_EXT CALL("ANSWERED", "'112'", "[]")
#define HUP(urls) CALL("HANGUP", "'112'", urls)
#define FROM(from, raw)                                                                            \
    EV("2981734650", "[]", "RINGING", "'+74993482958'", "74993482958", "in", from, raw, "null")

/* Body pieces: the guide's RINGING template with UIS's unquoted substitutions. */
#define P_FROM                            "'from_number':79031112233"
#define P_DIV                             "'diversion':74993482958"
#define P_DIR                             "'direction':in"
#define P_ID                              "'call_id':2981734650"
#define P_EXT                             "'user_extension':"
#define P_RING                            "'call_state':'RINGING'"
#define BODY(from, div, dir, id, ext, st) "{" from "," div "," dir "," id "," ext "," st "}"
#define RING_WITH(from)                   BODY(from, P_DIV, P_DIR, P_ID, P_EXT, P_RING)
#define RING_TAIL                         P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING "}"
#define ID_WITH(id)                       BODY(P_FROM, P_DIV, P_DIR, id, P_EXT, P_RING)
#define DIR_WITH(dir)                     BODY(P_FROM, P_DIV, dir, P_ID, P_EXT, P_RING)
#define STATE_WITH(st)                    BODY(P_FROM, P_DIV, P_DIR, P_ID, P_EXT, st)
#define EXT_WITH(ext)                     BODY(P_FROM, P_DIV, P_DIR, P_ID, ext, P_RING)
#define DIV_WITH(div)                     BODY(P_FROM, div, P_DIR, P_ID, P_EXT, P_RING)
#define HANG(urls)                                                                                 \
    "{" P_FROM "," P_DIV "," P_DIR "," P_ID ",'user_extension':112,'call_record_url':" urls        \
    ",'call_state':'HANGUP'}"

#define NUL_BODY "{'call_id':1\0,'call_state':'RINGING','direction':in}"

struct uis_row {
    const char *name;
    const char *body;
    size_t len; /* 0: strlen(body) */
    bool raw;   /* keep ' as it is */
    int rc;
    const char *field; /* refusals: the field named, "" for none */
    const char *json;  /* successes: the expected event */
};

#define OK(n, b, j)                                                                                \
    {                                                                                              \
        .name = n, .body = b, .rc = 0, .json = j                                                   \
    }
#define NO(n, b, code, f)                                                                          \
    {                                                                                              \
        .name = n, .body = b, .rc = code, .field = f                                               \
    }
#define NO_RAW(n, b, code, f)                                                                      \
    {                                                                                              \
        .name = n, .body = b, .raw = true, .rc = code, .field = f                                  \
    }
#define NO_LEN(n, b, l, code, f)                                                                   \
    {                                                                                              \
        .name = n, .body = b, .len = l, .rc = code, .field = f                                     \
    }

static const struct uis_row uis_rows[] = {
    /* the guide's template and the forms that must read the same */
    OK("template multi-line",
       "{\n    " P_FROM ",\n    " P_DIV ",\n    " P_DIR ",\n    " P_ID ",\n    " P_EXT
       ",\n    " P_RING "\n}",
       CANON),
    OK("one line", RING_WITH(P_FROM), CANON),
    OK("all quoted (valid JSON)",
       "{'from_number':'79031112233','diversion':'74993482958','direction':'in',"
       "'call_id':'2981734650','user_extension':'','call_state':'RINGING'}",
       CANON),
    OK("extension null", EXT_WITH("'user_extension':null"), CANON),
    OK("extension NULL", EXT_WITH("'user_extension':NULL"), CANON),
    OK("extension 'null'", EXT_WITH("'user_extension':'null'"), CANON),
    OK("extension absent", "{" P_FROM "," P_DIV "," P_DIR "," P_ID "," P_RING "}", CANON),
    OK("extension empty last", "{" P_FROM "," P_DIV "," P_DIR "," P_ID "," P_RING "," P_EXT "}",
       CANON),
    OK("reordered", "{" P_RING "," P_ID "," P_EXT "," P_DIR "," P_DIV "," P_FROM "}", CANON),
    OK("CRLF",
       "{\r\n" P_FROM ",\r\n" P_DIV ",\r\n" P_DIR ",\r\n" P_ID ",\r\n" P_EXT ",\r\n" P_RING
       "\r\n}\r\n",
       CANON),
    OK("BOM", "\xef\xbb\xbf" RING_WITH(P_FROM), CANON),
    OK("BOM CRLF tabs",
       "\xef\xbb\xbf{\r\n\t" P_FROM ",\r\n\t" P_DIV ",\r\n\t" P_DIR ",\r\n\t" P_ID ",\r\n\t" P_EXT
       ",\r\n\t" P_RING "\r\n}",
       CANON),
    OK("whitespace everywhere",
       "  {  'from_number' : 79031112233 , 'diversion'\t:\t74993482958 ,\n 'direction' :  in  ,"
       " 'call_id' : 2981734650 , 'user_extension' : , 'call_state' : 'RINGING'  }  \n",
       CANON),
    OK("trailing comma", "{" P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING ",}", CANON),
    OK("extra scalar fields",
       "{'version':2,'note':'hi, there','flag':true,'nothing':null," P_FROM "," P_DIV "," P_DIR
       "," P_ID "," P_EXT "," P_RING ",'last':1.5e3}",
       CANON),
    OK("extra nested object",
       "{'meta':{'a':{'b':[1,2,{'c':'}'}]},'d':'{['}," P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT
       "," P_RING "}",
       CANON),
    OK("extra array with brackets in strings",
       "{" P_FROM ",'tags':['],\\'}','[',{}]," P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING "}",
       CANON),
    OK("extra bare url with commas",
       "{" P_FROM ",'site':https://x.example/?a=1,2, https://y.example/," P_DIV "," P_DIR "," P_ID
       "," P_EXT "," P_RING "}",
       CANON),
    OK("extra unquoted template variable in nested object",
       "{'ctx':{'who':{{employee_full_name}}}," P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT
       "," P_RING "}",
       CANON),
    OK("extra unicode",
       "{'name':'Иван Петров'," P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING "}",
       CANON),
    OK("duplicate unknown field",
       "{'x':1,'x':2," P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING "}", CANON),
    OK("direction IN", DIR_WITH("'direction':IN"), CANON),
    OK("direction incoming", DIR_WITH("'direction':'incoming'"), CANON),
    OK("direction Incoming bare", DIR_WITH("'direction':Incoming"), CANON),
    OK("state lowercase", STATE_WITH("'call_state':'ringing'"), CANON),
    OK("state bare", STATE_WITH("'call_state':RINGING"), CANON),
    OK("state bare last with newline",
       "{" P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT ",'call_state':RINGING\n}", CANON),
    OK("call_id quoted with spaces", ID_WITH("'call_id':' 2981734650 '"), CANON),
    OK("escaped key and value", ID_WITH("'call\\u005fid':'\\u00329817346\\u0035\\u0030'"), CANON),
    OK("escaped slash in unknown", "{'u':'a\\/b\\n'," RING_TAIL, CANON),
    /* phone numbers (SPEC §6) */
    OK("from quoted +7 form", RING_WITH("'from_number':'+7 (903) 111-22-33'"),
       FROM("'+79031112233'", "+7 (903) 111-22-33")),
    OK("from 8 with spaces", RING_WITH("'from_number':'8 903 111 22 33'"),
       FROM("'+79031112233'", "8 903 111 22 33")),
    OK("from bare 8", RING_WITH("'from_number':89031112233"),
       FROM("'+79031112233'", "89031112233")),
    OK("from 10 digits", RING_WITH("'from_number':9031112233"),
       FROM("'+79031112233'", "9031112233")),
    OK("from +7 bare", RING_WITH("'from_number':+79031112233"),
       FROM("'+79031112233'", "+79031112233")),
    OK("from UK", RING_WITH("'from_number':'+44 20 7946 0958'"),
       FROM("'+442079460958'", "+44 20 7946 0958")),
    OK("from Ukraine bare", RING_WITH("'from_number':380441234567"),
       FROM("'+380441234567'", "380441234567")),
    OK("from 00 prefix", RING_WITH("'from_number':'00442079460958'"),
       FROM("'+442079460958'", "00442079460958")),
    OK("from hidden empty", RING_WITH("'from_number':"), FROM("null", "")),
    OK("from hidden null", RING_WITH("'from_number':null"), FROM("null", "")),
    OK("from hidden quoted empty", RING_WITH("'from_number':''"), FROM("null", "")),
    OK("from anonymous", RING_WITH("'from_number':anonymous"), FROM("null", "anonymous")),
    OK("from Unknown quoted", RING_WITH("'from_number':'Unknown'"), FROM("null", "Unknown")),
    OK("from absent", "{" P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING "}", FROM("null", "")),
    OK("diversion formatted", DIV_WITH("'diversion':'+7 (499) 348-29-58'"),
       EV("2981734650", "[]", "RINGING", "'+74993482958'", "+7 (499) 348-29-58", "in",
          "'+79031112233'", "79031112233", "null")),
    OK("diversion hidden", DIV_WITH("'diversion':"),
       EV("2981734650", "[]", "RINGING", "null", "", "in", "'+79031112233'", "79031112233",
          "null")),
    /* other fields */
    OK("direction out", DIR_WITH("'direction':out"),
       EV("2981734650", "[]", "RINGING", "'+74993482958'", "74993482958", "out", "'+79031112233'",
          "79031112233", "null")),
    OK("direction outgoing", DIR_WITH("'direction':'OUTGOING'"),
       EV("2981734650", "[]", "RINGING", "'+74993482958'", "74993482958", "out", "'+79031112233'",
          "79031112233", "null")),
    OK("huge call_id", ID_WITH("'call_id':123456789012345678901234"),
       EV("123456789012345678901234", "[]", "RINGING", "'+74993482958'", "74993482958", "in",
          "'+79031112233'", "79031112233", "null")),
    OK("32-digit call_id", ID_WITH("'call_id':'12345678901234567890123456789012'"),
       EV("12345678901234567890123456789012", "[]", "RINGING", "'+74993482958'", "74993482958",
          "in", "'+79031112233'", "79031112233", "null")),
    OK("call_id leading zeros", ID_WITH("'call_id':000123"),
       EV("000123", "[]", "RINGING", "'+74993482958'", "74993482958", "in", "'+79031112233'",
          "79031112233", "null")),
    OK("answered ext bare",
       "{" P_FROM "," P_DIV "," P_DIR "," P_ID ",'user_extension':112,'call_state':'ANSWERED'}",
       CANON_EXT),
    OK("answered ext quoted",
       "{" P_FROM "," P_DIV "," P_DIR "," P_ID ",'user_extension':'112','call_state':ANSWERED}",
       CANON_EXT),
    OK("ext with symbols", EXT_WITH("'user_extension':'*10#'"), CALL("RINGING", "'*10#'", "[]")),
    /* recording links */
    OK("one bare link", HANG("https://app.uiscom.ru/system/media/talk/2981734650/0f4e2a/"),
       HUP("['https://app.uiscom.ru/system/media/talk/2981734650/0f4e2a/']")),
    OK("links by comma and space", HANG("https://a.example/1, https://a.example/2"),
       HUP("['https://a.example/1','https://a.example/2']")),
    OK("links by comma", HANG("https://a.example/1,https://a.example/2"),
       HUP("['https://a.example/1','https://a.example/2']")),
    OK("links by space", HANG("https://a.example/1 https://a.example/2"),
       HUP("['https://a.example/1','https://a.example/2']")),
    OK("links quoted by space", HANG("'https://a.example/1 https://a.example/2'"),
       HUP("['https://a.example/1','https://a.example/2']")),
    OK("links quoted by comma", HANG("'https://a.example/1,https://a.example/2'"),
       HUP("['https://a.example/1','https://a.example/2']")),
    OK("links array", HANG("['https://a.example/1', 'https://a.example/2']"),
       HUP("['https://a.example/1','https://a.example/2']")),
    OK("links several strings", HANG("'https://a.example/1', 'https://a.example/2'"),
       HUP("['https://a.example/1','https://a.example/2']")),
    OK("links three, newline",
       HANG("https://a.example/1,\r\n https://a.example/2 ,https://a.example/3"),
       HUP("['https://a.example/1','https://a.example/2','https://a.example/3']")),
    OK("link with commas in query", HANG("https://a.example/r?id=1,2&x=3"),
       HUP("['https://a.example/r?id=1,2&x=3']")),
    OK("link with port and colon", HANG("http://a.example:8080/r:1"),
       HUP("['http://a.example:8080/r:1']")),
    OK("duplicate link kept once", HANG("https://a.example/1, https://a.example/1"),
       HUP("['https://a.example/1']")),
    OK("links empty", HANG(""), HUP("[]")),
    OK("links null", HANG("null"), HUP("[]")),
    OK("links empty string", HANG("''"), HUP("[]")),
    OK("links empty array", HANG("[ ]"), HUP("[]")),
    OK("link last before brace",
       "{" P_FROM "," P_DIV "," P_DIR "," P_ID ",'user_extension':112,'call_state':'HANGUP',"
       "'call_record_url':https://a.example/1\r\n}",
       HUP("['https://a.example/1']")),
    OK("link uppercase scheme", HANG("HTTPS://a.example/1"), HUP("['HTTPS://a.example/1']")),
    /* refusals: which field, which kind */
    NO("no call_id", "{" P_FROM "," P_DIV "," P_DIR "," P_EXT "," P_RING "}", UIS_EMISSING,
       "call_id"),
    NO("empty object", "{}", UIS_EMISSING, "call_id"),
    NO("call_id empty", ID_WITH("'call_id':"), UIS_EMISSING, "call_id"),
    NO("call_id null", ID_WITH("'call_id':null"), UIS_EMISSING, "call_id"),
    NO("call_id letters", ID_WITH("'call_id':'29817a4650'"), UIS_EVALUE, "call_id"),
    NO("call_id negative", ID_WITH("'call_id':-5"), UIS_EVALUE, "call_id"),
    NO("call_id float", ID_WITH("'call_id':2.98e9"), UIS_EVALUE, "call_id"),
    NO("call_id inner space", ID_WITH("'call_id':'298 1734650'"), UIS_EVALUE, "call_id"),
    NO("call_id 33 digits", ID_WITH("'call_id':123456789012345678901234567890123"), UIS_EVALUE,
       "call_id"),
    NO("call_id object", ID_WITH("'call_id':{'id':1}"), UIS_EVALUE, "call_id"),
    NO("call_id array", ID_WITH("'call_id':[2981734650]"), UIS_EVALUE, "call_id"),
    NO("call_id true", ID_WITH("'call_id':true"), UIS_EVALUE, "call_id"),
    NO("call_id template left in", ID_WITH("'call_id':{{call_session_id}}"), UIS_EVALUE, "call_id"),
    NO("no call_state", "{" P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT "}", UIS_EMISSING,
       "call_state"),
    NO("call_state unknown", STATE_WITH("'call_state':'RING'"), UIS_EVALUE, "call_state"),
    NO("call_state number", STATE_WITH("'call_state':1"), UIS_EVALUE, "call_state"),
    NO("no direction", "{" P_FROM "," P_DIV "," P_ID "," P_EXT "," P_RING "}", UIS_EMISSING,
       "direction"),
    NO("direction empty", DIR_WITH("'direction':"), UIS_EMISSING, "direction"),
    NO("direction inbound", DIR_WITH("'direction':inbound"), UIS_EVALUE, "direction"),
    NO("from letters", RING_WITH("'from_number':'abc'"), UIS_EVALUE, "from_number"),
    NO("from short", RING_WITH("'from_number':1234"), UIS_EVALUE, "from_number"),
    NO("from too many digits", RING_WITH("'from_number':12345678901234567"), UIS_EVALUE,
       "from_number"),
    NO("garbage after quoted from", RING_WITH("'from_number':'+7 903 111 22 33'x"), UIS_ESYNTAX,
       "from_number"),
    NO("from raw too long",
       RING_WITH(
           "'from_number':'+7 9 0 3 1 1 1 2 2 3 3 - - - - - - - - - - - - - - - - - - - - - - "
           "- - - -'"),
       UIS_EVALUE, "from_number"),
    NO("from float", RING_WITH("'from_number':7.9031112233E10"), UIS_EVALUE, "from_number"),
    NO("from object", RING_WITH("'from_number':{'n':1}"), UIS_EVALUE, "from_number"),
    /* Issue 15: a virtual number that cannot be normalised is kept raw, the notification is
     * accepted; internal and service numbers (5..9 digits) are kept raw, never E.164. */
    OK("diversion short +7 kept raw", DIV_WITH("'diversion':'+7 499 348'"),
       EV("2981734650", "[]", "RINGING", "null", "+7 499 348", "in", "'+79031112233'",
          "79031112233", "null")),
    OK("diversion letters kept raw", DIV_WITH("'diversion':'office'"),
       EV("2981734650", "[]", "RINGING", "null", "office", "in", "'+79031112233'", "79031112233",
          "null")),
    OK("from internal number kept raw", RING_WITH("'from_number':10050"), FROM("null", "10050")),
    OK("from service number kept raw", RING_WITH("'from_number':'5-55-12'"),
       FROM("null", "5-55-12")),
    OK("from 8 then 1: international", RING_WITH("'from_number':81312345678"),
       FROM("'+81312345678'", "81312345678")),
    NO("ext with space", EXT_WITH("'user_extension':'1 2'"), UIS_EVALUE, "user_extension"),
    NO("ext too long", EXT_WITH("'user_extension':12345678901234567"), UIS_EVALUE,
       "user_extension"),
    NO("ext array", EXT_WITH("'user_extension':[112]"), UIS_EVALUE, "user_extension"),
    NO("link ftp", HANG("ftp://a.example/1"), UIS_EVALUE, "call_record_url"),
    NO("link words", HANG("'no recording'"), UIS_EVALUE, "call_record_url"),
    NO("link scheme only", HANG("https://"), UIS_EVALUE, "call_record_url"),
    NO("link second bad", HANG("https://a.example/1, www.a.example/2"), UIS_EVALUE,
       "call_record_url"),
    NO("link array of numbers", HANG("[1]"), UIS_EVALUE, "call_record_url"),
    NO("link array nested", HANG("[['https://a.example/1']]"), UIS_EVALUE, "call_record_url"),
    NO("link object", HANG("{'u':'https://a.example/1'}"), UIS_EVALUE, "call_record_url"),
    NO("link with quote", HANG("https://a.example/1'x"), UIS_EVALUE, "call_record_url"),
    NO("links 17",
       HANG("'http://a/1 http://a/2 http://a/3 http://a/4 http://a/5 http://a/6 http://a/7 "
            "http://a/8 http://a/9 http://a/10 http://a/11 http://a/12 http://a/13 http://a/14 "
            "http://a/15 http://a/16 http://a/17'"),
       UIS_EVALUE, "call_record_url"),
    NO("link array unterminated", "{'call_record_url':['https://a.example/1'", UIS_ESYNTAX,
       "call_record_url"),
    NO("duplicate call_id",
       "{" P_ID "," P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING "}", UIS_EDUPLICATE,
       "call_id"),
    NO("duplicate call_state differing",
       "{'call_state':'HANGUP'," P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING "}",
       UIS_EDUPLICATE, "call_state"),
    NO("duplicate empty ext",
       "{" P_EXT "," P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING "}", UIS_EDUPLICATE,
       "user_extension"),
    /* not a readable object */
    NO("truncated in key", "{" P_FROM "," P_DIV "," P_DIR "," P_ID ",'call_st", UIS_ESYNTAX, ""),
    NO("truncated after colon",
       "{" P_FROM "," P_DIV "," P_DIR "," P_ID ",'call_state':", UIS_ESYNTAX, "call_state"),
    NO("truncated bare", "{" P_FROM "," P_DIV "," P_ID "," P_EXT "," P_RING "," P_DIR, UIS_ESYNTAX,
       ""),
    NO("truncated in string",
       "{" P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT ",'call_state':'RING", UIS_ESYNTAX,
       "call_state"),
    NO("truncated after value", "{" P_FROM "," P_DIV "," P_DIR "," P_ID "," P_EXT "," P_RING,
       UIS_ESYNTAX, ""),
    NO("truncated nested unknown", "{'meta':{'a':[1,2", UIS_ESYNTAX, ""),
    NO("empty body", "", UIS_ESYNTAX, ""),
    NO("blank body", " \r\n\t ", UIS_ESYNTAX, ""),
    NO("only BOM", "\xef\xbb\xbf", UIS_ESYNTAX, ""),
    NO("array body", "[" RING_WITH(P_FROM) "]", UIS_ESYNTAX, ""),
    NO("string body", "'call_id'", UIS_ESYNTAX, ""),
    NO("number body", "2981734650", UIS_ESYNTAX, ""),
    NO("null body", "null", UIS_ESYNTAX, ""),
    NO("form encoded", "call_id=2981734650&call_state=RINGING", UIS_ESYNTAX, ""),
    NO("xml", "<call id='1'/>", UIS_ESYNTAX, ""),
    NO("text after object", RING_WITH(P_FROM) " thanks", UIS_ESYNTAX, ""),
    NO("two objects", RING_WITH(P_FROM) RING_WITH(P_FROM), UIS_ESYNTAX, ""),
    NO("text after quoted object", "{'call_id':'1','call_state':'RINGING','direction':'in'} x",
       UIS_ESYNTAX, ""),
    NO_LEN("NUL byte", NUL_BODY, sizeof(NUL_BODY) - 1, UIS_ESYNTAX, ""),
    NO("invalid UTF-8", "{'name':'\xff'," RING_TAIL, UIS_ESYNTAX, ""),
    NO("overlong UTF-8", "{'name':'\xc0\xaf'," RING_TAIL, UIS_ESYNTAX, ""),
    NO("encoded surrogate", "{'name':'\xed\xa0\x80'," RING_TAIL, UIS_ESYNTAX, ""),
    NO("cut UTF-8", "{'name':'\xd0'}", UIS_ESYNTAX, ""),
    NO("unquoted key", "{call_id:1,'call_state':'RINGING','direction':in}", UIS_ESYNTAX, ""),
    NO_RAW("single quotes", "{'call_id':'1','call_state':'RINGING','direction':'in'}", UIS_ESYNTAX,
           ""),
    NO("missing colon", "{'call_id' 1,'call_state':'RINGING','direction':in}", UIS_ESYNTAX,
       "call_id"),
    NO("missing comma", "{'call_id':'1' 'call_state':'RINGING','direction':'in'}", UIS_ESYNTAX,
       "call_id"),
    NO("newline in string", "{'call_id':'1\n','call_state':'RINGING','direction':'in'}",
       UIS_ESYNTAX, "call_id"),
    NO("bad escape", "{'call_id':'\\x31','call_state':'RINGING','direction':'in'}", UIS_ESYNTAX,
       "call_id"),
    NO("escaped NUL", "{'call_id':'1\\u0000','call_state':'RINGING','direction':'in'}", UIS_ESYNTAX,
       "call_id"),
    NO("lone surrogate", RING_WITH("'from_number':'\\ud800'"), UIS_ESYNTAX, "from_number"),
    NO("low surrogate first", RING_WITH("'from_number':'\\udc00\\ud800'"), UIS_ESYNTAX,
       "from_number"),
    NO("short unicode escape", "{'call_state':'\\u12'," P_FROM "}", UIS_ESYNTAX, "call_state"),
    NO("bad escape in key", "{'x\\q':1," RING_TAIL, UIS_ESYNTAX, ""),
    /* unknown fields are skipped, not validated: only strings and brackets are followed */
    OK("bad escapes in unknown field", "{'x':'\\ud800\\q\\u12'," RING_TAIL, CANON),
    NO("mismatched brackets", "{'x':[1,2}," RING_TAIL, UIS_ESYNTAX, ""),
    NO("nested too deep",
       "{'x':[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"
       "'call_id':1}",
       UIS_ESYNTAX, ""),
    NO("stray comma", "{," RING_TAIL, UIS_ESYNTAX, ""),
    NO("value then garbage", "{'call_id':'1'x,'call_state':'RINGING','direction':'in'}",
       UIS_ESYNTAX, "call_id"),
};

static char *unquote(const char *s, size_t len, bool raw)
{
    char *d = malloc(len + 1);

    assert_non_null(d);
    memcpy(d, s, len);
    d[len] = '\0';
    for (size_t i = 0; i < len && !raw; i++) {
        if (d[i] == '\'')
            d[i] = '"';
    }
    return d;
}

static char *dump_event(const struct uis_event *ev)
{
    json_t *j = uis_event_to_json(ev);
    char *s;

    assert_non_null(j);
    s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    return s;
}

/* Reasons are shown to admins as they are: one lowercase ASCII sentence. */
static void check_reason(const struct uis_error *err)
{
    size_t n = strlen(err->reason);
    json_t *j;

    assert_true(n > 10 && n < sizeof(err->reason) - 1);
    assert_true(err->reason[0] >= 'a' && err->reason[0] <= 'z');
    for (size_t i = 0; i < n; i++)
        assert_true(err->reason[i] >= 0x20 && err->reason[i] < 0x7f);
    assert_null(strstr(err->reason, "9031112233"));
    j = uis_error_to_json(err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "reason")), err->reason);
    json_decref(j);
}

static void test_uis_table(void **state)
{
    size_t nrows = sizeof(uis_rows) / sizeof(uis_rows[0]);
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < nrows; i++) {
        const struct uis_row *r = &uis_rows[i];
        size_t len = r->len != 0 ? r->len : strlen(r->body);
        char *body = unquote(r->body, len, r->raw);
        struct uis_event ev;
        struct uis_error err;
        int rc = uis_parse(body, len, &ev, &err);

        if (rc != r->rc) {
            print_error("row %zu \"%s\": rc %d, want %d (%s: %s)\n", i, r->name, rc, r->rc,
                        err.field, err.reason);
            failures++;
        } else if (rc == 0) {
            char *want = unquote(r->json, strlen(r->json), false);
            char *got = dump_event(&ev);

            if (strcmp(got, want) != 0) {
                print_error("row %zu \"%s\":\n got %s\nwant %s\n", i, r->name, got, want);
                failures++;
            }
            free(got);
            free(want);
        } else if (strcmp(err.field, r->field) != 0) {
            print_error("row %zu \"%s\": field \"%s\", want \"%s\" (%s)\n", i, r->name, err.field,
                        r->field, err.reason);
            failures++;
        } else {
            check_reason(&err);
        }
        uis_event_release(&ev);
        free(body);
    }
    assert_true(nrows >= 100);
    assert_int_equal(failures, 0);
}

/* Every form of one call, however written, must give the same bytes downstream. */
static const char *const uis_same_call[] = {
    RING_WITH(P_FROM),
    "{\n    " P_FROM ",\n    " P_DIV ",\n    " P_DIR ",\n    " P_ID ",\n    " P_EXT ",\n    " P_RING
    "\n}",
    "{'from_number':'79031112233','diversion':'74993482958','direction':'in',"
    "'call_id':'2981734650','user_extension':null,'call_state':'RINGING'}",
    "\xef\xbb\xbf{\r\n" P_RING ",\r\n" P_ID ",\r\n" P_DIR ",\r\n" P_DIV ",\r\n" P_FROM
    ",\r\n'user_extension':null\r\n}\r\n",
    "{'a':{'b':[1,{'c':'}'}]}," P_FROM ",'z':x," P_DIV ",'direction':'IN'," P_ID
    ",'user_extension':'','call_state':ringing,}",
    "{" P_FROM "," P_DIV ",'direction':incoming," P_ID ",'call_state':'RINGING'}",
    "{" P_FROM "," P_DIV "," P_DIR ",'call_id':' 2981734650 '," P_EXT ",'call_state':RINGING\n}",
};

static void test_uis_equivalent_forms_identical(void **state)
{
    char *first = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(uis_same_call) / sizeof(uis_same_call[0]); i++) {
        char *body = unquote(uis_same_call[i], strlen(uis_same_call[i]), false);
        struct uis_event ev;
        struct uis_error err;
        char *got;

        if (uis_parse(body, strlen(body), &ev, &err) != 0)
            fail_msg("form %zu refused: %s: %s", i, err.field, err.reason);
        got = dump_event(&ev);
        if (first == NULL)
            first = got;
        else if (strcmp(first, got) != 0)
            fail_msg("form %zu differs:\n%s\n%s", i, first, got);
        else
            free(got);
        uis_event_release(&ev);
        free(body);
    }
    free(first);
}

static char *read_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("FIXTURES_DIR");
    char path[1024];
    FILE *f;
    char *buf = malloc(65536);

    if (dir == NULL)
        fail_msg("FIXTURES_DIR is not set (ctest sets it to tests/fixtures/uis)");
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    assert_non_null(buf);
    *len = fread(buf, 1, 65536, f);
    fclose(f);
    return buf;
}

/* The expected results listed in the fixtures' README. */
static void test_uis_fixtures(void **state)
{
    static const struct {
        const char *file;
        const char *json;
        const char *refused_field;
    } fx[] = {
        {"01-ringing-guide-template.body", CANON, NULL},
        {"02-answered-unquoted.body", CANON_EXT, NULL},
        {"03-hangup-quoted.body",
         HUP("['https://app.uiscom.ru/system/media/talk/2981734650/0f4e2a/']"), NULL},
        {"04-missed.body",
         EV("2981734651", "[]", "MISSED", "'+74993482958'", "74993482958", "in", "'+79031112233'",
            "79031112233", "null"),
         NULL},
        {"05-refused-no-call-id.body", NULL, "call_id"},
        {"06-hangup-two-links-crlf.body",
         HUP("['https://app.uiscom.ru/system/media/talk/2981734650/0f4e2a/',"
             "'https://app.uiscom.ru/system/media/talk/2981734650/1a7c3d/']"),
         NULL},
        {"07-ringing-formatted-numbers.body",
         EV("2981734650", "[]", "RINGING", "'+74993482958'", "+7 (499) 348-29-58", "in",
            "'+79031112233'", "+7 (903) 111-22-33", "null"),
         NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
        size_t len;
        char *body = read_fixture(fx[i].file, &len);
        struct uis_event ev;
        struct uis_error err;
        int rc = uis_parse(body, len, &ev, &err);

        if (fx[i].json != NULL) {
            char *want = unquote(fx[i].json, strlen(fx[i].json), false);
            char *got;

            if (rc != 0)
                fail_msg("%s refused: %s: %s", fx[i].file, err.field, err.reason);
            got = dump_event(&ev);
            assert_string_equal(got, want);
            free(got);
            free(want);
        } else {
            assert_int_equal(rc, UIS_EMISSING);
            assert_string_equal(err.field, fx[i].refused_field);
        }
        uis_event_release(&ev);
        free(body);
    }
}

/* Every prefix of a good body is refused (never half-read), and nothing overruns: the parser is
 * given exactly the prefix in a buffer of its own size. */
static void test_uis_every_prefix_refused(void **state)
{
    char *full = unquote(HANG("https://a.example/1, https://a.example/2"),
                         strlen(HANG("https://a.example/1, https://a.example/2")), false);
    size_t len = strlen(full);

    (void)state;
    for (size_t n = 0; n < len; n++) {
        char *body = malloc(n + 1);
        struct uis_event ev;
        struct uis_error err;

        assert_non_null(body);
        memcpy(body, full, n);
        if (uis_parse(body, n, &ev, &err) == 0)
            fail_msg("prefix of %zu bytes accepted", n);
        assert_int_equal(err.code, UIS_ESYNTAX);
        uis_event_release(&ev);
        free(body);
    }
    free(full);
}

static void test_uis_json_shapes(void **state)
{
    struct uis_event ev;
    struct uis_error err = {.code = UIS_EVALUE, .field = "call_id", .reason = "call_id is bad"};
    json_t *j;
    char *s;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    assert_null(uis_event_to_json(&ev)); /* never filled: no half-made event */
    uis_event_release(&ev);
    uis_event_release(&ev);
    uis_event_release(NULL);

    j = uis_error_to_json(&err);
    s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(
        s,
        "{\"error\":\"invalid field value\",\"field\":\"call_id\",\"reason\":\"call_id is bad\"}");
    free(s);
    json_decref(j);

    memset(&err, 0, sizeof(err));
    err.code = UIS_ESYNTAX;
    strcpy(err.reason, "body is empty");
    j = uis_error_to_json(&err);
    s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(
        s, "{\"error\":\"invalid webhook body\",\"field\":null,\"reason\":\"body is empty\"}");
    free(s);
    json_decref(j);

    assert_int_equal(uis_parse("{}", 2, &ev, NULL), UIS_EMISSING); /* err may be NULL */
    assert_int_equal(uis_parse(NULL, 0, &ev, &err), UIS_ESYNTAX);
    assert_string_equal(err.reason, "body is empty");
    assert_string_equal(uis_state_name(UIS_STATE_MISSED), "MISSED");
    assert_null(uis_state_name(UIS_STATE_NONE));
    assert_string_equal(uis_direction_name(UIS_DIR_OUT), "out");
    assert_null(uis_direction_name((enum uis_direction)42));
}

/* A body far from the caller's size limit still scans in linear time: many commas that each
 * look like the start of a key must not be re-scanned. */
static void test_uis_hostile_is_fast(void **state)
{
    size_t n = 1 << 20;
    char *body = malloc(n);
    struct uis_event ev;
    struct uis_error err;
    size_t i;

    (void)state;
    assert_non_null(body);
    memcpy(body, "{\"x\":a", 6);
    for (i = 6; i + 3 < n; i += 3)
        memcpy(body + i, ",\"\\", 3);
    memset(body + i, ' ', n - i);
    assert_int_equal(uis_parse(body, n, &ev, &err), UIS_ESYNTAX);
    for (i = 6; i < n; i++)
        body[i] = (i % 2) ? ',' : ' ';
    assert_int_equal(uis_parse(body, n, &ev, &err), UIS_ESYNTAX);
    free(body);
}

/* The optional fifth template, "Завершение звонка" (issue 15), as an admin writes it from the
 * guide's pattern: UIS's duration variables unquoted, and quoted or empty as well. */
static void test_uis_finished(void **state)
{
    static const char body[] =
        "{\n    \"from_number\":79031112233,\n    \"diversion\":74993482958,"
        "\n    \"direction\":in,\n    \"call_id\":2981734650,\n"
        "    \"user_extension\":,\n    \"talk_time_duration\":95,\n"
        "    \"total_time_duration\":\"112\",\n    \"wait_time_duration\":,\n"
        "    \"call_state\":\"FINISHED\"\n}";
    static const char bad[] = "{\"call_id\":1,\"call_state\":\"FINISHED\",\"direction\":in,"
                              "\"talk_time_duration\":-3}";
    static const char ring[] = "{\"call_id\":1,\"call_state\":\"RINGING\",\"direction\":in}";
    struct uis_event ev;
    struct uis_error err;
    char *got;

    (void)state;
    assert_int_equal(uis_parse(body, strlen(body), &ev, &err), UIS_OK);
    assert_int_equal(ev.state, UIS_STATE_FINISHED);
    assert_int_equal(ev.talk_s, 95);
    assert_int_equal(ev.total_s, 112);
    assert_int_equal(ev.wait_s, -1);
    got = dump_event(&ev);
    assert_non_null(strstr(got, "\"call_state\":\"FINISHED\""));
    assert_non_null(strstr(got, "\"talk_duration\":95,\"total_duration\":112"));
    assert_null(strstr(got, "wait_duration"));
    free(got);
    uis_event_release(&ev);
    assert_int_equal(uis_parse(bad, strlen(bad), &ev, &err), UIS_EVALUE);
    assert_string_equal(err.field, "talk_time_duration");
    /* The guide's templates carry no durations, and their events stay as they were. */
    assert_int_equal(uis_parse(ring, strlen(ring), &ev, &err), UIS_OK);
    got = dump_event(&ev);
    assert_null(strstr(got, "duration"));
    free(got);
    uis_event_release(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uis_table),
        cmocka_unit_test(test_uis_equivalent_forms_identical),
        cmocka_unit_test(test_uis_fixtures),
        cmocka_unit_test(test_uis_every_prefix_refused),
        cmocka_unit_test(test_uis_json_shapes),
        cmocka_unit_test(test_uis_hostile_is_fast),
        cmocka_unit_test(test_uis_finished),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
