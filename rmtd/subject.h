/*
 * subject.h - TLS certificate subjects and the patterns that identities match
 * them with, compared name component by name component.
 *
 * Both are written in RFC 2253 form, the last name component first, as
 * `openssl x509 -noout -subject -nameopt RFC2253` prints them:
 * "CN=backup.example.org,O=Example". A component is TYPE=VALUE; components are
 * separated by ',' (or '+' inside a multi-valued one). In a value, \, \+ \" \\
 * \< \> \; \= \# and "\ " stand for the character, \XX for the byte with that
 * hexadecimal value. In a pattern the value is an fnmatch(3) glob over the whole
 * value of one component ('*', '?', '[...]'; \*, \? and \[ are literal).
 *
 * A pattern matches a subject when both have the same components in the same
 * order, each type equal (ignoring case) and each value matching its glob: a
 * '*' never reaches into the next component, and a subject with a component
 * the pattern does not name does not match.
 */
#ifndef RMTD_SUBJECT_H
#define RMTD_SUBJECT_H

#include <stdbool.h>

/* Longest subject or pattern handled; a longer subject matches nothing. */
#define SUBJECT_TEXT_MAX 1024

/* Is this a well-formed pattern? 0, or -EINVAL with *reason set. */
int subject_pattern_check(const char *pattern, const char **reason);
/* Does the subject (RFC 2253, as tls.c makes it) match the pattern? */
bool subject_matches(const char *pattern, const char *subject);

#endif
