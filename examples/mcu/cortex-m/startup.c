/*
 * Startup and platform layer for the Cortex-M build (mps2.ld): the vector table, the reset handler (.data copy,
 * .bss zeroing, FPU enable on cores that have one), semihosting stdio (newlib's librdimon), fault reporting,
 * and a stack high-water measurement (the stack is painted at start and scanned at the end).
 * Built with -nostartfiles, so nothing else runs before main.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../qw_rt.h"

extern uint32_t __data_start__[], __data_end__[], __data_load__[], __bss_start__[], __bss_end__[];
extern uint32_t __stack_bottom__[], __stack_top__[], __heap_end__[], end[];

extern int main(void);
extern void initialise_monitor_handles(void);

#if defined(QW_TARGET) /* set by scripts/build-mcu.ts, e.g. "cortex-m4 on mps2-an386" */
const char qw_platform_name[] = QW_TARGET ", arm-none-eabi-gcc";
#elif defined(__ARM_ARCH_7EM__) && defined(__ARM_FP)
const char qw_platform_name[] = "Cortex-M4/M7 with FPU, arm-none-eabi-gcc";
#elif defined(__ARM_ARCH_7EM__)
const char qw_platform_name[] = "Cortex-M4/M7, arm-none-eabi-gcc";
#elif defined(__ARM_ARCH_7M__)
const char qw_platform_name[] = "Cortex-M3, arm-none-eabi-gcc";
#else
const char qw_platform_name[] = "Cortex-M, arm-none-eabi-gcc";
#endif

/* ---- semihosting, for what must work without newlib (faults) ------------------------------------------------ */

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_Stopped_ApplicationExit 0x20026
#define ADP_Stopped_RunTimeErrorUnknown 0x20023

static inline uint32_t semihost(uint32_t op, const void *arg) {
  register uint32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

/* Exit qemu: 0 for the application exit, 1 (qemu's status) for anything else. */
static void __attribute__((noreturn)) semihost_exit(uint32_t reason) {
  for (;;) semihost(SYS_EXIT, (const void *)reason);
}

void qw_exit(int code) {
  fflush(stdout);
  semihost_exit(code == 0 ? ADP_Stopped_ApplicationExit : ADP_Stopped_RunTimeErrorUnknown);
}

void qw_fatal(const char *why) {
  fflush(stdout);
  semihost(SYS_WRITE0, "qwasm-mcu: ");
  semihost(SYS_WRITE0, why);
  semihost(SYS_WRITE0, "\n");
  semihost_exit(ADP_Stopped_RunTimeErrorUnknown);
}

/* ---- stack measurement ---------------------------------------------------------------------------------------- */

#define STACK_PAINT 0xA5A5A5A5u

void qw_platform_start(void) {
  /* paint from the bottom of the stack to a little below the current stack pointer */
  uint32_t *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t *p = __stack_bottom__; p < sp - 16; p++) *p = STACK_PAINT;
}

void qw_platform_report(void) {
  uint32_t *p = __stack_bottom__;
  while (p < __stack_top__ && *p == STACK_PAINT) p++;
  unsigned size = (unsigned)((__stack_top__ - __stack_bottom__) * 4), used = (unsigned)((__stack_top__ - p) * 4);
  printf("stack: peak %u of %u bytes\n", used, size);
  /* newlib's heap (stdio buffers) grows from `end`; sbrk(0) is its current top */
  char *top = sbrk(0);
  printf("heap: %u of %u bytes\n", (unsigned)(top - (char *)end), (unsigned)((char *)__heap_end__ - (char *)end));
}

/* ---- reset and faults ---------------------------------------------------------------------------------------- */

void Reset_Handler(void) {
#if defined(__ARM_FP)
  /* CPACR: full access to CP10 and CP11 before any floating-point instruction */
  *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  for (uint32_t *s = __data_load__, *d = __data_start__; d < __data_end__;) *d++ = *s++;
  for (uint32_t *d = __bss_start__; d < __bss_end__;) *d++ = 0;
  initialise_monitor_handles();
  qw_exit(main());
}

static void fault(const char *what) {
  semihost(SYS_WRITE0, "qwasm-mcu: ");
  semihost(SYS_WRITE0, what);
  semihost(SYS_WRITE0, "\n");
  semihost_exit(ADP_Stopped_RunTimeErrorUnknown);
}

void NMI_Handler(void) { fault("NMI"); }
void HardFault_Handler(void) { fault("HardFault"); }
void MemManage_Handler(void) { fault("MemManage fault"); }
void BusFault_Handler(void) { fault("BusFault"); }
void UsageFault_Handler(void) { fault("UsageFault"); }
void Default_Handler(void) { fault("unexpected interrupt"); }

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) const vector_t qw_vectors[16 + 32] = {
  (vector_t)(uintptr_t)__stack_top__,
  Reset_Handler,
  NMI_Handler,
  HardFault_Handler,
  MemManage_Handler,
  BusFault_Handler,
  UsageFault_Handler,
  0, 0, 0, 0,
  Default_Handler, /* SVCall */
  Default_Handler, /* DebugMonitor */
  0,
  Default_Handler, /* PendSV */
  Default_Handler, /* SysTick */
  [16 ... 47] = Default_Handler,
};
