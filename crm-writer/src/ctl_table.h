/* Text for people at a terminal (crmctl's listings): aligned tables and time filters. */
#ifndef CRMW_CTL_TABLE_H
#define CRMW_CTL_TABLE_H
#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* Characters (UTF-8 code points) of s: the columns a terminal gives it for the scripts the
 * CRM's names use (Latin, Cyrillic). */
size_t ctl_table_width(const char *s);

/* Prints cells as an aligned table: row 0 is the header, nrows rows of ncols cells follow
 * (row-major); NULL or "" prints "-". Each column is as wide as its widest cell, at most
 * max_width characters (longer cells are cut and end in "…"; 0: no limit); columns are two
 * spaces apart, no trailing blanks. */
void ctl_table_print(FILE *out, size_t ncols, size_t nrows, const char *const *cells,
                     size_t max_width);

/* --since for people: "90s", "15m", "2h", "7d" before now, or a date ("2026-11-25") or an RFC
 * 3339 date-time passed on as is. Writes the time as text PostgreSQL's timestamptz accepts
 * into out. -1 with the reason in err when s is neither. */
int ctl_since_parse(const char *s, time_t now, char *out, size_t outlen, char *err, size_t errlen);

#endif
