// Batched per-class top-k by radix select, in the style of AIR top-k and
// RAFT's select_k: for each of the C orderings at once, digit histograms
// find the bucket holding the k-th best element, the elements above it go
// straight to the output, and the bucket's elements become the candidates of
// the next pass.
//
// The order is coselect's: higher score, then lower row index. Both go into
// one 64-bit key, (score_key << 32) | (0xFFFFFFFF - row), so keys are unique
// and "the best k" is exactly one set. Most pools settle within the three
// passes over the score bits; only ties at the cut go on to the index bits.
// Six passes of 11, 11, 10, 11, 11, 10 bits cover all 64.

typedef unsigned int u32;
typedef unsigned long long u64;

#define DIGIT_BITS 11
#define BUCKETS (1 << DIGIT_BITS)
#define PASSES 6

__constant__ u32 PASS_SHIFT[PASSES] = {53, 42, 32, 21, 10, 0};
__constant__ u32 PASS_WIDTH[PASSES] = {11, 11, 10, 11, 11, 10};

// Per-ordering state, updated by choose_bucket. Must match ClassState in
// src/radix.rs.
struct ClassState {
    u64 prefix;      // the digits chosen so far
    u64 remaining;   // how many of the best are still to be found
    u64 bucket;      // the digit chosen this pass
    u64 out_count;   // elements written to the output
    u64 cand_count[2];
    u32 source;      // 0: the full ordering, 1 or 2: candidate buffer 0 or 1
    u32 take_bucket; // the whole chosen bucket is selected
    u32 done;
    u32 pad;
};

// Where the elements of one ordering come from on the first pass.
// Must match SelectParams in src/radix.rs.
struct SelectParams {
    const u32* keys;        // dense: C x rows score keys, class-major
    const u64* items;       // segmented: composite keys grouped by class
    const u64* seg_start;   // segmented: C offsets into items
    const u64* seg_len;     // segmented: C lengths
    u64* cand[2];           // per class: cand_cap slots at c * cand_cap
    u64* out;               // per class: k slots at c * k
    u32* hist;              // PASSES x C x BUCKETS
    ClassState* state;      // C
    u64 rows;               // dense: elements per ordering
    u64 k;
    u64 cand_cap;
    u32 classes;
    u32 segmented;
};

__device__ __forceinline__ u64 composite(u32 score_key, u64 row) {
    return ((u64)score_key << 32) | (u64)(0xFFFFFFFFu - (u32)row);
}

__device__ __forceinline__ u64 source_len(const SelectParams& p, const ClassState& st, u32 c) {
    if (st.source != 0) return st.cand_count[st.source - 1];
    return p.segmented ? p.seg_len[c] : p.rows;
}

__device__ __forceinline__ u64 source_key(const SelectParams& p, const ClassState& st, u32 c, u64 j) {
    if (st.source != 0) return p.cand[st.source - 1][c * p.cand_cap + j];
    if (p.segmented) return p.items[p.seg_start[c] + j];
    return composite(p.keys[(u64)c * p.rows + j], j);
}

// Whether the key's digits above this pass equal the chosen prefix.
__device__ __forceinline__ bool in_prefix(u64 key, u64 prefix, u32 pass) {
    if (pass == 0) return true;
    u32 above = PASS_SHIFT[pass] + PASS_WIDTH[pass];
    return (key >> above) == prefix;
}

__device__ __forceinline__ u32 digit(u64 key, u32 pass) {
    return (u32)(key >> PASS_SHIFT[pass]) & ((1u << PASS_WIDTH[pass]) - 1u);
}

// Appends for every lane whose pred holds, with one atomic per warp. Every
// lane of the warp must call it.
__device__ __forceinline__ void warp_append(u64* counter, u64* dst, bool pred, u64 value) {
    const u32 mask = __ballot_sync(0xFFFFFFFFu, pred);
    if (mask == 0) return;
    const u32 lane = threadIdx.x & 31u;
    const u32 leader = __ffs(mask) - 1;
    u64 base = 0;
    if (lane == leader) base = atomicAdd(counter, (u64)__popc(mask));
    base = __shfl_sync(0xFFFFFFFFu, base, leader);
    if (pred) dst[base + __popc(mask & ((1u << lane) - 1u))] = value;
}

// grid: (blocks per ordering, C). One shared histogram per block; the
// first pass only (later ones come from radix_filter).
extern "C" __global__ void radix_histogram(const SelectParams p, const u32 pass) {
    __shared__ u32 h[BUCKETS];
    const u32 c = blockIdx.y;
    const ClassState st = p.state[c];
    if (st.done) return;
    for (u32 i = threadIdx.x; i < BUCKETS; i += blockDim.x) h[i] = 0;
    __syncthreads();
    const u64 n = source_len(p, st, c);
    const u64 stride = (u64)gridDim.x * blockDim.x;
    for (u64 j = (u64)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += stride) {
        const u64 key = source_key(p, st, c, j);
        if (in_prefix(key, st.prefix, pass)) atomicAdd(&h[digit(key, pass)], 1u);
    }
    __syncthreads();
    u32* g = p.hist + ((u64)pass * p.classes + c) * BUCKETS;
    for (u32 i = threadIdx.x; i < BUCKETS; i += blockDim.x)
        if (h[i]) atomicAdd(&g[i], h[i]);
}

// grid: C blocks of 256 threads. Finds the bucket holding the remaining-th
// best element, scanning buckets from the highest digit down. The
// histogram of pass p > 0 was built by the filter of pass p - 1.
extern "C" __global__ void choose_bucket(const SelectParams p, const u32 pass) {
    __shared__ u64 sums[256];
    __shared__ u64 found_bucket, found_before;
    const u32 c = blockIdx.x;
    ClassState st = p.state[c];
    if (st.done) return;
    if (pass > 0) {
        // The previous pass's filter has run: move this ordering on to the
        // bucket it chose, or finish it. Every thread computes the same.
        const u64 prev_size = p.hist[((u64)(pass - 1) * p.classes + c) * BUCKETS + st.bucket];
        if (st.take_bucket) {
            if (threadIdx.x == 0) {
                st.done = 1;
                p.state[c] = st;
            }
            return;
        }
        st.source = prev_size <= p.cand_cap ? (st.source == 1 ? 2 : 1) : 0;
        st.prefix = (st.prefix << PASS_WIDTH[pass - 1]) | st.bucket;
    }
    const u32* g = p.hist + ((u64)pass * p.classes + c) * BUCKETS;
    const u32 buckets = 1u << PASS_WIDTH[pass];
    const u32 per = buckets / blockDim.x; // 8 or 4 buckets per thread
    const u32 t = threadIdx.x;
    // Thread t owns buckets [top - per*(t+1), top - per*t), highest first.
    u64 mine = 0;
    for (u32 i = 0; i < per; ++i) mine += g[buckets - 1 - (t * per + i)];
    sums[t] = mine;
    __syncthreads();
    for (u32 off = 1; off < blockDim.x; off <<= 1) {
        u64 v = t >= off ? sums[t - off] : 0;
        __syncthreads();
        sums[t] += v;
        __syncthreads();
    }
    const u64 total = sums[blockDim.x - 1];
    const u64 before = sums[t] - mine;
    if (t == 0 && total <= st.remaining) {
        // Fewer elements than wanted (a pseudo-label cap above the pool's
        // candidates): everything is selected.
        found_bucket = 0;
        found_before = 0;
    } else if (before < st.remaining && st.remaining <= sums[t]) {
        u64 acc = before;
        for (u32 i = 0; i < per; ++i) {
            u32 b = buckets - 1 - (t * per + i);
            u64 n = g[b];
            if (acc + n >= st.remaining) {
                found_bucket = b;
                found_before = acc;
                break;
            }
            acc += n;
        }
    }
    __syncthreads();
    if (t != 0) return;
    if (total <= st.remaining) {
        st.bucket = 0;
        st.take_bucket = 1;
        st.remaining = 0;
        p.state[c] = st;
        return;
    }
    const u64 in_bucket = g[found_bucket];
    st.bucket = found_bucket;
    st.remaining -= found_before;
    st.take_bucket = in_bucket == st.remaining;
    // The next pass reads the bucket from the unused candidate buffer when
    // it fits, or the full ordering again, filtered by the longer prefix.
    const u32 next = st.source == 1 ? 2 : 1;
    st.cand_count[next - 1] = 0;
    p.state[c] = st;
}

// grid: (blocks per ordering, C). Writes the elements above the chosen
// bucket (and the bucket itself when it is taken whole) to the output, the
// bucket's elements to the next candidate buffer, and histograms their next
// digit for the next pass, so no pass after the first reads its source
// twice.
extern "C" __global__ void radix_filter(const SelectParams p, const u32 pass) {
    __shared__ u32 h[BUCKETS];
    __shared__ u32 any;
    const u32 c = blockIdx.y;
    ClassState* sp = &p.state[c];
    const ClassState st = *sp;
    if (st.done) return;
    const u32 next = st.source == 1 ? 2 : 1;
    const u64 bucket_size = p.hist[((u64)pass * p.classes + c) * BUCKETS + st.bucket];
    const bool write_cands = !st.take_bucket && bucket_size <= p.cand_cap;
    const bool next_hist = !st.take_bucket && pass + 1 < PASSES;
    for (u32 i = threadIdx.x; i < BUCKETS; i += blockDim.x) h[i] = 0;
    if (threadIdx.x == 0) any = 0;
    __syncthreads();
    const u64 n = source_len(p, st, c);
    u64* out = p.out + (u64)c * p.k;
    u64* cand = p.cand[next - 1] + (u64)c * p.cand_cap;
    const u64 stride = (u64)gridDim.x * blockDim.x;
    // Uniform trip count per block, so every lane reaches warp_append.
    for (u64 j0 = (u64)blockIdx.x * blockDim.x; j0 < n; j0 += stride) {
        const u64 j = j0 + threadIdx.x;
        bool to_out = false, to_cand = false;
        u64 key = 0;
        if (j < n) {
            key = source_key(p, st, c, j);
            if (in_prefix(key, st.prefix, pass)) {
                const u32 d = digit(key, pass);
                to_out = d > st.bucket || (d == st.bucket && st.take_bucket);
                to_cand = d == st.bucket && write_cands;
                if (d == st.bucket && next_hist) {
                    atomicAdd(&h[digit(key, pass + 1)], 1u);
                    any = 1;
                }
            }
        }
        warp_append(&sp->out_count, out, to_out, key);
        warp_append(&sp->cand_count[next - 1], cand, to_cand, key);
    }
    __syncthreads();
    if (!any) return;
    u32* g = p.hist + ((u64)(pass + 1) * p.classes + c) * BUCKETS;
    for (u32 i = threadIdx.x; i < BUCKETS; i += blockDim.x)
        if (h[i]) atomicAdd(&g[i], h[i]);
}

// grid: C blocks of one thread: every ordering starts on its full source
// wanting min(k, its length).
extern "C" __global__ void init_state(const SelectParams p) {
    const u32 c = blockIdx.x;
    if (threadIdx.x != 0) return;
    ClassState st;
    st.prefix = 0;
    const u64 n = p.segmented ? p.seg_len[c] : p.rows;
    st.remaining = p.k < n ? p.k : n;
    st.bucket = 0;
    st.out_count = 0;
    st.cand_count[0] = 0;
    st.cand_count[1] = 0;
    st.source = 0;
    st.take_bucket = 0;
    st.done = st.remaining == 0;
    st.pad = 0;
    p.state[c] = st;
}

// One block: segment offsets of the pseudo-label candidates by class (an
// exclusive scan of the per-class counts; C is at most 4096, so a serial
// scan by one thread costs microseconds) and the scatter cursors.
extern "C" __global__ void candidate_segments(const u64* counts, u64* seg_start, u64* seg_len,
                                              u64* cursor, const u32 classes) {
    if (threadIdx.x != 0) return;
    u64 acc = 0;
    for (u32 c = 0; c < classes; ++c) {
        seg_start[c] = acc;
        seg_len[c] = counts[c];
        cursor[c] = acc;
        acc += counts[c];
    }
}

// Groups the rows that are pseudo-label candidates by class, as composite
// keys. Lanes of a warp with the same class share one atomic.
extern "C" __global__ void scatter_candidates(const u32* co_key, const u32* co_class, u64* cursor,
                                              u64* items, const u64 rows) {
    const u64 stride = (u64)gridDim.x * blockDim.x;
    for (u64 j0 = (u64)blockIdx.x * blockDim.x; j0 < rows; j0 += stride) {
        const u64 j = j0 + threadIdx.x;
        const bool live = j < rows && co_key[j] != 0u;
        const u32 active = __ballot_sync(0xFFFFFFFFu, live);
        if (!live) continue;
        const u32 cls = co_class[j];
        const u32 same = __match_any_sync(active, cls);
        const u32 lane = threadIdx.x & 31u;
        const u32 leader = __ffs(same) - 1;
        u64 base = 0;
        if (lane == leader) base = atomicAdd(&cursor[cls], (u64)__popc(same));
        base = __shfl_sync(same, base, leader);
        items[base + __popc(same & ((1u << lane) - 1u))] = composite(co_key[j], j);
    }
}
