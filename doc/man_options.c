/* SPDX-License-Identifier: MIT */
/* man_options.c - writes the man page's OPTIONS section from the option table, so that
 * dtls_echo.1 and --help never disagree (make dtls_echo.1 runs it). */
#include <stdio.h>

#include "options.h"

int main(void)
{
    options_write_man(stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
