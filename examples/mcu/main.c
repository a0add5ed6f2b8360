/*
 * qwasm on a microcontroller-class host: the no-SIMD wasm build of the qwasm runtime, translated to C by wasm2c,
 * runs a .qwm model (a C array from `qwasm export-c`) on images embedded in flash, and prints for each image the
 * class and the raw output tensor. The same source builds with the host gcc and for a Cortex-M (cortex-m/).
 *
 * Generated inputs (scripts/build-mcu.ts writes them under build/mcu/):
 *   qwasm.h / qwasm.c  wasm2c of build/qwasm.nosimd.wasm, module name "qwasm", memory fixed at QW_MEMORY_PAGES
 *   model.h            qwasm export-c: qwm_model[QWM_MODEL_BYTES], 16-byte aligned
 *   images.h           QW_IMAGE_COUNT images of QW_IMAGE_BYTES uint8 pixels at the model's input size
 *
 * Memory: the model stays const in flash and is copied once into linear memory (the runtime reads it there);
 * each image is copied from flash into one input buffer in linear memory; nothing is allocated with malloc.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "qwasm.h"
#include "model.h"
#include "images.h"
#include "qw_rt.h"

#define DTYPE_I8 1u
#define DTYPE_F32 2u
#define SECTION_LABELS 5u
#define ERROR_KIND_LIMIT 12u /* schema.ts ErrorKind.Limit: the arena could not be allocated */

static Z_qwasm_instance_t qw;

/* Prints the text of label `k` from the model's Labels section (one per line), or nothing. */
static void print_label(const uint8_t *model, uint32_t k) {
  int32_t off = (int32_t)Z_qwasmZ_qwm_section_offset(&qw, SECTION_LABELS);
  int32_t len = (int32_t)Z_qwasmZ_qwm_section_length(&qw, SECTION_LABELS);
  if (off < 0 || len <= 0) return;
  const uint8_t *p = model + off, *end = p + len;
  for (uint32_t line = 0; p < end && line < k; p++) if (*p == '\n') line++;
  const uint8_t *q = p;
  while (q < end && *q != '\n') q++;
  printf(" %.*s", (int)(q - p), (const char *)p);
}

int main(void) {
  qw_platform_start();
  printf("qwasm mcu host (%s): wasm2c of qwasm.nosimd.wasm, linear memory %u pages (%u bytes, fixed)\n",
         qw_platform_name, (unsigned)QW_MEMORY_PAGES, (unsigned)(QW_MEMORY_PAGES * 65536u));

  jmp_buf trap_target;
  int trap = setjmp(trap_target);
  if (trap != 0) {
    printf("error: wasm trap: %s\n", wasm_rt_strerror((wasm_rt_trap_t)trap));
    qw_exit(3);
  }
  qw_set_trap_target(&trap_target);

  wasm_rt_init();
  Z_qwasm_init_module();
  Z_qwasm_instantiate(&qw);
  uint8_t *mem = Z_qwasmZ_memory(&qw)->data;

  /* The model: into a 16-byte aligned block of linear memory, then validate and bind it (allocates the arena). */
  uint32_t model_at = Z_qwasmZ_qw_alloc(&qw, QWM_MODEL_BYTES);
  if (model_at == 0) {
    printf("error: linear memory too small for the model (%u bytes)\n", (unsigned)QWM_MODEL_BYTES);
    qw_exit(4);
  }
  memcpy(mem + model_at, qwm_model, QWM_MODEL_BYTES);
  uint32_t rc = Z_qwasmZ_qwm_load(&qw, model_at, QWM_MODEL_BYTES, 0);
  if (rc >> 24 == ERROR_KIND_LIMIT) {
    printf("error: linear memory too small for the model's arena (%u bytes)\n", (unsigned)QWM_MODEL_ARENA_BYTES);
    qw_exit(4);
  }
  if (rc != 0) {
    printf("error: qwm_load failed: kind %u section %u field %u (index %d)\n", (unsigned)(rc >> 24),
           (unsigned)((rc >> 16) & 0xff), (unsigned)(rc & 0xffff), (int)Z_qwasmZ_qwm_error_index(&qw));
    qw_exit(5);
  }
  uint32_t in_bytes = Z_qwasmZ_qwm_input_dim(&qw, 0) * Z_qwasmZ_qwm_input_dim(&qw, 1) * Z_qwasmZ_qwm_input_dim(&qw, 2);
  if (in_bytes != QW_IMAGE_BYTES) {
    printf("error: the model takes %u pixel values per image, the embedded images have %u\n", (unsigned)in_bytes,
           (unsigned)QW_IMAGE_BYTES);
    qw_exit(6);
  }
  uint32_t out_bytes = Z_qwasmZ_qwm_output_bytes(&qw);
  uint32_t out_dtype = Z_qwasmZ_qwm_output_dtype(&qw);
  uint32_t in_at = Z_qwasmZ_qw_alloc(&qw, in_bytes);
  uint32_t out_at = Z_qwasmZ_qw_alloc(&qw, out_bytes);
  if (in_at == 0 || out_at == 0) {
    printf("error: linear memory too small for the input and output buffers\n");
    qw_exit(4);
  }
  printf("model: %u bytes at %u, arena %u bytes; input %u bytes at %u, output %u bytes at %u; heap top %u\n",
         (unsigned)QWM_MODEL_BYTES, (unsigned)model_at, (unsigned)Z_qwasmZ_qwm_arena_bytes(&qw), (unsigned)in_bytes,
         (unsigned)in_at, (unsigned)out_bytes, (unsigned)out_at, (unsigned)Z_qwasmZ_qw_heap_top(&qw));

  for (uint32_t i = 0; i < QW_IMAGE_COUNT; i++) {
    memcpy(mem + in_at, qw_images[i], QW_IMAGE_BYTES);
    rc = Z_qwasmZ_qwm_run_pixels(&qw, in_at, 1, out_at);
    if (rc != 0) {
      printf("error: qwm_run_pixels failed on image %u: code 0x%08x\n", (unsigned)i, (unsigned)rc);
      qw_exit(7);
    }
    const uint8_t *o = mem + out_at;
    uint32_t best = 0;
    if (out_dtype == DTYPE_I8) {
      for (uint32_t k = 1; k < out_bytes; k++) if ((int8_t)o[k] > (int8_t)o[best]) best = k;
    } else {
      float bv, v;
      memcpy(&bv, o, 4);
      for (uint32_t k = 1; k < out_bytes / 4; k++) {
        memcpy(&v, o + 4 * k, 4);
        if (v > bv) { bv = v; best = k; }
      }
    }
    printf("image %u (%s): class %u", (unsigned)i, qw_image_names[i], (unsigned)best);
    print_label(mem + model_at, best);
    if (out_dtype == DTYPE_I8) {
      printf(", raw ");
      for (uint32_t k = 0; k < out_bytes; k++) printf(k ? ",%d" : "%d", (int)(int8_t)o[k]);
    } else {
      printf(", raw f32 bits ");
      for (uint32_t k = 0; k < out_bytes; k += 4) {
        uint32_t w;
        memcpy(&w, o + k, 4);
        printf(k ? ",%08x" : "%08x", (unsigned)w);
      }
    }
    printf("\n");
  }
  qw_platform_report();
  printf("done: %u images\n", (unsigned)QW_IMAGE_COUNT);
  qw_exit(0);
}
