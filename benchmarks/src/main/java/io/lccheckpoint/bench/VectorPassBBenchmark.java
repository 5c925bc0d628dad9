package io.lccheckpoint.bench;

import io.lccheckpoint.codec.CodecOptions;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Does the Vector API ({@code jdk.incubator.vector}) pay for its cost to users (issue #16)? The codec's dense pass B
 * (the slowest path: chunks with fewer than 95% zeros) on the benchmark's data, scalar as the codec runs it and with its
 * arithmetic on 16-lane vectors: δ = d + r, the bucket key, q blended from the kept buckets' values (no gather), r and ũ
 * written a vector at a time, then the codes emitted from the block's keys by the same scalar bit packer. Both give the
 * same r, ũ and payload bytes (checked in the set-up). The {@code arithmetic} pair leaves the emission out: the most a
 * vector pass B could save. Not in the codec: see the README ("Figures we measured", the Vector API) for the decision.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar VectorPassB} is not it (that is CodecBench's main); use
 * {@code java -cp benchmarks/target/benchmarks.jar org.openjdk.jmh.Main VectorPassB}. The fork adds
 * {@code --add-modules jdk.incubator.vector} itself.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms3g", "-Xmx3g", "--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class VectorPassBBenchmark {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final int KEYS = 512;
    private static final int BLOCK = 1024;
    private static final int NEGATIVE_ZERO = Float.floatToRawIntBits(-0.0f);
    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    @Param({"huffman-2", "huffman-3"})
    public String codec;

    @Param({"262144"})
    public int chunkValues;

    private BenchmarkData data;
    private Tables[] tables;
    private float[][] residual;
    private float[][] approx;
    private final int[] keyBlock = new int[BLOCK];
    private byte[] payload;

    /** One chunk's pass B tables, as the codec's pass A and promotion would leave them. */
    static final class Tables {
        final float[] keyRep = new float[KEYS];
        final int[] keyCode = new int[KEYS];
        int[] keptKeys;
        int[] keptRepBits;
    }

    @Setup(Level.Trial)
    public void setUp() {
        CodecOptions options = CodecBenchmark.options(codec);
        data = new BenchmarkData(options, chunkValues);
        int kept = (1 << options.promotionBits()) - 1;
        tables = new Tables[data.delta.length];
        for (int c = 0; c < tables.length; c++) {
            tables[c] = tables(data.delta[c], data.warmStates[c].residualFloat(), kept, options.promotionBits());
        }
        residual = new float[tables.length][];
        approx = new float[tables.length][];
        payload = new byte[chunkValues * 2 + 16];
        resetStates();
        // the vector pass must give the scalar pass's bytes and states, or its timing means nothing
        for (int c = 0; c < tables.length; c++) {
            float[] r = residual[c].clone();
            float[] a = approx[c].clone();
            int length = scalarPassB(data.delta[c], r, a, tables[c], payload);
            byte[] bytes = Arrays.copyOf(payload, length);
            float[] rv = residual[c].clone();
            float[] av = approx[c].clone();
            int vectorLength = vectorPassB(data.delta[c], rv, av, tables[c], payload);
            if (vectorLength != length || !Arrays.equals(bytes, Arrays.copyOf(payload, length)) || !Arrays.equals(r, rv) || !Arrays.equals(a, av)) {
                throw new IllegalStateException("the vector pass B differs from the scalar one on chunk " + c);
            }
        }
    }

    @Setup(Level.Invocation)
    public void resetStates() {
        for (int c = 0; c < tables.length; c++) {
            residual[c] = data.warmStates[c].residualFloat().clone();
            approx[c] = data.warmStates[c].approxFloat().clone();
        }
    }

    /** Kept buckets: the 2^x − 1 present keys of largest exponent; their value the midpoint of min and max magnitude. */
    private static Tables tables(float[] delta, float[] residual, int kept, int bits) {
        int[] min = new int[KEYS];
        int[] max = new int[KEYS];
        Arrays.fill(min, Integer.MAX_VALUE);
        Arrays.fill(max, -1);
        for (int i = 0; i < delta.length; i++) {
            int value = Float.floatToRawIntBits(delta[i] + residual[i]);
            int key = value >>> 23;
            min[key] = Math.min(min[key], value & 0x7FFF_FFFF);
            max[key] = Math.max(max[key], value & 0x7FFF_FFFF);
        }
        Tables t = new Tables();
        Arrays.fill(t.keyRep, -0.0f);
        Arrays.fill(t.keyCode, 1 << 16); // the zero bucket: the 1-bit code 0
        int[] keys = new int[kept];
        int found = 0;
        for (int exponent = 254; exponent >= 0 && found < kept; exponent--) {
            for (int sign = 0; sign < 2 && found < kept; sign++) {
                int key = sign << 8 | exponent;
                if (max[key] >= 0) {
                    float low = Float.intBitsToFloat(min[key]);
                    float high = Float.intBitsToFloat(max[key]);
                    float mid = low + (high - low) * 0.5f;
                    t.keyRep[key] = sign != 0 ? -mid : mid;
                    t.keyCode[key] = (1 | found << 1) | (1 + bits) << 16; // "1" then the symbol in x bits
                    keys[found++] = key;
                }
            }
        }
        t.keptKeys = Arrays.copyOf(keys, found);
        t.keptRepBits = new int[found];
        for (int s = 0; s < found; s++) {
            t.keptRepBits[s] = Float.floatToRawIntBits(t.keyRep[t.keptKeys[s]]);
        }
        return t;
    }

    @Benchmark
    public int scalar() {
        int bytes = 0;
        for (int c = 0; c < tables.length; c++) {
            bytes += scalarPassB(data.delta[c], residual[c], approx[c], tables[c], payload);
        }
        return bytes;
    }

    @Benchmark
    public int vector() {
        int bytes = 0;
        for (int c = 0; c < tables.length; c++) {
            bytes += vectorPassB(data.delta[c], residual[c], approx[c], tables[c], payload);
        }
        return bytes;
    }

    @Benchmark
    public float scalarArithmetic() {
        float sum = 0;
        for (int c = 0; c < tables.length; c++) {
            float[] d = data.delta[c];
            float[] r = residual[c];
            float[] a = approx[c];
            float[] rep = tables[c].keyRep;
            for (int i = 0; i < d.length; i++) {
                float v = d[i] + r[i];
                float q = rep[Float.floatToRawIntBits(v) >>> 23];
                r[i] = v - q;
                a[i] += q;
            }
            sum += a[0];
        }
        return sum;
    }

    @Benchmark
    public float vectorArithmetic() {
        float sum = 0;
        for (int c = 0; c < tables.length; c++) {
            float[] d = data.delta[c];
            int n = d.length;
            int vectorEnd = FLOATS.loopBound(n);
            int i = 0;
            while (i < vectorEnd) {
                i = vectorBlock(d, residual[c], approx[c], tables[c], i, i + FLOATS.loopBound(Math.min(vectorEnd - i, BLOCK)));
            }
            float[] rep = tables[c].keyRep;
            for (; i < n; i++) {
                float v = d[i] + residual[c][i];
                float q = rep[Float.floatToRawIntBits(v) >>> 23];
                residual[c][i] = v - q;
                approx[c][i] += q;
            }
            sum += approx[c][0];
        }
        return sum;
    }

    /** The codec's dense pass B (ChunkEncoder.updateAndEmit, float32), without the state checksum. */
    static int scalarPassB(float[] delta, float[] residual, float[] approx, Tables t, byte[] out) {
        float[] rep = t.keyRep;
        int[] table = t.keyCode;
        int n = delta.length;
        long container = 0;
        int bitCount = 0;
        int position = 0;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            float v0 = delta[i] + residual[i];
            float v1 = delta[i + 1] + residual[i + 1];
            float v2 = delta[i + 2] + residual[i + 2];
            float v3 = delta[i + 3] + residual[i + 3];
            int k0 = Float.floatToRawIntBits(v0) >>> 23;
            int k1 = Float.floatToRawIntBits(v1) >>> 23;
            int k2 = Float.floatToRawIntBits(v2) >>> 23;
            int k3 = Float.floatToRawIntBits(v3) >>> 23;
            float q0 = rep[k0];
            float q1 = rep[k1];
            float q2 = rep[k2];
            float q3 = rep[k3];
            residual[i] = v0 - q0;
            residual[i + 1] = v1 - q1;
            residual[i + 2] = v2 - q2;
            residual[i + 3] = v3 - q3;
            approx[i] += q0;
            approx[i + 1] += q1;
            approx[i + 2] += q2;
            approx[i + 3] += q3;
            long codes = codes(table[k0], table[k1], table[k2], table[k3]);
            container |= codes << bitCount;
            bitCount += length(table[k0], table[k1], table[k2], table[k3]);
            putLong(out, position, container);
            int whole = bitCount & ~7;
            position += whole >>> 3;
            container >>>= whole;
            bitCount -= whole;
        }
        return finish(delta, residual, approx, t, out, i, container, bitCount, position);
    }

    /** The same pass with its arithmetic on vectors a block at a time, then the block's codes packed from its keys. */
    int vectorPassB(float[] delta, float[] residual, float[] approx, Tables t, byte[] out) {
        int[] table = t.keyCode;
        int[] keys = keyBlock;
        int n = delta.length;
        int vectorEnd = FLOATS.loopBound(n) & ~3;
        long container = 0;
        int bitCount = 0;
        int position = 0;
        int i = 0;
        while (i < vectorEnd) {
            int end = Math.min(vectorEnd, i + BLOCK);
            end = i + FLOATS.loopBound(end - i);
            vectorBlock(delta, residual, approx, t, i, end);
            for (int j = i; j < end; j += 4) {
                int e0 = table[keys[j - i]];
                int e1 = table[keys[j - i + 1]];
                int e2 = table[keys[j - i + 2]];
                int e3 = table[keys[j - i + 3]];
                container |= codes(e0, e1, e2, e3) << bitCount;
                bitCount += length(e0, e1, e2, e3);
                putLong(out, position, container);
                int whole = bitCount & ~7;
                position += whole >>> 3;
                container >>>= whole;
                bitCount -= whole;
            }
            i = end;
        }
        return finish(delta, residual, approx, t, out, i, container, bitCount, position);
    }

    /** δ, key, q, r and ũ for [from, to) (a whole number of vectors); the keys go to {@code keyBlock} from index 0. */
    private int vectorBlock(float[] delta, float[] residual, float[] approx, Tables t, int from, int to) {
        int[] kept = t.keptKeys;
        int[] repBits = t.keptRepBits;
        int i = from;
        for (; i < to; i += FLOATS.length()) {
            FloatVector v = FloatVector.fromArray(FLOATS, delta, i).add(FloatVector.fromArray(FLOATS, residual, i));
            IntVector key = v.reinterpretAsInts().lanewise(VectorOperators.LSHR, 23);
            IntVector qBits = IntVector.broadcast(INTS, NEGATIVE_ZERO);
            for (int s = 0; s < kept.length; s++) {
                qBits = qBits.blend(repBits[s], key.compare(VectorOperators.EQ, kept[s]));
            }
            FloatVector q = qBits.reinterpretAsFloats();
            v.sub(q).intoArray(residual, i);
            FloatVector.fromArray(FLOATS, approx, i).add(q).intoArray(approx, i);
            key.intoArray(keyBlock, i - from);
        }
        return i;
    }

    private static int finish(float[] delta, float[] residual, float[] approx, Tables t, byte[] out, int i, long container, int bitCount,
            int position) {
        for (; i < delta.length; i++) {
            float v = delta[i] + residual[i];
            int k = Float.floatToRawIntBits(v) >>> 23;
            float q = t.keyRep[k];
            residual[i] = v - q;
            approx[i] += q;
            container |= (long) (t.keyCode[k] & 0xFFFF) << bitCount;
            bitCount += t.keyCode[k] >>> 16;
            if (bitCount >= 32) {
                putLong(out, position, container);
                position += 4;
                container >>>= 32;
                bitCount -= 32;
            }
        }
        while (bitCount > 0) {
            out[position++] = (byte) container;
            container >>>= 8;
            bitCount -= 8;
        }
        return position;
    }

    private static long codes(int e0, int e1, int e2, int e3) {
        int l0 = e0 >>> 16;
        int l01 = l0 + (e1 >>> 16);
        int l012 = l01 + (e2 >>> 16);
        return (e0 & 0xFFFF) | ((long) (e1 & 0xFFFF) << l0) | ((long) (e2 & 0xFFFF) << l01) | ((long) (e3 & 0xFFFF) << l012);
    }

    private static int length(int e0, int e1, int e2, int e3) {
        return (e0 >>> 16) + (e1 >>> 16) + (e2 >>> 16) + (e3 >>> 16);
    }

    private static void putLong(byte[] out, int position, long value) {
        LONGS.set(out, position, value);
    }
}
