package io.lccheckpoint.codec;

/**
 * Deterministic test data: SplitMix64 and StrictMath only, so that the same seed gives the same bits on every JDK
 * (the golden hashes depend on it). Shared with the benchmarks, which reuse the test corpus.
 */
public final class Corpus {
    private long state;

    public Corpus(long seed) {
        this.state = seed;
    }

    public long nextLong() {
        long z = (state += 0x9E37_79B9_7F4A_7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    public int nextInt(int bound) {
        return (int) ((nextLong() >>> 33) % bound);
    }

    /** Standard normal by Box-Muller with StrictMath (bit-identical across JDKs). */
    public double nextGaussian() {
        double u1 = 1.0 - nextDouble();
        double u2 = nextDouble();
        return StrictMath.sqrt(-2.0 * StrictMath.log(u1)) * StrictMath.cos(2.0 * StrictMath.PI * u2);
    }

    /** The kinds of chunk the property tests draw from. */
    public enum Shape {
        /** Tensors of N(0, σ) with σ from 1e-8 to 1: SGD-like deltas. */
        MULTI_SCALE_GAUSSIAN,
        /** Mostly ±0 with a few values. */
        MOSTLY_ZEROS,
        /** Subnormals, ±0 and the smallest normals. */
        SUBNORMALS,
        /** Values near the top and the bottom of the exponent range. */
        HUGE_AND_TINY,
        /** Every value in one bucket, [1, 2). */
        ONE_BUCKET,
        /** Only +0.0 and −0.0. */
        ALL_ZERO,
        /** One value repeated. */
        CONSTANT,
        /** Random finite bit patterns: every exponent. */
        RANDOM_BITS
    }

    public float[] floats(Shape shape, int n) {
        float[] out = new float[n];
        switch (shape) {
            case MULTI_SCALE_GAUSSIAN -> {
                int i = 0;
                while (i < n) {
                    int length = Math.min(n - i, 1 + nextInt(Math.max(1, n / 4 + 1)));
                    double sigma = StrictMath.pow(10, -8 + 8 * nextDouble());
                    for (int j = 0; j < length; j++) {
                        out[i++] = (float) (nextGaussian() * sigma);
                    }
                }
            }
            case MOSTLY_ZEROS -> {
                for (int i = 0; i < n; i++) {
                    int pick = nextInt(100);
                    out[i] = pick < 45 ? 0.0f : pick < 90 ? -0.0f : (float) (nextGaussian() * 1e-3);
                }
            }
            case SUBNORMALS -> {
                for (int i = 0; i < n; i++) {
                    int pick = nextInt(4);
                    float magnitude = switch (pick) {
                        case 0 -> Float.MIN_VALUE * (1 + nextInt(1 << 22));
                        case 1 -> Float.MIN_NORMAL * (float) (1 + nextDouble());
                        case 2 -> 0.0f;
                        default -> Float.MIN_VALUE;
                    };
                    out[i] = (nextLong() & 1) == 0 ? magnitude : -magnitude;
                }
            }
            case HUGE_AND_TINY -> {
                for (int i = 0; i < n; i++) {
                    float magnitude = (nextLong() & 1) == 0
                            ? Float.MAX_VALUE / 8 * (float) (0.5 + nextDouble() / 2)
                            : Float.MIN_NORMAL * (float) (1 + 7 * nextDouble());
                    out[i] = (nextLong() & 2) == 0 ? magnitude : -magnitude;
                }
            }
            case ONE_BUCKET -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) (1 + nextDouble());
                }
            }
            case ALL_ZERO -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (nextLong() & 1) == 0 ? 0.0f : -0.0f;
                }
            }
            case CONSTANT -> {
                float value = (float) nextGaussian();
                java.util.Arrays.fill(out, value);
            }
            case RANDOM_BITS -> {
                for (int i = 0; i < n; i++) {
                    float v;
                    do {
                        v = Float.intBitsToFloat((int) nextLong());
                    } while (!Float.isFinite(v));
                    // keep far from overflow so that error feedback additions stay finite
                    out[i] = Math.abs(v) > 1e30f ? v * 1e-8f : v;
                }
            }
        }
        return out;
    }

    /**
     * SGD-like deltas of one step over several tensors (the benchmark corpus): each tensor draws its scale σ
     * log-uniformly from 1e-6 to 1e-2; most of its values are tiny (N(0, σ·1e-3): weights the step barely moved),
     * the rest N(0, σ).
     */
    public float[] sgdDeltas(int n, double activeFraction) {
        return sgdDeltas(n, activeFraction, 4);
    }

    /** As {@link #sgdDeltas(int, double)} with σ spread over the given number of decades below 1e-2. */
    public float[] sgdDeltas(int n, double activeFraction, double decades) {
        float[] out = new float[n];
        int i = 0;
        while (i < n) {
            int length = Math.min(n - i, 1 << (12 + nextInt(8)));
            double sigma = StrictMath.pow(10, -2 - decades + decades * nextDouble());
            for (int j = 0; j < length; j++) {
                double scale = nextDouble() < activeFraction ? sigma : sigma * 1e-3;
                out[i++] = (float) (nextGaussian() * scale);
            }
        }
        return out;
    }

    /**
     * Float32 deltas for a 16-bit chunk: {@link #floats} with values past ±1024 folded into [1024, 2048) for float16
     * (so that a chain of steps stays inside its finite range, 65504) and past ±2^120 for bfloat16; every shape keeps its kind.
     */
    public float[] sixteenBit(Shape shape, int n, ValueType type) {
        float[] out = floats(shape, n);
        float limit = type == ValueType.FLOAT16 ? 1024f : 0x1p120f;
        for (int i = 0; i < n; i++) {
            if (Math.abs(out[i]) >= limit) {
                out[i] = Math.copySign(limit * (1 + (i % 8) / 8f), out[i]);
            }
        }
        return out;
    }

    /** A chunk's initial values of a 16-bit type: {@link Shape#MULTI_SCALE_GAUSSIAN} rounded to the type. */
    public float[] sixteenBitInitial(int n, ValueType type) {
        float[] out = floats(Shape.MULTI_SCALE_GAUSSIAN, n);
        for (int i = 0; i < n; i++) {
            out[i] = SixteenBitFloats.round(type, out[i]);
        }
        return out;
    }

    public double[] doubles(Shape shape, int n) {
        double[] out = new double[n];
        switch (shape) {
            case SUBNORMALS -> {
                for (int i = 0; i < n; i++) {
                    double magnitude = switch (nextInt(4)) {
                        case 0 -> Double.MIN_VALUE * (1 + nextInt(1 << 30));
                        case 1 -> Double.MIN_NORMAL * (1 + nextDouble());
                        case 2 -> 0.0;
                        default -> Double.MIN_VALUE;
                    };
                    out[i] = (nextLong() & 1) == 0 ? magnitude : -magnitude;
                }
            }
            case HUGE_AND_TINY -> {
                for (int i = 0; i < n; i++) {
                    double magnitude = (nextLong() & 1) == 0
                            ? Double.MAX_VALUE / 8 * (0.5 + nextDouble() / 2)
                            : Double.MIN_NORMAL * (1 + 7 * nextDouble());
                    out[i] = (nextLong() & 2) == 0 ? magnitude : -magnitude;
                }
            }
            case RANDOM_BITS -> {
                for (int i = 0; i < n; i++) {
                    double v;
                    do {
                        v = Double.longBitsToDouble(nextLong());
                    } while (!Double.isFinite(v));
                    out[i] = Math.abs(v) > 1e300 ? v * 1e-10 : v;
                }
            }
            case MULTI_SCALE_GAUSSIAN -> {
                int i = 0;
                while (i < n) {
                    int length = Math.min(n - i, 1 + nextInt(Math.max(1, n / 4 + 1)));
                    double sigma = StrictMath.pow(10, -12 + 12 * nextDouble());
                    for (int j = 0; j < length; j++) {
                        out[i++] = nextGaussian() * sigma;
                    }
                }
            }
            default -> {
                float[] f = floats(shape, n);
                for (int i = 0; i < n; i++) {
                    out[i] = f[i];
                }
            }
        }
        return out;
    }

    /** How an exact (integer or bool) chunk changes from one step to the next. */
    public enum IntegerShape {
        /** No value changes: a buffer that stands still. */
        UNCHANGED,
        /** Every value moves by one (num_batches_tracked); a bool flips. */
        COUNTER,
        /** A few values (about 1 in 20) take small new values. */
        SPARSE,
        /** Every value random over the type's range: VERBATIM's case. */
        RANDOM
    }

    /** Initial values of an exact type: small random integers (0 or 1 for bool). */
    public long[] integerInitial(int n, ValueType type) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = type == ValueType.BOOL ? nextInt(2) : nextInt(200) - (type == ValueType.UINT8 ? 0 : 100);
        }
        return out;
    }

    /** The next step's values of an exact chunk whose values are {@code current}. */
    public long[] nextIntegers(IntegerShape shape, long[] current, ValueType type) {
        long[] out = current.clone();
        boolean bool = type == ValueType.BOOL;
        for (int i = 0; i < out.length; i++) {
            switch (shape) {
                case UNCHANGED -> { }
                case COUNTER -> out[i] = bool ? 1 - out[i] : out[i] + 1;
                case SPARSE -> {
                    if (nextInt(20) == 0) {
                        out[i] = bool ? 1 - out[i] : nextInt(7) - 3;
                    }
                }
                case RANDOM -> out[i] = bool ? nextInt(2) : nextLong();
            }
        }
        return out;
    }

    /** {@code next − current} for each value (the codec takes it modulo 2^(8B)). */
    public static long[] differences(long[] next, long[] current) {
        long[] out = new long[next.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = next[i] - current[i];
        }
        return out;
    }
}
