/*
 * check.h - the test programs' one-line checks.
 *
 *   check(ok, fmt, ...)   prints the printf-style description, then " ok" or " FAILED" and a
 *                         newline, and counts a failure when ok is false
 *   check_failures        the number of failures so far (starts at 0); a program may count
 *                         failures of its own in it too (threads' `must` does), and prints it
 *                         and returns it as the exit status at the end
 *
 * Like everything that prints, check is for one thread at a time (the programs call it from
 * their main thread only).
 */
#ifndef HLEMU_CHECK_H
#define HLEMU_CHECK_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

extern int check_failures;

void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_CHECK_H */
