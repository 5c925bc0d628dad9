package io.lccheckpoint.bench;

import com.github.luben.zstd.Zstd;
import io.lccheckpoint.codec.CodecOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4FastDecompressor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** What a user does instead, on the same 4 Mi float32 deltas: the memory ceiling, zstd level 1 and lz4 on raw bytes. */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Thread)
public class BaselineBenchmark {
    private float[] delta;
    private float[] copy;
    private float[] residual;
    private float[] approx;
    private byte[] raw;
    private byte[] zstdCompressed;
    private byte[] lz4Compressed;
    private byte[] scratch;
    private byte[] restored;
    private LZ4Compressor lz4 = LZ4Factory.fastestInstance().fastCompressor();
    private LZ4FastDecompressor lz4Decompressor = LZ4Factory.fastestInstance().fastDecompressor();

    @Setup
    public void setUp() {
        delta = new float[BenchmarkData.VALUES];
        float[][] chunks = new BenchmarkData(CodecOptions.paper(2), BenchmarkData.VALUES).delta;
        System.arraycopy(chunks[0], 0, delta, 0, delta.length);
        copy = new float[delta.length];
        residual = new float[delta.length];
        approx = new float[delta.length];
        raw = rawBytes(delta);
        scratch = new byte[(int) Math.max(Zstd.compressBound(raw.length), lz4.maxCompressedLength(raw.length))];
        zstdCompressed = Zstd.compress(raw, 1);
        lz4Compressed = lz4.compress(raw);
        restored = new byte[raw.length];
    }

    static byte[] rawBytes(float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return buffer.array();
    }

    @Benchmark
    public float[] arrayCopy() {
        System.arraycopy(delta, 0, copy, 0, delta.length);
        return copy;
    }

    /**
     * The memory traffic of the codec's two passes with next to no arithmetic, which C2 vectorizes: pass A reads δ and r,
     * pass B reads δ, r and ũ and writes r and ũ (the state checksum reads ũ back from the cache). No coder of this format
     * can be faster on this machine; it puts the encode targets beside what this machine's memory allows.
     */
    @Benchmark
    public float codecMemoryFloor() {
        float[] d = delta;
        float[] r = residual;
        float[] a = approx;
        int n = d.length;
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        for (int i = 0; i + 4 <= n; i += 4) {
            s0 += d[i] + r[i];
            s1 += d[i + 1] + r[i + 1];
            s2 += d[i + 2] + r[i + 2];
            s3 += d[i + 3] + r[i + 3];
        }
        for (int i = 0; i < n; i++) {
            float v = d[i] + r[i];
            float q = v * 0.5f;
            r[i] = v - q;
            a[i] += q;
        }
        return s0 + s1 + s2 + s3;
    }

    @Benchmark
    public long zstd1Compress() {
        return Zstd.compressByteArray(scratch, 0, scratch.length, raw, 0, raw.length, 1);
    }

    @Benchmark
    public long zstd1Decompress() {
        return Zstd.decompressByteArray(restored, 0, restored.length, zstdCompressed, 0, zstdCompressed.length);
    }

    @Benchmark
    public int lz4Compress() {
        return lz4.compress(raw, 0, raw.length, scratch, 0, scratch.length);
    }

    @Benchmark
    public int lz4Decompress() {
        return lz4Decompressor.decompress(lz4Compressed, 0, restored, 0, restored.length);
    }
}
