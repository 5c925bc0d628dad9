package io.lccheckpoint.bench;

import io.lccheckpoint.eval.FashionMnist;
import io.lccheckpoint.eval.LeNet5;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Issue #14, item 1: in what precision should a bfloat16 (or float16) chunk keep its reconstruction ũ and residual r?
 * A bf16 trainer (LeNet-5 on Fashion-MNIST, weights rounded to the type after every SGD step) is the true state u_t; two
 * error-feedback chains follow it with the codec's quantizer (buckets from the type's sign and exponent fields,
 * representatives rounded to the type):
 * <ul>
 *   <li>A: ũ and r in float32 ({@code ũ += Q(δ)}, {@code r = δ − Q(δ)}); a restore writes {@code round(ũ)}.</li>
 *   <li>B: ũ in the type ({@code ũ = round(ũ + Q(δ))}), r in float32 as {@code (ũ_{t−1} + δ) − ũ_t}; a restore writes ũ.</li>
 *   <li>B': as B with the residual the codec keeps, {@code (δ − q) + (s − round(s))}, {@code s = ũ_{t−1} + q}.</li>
 * </ul>
 * Prints, at a few steps, the restored state against the true one (relative L2, max distance in ulps of the type, share
 * of bit-identical values) next to one step's movement {@code ‖u_t − u_{t−1}‖ / ‖u_t‖}.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.lccheckpoint.bench.HalfPrecisionStudy [steps] [bf16|fp16|sgd-bf16]</pre>
 */
public final class HalfPrecisionStudy {
    private static final int[] REPORT = {50, 100, 200, 400, 800};

    /** FLOAT32: today's float32 chain on a float32 trainer, the yardstick the issue compares with. */
    enum Type { BF16, FP16, FLOAT32 }

    public static void main(String[] args) throws Exception {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 400;
        String data = args.length > 1 ? args[1] : "bf16";
        Type type = data.contains("fp16") ? Type.FP16 : data.contains("f32") ? Type.FLOAT32 : Type.BF16;
        boolean synthetic = data.startsWith("sgd");
        LeNet5 model = null;
        float[] u;
        SplittableRandom random = new SplittableRandom(1);
        if (synthetic) {
            u = new float[LeNet5.PARAMETERS];
            for (int i = 0; i < u.length; i++) {
                u[i] = (float) (random.nextGaussian() * 0.1);
            }
        } else {
            FashionMnist train = FashionMnist.load(FashionMnist.DEFAULT_DIRECTORY, false);
            model = new LeNet5(train, 1, 32, 0.02f);
            u = model.parameters();
        }
        round(u, type);
        if (model != null) {
            model.setParameters(u);
        }
        List<Chain> chains = new ArrayList<>();
        for (int bits : new int[] {2, 3}) {
            chains.add(new Chain("A (ũ, r float32; restore rounds)", bits, false, false, u, type));
            if (type != Type.FLOAT32) {
                chains.add(new Chain("B (ũ in " + type + ", r = (ũ+δ)−ũ')", bits, true, true, u, type));
                chains.add(new Chain("B' (ũ in " + type + ", r = (δ−q)+(s−round s))", bits, true, false, u, type));
            }
        }
        System.out.printf("| data | step | variant | x | rel. L2 restored vs true | diff in ulps: median / p99 / max | bit-identical | one step's movement |%n");
        System.out.printf("|---|---:|---|---:|---:|---|---:|---:|%n");
        long inexact = 0;
        for (int t = 1; t <= steps; t++) {
            float[] previous = u.clone();
            if (synthetic) {
                for (int i = 0; i < u.length; i++) {
                    double scale = (i * 2654435761L + t) % 5 == 0 ? 1e-3 : 1e-6;
                    u[i] += (float) (random.nextGaussian() * scale);
                }
            } else {
                model.step();
                u = model.parameters();
            }
            round(u, type);
            if (model != null) {
                model.setParameters(u);
            }
            float[] d = new float[u.length];
            for (int i = 0; i < u.length; i++) {
                d[i] = u[i] - previous[i];
                inexact += (double) d[i] != (double) u[i] - (double) previous[i] ? 1 : 0;
            }
            for (Chain chain : chains) {
                chain.step(d);
            }
            int step = t;
            if (Arrays.stream(REPORT).anyMatch(r -> r == step) || t == steps) {
                double movement = relativeL2(u, previous);
                for (Chain chain : chains) {
                    float[] restored = chain.restored();
                    System.out.printf("| %s | %d | %s | %d | %.3e | %s | %.4f | %.3e |%n", data, t, chain.name, chain.bits,
                            relativeL2(restored, u), ulps(restored, u, type), identical(restored, u), movement);
                }
            }
        }
        System.out.printf("%nraw deltas not exact in float32: %d%n", inexact);
    }

    /** One error-feedback chain. */
    static final class Chain {
        final String name;
        final int bits;
        final boolean approxInType;
        final boolean exactResidual;
        final Type type;
        final float[] approx;
        final float[] residual;

        Chain(String name, int bits, boolean approxInType, boolean exactResidual, float[] initial, Type type) {
            this.name = name;
            this.bits = bits;
            this.approxInType = approxInType;
            this.exactResidual = exactResidual;
            this.type = type;
            this.approx = initial.clone();
            this.residual = new float[initial.length];
        }

        void step(float[] d) {
            float[] delta = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                delta[i] = d[i] + residual[i];
            }
            float[] q = quantize(delta, bits, type);
            for (int i = 0; i < d.length; i++) {
                if (approxInType && exactResidual) {
                    // the brief's rule: r = (ũ_{t−1} + δ) − ũ_t, both sums in float32
                    float target = approx[i] + delta[i];
                    approx[i] = round(approx[i] + q[i], type);
                    residual[i] = target - approx[i];
                } else if (approxInType) {
                    // the codec's rule: r = (δ − q) + (s − round(s)) with s = ũ_{t−1} + q; a zero-bucket δ stays whole
                    float sum = approx[i] + q[i];
                    approx[i] = round(sum, type);
                    residual[i] = (delta[i] - q[i]) + (sum - approx[i]);
                } else {
                    approx[i] += q[i];
                    residual[i] = delta[i] - q[i];
                }
            }
        }

        float[] restored() {
            float[] out = approx.clone();
            round(out, type);
            return out;
        }
    }

    /** The codec's E + P over the type's own sign and exponent fields, representatives rounded to the type. */
    static float[] quantize(float[] delta, int bits, Type type) {
        int keys = 1 << 9;
        long[] count = new long[keys];
        float[] lo = new float[keys];
        float[] hi = new float[keys];
        Arrays.fill(lo, Float.POSITIVE_INFINITY);
        for (float v : delta) {
            int k = key(v, type);
            count[k]++;
            lo[k] = Math.min(lo[k], Math.abs(v));
            hi[k] = Math.max(hi[k], Math.abs(v));
        }
        float[] rep = new float[keys];
        Arrays.fill(rep, -0.0f);
        int kept = 0;
        for (int e = 255; e >= 0 && kept < (1 << bits) - 1; e--) {
            for (int sign = 0; sign <= 1 && kept < (1 << bits) - 1; sign++) {
                int k = sign << 8 | e;
                if (count[k] > 0) {
                    float mid = round(lo[k] + (hi[k] - lo[k]) * 0.5f, type);
                    rep[k] = sign == 1 ? -mid : mid;
                    kept++;
                }
            }
        }
        float[] q = new float[delta.length];
        for (int i = 0; i < delta.length; i++) {
            q[i] = rep[key(delta[i], type)];
        }
        return q;
    }

    static int key(float v, Type type) {
        int bits = Float.floatToRawIntBits(v);
        int exponent = (bits >>> 23) & 0xFF;
        if (type == Type.FP16) {
            exponent = Math.max(0, exponent - 112); // fp16 subnormals and ±0 share exponent field 0
        }
        return (bits >>> 31) << 8 | exponent;
    }

    static void round(float[] values, Type type) {
        for (int i = 0; i < values.length; i++) {
            values[i] = round(values[i], type);
        }
    }

    /** Round-to-nearest-even to the type, returned as the float32 holding it exactly. */
    static float round(float v, Type type) {
        int bits = Float.floatToRawIntBits(v);
        if (type == Type.FLOAT32) {
            return v;
        }
        if (type == Type.BF16) {
            return Float.intBitsToFloat((bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000);
        }
        float magnitude = Math.abs(v);
        if (magnitude < 0x1p-14f) {
            return (float) (Math.rint(v * 0x1p24) * 0x1p-24);
        }
        float r = Float.intBitsToFloat((bits + 0xFFF + ((bits >>> 13) & 1)) & ~0x1FFF);
        return Math.abs(r) > 65504f ? Math.copySign(Float.POSITIVE_INFINITY, v) : r;
    }

    static double relativeL2(float[] a, float[] b) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < a.length; i++) {
            diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
            norm += (double) b[i] * b[i];
        }
        return Math.sqrt(diff / norm);
    }

    /**
     * Distance in ulps of the type (steps between the two values on the type's ordered grid): median, 99th percentile and
     * maximum. The maximum is large by nature: a value near zero that the chain still carries in its residual is
     * thousands of grid steps from the true one when they differ in sign.
     */
    static String ulps(float[] a, float[] b, Type type) {
        long[] distance = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            distance[i] = Math.abs(ordinal(a[i], type) - ordinal(b[i], type));
        }
        Arrays.sort(distance);
        return distance[a.length / 2] + " / " + distance[(int) (a.length * 0.99)] + " / " + distance[a.length - 1];
    }

    private static long ordinal(float v, Type type) {
        int bits = Float.floatToRawIntBits(v);
        long magnitude;
        if (type == Type.FLOAT32) {
            magnitude = bits & 0x7FFF_FFFF;
        } else if (type == Type.BF16) {
            magnitude = (bits & 0x7FFF_FFFF) >>> 16;
        } else {
            float m = Math.abs(v);
            magnitude = m < 0x1p-14f ? Math.round(m * 0x1p24) : (((bits >>> 23) & 0xFF) - 112L) << 10 | ((bits >>> 13) & 0x3FF);
        }
        return bits < 0 ? -magnitude : magnitude;
    }

    static double identical(float[] a, float[] b) {
        int same = 0;
        for (int i = 0; i < a.length; i++) {
            same += Float.floatToRawIntBits(a[i]) == Float.floatToRawIntBits(b[i]) ? 1 : 0;
        }
        return (double) same / a.length;
    }

    private HalfPrecisionStudy() {
    }
}
