/* SPDX-License-Identifier: MIT */
/* options_dict.c - writes fuzz_options's libFuzzer dictionary from the option table, so
 * the dictionary never misses an option (scripts/fuzz.sh runs it). */
#include <stdio.h>

#include "options.h"

int main(void)
{
    options_write_dictionary(stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
