// Python operator semantics for the CUDA C++ emitter: floor division, modulo with the divisor's
// sign, float modulo, and integer powers. (Part of every emitted file; rk_ names are reserved.)
template <typename T> __device__ __forceinline__ T rk_floordiv(T a, T b) {
    T q = a / b;
    return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
}
template <typename T> __device__ __forceinline__ T rk_mod(T a, T b) {
    T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
__device__ __forceinline__ float rk_fmod(float a, float b) {
    float r = fmodf(a, b);
    return (r != 0.0f && ((r < 0.0f) != (b < 0.0f))) ? r + b : r;
}
__device__ __forceinline__ double rk_fmod(double a, double b) {
    double r = fmod(a, b);
    return (r != 0.0 && ((r < 0.0) != (b < 0.0))) ? r + b : r;
}
template <typename T> __device__ __forceinline__ T rk_ipow(T base, int n) {
    T r = 1;
    for (int i = 0; i < n; ++i) r *= base;
    return r;
}
