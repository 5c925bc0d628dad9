package io.lccheckpoint.bench;

import io.lccheckpoint.codec.ChunkDecoder;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.EncodedChunk;
import java.util.concurrent.TimeUnit;
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

/** Encode and decode+apply of one 4 Mi-value float32 chunk, single thread. Throughput in chunks per second. */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Thread)
public class CodecBenchmark {
    @Param({"huffman-2", "huffman-3", "zero-run-2", "zero-run-3"})
    public String codec;

    private BenchmarkData data;
    private ChunkEncoder encoder;
    private ChunkDecoder decoder;
    private ChunkState state;
    private byte[] record;
    private float[] out;

    static CodecOptions options(String codec) {
        int bits = Integer.parseInt(codec.substring(codec.lastIndexOf('-') + 1));
        return codec.startsWith("huffman") ? CodecOptions.paper(bits) : CodecOptions.zeroRun(bits);
    }

    @Setup(Level.Trial)
    public void setUp() {
        CodecOptions options = options(codec);
        data = new BenchmarkData(options);
        encoder = new ChunkEncoder(options);
        decoder = new ChunkDecoder();
        state = data.warmState.copy();
        record = encoder.encode(data.delta, data.warmState.copy()).record();
        out = new float[BenchmarkData.VALUES];
    }

    @Setup(Level.Invocation)
    public void resetState() {
        System.arraycopy(data.warmState.approxFloat(), 0, state.approxFloat(), 0, BenchmarkData.VALUES);
        System.arraycopy(data.warmState.residualFloat(), 0, state.residualFloat(), 0, BenchmarkData.VALUES);
    }

    @Benchmark
    public EncodedChunk encode() {
        return encoder.encode(data.delta, state);
    }

    @Benchmark
    public float[] decodeApply() {
        decoder.apply(record, data.warmState.approxFloat(), out);
        return out;
    }
}
