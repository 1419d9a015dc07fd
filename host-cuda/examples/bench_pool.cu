// Synthetic pools generated on the device for gpu_bench: writing 100M x 10
// rows from the host would take longer than the whole benchmark. Row i's
// true class is y = hash(i) % C; FM logits favour y by 3, the small model's
// raw logits by 2, and the small model's row is then log-softmaxed.
// With palette > 0 the rows repeat palette distinct patterns, so the best
// scores of each class are exact ties (broken by index on every backend)
// rather than distinct values closer than float rounding, and the
// cross-check against PyTorch compares selections, not exp rounding.

typedef unsigned int u32;
typedef unsigned long long u64;

__device__ __forceinline__ u32 mix(u64 x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (u32)x;
}

__device__ __forceinline__ float unit(u64 seed, u64 i) {
    return (float)(mix(seed * 0x9E3779B97F4A7C15ULL + i) >> 8) * (1.0f / 16777216.0f);
}

extern "C" __global__ void bench_pool(float* fm, float* sm, const u64 rows, const u32 classes,
                                      const u64 seed, const u64 palette) {
    const u64 stride = (u64)gridDim.x * blockDim.x;
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < rows; i += stride) {
        const u64 r = palette ? mix(i * 0x2545F4914F6CDD1DULL + 1) % palette : i;
        const u32 y = mix(seed ^ (r * 0x2545F4914F6CDD1DULL)) % classes;
        const u64 base = i * classes;
        const u64 hbase = r * classes;
        float m = __int_as_float(0xff800000);
        for (u32 c = 0; c < classes; ++c) {
            const float hit = c == y ? 1.0f : 0.0f;
            fm[base + c] = 3.0f * hit + 2.0f * unit(seed, 2 * (hbase + c));
            const float s = 2.0f * hit + 3.0f * unit(seed, 2 * (hbase + c) + 1);
            sm[base + c] = s;
            m = fmaxf(m, s);
        }
        float sum = 0.0f;
        for (u32 c = 0; c < classes; ++c) sum += expf(sm[base + c] - m);
        const float lse = m + logf(sum);
        for (u32 c = 0; c < classes; ++c) sm[base + c] -= lse;
    }
}
