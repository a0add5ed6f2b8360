/* The platform layer for a hosted C build (the host gcc): stdio and exit. */
#include <stdio.h>
#include <stdlib.h>

#include "../qw_rt.h"

#if defined(__x86_64__)
const char qw_platform_name[] = "host gcc, x86_64";
#elif defined(__aarch64__)
const char qw_platform_name[] = "host gcc, aarch64";
#else
const char qw_platform_name[] = "host gcc";
#endif

void qw_fatal(const char *why) {
  fflush(stdout);
  fprintf(stderr, "qwasm-mcu: %s\n", why);
  exit(2);
}

void qw_platform_start(void) {}
void qw_platform_report(void) {}

void qw_exit(int code) {
  fflush(stdout);
  exit(code);
}
