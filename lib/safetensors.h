/* safetensors.h - the safetensors file format (Hugging Face): an 8-byte little-endian header
 * length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 * "__metadata__": {...}}, then the data region the offsets point into. Parsing is defensive
 * (every length, offset, shape product and name is checked against the real file; see
 * docs/checkpoints.md); files are memory-mapped and tensors converted out of the map. */
#ifndef MLM_SAFETENSORS_H
#define MLM_SAFETENSORS_H
#include "common.h"
#include "mmap_file.h"

typedef enum {
    MLM_ST_F32 = 0, MLM_ST_F16, MLM_ST_BF16, MLM_ST_F64, MLM_ST_I64, MLM_ST_I32, MLM_ST_I16, MLM_ST_I8, MLM_ST_U8,
    MLM_ST_BOOL, MLM_ST_U16, MLM_ST_U32, MLM_ST_U64, MLM_ST_F8_E4M3, MLM_ST_F8_E5M2, MLM_ST_N_DTYPES
} mlm_st_dtype;

#define MLM_ST_MAX_DIMS 8
#define MLM_ST_MAX_HEADER (100u << 20) /* the header JSON is refused beyond 100 MiB */

typedef struct {
    char *name;                      /* owned */
    mlm_st_dtype dtype;
    int ndim;
    int64_t shape[MLM_ST_MAX_DIMS];
    uint64_t numel;                  /* product of shape (1 for a scalar) */
    uint64_t begin, end;             /* byte offsets inside the data region, end - begin = numel x size */
    const unsigned char *data;       /* begin's byte in the buffer parsed (not aligned) */
} mlm_st_tensor;

typedef struct {
    mlm_mmap map;                    /* the mapped file (mlm_st_open) or zero (mlm_st_parse) */
    mlm_st_tensor *tensors;          /* n entries in header order (owned) */
    int n;
    char where[300];                 /* "safetensors 'path'" for messages */
} mlm_st_file;

/* Bytes per element of a dtype; its safetensors name ("F32", ...); dtype from a name (-1
 * when unknown). */
size_t mlm_st_dtype_size(mlm_st_dtype d);
const char *mlm_st_dtype_name(mlm_st_dtype d);
int mlm_st_dtype_from_name(const char *s);

/* Parses a safetensors image held in buf (len bytes); f's tensors point into buf, which must
 * outlive f. where names the source in messages (NULL: "safetensors"). On error f is left
 * empty and e holds one line naming the source and the problem. */
mlm_status mlm_st_parse(mlm_st_file *f, const unsigned char *buf, size_t len, const char *where, mlm_err *e);

/* Memory-maps path and parses it. Close with mlm_st_close. */
mlm_status mlm_st_open(mlm_st_file *f, const char *path, mlm_err *e);

/* Frees what f owns and unmaps its file; a zeroed f is a no-op. */
void mlm_st_close(mlm_st_file *f);

/* The tensor called name, or NULL. */
const mlm_st_tensor *mlm_st_find(const mlm_st_file *f, const char *name);

/* Converts elements [first, first + count) of t (F32, F16 or BF16) to mlm_real in dst.
 * Other dtypes and ranges outside the tensor are MLM_EFORMAT / MLM_EINVAL. */
mlm_status mlm_st_read(mlm_real *dst, const mlm_st_tensor *t, uint64_t first, uint64_t count, mlm_err *e);

/* Scalar conversions: IEEE half and bfloat16 <-> float, rounding to nearest even. */
float mlm_f16_to_f32(uint16_t h);
float mlm_bf16_to_f32(uint16_t h);
uint16_t mlm_f32_to_f16(float f);
uint16_t mlm_f32_to_bf16(float f);

/* One tensor to write: data holds numel(shape) values in row-major order. */
typedef struct {
    const char *name;
    const mlm_real *data;
    int ndim;
    int64_t shape[2];
} mlm_st_entry;

/* Writes n tensors to path in dtype (F32, F16 or BF16), in the given order, with the header
 * padded to a multiple of 8 bytes, and metadata {"format": "pt"}. Written to path.tmp, then
 * renamed: a failed write leaves path untouched. */
mlm_status mlm_st_save(const char *path, const mlm_st_entry *ents, int n, mlm_st_dtype dtype, mlm_err *e);

#endif
