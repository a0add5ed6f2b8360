/*
 * The host's own wasm2c runtime support (what wabt's wasm-rt-impl.c would provide), for microcontrollers and
 * plain C hosts: no mmap, no signals, no malloc.
 *
 *  - Linear memory is a static pool of QW_MEMORY_PAGES wasm pages (64 KiB each) in .bss. The module's memory is
 *    declared with min = max = QW_MEMORY_PAGES (scripts/build-mcu.ts rewrites the limits before wasm2c), so it
 *    never grows: memory.grow returns -1 and the runtime's allocator reports exhaustion.
 *  - Traps (out-of-bounds access, unreachable, call-stack exhaustion, ...) longjmp to the host's qw_try().
 *  - Function types are registered by their signature. The types arrive through varargs as enum values; they
 *    are read as int, since an enum may be narrower than int (arm-none-eabi uses short enums) and varargs promote
 *    it to int.
 *
 * Compile the generated module with -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0 (explicit bounds checks) on every
 * target, so the host gcc build and the Cortex-M build run the same checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wasm-rt.h"
#include "qw_rt.h"

#ifndef QW_MEMORY_PAGES
#error "define QW_MEMORY_PAGES (wasm pages of linear memory)"
#endif
#if WASM_RT_MEMCHECK_SIGNAL_HANDLER
#error "build with -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0: this runtime has no guard pages"
#endif

#define QW_PAGE 65536u

/* The linear memory. 16-byte aligned like the model's sections; placed in .bss (zeroed at reset). */
static uint8_t qw_pool[QW_MEMORY_PAGES * QW_PAGE] __attribute__((aligned(16)));
static bool qw_pool_used;

#if WASM_RT_USE_STACK_DEPTH_COUNT
uint32_t wasm_rt_call_stack_depth;
#endif

static jmp_buf *qw_trap_target;

void qw_set_trap_target(jmp_buf *target) {
  qw_trap_target = target;
}

void wasm_rt_trap(wasm_rt_trap_t code) {
  if (qw_trap_target) longjmp(*qw_trap_target, (int)code == 0 ? -1 : (int)code);
  qw_fatal("wasm trap outside qw_try");
}

const char *wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "no error";
    case WASM_RT_TRAP_OOB: return "out-of-bounds access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "invalid call_indirect";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
#if !WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
#endif
    default: return "unknown trap";
  }
}

static bool qw_initialized;
void wasm_rt_init(void) {
  qw_initialized = true;
#if WASM_RT_USE_STACK_DEPTH_COUNT
  wasm_rt_call_stack_depth = 0;
#endif
}
bool wasm_rt_is_initialized(void) { return qw_initialized; }
void wasm_rt_free(void) { qw_initialized = false; }

/* ---- function types: one index per distinct signature ----------------------------------------------------- */

#define QW_MAX_TYPES 64
#define QW_MAX_SIG 40
static uint8_t qw_sig[QW_MAX_TYPES][QW_MAX_SIG + 2];
static uint32_t qw_sig_count;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  if (params + results > QW_MAX_SIG) qw_fatal("function type too long");
  uint8_t s[QW_MAX_SIG + 2];
  memset(s, 0xff, sizeof s);
  s[0] = (uint8_t)params;
  s[1] = (uint8_t)results;
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < params + results; i++) s[2 + i] = (uint8_t)va_arg(ap, int); /* not the enum type */
  va_end(ap);
  for (uint32_t k = 0; k < qw_sig_count; k++) if (memcmp(qw_sig[k], s, sizeof s) == 0) return k + 1;
  if (qw_sig_count == QW_MAX_TYPES) qw_fatal("too many function types");
  memcpy(qw_sig[qw_sig_count], s, sizeof s);
  return ++qw_sig_count;
}

/* ---- memory: the static pool, fixed size ------------------------------------------------------------------- */

void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages) {
  if (qw_pool_used) qw_fatal("one linear memory only");
  if (initial_pages != QW_MEMORY_PAGES || max_pages != QW_MEMORY_PAGES) {
    qw_fatal("the module's memory must be declared with min = max = QW_MEMORY_PAGES");
  }
  qw_pool_used = true;
  memset(qw_pool, 0, sizeof qw_pool);
  mem->data = qw_pool;
  mem->pages = QW_MEMORY_PAGES;
  mem->max_pages = QW_MEMORY_PAGES;
  mem->size = QW_MEMORY_PAGES * QW_PAGE;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint32_t pages) {
  if (pages == 0) return mem->pages;
  return UINT32_MAX; /* fixed: never grows */
}

void wasm_rt_free_memory(wasm_rt_memory_t *mem) {
  if (mem->data == qw_pool) qw_pool_used = false;
  mem->data = 0;
  mem->size = mem->pages = 0;
}

/* Tables (the runtime has none; present so that any module links). */
void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *t, uint32_t elements, uint32_t max_elements) {
  (void)max_elements;
  if (elements) qw_fatal("tables are not supported by this host");
  t->data = 0;
  t->size = 0;
  t->max_size = 0;
}
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *t) { (void)t; }
