/* The host side of the wasm2c runtime support (qw_rt.c) and of the platform (host/ or cortex-m/). */
#ifndef QW_RT_H_
#define QW_RT_H_
#include <setjmp.h>
#include <stdint.h>

/* Where wasm traps go: wasm_rt_trap() longjmps to *target with the trap code (a wasm_rt_trap_t, never 0). */
void qw_set_trap_target(jmp_buf *target);

/* Provided by the platform: an unrecoverable host error (prints why, exits non-zero). */
void qw_fatal(const char *why) __attribute__((noreturn));
/* Called first in main (the Cortex-M platform paints the stack to measure its peak use). */
void qw_platform_start(void);
/* Prints what the platform measured (stack peak). */
void qw_platform_report(void);
/* Ends the program: 0 success, otherwise failure (qemu exits non-zero). */
void qw_exit(int code) __attribute__((noreturn));
/* A short name of the platform, printed in the banner. */
extern const char qw_platform_name[];

#endif
