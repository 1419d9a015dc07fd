// Scoring pass of coselect-cuda: one thread per pool row.
//
// Every formula follows coselect-core (math.rs, score.rs, codecide.rs) in the
// same operation order, and the module is compiled with --fmad=false and
// without fast math, so each product and sum rounds as the CPU's does; only
// expf/logf differ from libm (by at most 2 ulp), which the 1e-6 parity rule
// absorbs.
//
// The row is read from global memory several times (max, sum, write) instead
// of being held in a per-thread array: C reaches 4096, and the second and
// third reads hit L1.

typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned short u16;

// NVRTC has no math.h, hence no INFINITY macro.
#define NEG_INF __int_as_float(0xff800000)

// Must match ScoreParams in src/round.rs field for field.
struct ScoreParams {
    const void* fm;
    const void* sm;              // null without a small model
    const unsigned char* labeled; // null: every row unlabeled
    const float* log_prior;      // C entries
    const unsigned char* boundary; // C entries: 1 = boundary mode
    u32* keys;                   // C x rows, class-major
    u32* co_key;                 // rows: confidence key, 0 = no candidate
    u32* co_class;               // rows
    u64* co_count;               // C: candidates kept per class
    u64* sigma;                  // C: candidates at co_confidence or above
    u64* unlabeled;              // 1
    u64* bad;                    // 1: first bad value, see bad_code
    u64 rows;
    u32 classes;
    u32 has_sm;
    u32 any_boundary;
    u32 codecide;
    u32 validate;
    float a;
    float b;
    float temperature;
    float co_confidence;
    float co_floor;
};

struct F32 {
    static __device__ __forceinline__ float get(const void* p, u64 i) {
        return ((const float*)p)[i];
    }
};
struct F16 {
    static __device__ __forceinline__ float get(const void* p, u64 i) {
        u16 h = ((const u16*)p)[i];
        float f;
        asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
        return f;
    }
};
struct BF16 {
    static __device__ __forceinline__ float get(const void* p, u64 i) {
        u16 h = ((const u16*)p)[i];
        return __uint_as_float(((u32)h) << 16);
    }
};

// Order-preserving map of a finite f32 onto u32: a larger key is a larger
// score. -0.0 becomes +0.0 first, as the core's Entry::new does, so equal
// scores get equal keys. Key 0 is unreachable for finite scores and marks
// "not in the ordering".
__device__ __forceinline__ u32 score_key(float s) {
    u32 b = __float_as_uint(s + 0.0f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// Lower code = earlier in the CPU's validation order: row, then the FM
// before the small model, then column.
__device__ __forceinline__ u64 bad_code(u64 row, u32 kind, u32 col) {
    return (row << 14) | ((u64)kind << 12) | (u64)col;
}

template <class T>
__device__ bool row_is_valid(const ScoreParams& p, u64 base, u64 row) {
    const u32 C = p.classes;
    for (u32 c = 0; c < C; ++c) {
        if (!isfinite(T::get(p.fm, base + c))) {
            atomicMin(p.bad, bad_code(row, 0, c));
            return false;
        }
    }
    if (!p.has_sm) return true;
    float m = NEG_INF;
    for (u32 c = 0; c < C; ++c) {
        float v = T::get(p.sm, base + c);
        if (!isfinite(v)) {
            atomicMin(p.bad, bad_code(row, 1, c));
            return false;
        }
        m = fmaxf(m, 1.0f * v);
    }
    // check_log_probabilities: exp(log_sum_exp(row)) within 1e-3 of 1.
    float s = 0.0f;
    for (u32 c = 0; c < C; ++c) s += expf(1.0f * T::get(p.sm, base + c) - m);
    float sum = expf(m + logf(s));
    if (fabsf(sum - 1.0f) > 1e-3f) {
        atomicMin(p.bad, bad_code(row, 2, 0));
        return false;
    }
    return true;
}

// Scorer::score_row_unchecked, writing keys instead of floats.
template <class T>
__device__ void seed_and_boundary(const ScoreParams& p, u64 base, u64 row) {
    const u32 C = p.classes;
    float m = NEG_INF;
    for (u32 c = 0; c < C; ++c) {
        float z = p.has_sm ? p.a * T::get(p.fm, base + c) + p.b * T::get(p.sm, base + c)
                           : p.a * T::get(p.fm, base + c);
        m = fmaxf(m, z - p.log_prior[c]);
    }
    float s = 0.0f;
    for (u32 c = 0; c < C; ++c) {
        float z = p.has_sm ? p.a * T::get(p.fm, base + c) + p.b * T::get(p.sm, base + c)
                           : p.a * T::get(p.fm, base + c);
        s += expf((z - p.log_prior[c]) - m);
    }
    const float inv = 1.0f / s;
    // top_two of the small model's row, for the boundary classes.
    u32 best = 0;
    float first = NEG_INF, second = NEG_INF;
    if (p.any_boundary && p.has_sm) {
        for (u32 c = 0; c < C; ++c) {
            float v = T::get(p.sm, base + c);
            if (v > first) {
                second = first;
                first = v;
                best = c;
            } else if (v > second) {
                second = v;
            }
        }
    }
    for (u32 c = 0; c < C; ++c) {
        float score;
        if (p.any_boundary && p.has_sm && p.boundary[c]) {
            float other = (c == best) ? second : first;
            score = -fabsf(T::get(p.sm, base + c) - other) + 0.0f;
        } else {
            float z = p.has_sm ? p.a * T::get(p.fm, base + c) + p.b * T::get(p.sm, base + c)
                               : p.a * T::get(p.fm, base + c);
            score = expf((z - p.log_prior[c]) - m) * inv;
        }
        p.keys[(u64)c * p.rows + row] = score_key(score);
    }
}

// candidacy_unchecked: argmax of softmax(temperature * fm) against argmax of
// the small model's row; confidence min(p_f[c], exp(L[c])). Returns the class
// or -1.
template <class T>
__device__ int candidacy(const ScoreParams& p, u64 base, float* conf) {
    const u32 C = p.classes;
    float m = NEG_INF;
    for (u32 c = 0; c < C; ++c) m = fmaxf(m, p.temperature * T::get(p.fm, base + c));
    float s = 0.0f;
    for (u32 c = 0; c < C; ++c) s += expf(p.temperature * T::get(p.fm, base + c) - m);
    const float inv = 1.0f / s;
    // argmax over the normalised probabilities, as the core takes it: the
    // multiplication by inv can merge values, and the lower index wins.
    u32 cf = 0;
    float pf = expf(p.temperature * T::get(p.fm, base) - m) * inv;
    for (u32 c = 1; c < C; ++c) {
        float v = expf(p.temperature * T::get(p.fm, base + c) - m) * inv;
        if (v > pf) {
            pf = v;
            cf = c;
        }
    }
    u32 cs = 0;
    float ls = T::get(p.sm, base);
    for (u32 c = 1; c < C; ++c) {
        float v = T::get(p.sm, base + c);
        if (v > ls) {
            ls = v;
            cs = c;
        }
    }
    if (cf != cs) return -1;
    *conf = fminf(pf, expf(ls));
    return (int)cf;
}

template <class T>
__device__ void score_rows(const ScoreParams& p) {
    // Per-block counters, flushed with one global atomic per class.
    extern __shared__ u32 shared_counts[]; // [0,C): kept, [C,2C): sigma
    u32* kept = shared_counts;
    u32* sig = shared_counts + p.classes;
    __shared__ u32 unlabeled;
    for (u32 c = threadIdx.x; c < 2 * p.classes; c += blockDim.x) shared_counts[c] = 0;
    if (threadIdx.x == 0) unlabeled = 0;
    __syncthreads();
    // Counted per thread: one shared atomic per row would serialise the block.
    u32 mine = 0;
    const u64 stride = (u64)gridDim.x * blockDim.x;
    for (u64 row = (u64)blockIdx.x * blockDim.x + threadIdx.x; row < p.rows; row += stride) {
        const u64 base = row * p.classes;
        const bool is_labeled = p.labeled != 0 && p.labeled[row] != 0;
        bool ok = !is_labeled;
        if (ok && p.validate) ok = row_is_valid<T>(p, base, row);
        if (!ok) {
            // Labeled (or invalid, which fails the call anyway): in no ordering.
            for (u32 c = 0; c < p.classes; ++c) p.keys[(u64)c * p.rows + row] = 0u;
            if (p.codecide) p.co_key[row] = 0u;
            continue;
        }
        ++mine;
        seed_and_boundary<T>(p, base, row);
        if (p.codecide) {
            float conf = 0.0f;
            int c = candidacy<T>(p, base, &conf);
            u32 key = 0u;
            if (c >= 0) {
                if (conf >= p.co_confidence) atomicAdd(&sig[c], 1u);
                if (conf >= p.co_floor) {
                    key = score_key(conf);
                    atomicAdd(&kept[c], 1u);
                }
            }
            p.co_key[row] = key;
            p.co_class[row] = c >= 0 ? (u32)c : 0u;
        }
    }
    if (mine) atomicAdd(&unlabeled, mine);
    __syncthreads();
    for (u32 c = threadIdx.x; c < p.classes; c += blockDim.x) {
        if (kept[c]) atomicAdd(&p.co_count[c], (u64)kept[c]);
        if (sig[c]) atomicAdd(&p.sigma[c], (u64)sig[c]);
    }
    if (threadIdx.x == 0 && unlabeled) atomicAdd(p.unlabeled, (u64)unlabeled);
}

extern "C" __global__ void score_rows_f32(const ScoreParams p) { score_rows<F32>(p); }
extern "C" __global__ void score_rows_f16(const ScoreParams p) { score_rows<F16>(p); }
extern "C" __global__ void score_rows_bf16(const ScoreParams p) { score_rows<BF16>(p); }
