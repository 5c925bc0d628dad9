package io.lccheckpoint.bench;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.Corpus;
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
 * A small model's step, where each chunk's fixed costs count as much as the values: LeNet-5's ten parameter tensors and
 * Adam's two moments of each (30 float32 chunks of 6 to 48,000 values, 185,118 in all), one step of each coded.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class SmallChunksBenchmark {
    /** LeNet-5's parameter tensors: conv1, conv2, fc1, fc2, fc3 weights and biases. */
    static final int[] LENET_SIZES = {150, 6, 2400, 16, 48_000, 120, 10_080, 84, 840, 10};
    static final int CHUNKS = 3 * LENET_SIZES.length;

    @Param({"huffman-2", "zero-run-3"})
    public String codec;

    private float[][] delta;
    private ChunkState[] warm;
    private ChunkState[] states;
    private ChunkEncoder encoder;

    static long values() {
        long total = 0;
        for (int size : LENET_SIZES) {
            total += 3L * size;
        }
        return total;
    }

    @Setup(Level.Trial)
    public void setUp() {
        Corpus corpus = new Corpus(BenchmarkData.SEED);
        encoder = new ChunkEncoder(CodecBenchmark.options(codec));
        delta = new float[CHUNKS][];
        warm = new ChunkState[CHUNKS];
        states = new ChunkState[CHUNKS];
        for (int c = 0; c < CHUNKS; c++) {
            int n = LENET_SIZES[c % LENET_SIZES.length];
            warm[c] = ChunkState.float32(corpus.sgdDeltas(n, 1.0));
            for (int step = 0; step < BenchmarkData.WARM_UP_STEPS; step++) {
                encoder.encode(corpus.sgdDeltas(n, BenchmarkData.ACTIVE_FRACTION), warm[c]);
            }
            delta[c] = corpus.sgdDeltas(n, BenchmarkData.ACTIVE_FRACTION);
            states[c] = warm[c].copy();
        }
    }

    @Setup(Level.Invocation)
    public void resetStates() {
        for (int c = 0; c < CHUNKS; c++) {
            int n = delta[c].length;
            System.arraycopy(warm[c].approxFloat(), 0, states[c].approxFloat(), 0, n);
            System.arraycopy(warm[c].residualFloat(), 0, states[c].residualFloat(), 0, n);
        }
    }

    @Benchmark
    public void encodeStep(Blackhole blackhole) {
        for (int c = 0; c < CHUNKS; c++) {
            blackhole.consume(encoder.encode(delta[c], states[c]));
        }
    }
}
