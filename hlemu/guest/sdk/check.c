/*
 * check.c - one check a line (see check.h).
 */

#include "check.h"

#include <stdarg.h>
#include <stdio.h>

int check_failures;

void check(bool ok, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf(ok ? " ok\n" : " FAILED\n");
    if (!ok)
        check_failures++;
}
