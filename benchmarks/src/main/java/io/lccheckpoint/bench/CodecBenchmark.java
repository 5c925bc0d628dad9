package io.lccheckpoint.bench;

import io.lccheckpoint.codec.ChunkDecoder;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * Encode and decode+apply of 4 Mi float32 values, single thread, either as one 4 Mi-value chunk or as 16 chunks of
 * 256 Ki values (the size a chunk has in the pipeline, under Kafka's default 1 MB record limit). One operation is
 * always 16 MiB of float32 input, so ops/s × 16 MiB is the input throughput.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms3g", "-Xmx3g"})
@State(Scope.Thread)
public class CodecBenchmark {
    @Param({"huffman-2", "huffman-3", "zero-run-2", "zero-run-3"})
    public String codec;

    @Param({"4194304", "262144"})
    public int chunkValues;

    private BenchmarkData data;
    private ChunkEncoder encoder;
    private ChunkDecoder decoder;
    private ChunkState[] states;
    private byte[][] records;
    private float[] out;

    static CodecOptions options(String codec) {
        int bits = Integer.parseInt(codec.substring(codec.lastIndexOf('-') + 1));
        return codec.startsWith("huffman") ? CodecOptions.paper(bits) : CodecOptions.zeroRun(bits);
    }

    @Setup(Level.Trial)
    public void setUp() {
        CodecOptions options = options(codec);
        data = new BenchmarkData(options, chunkValues);
        encoder = new ChunkEncoder(options);
        decoder = new ChunkDecoder();
        states = new ChunkState[data.warmStates.length];
        records = new byte[data.warmStates.length][];
        for (int c = 0; c < states.length; c++) {
            states[c] = data.warmStates[c].copy();
            records[c] = encoder.encode(data.delta[c], data.warmStates[c].copy()).record();
        }
        out = new float[chunkValues];
    }

    /** Encoding mutates the states; put back the warm ones (not measured). */
    @Setup(Level.Invocation)
    public void resetStates() {
        for (int c = 0; c < states.length; c++) {
            System.arraycopy(data.warmStates[c].approxFloat(), 0, states[c].approxFloat(), 0, chunkValues);
            System.arraycopy(data.warmStates[c].residualFloat(), 0, states[c].residualFloat(), 0, chunkValues);
        }
    }

    @Benchmark
    public void encode(Blackhole blackhole) {
        for (int c = 0; c < states.length; c++) {
            blackhole.consume(encoder.encode(data.delta[c], states[c]));
        }
    }

    @Benchmark
    public void decodeApply(Blackhole blackhole) {
        for (int c = 0; c < records.length; c++) {
            decoder.apply(records[c], data.warmStates[c].approxFloat(), out);
            blackhole.consume(out);
        }
    }
}
