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
 * The codec on float64 (issue #16: float32 and float64 both): the benchmark's 4 Mi deltas widened to double, in 16
 * chunks of 256 Ki values, each state warmed by three steps. The same values as {@link CodecBenchmark}'s, so a row here
 * against its float32 row is the cost of the wider type per value; GB/s counts 8 bytes a value.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms4g", "-Xmx4g"})
@State(Scope.Thread)
public class Float64Benchmark {
    @Param({"huffman-2", "zero-run-3"})
    public String codec;

    @Param({"262144"})
    public int chunkValues;

    private double[][] delta;
    private ChunkState[] warmStates;
    private ChunkState[] states;
    private byte[][] records;
    private ChunkEncoder encoder;
    private ChunkDecoder decoder;
    private double[] out;

    @Setup(Level.Trial)
    public void setUp() {
        CodecOptions options = CodecBenchmark.options(codec);
        BenchmarkData data = new BenchmarkData(options, chunkValues);
        encoder = new ChunkEncoder(options);
        decoder = new ChunkDecoder();
        int chunks = data.delta.length;
        delta = new double[chunks][];
        warmStates = new ChunkState[chunks];
        states = new ChunkState[chunks];
        records = new byte[chunks][];
        for (int c = 0; c < chunks; c++) {
            delta[c] = widen(data.delta[c]);
            warmStates[c] = ChunkState.float64(widen(data.warmStates[c].approxFloat()));
            for (int step = 0; step < 3; step++) {
                encoder.encode(delta[c], warmStates[c]);
            }
            states[c] = warmStates[c].copy();
            records[c] = encoder.encode(delta[c], warmStates[c].copy()).record();
        }
        out = new double[chunkValues];
    }

    private static double[] widen(float[] values) {
        double[] wide = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            wide[i] = values[i];
        }
        return wide;
    }

    /** Encoding mutates the states; put back the warm ones (not measured). */
    @Setup(Level.Invocation)
    public void resetStates() {
        for (int c = 0; c < states.length; c++) {
            System.arraycopy(warmStates[c].approxDouble(), 0, states[c].approxDouble(), 0, chunkValues);
            System.arraycopy(warmStates[c].residualDouble(), 0, states[c].residualDouble(), 0, chunkValues);
        }
    }

    @Benchmark
    public void encode(Blackhole blackhole) {
        for (int c = 0; c < states.length; c++) {
            blackhole.consume(encoder.encode(delta[c], states[c]));
        }
    }

    @Benchmark
    public void decodeApply(Blackhole blackhole) {
        for (int c = 0; c < records.length; c++) {
            decoder.apply(records[c], warmStates[c].approxDouble(), out);
            blackhole.consume(out);
        }
    }
}
